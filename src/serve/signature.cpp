#include "codec_detail.hpp"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mlo/serve/signature.hpp>
#include <mlo/util/problems.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace mlo::serve {

using detail::describe_value;
using detail::join_names;
using detail::join_problems;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// One list of a signature ("inputs" or "outputs"); problems are appended, the fields returned.
std::vector<Field> read_fields(const json& list, const std::string& direction,
                               std::vector<util::Problem>& problems) {
    std::vector<Field> fields;
    if (!list.is_array()) {
        problems.push_back(
            {0, direction + ": must be a list of {name, type}, not " + describe_value(list), {}});
        return fields;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
        const json& entry = list[i];
        std::string where = direction + "[" + std::to_string(i) + "]";
        if (!entry.is_object()) {
            problems.push_back({0,
                                where +
                                    ": must be an object like {\"name\": \"x\", \"type\": \"double\"}, not " +
                                    describe_value(entry),
                                {}});
            continue;
        }
        Field field;
        bool ok = true;
        auto name = entry.find("name");
        if (name == entry.end() || name->is_null()) {
            problems.push_back({0, where + ": missing 'name'", {}});
            ok = false;
        } else if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
            problems.push_back(
                {0, where + ": 'name' must be a non-empty string, not " + describe_value(*name), {}});
            ok = false;
        } else {
            field.name = name->get<std::string>();
            where = direction + "." + field.name;
            if (!names.insert(field.name).second) {
                problems.push_back({0, where + ": duplicate field name", {}});
                ok = false;
            }
        }
        auto type = entry.find("type");
        if (type == entry.end() || type->is_null()) {
            problems.push_back({0, where + ": missing 'type'", {}});
            ok = false;
        } else if (!type->is_string()) {
            problems.push_back({0, where + ": 'type' must be a string, not " + describe_value(*type), {}});
            ok = false;
        } else if (auto parsed = parse_field_type(type->get_ref<const std::string&>())) {
            field.type = *parsed;
        } else {
            problems.push_back({0,
                                where + ": unknown type " +
                                    detail::quote_text(type->get_ref<const std::string&>()) +
                                    " (expected double, float, long, integer, boolean or string)",
                                {}});
            ok = false;
        }
        if (auto pii = entry.find("pii"); pii != entry.end() && !pii->is_null()) {
            if (pii->is_boolean()) {
                field.pii = pii->get<bool>();
            } else {
                problems.push_back(
                    {0, where + ": 'pii' must be true or false, not " + describe_value(*pii), {}});
                ok = false;
            }
        }
        if (ok)
            fields.push_back(std::move(field));
    }
    return fields;
}

std::string out_of_range(FieldType type, const ordered_json& value) {
    return "expected " + mlflow_type_name(type) + ", got " + describe_value(value) + " (out of range)";
}

std::string row_problem(const std::string& field, size_t row, const std::string& problem) {
    return "field '" + field + "', row " + std::to_string(row) + ": " + problem;
}

void put(json& object, const std::string& name, json value) {
    object[name] = std::move(value);
}
void put(ordered_json& object, const std::string& name, ordered_json value) {
    detail::append_column(object, name, std::move(value));
}

template <class J> J slice(const J& columns, size_t begin, size_t end) {
    J out = J::object();
    if (!columns.is_object())
        return out;
    for (auto it = columns.begin(); it != columns.end(); ++it) {
        const J& column = it.value();
        if (!column.is_array()) {
            put(out, it.key(), column);
            continue;
        }
        const auto& values = column.template get_ref<const typename J::array_t&>();
        size_t first = std::min(begin, values.size());
        size_t last = std::clamp(end, first, values.size());
        J part = J::array();
        auto& part_values = part.template get_ref<typename J::array_t&>();
        part_values.assign(values.begin() + static_cast<std::ptrdiff_t>(first),
                           values.begin() + static_cast<std::ptrdiff_t>(last));
        put(out, it.key(), std::move(part));
    }
    return out;
}

} // namespace

std::optional<FieldType> parse_field_type(std::string_view name) {
    std::string key = lower(name);
    if (key == "double" || key == "float64")
        return FieldType::float64;
    if (key == "float" || key == "float32")
        return FieldType::float32;
    if (key == "long" || key == "int64")
        return FieldType::int64;
    if (key == "integer" || key == "int32")
        return FieldType::int32;
    if (key == "boolean" || key == "bool")
        return FieldType::boolean;
    if (key == "string")
        return FieldType::string;
    return std::nullopt;
}

std::string mlflow_type_name(FieldType type) {
    switch (type) {
    case FieldType::float64:
        return "double";
    case FieldType::float32:
        return "float";
    case FieldType::int64:
        return "long";
    case FieldType::int32:
        return "integer";
    case FieldType::boolean:
        return "boolean";
    case FieldType::string:
        return "string";
    }
    return "unknown";
}

std::string v2_datatype(FieldType type) {
    switch (type) {
    case FieldType::float64:
        return "FP64";
    case FieldType::float32:
        return "FP32";
    case FieldType::int64:
        return "INT64";
    case FieldType::int32:
        return "INT32";
    case FieldType::boolean:
        return "BOOL";
    case FieldType::string:
        return "BYTES";
    }
    return "BYTES";
}

Result<Signature> Signature::from_json(const json& signature) {
    Signature out;
    if (signature.is_null() || signature.is_discarded())
        return out;
    if (!signature.is_object())
        return fail(ErrorCode::input,
                    "signature: must be an object with inputs and outputs, not " + describe_value(signature));
    out.present = true;
    std::vector<util::Problem> problems;
    if (auto it = signature.find("inputs"); it != signature.end() && !it->is_null())
        out.inputs = read_fields(*it, "inputs", problems);
    if (auto it = signature.find("outputs"); it != signature.end() && !it->is_null())
        out.outputs = read_fields(*it, "outputs", problems);
    if (!problems.empty())
        return fail(util::problems_error(std::move(problems), "signature"));
    return out;
}

std::optional<std::string> normalise_value(ordered_json& value, FieldType type) {
    if (value.is_discarded())
        return "missing value";
    switch (type) {
    case FieldType::float64:
    case FieldType::float32:
        if (value.is_number_float()) {
            double number = value.get<double>();
            if (type == FieldType::float32 && std::isfinite(number) && std::fabs(number) > FLT_MAX)
                return out_of_range(type, value);
            return std::nullopt;
        }
        if (value.is_number_unsigned()) {
            value = static_cast<double>(value.get<uint64_t>());
            return std::nullopt;
        }
        if (value.is_number_integer()) {
            value = static_cast<double>(value.get<int64_t>());
            return std::nullopt;
        }
        break;
    case FieldType::int64:
    case FieldType::int32: {
        const bool narrow = type == FieldType::int32;
        const int64_t low =
            narrow ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
        const int64_t high =
            narrow ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
        if (value.is_number_unsigned()) {
            uint64_t number = value.get<uint64_t>();
            if (number > static_cast<uint64_t>(high))
                return out_of_range(type, value);
            value = static_cast<int64_t>(number);
            return std::nullopt;
        }
        if (value.is_number_integer()) {
            int64_t number = value.get<int64_t>();
            if (number < low || number > high)
                return out_of_range(type, value);
            return std::nullopt;
        }
        if (value.is_number_float()) {
            double number = value.get<double>();
            if (!std::isfinite(number) || std::trunc(number) != number)
                break;
            // 2^63 is exact as a double; every double below it converts without overflow.
            if (number < static_cast<double>(low) ||
                (narrow ? number > static_cast<double>(high) : number >= 9223372036854775808.0))
                return out_of_range(type, value);
            value = static_cast<int64_t>(number);
            return std::nullopt;
        }
        break;
    }
    case FieldType::boolean:
        if (value.is_boolean())
            return std::nullopt;
        break;
    case FieldType::string:
        if (value.is_string())
            return std::nullopt;
        break;
    }
    return "expected " + mlflow_type_name(type) + ", got " + describe_value(value);
}

tl::expected<void, HttpError> check_input_names(const std::vector<std::string>& names,
                                                const Signature& signature) {
    if (!signature.checks_inputs())
        return {};
    std::unordered_set<std::string_view> given(names.begin(), names.end());
    std::unordered_set<std::string_view> wanted;
    std::vector<std::string> missing, extra;
    for (const auto& field : signature.inputs) {
        wanted.insert(field.name);
        if (!given.count(field.name))
            missing.push_back(field.name);
    }
    for (const auto& name : names)
        if (!wanted.count(name))
            extra.push_back(name);
    if (missing.empty() && extra.empty())
        return {};
    std::string message;
    if (!missing.empty())
        message = "missing input field(s): " + join_names(missing);
    if (!extra.empty())
        message +=
            std::string(message.empty() ? "" : "; ") + "unexpected input field(s): " + join_names(extra);
    return tl::unexpected<HttpError>(HttpError{400, message});
}

HttpResult<Columns> validate_columns(Columns columns, const Signature& signature, size_t max_rows) {
    if (!columns.columns.is_object())
        return http_fail(400,
                         "the inputs must be an object of columns, not " + describe_value(columns.columns));
    auto& given = columns.columns.get_ref<ordered_json::object_t&>();
    std::unordered_map<std::string_view, ordered_json*> by_name;
    by_name.reserve(given.size());
    for (auto& [name, values] : given)
        by_name.emplace(name, &values);

    std::vector<std::string> names;
    names.reserve(given.size());
    for (const auto& entry : given)
        names.push_back(entry.first);
    if (auto checked = check_input_names(names, signature); !checked)
        return tl::unexpected<HttpError>(std::move(checked).error());
    if (given.empty())
        return http_fail(400, "the request has no input fields");

    std::vector<std::string> problems;
    for (const auto& [name, values] : given)
        if (!values.is_array())
            problems.push_back("field '" + name + "': expected a list of values, got " +
                               describe_value(values));
    if (!problems.empty())
        return http_fail(400, join_problems(problems));

    const size_t rows = given.front().second.size();
    std::vector<std::string> lengths;
    for (const auto& [name, values] : given)
        if (values.size() != rows)
            lengths.push_back("'" + name + "' has " + std::to_string(values.size()));
    if (!lengths.empty()) {
        lengths.insert(lengths.begin(), "'" + given.front().first + "' has " + std::to_string(rows) +
                                            " value" + (rows == 1 ? "" : "s"));
        return http_fail(400, "input fields have different lengths: " + join_names(lengths));
    }
    if (rows == 0)
        return http_fail(400, "the request has no rows");
    if (rows > max_rows)
        return http_fail(413, detail::too_many_rows(rows, max_rows));

    Columns out;
    out.rows = rows;
    if (!signature.checks_inputs()) {
        // Nothing to check but absent cells, which become null.
        for (auto& [name, values] : given)
            for (auto& value : values)
                if (value.is_discarded())
                    value = nullptr;
        out.columns = std::move(columns.columns);
        return out;
    }
    for (const auto& field : signature.inputs) {
        auto found = by_name.find(field.name);
        if (found == by_name.end())
            continue; // not reached: check_input_names found every field
        ordered_json& values = *found->second;
        auto& list = values.get_ref<ordered_json::array_t&>();
        for (size_t row = 0; row < list.size(); ++row)
            if (auto problem = normalise_value(list[row], field.type)) {
                problems.push_back(row_problem(field.name, row, *problem));
                break;
            }
        detail::append_column(out.columns, field.name, std::move(values));
    }
    if (!problems.empty())
        return http_fail(400, join_problems(problems));
    return out;
}

json slice_columns(const json& columns, size_t begin, size_t end) {
    return slice(columns, begin, end);
}

ordered_json slice_columns(const ordered_json& columns, size_t begin, size_t end) {
    return slice(columns, begin, end);
}

bool same_fields(const Columns& a, const Columns& b) {
    if (!a.columns.is_object() || !b.columns.is_object() || a.columns.size() != b.columns.size())
        return false;
    for (auto left = a.columns.begin(), right = b.columns.begin(); left != a.columns.end(); ++left, ++right)
        if (left.key() != right.key())
            return false;
    return true;
}

Columns concat_columns(const std::vector<const Columns*>& parts) {
    Columns out;
    if (parts.empty() || parts.front() == nullptr || !parts.front()->columns.is_object())
        return out;
    for (const Columns* part : parts)
        if (part != nullptr)
            out.rows += part->rows;
    const ordered_json& first = parts.front()->columns;
    size_t position = 0;
    for (auto it = first.begin(); it != first.end(); ++it, ++position) {
        ordered_json values = ordered_json::array();
        auto& list = values.get_ref<ordered_json::array_t&>();
        list.reserve(out.rows);
        for (const Columns* part : parts) {
            if (part == nullptr)
                continue;
            const ordered_json* column = nullptr;
            if (part->columns.is_object()) {
                // Parts normally have the same fields in the same order: try the same position first.
                const ordered_json::object_t::Container& map =
                    part->columns.get_ref<const ordered_json::object_t&>();
                if (position < map.size() && map[position].first == it.key())
                    column = &map[position].second;
                else if (auto found = part->columns.find(it.key()); found != part->columns.end())
                    column = &*found;
            }
            if (column != nullptr && column->is_array() && column->size() == part->rows)
                list.insert(list.end(), column->begin(), column->end());
            else
                list.resize(list.size() + part->rows); // keep the rows aligned: nulls
        }
        detail::append_column(out.columns, it.key(), std::move(values));
    }
    return out;
}

} // namespace mlo::serve
