// The model server's request and response codecs.
//
// Two protocols reach the same worker. MLflow's scoring protocol (POST /invocations) carries a
// table in one of four JSON shapes — pandas' "split" orientation {columns, data}, pandas'
// "records" orientation [{field: value}], TF-Serving's row-wise "instances" and column-wise
// "inputs" — or as CSV with a header row. The Open Inference Protocol v2 (KServe, Triton) carries
// named tensors, each with a datatype, a shape and flat (or nested) data; we accept the tensors a
// table has: one per column, shape [rows] or [rows, 1]. Every shape is turned into the same thing,
// `Columns` (one list per field), which is what the worker protocol sends, so the validation,
// dynamic batching (concat_columns / slice_columns) and monitoring logs see one representation.
// Rows become columns in one pass; records are read twice (first for the union of their fields,
// then to fill the columns) so that a record lacking a field costs a lookup rather than a
// quadratic back-fill, and the cells that such filling creates are capped.
//
// Validation runs in a fixed order — the body's syntax, the shape's structure, the field names,
// the lengths and row count, then every value's type — and each step reports every problem of its
// kind in one message. Names come first and come together: a client that sent "tenur" instead of
// "tenure" sees "missing input field(s): tenure; unexpected input field(s): tenur" in one answer,
// which names the typo, where reporting only the missing field (or only the first) would cost a
// round trip per mistake and hide the cause. Type errors name the first bad row of each field, not
// every bad cell, so that a 10 MB body with one wrong column yields a short message.
//
// Output values are checked against the signature too, but a mismatch there is the worker's fault
// (500), and only the signature's outputs are answered, so a worker's extra debugging columns never
// leak to clients.

#include "codec_detail.hpp"

#include <algorithm>
#include <cctype>
#include <mlo/serve/csv.hpp>
#include <mlo/serve/protocols.hpp>
#include <new>
#include <unordered_map>
#include <unordered_set>

namespace mlo::serve {

using detail::describe_value;
using detail::join_names;
using detail::join_problems;
using detail::parse_json;
using detail::pass;
using detail::to_ordered;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Records that lack fields are filled with missing values; this bounds what a small body can make.
constexpr size_t k_max_cells = size_t{1} << 23;

const std::string k_mlflow_keys = "dataframe_split, dataframe_records, instances or inputs";

std::string media_type(std::string_view content_type) {
    std::string_view type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front())))
        type.remove_prefix(1);
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
        type.remove_suffix(1);
    std::string out(type);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// "a", "a and b", "a, b and c".
std::string join_and(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return out;
}

HttpResult<Columns> columns_from(std::vector<std::string> names, std::vector<ordered_json::array_t> values,
                                 size_t rows, const Signature& signature, size_t max_rows) {
    Columns columns;
    columns.rows = rows;
    for (size_t i = 0; i < names.size(); ++i)
        detail::append_column(columns.columns, std::move(names[i]), ordered_json(std::move(values[i])));
    return validate_columns(std::move(columns), signature, max_rows);
}

HttpResult<Columns> from_split(json& split, const Signature& signature, size_t max_rows) {
    if (!split.is_object())
        return http_fail(400, "dataframe_split must be an object with columns and data, not " +
                                  describe_value(split));
    std::vector<std::string> unknown;
    for (auto it = split.begin(); it != split.end(); ++it)
        if (it.key() != "columns" && it.key() != "data" && it.key() != "index")
            unknown.push_back(it.key());
    if (!unknown.empty())
        return http_fail(400, "dataframe_split: unexpected key(s): " + join_names(unknown) +
                                  " (expected columns, data and index)");
    auto column_list = split.find("columns");
    auto data = split.find("data");
    if (column_list == split.end() || data == split.end())
        return http_fail(400, std::string("dataframe_split: missing ") +
                                  (column_list == split.end() ? "'columns'" : "'data'"));
    if (!column_list->is_array())
        return http_fail(400, "dataframe_split.columns must be a list of column names, not " +
                                  describe_value(*column_list));
    std::vector<std::string> names, problems;
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < column_list->size(); ++i) {
        const json& name = (*column_list)[i];
        if (!name.is_string())
            problems.push_back("dataframe_split.columns[" + std::to_string(i) + "] must be a string, not " +
                               describe_value(name));
        else if (!seen.insert(name.get<std::string>()).second)
            problems.push_back("dataframe_split.columns: duplicate column '" + name.get<std::string>() + "'");
        else
            names.push_back(name.get<std::string>());
    }
    if (!problems.empty())
        return http_fail(400, join_problems(problems));
    if (auto checked = check_input_names(names, signature); !checked)
        return pass(std::move(checked).error());
    if (!data->is_array())
        return http_fail(400, "dataframe_split.data must be a list of rows, not " + describe_value(*data));

    const size_t width = names.size();
    std::vector<ordered_json::array_t> values(width);
    for (auto& list : values)
        list.reserve(data->size());
    for (size_t row = 0; row < data->size(); ++row) {
        json& cells = (*data)[row];
        std::string where = "dataframe_split.data[" + std::to_string(row) + "]";
        if (!cells.is_array())
            return http_fail(400, where + " must be a list of values, not " + describe_value(cells));
        if (cells.size() != width)
            return http_fail(400, where + " has " + std::to_string(cells.size()) +
                                      " value(s), but there are " + std::to_string(width) + " column(s)");
        for (size_t i = 0; i < width; ++i)
            values[i].push_back(to_ordered(cells[i]));
    }
    return columns_from(std::move(names), std::move(values), data->size(), signature, max_rows);
}

// dataframe_records, or instances/inputs given as a list of objects.
HttpResult<Columns> from_records(json& records, const std::string& where, bool values_allowed,
                                 const Signature& signature, size_t max_rows) {
    if (!records.is_array())
        return http_fail(400,
                         where + " must be a list of objects, one per row, not " + describe_value(records));
    if (records.empty())
        return http_fail(400, "the request has no rows");
    std::unordered_map<std::string, size_t> index;
    std::vector<std::string> names;
    for (size_t row = 0; row < records.size(); ++row) {
        const json& record = records[row];
        if (!record.is_object())
            return http_fail(400,
                             where + "[" + std::to_string(row) + "] must be an object of field values, not " +
                                 describe_value(record) +
                                 (values_allowed ? " (a list of plain values needs a signature with exactly "
                                                   "one input)"
                                                 : ""));
        for (auto it = record.begin(); it != record.end(); ++it)
            if (index.emplace(it.key(), names.size()).second)
                names.push_back(it.key());
    }
    if (auto checked = check_input_names(names, signature); !checked)
        return pass(std::move(checked).error());
    const size_t rows = records.size();
    if (rows > max_rows)
        return http_fail(413, detail::too_many_rows(rows, max_rows));
    if (!names.empty() && rows > k_max_cells / names.size())
        return http_fail(413, "the request has too many values: " + std::to_string(rows) + " rows of " +
                                  std::to_string(names.size()) + " fields");

    // With a signature an absent field is "missing value"; without, it is null as in pandas.
    const ordered_json absent =
        signature.checks_inputs() ? ordered_json(ordered_json::value_t::discarded) : ordered_json(nullptr);
    std::vector<ordered_json::array_t> values(names.size());
    for (auto& list : values)
        list.reserve(rows);
    for (auto& record : records)
        for (size_t i = 0; i < names.size(); ++i) {
            auto it = record.find(names[i]);
            values[i].push_back(it != record.end() ? to_ordered(*it) : absent);
        }
    return columns_from(std::move(names), std::move(values), rows, signature, max_rows);
}

// instances, or inputs given as a list: objects, or plain values for a one-input signature.
HttpResult<Columns> from_list(json& list, const std::string& where, const Signature& signature,
                              size_t max_rows) {
    if (list.is_array() && !list.empty() && !list.front().is_object() && signature.checks_inputs() &&
        signature.inputs.size() == 1) {
        ordered_json::array_t values;
        values.reserve(list.size());
        for (auto& value : list)
            values.push_back(to_ordered(value));
        return columns_from({signature.inputs.front().name}, {std::move(values)}, list.size(), signature,
                            max_rows);
    }
    return from_records(list, where, true, signature, max_rows);
}

// inputs given as {"field": [values], ...}.
HttpResult<Columns> from_column_object(json& object, const Signature& signature, size_t max_rows) {
    Columns columns;
    for (auto it = object.begin(); it != object.end(); ++it)
        detail::append_column(columns.columns, it.key(), to_ordered(it.value()));
    return validate_columns(std::move(columns), signature, max_rows);
}

HttpResult<Columns> parse_mlflow_json(std::string_view body, const Signature& signature, size_t max_rows) {
    auto doc = parse_json(body);
    if (!doc)
        return pass(std::move(doc).error());
    if (!doc->is_object())
        return http_fail(400, "the request must be a JSON object with one of the keys " + k_mlflow_keys +
                                  ", not " + describe_value(*doc));
    std::vector<std::string> formats, unknown;
    for (auto it = doc->begin(); it != doc->end(); ++it) {
        const std::string& key = it.key();
        if (key == "dataframe_split" || key == "dataframe_records" || key == "instances" || key == "inputs")
            formats.push_back(key);
        else if (key != "params")
            unknown.push_back(key);
    }
    if (formats.size() != 1) {
        std::string message = "the request must have exactly one of the keys " + k_mlflow_keys + "; it has " +
                              (formats.empty() ? "none" : join_and(formats));
        if (formats.empty() && !unknown.empty())
            message += " (its keys: " + join_names(unknown) + ")";
        return http_fail(400, message);
    }
    if (!unknown.empty())
        return http_fail(400, "unexpected key(s) in the request: " + join_names(unknown) +
                                  " (only params may accompany " + formats.front() + ")");
    json& payload = doc->find(formats.front()).value();
    if (formats.front() == "dataframe_split")
        return from_split(payload, signature, max_rows);
    if (formats.front() == "dataframe_records")
        return from_records(payload, "dataframe_records", false, signature, max_rows);
    if (formats.front() == "instances")
        return from_list(payload, "instances", signature, max_rows);
    if (payload.is_object())
        return from_column_object(payload, signature, max_rows);
    if (payload.is_array())
        return from_list(payload, "inputs", signature, max_rows);
    return http_fail(400, "inputs must be an object of column lists or a list of objects, not " +
                              describe_value(payload));
}

} // namespace

namespace detail {

HttpResult<json> parse_json(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return http_fail(400, "the request body is empty: send a JSON object");
    json doc;
    try {
        doc = json::parse(body.data(), body.data() + body.size());
    } catch (const json::parse_error& error) {
        std::string message = error.what();
        if (size_t end = message.find("] ");
            message.rfind("[json.exception.", 0) == 0 && end != std::string::npos)
            message.erase(0, end + 2);
        for (char& c : message) // the parser quotes what it read: keep the message printable ASCII
            if (static_cast<unsigned char>(c) >= 0x80 || static_cast<unsigned char>(c) < 0x20)
                c = '?';
        if (message.size() > 300)
            message = message.substr(0, 300) + "...";
        return http_fail(400, "malformed JSON: " + message + " (byte " + std::to_string(error.byte) + ")");
    } catch (const std::bad_alloc&) {
        return http_fail(500, "out of memory reading the request");
    } catch (const std::exception& error) {
        return http_fail(400, std::string("malformed JSON: ") + error.what());
    }
    if (detail::nested_deeper_than(doc, detail::k_max_depth))
        return http_fail(400, "the request nests lists or objects more than " +
                                  std::to_string(detail::k_max_depth) + " levels deep");
    return doc;
}

ordered_json to_ordered(json& value) {
    switch (value.type()) {
    case json::value_t::string:
        return std::move(value.get_ref<std::string&>());
    case json::value_t::boolean:
        return value.get<bool>();
    case json::value_t::number_integer:
        return value.get<int64_t>();
    case json::value_t::number_unsigned:
        return value.get<uint64_t>();
    case json::value_t::number_float:
        return value.get<double>();
    case json::value_t::null:
        return nullptr;
    default:
        return ordered_json(value); // lists and objects: depth bounded by parse_json
    }
}

std::string dump(const ordered_json& value) {
    return value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

HttpResult<std::vector<OutputColumn>> check_outputs(const json& outputs, size_t rows,
                                                    const Signature& signature) {
    if (!outputs.is_object())
        return http_fail(500, "the worker returned outputs that are not an object of columns but " +
                                  describe_value(outputs));
    if (detail::nested_deeper_than(outputs, detail::k_max_depth))
        return http_fail(500, "the worker returned values nested more than " +
                                  std::to_string(detail::k_max_depth) + " levels deep");
    std::vector<OutputColumn> columns;
    if (signature.checks_outputs()) {
        std::vector<std::string> missing;
        for (const auto& field : signature.outputs)
            if (auto it = outputs.find(field.name); it == outputs.end())
                missing.push_back(field.name);
            else
                columns.push_back({field.name, field.type, ordered_json(*it)});
        if (!missing.empty())
            return http_fail(500, "the worker did not return output field(s): " + join_names(missing));
    } else {
        for (auto it = outputs.begin(); it != outputs.end(); ++it)
            columns.push_back({it.key(), std::nullopt, ordered_json(it.value())});
        if (columns.empty())
            return http_fail(500, "the worker returned no outputs");
    }
    std::vector<std::string> problems;
    for (const auto& column : columns)
        if (!column.values.is_array())
            problems.push_back("'" + column.name + "' is " + describe_value(column.values) + ", not a list");
        else if (column.values.size() != rows)
            problems.push_back("'" + column.name + "' has " + std::to_string(column.values.size()) +
                               " value(s) for " + std::to_string(rows) + " row(s)");
    if (!problems.empty())
        return http_fail(500, "the worker returned outputs that do not match the request: " +
                                  join_problems(problems));
    for (auto& column : columns) {
        if (!column.type)
            continue;
        auto& values = column.values.get_ref<ordered_json::array_t&>();
        for (size_t row = 0; row < values.size(); ++row)
            if (auto problem = normalise_value(values[row], *column.type)) {
                problems.push_back("field '" + column.name + "', row " + std::to_string(row) + ": " +
                                   *problem);
                break;
            }
    }
    if (!problems.empty())
        return http_fail(500, "the worker returned bad values: " + join_problems(problems));
    return columns;
}

} // namespace detail

HttpResult<Columns> parse_mlflow_request(std::string_view content_type, std::string_view body,
                                         const Signature& signature, size_t max_rows) {
    std::string type = media_type(content_type);
    if (type == "text/csv")
        return parse_csv_request(body, signature, max_rows);
    if (type != "application/json")
        return http_fail(
            415, "unsupported content type " +
                     (content_type.empty() ? std::string("(none)") : detail::quote_text(content_type)) +
                     ": send application/json or text/csv");
    return parse_mlflow_json(body, signature, max_rows);
}

HttpResult<std::string> mlflow_response(const json& outputs, size_t rows, const Signature& signature) {
    auto columns = detail::check_outputs(outputs, rows, signature);
    if (!columns)
        return pass(std::move(columns).error());
    ordered_json predictions;
    if (columns->size() == 1) {
        predictions = std::move(columns->front().values);
    } else {
        ordered_json::array_t list;
        list.reserve(rows);
        for (size_t row = 0; row < rows; ++row) {
            ordered_json record = ordered_json::object();
            for (auto& column : *columns)
                detail::append_column(record, column.name, std::move(column.values[row]));
            list.push_back(std::move(record));
        }
        predictions = std::move(list);
    }
    ordered_json response = ordered_json::object();
    response["predictions"] = std::move(predictions);
    return detail::dump(response);
}

std::string worker_request_line(std::string_view id, const Columns& columns) {
    return "{\"id\":" + json(std::string(id)).dump(-1, ' ', false, json::error_handler_t::replace) +
           ",\"inputs\":" + detail::dump(columns.columns) + "}";
}

} // namespace mlo::serve
