// The Open Inference Protocol v2 (KServe, Triton) half of protocols.hpp; the design is described at
// the top of protocols.cpp. A table travels as one tensor per column, shape [rows] or [rows, 1];
// a tensor's datatype must be exactly the signature's (v2 clients choose datatypes deliberately, and
// a silent FP32 -> FP64 widening would hide a client built against another model).

#include "codec_detail.hpp"

#include <algorithm>
#include <mlo/serve/protocols.hpp>
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

const std::unordered_set<std::string> k_v2_datatypes = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64",
                                                        "INT8", "INT16", "INT32",  "INT64",  "FP16",
                                                        "BF16", "FP32",  "FP64",   "BYTES"};

struct Tensor {
    std::string name;
    std::string datatype;
    std::vector<uint64_t> shape;
    json* data = nullptr;
};

std::string shape_text(const std::vector<uint64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        out += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
    return out + "]";
}

// One entry of a v2 request's "inputs"; problems are appended.
std::optional<Tensor> read_tensor(json& entry, size_t position, std::vector<std::string>& problems) {
    std::string where = "inputs[" + std::to_string(position) + "]";
    if (!entry.is_object()) {
        problems.push_back(where + " must be an object with name, shape, datatype and data, not " +
                           describe_value(entry));
        return std::nullopt;
    }
    Tensor tensor;
    auto name = entry.find("name");
    if (name == entry.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
        problems.push_back(where + ": " +
                           (name == entry.end()
                                ? "missing 'name'"
                                : "'name' must be a non-empty string, not " + describe_value(*name)));
        return std::nullopt;
    }
    tensor.name = name->get<std::string>();
    where = "input '" + tensor.name + "'";
    const size_t before = problems.size();
    std::vector<std::string> unknown;
    for (auto it = entry.begin(); it != entry.end(); ++it)
        if (it.key() != "name" && it.key() != "shape" && it.key() != "datatype" && it.key() != "data" &&
            it.key() != "parameters")
            unknown.push_back(it.key());
    if (!unknown.empty())
        problems.push_back(where + ": unexpected key(s): " + join_names(unknown));
    auto shape = entry.find("shape");
    if (shape == entry.end()) {
        problems.push_back(where + ": missing 'shape'");
    } else {
        bool ok = shape->is_array();
        if (ok) {
            for (const auto& size : *shape) {
                if (size.is_number_unsigned() || (size.is_number_integer() && size.get<int64_t>() >= 0))
                    tensor.shape.push_back(size.get<uint64_t>());
                else
                    ok = false;
            }
        }
        if (!ok)
            problems.push_back(where + ": 'shape' must be a list of non-negative integers");
    }
    auto datatype = entry.find("datatype");
    if (datatype == entry.end())
        problems.push_back(where + ": missing 'datatype'");
    else if (!datatype->is_string() || !k_v2_datatypes.count(datatype->get_ref<const std::string&>()))
        problems.push_back(where + ": unknown datatype " +
                           (datatype->is_string()
                                ? detail::quote_text(datatype->get_ref<const std::string&>())
                                : describe_value(*datatype)));
    else
        tensor.datatype = datatype->get<std::string>();
    auto data = entry.find("data");
    if (data == entry.end())
        problems.push_back(where + ": missing 'data'");
    else if (!data->is_array())
        problems.push_back(where + ": 'data' must be a list, not " + describe_value(*data));
    else
        tensor.data = &*data;
    if (problems.size() != before)
        return std::nullopt;
    return tensor;
}

// The datatype, shape and data of an output column without a signature.
void infer_tensor(ordered_json& values, size_t rows, ordered_json& out) {
    auto datatype_of = [](const ordered_json::array_t& list) -> std::string {
        bool all_bool = true, all_int = true, all_number = true, all_string = true;
        for (const auto& value : list) {
            all_bool = all_bool && value.is_boolean();
            all_int = all_int && value.is_number_integer();
            all_number = all_number && value.is_number();
            all_string = all_string && value.is_string();
        }
        return list.empty() || all_string ? "BYTES"
               : all_bool                 ? "BOOL"
               : all_int                  ? "INT64"
               : all_number               ? "FP64"
                                          : "BYTES";
    };
    auto& list = values.get_ref<ordered_json::array_t&>();
    size_t width = !list.empty() && list.front().is_array() ? list.front().size() : 0;
    bool matrix = width > 0;
    for (const auto& value : list) {
        if (!matrix)
            break;
        matrix = value.is_array() && value.size() == width;
        for (size_t k = 0; matrix && k < width; ++k)
            matrix = !value[k].is_structured();
    }
    if (matrix) {
        ordered_json::array_t flat;
        flat.reserve(rows * width);
        for (auto& value : list)
            for (auto& item : value)
                flat.push_back(std::move(item));
        out["datatype"] = datatype_of(flat);
        out["shape"] = ordered_json::array({rows, width});
        out["data"] = std::move(flat);
    } else {
        out["datatype"] = datatype_of(list);
        out["shape"] = ordered_json::array({rows});
        out["data"] = std::move(values);
    }
}

} // namespace

HttpResult<V2Request> parse_v2_request(std::string_view body, const Signature& signature, size_t max_rows) {
    auto doc = parse_json(body);
    if (!doc)
        return pass(std::move(doc).error());
    if (!doc->is_object())
        return http_fail(400, "the request must be a JSON object with inputs, not " + describe_value(*doc));
    std::vector<std::string> problems, unknown;
    for (auto it = doc->begin(); it != doc->end(); ++it)
        if (it.key() != "id" && it.key() != "parameters" && it.key() != "inputs" && it.key() != "outputs")
            unknown.push_back(it.key());
    if (!unknown.empty())
        problems.push_back("unexpected key(s) in the request: " + join_names(unknown) +
                           " (expected id, parameters, inputs and outputs)");
    V2Request request;
    if (auto id = doc->find("id"); id != doc->end() && !id->is_null()) {
        if (id->is_string())
            request.id = id->get<std::string>();
        else
            problems.push_back("'id' must be a string, not " + describe_value(*id));
    }
    if (auto parameters = doc->find("parameters");
        parameters != doc->end() && !parameters->is_null() && !parameters->is_object())
        problems.push_back("'parameters' must be an object, not " + describe_value(*parameters));

    std::vector<Tensor> tensors;
    std::unordered_set<std::string> seen;
    auto inputs = doc->find("inputs");
    if (inputs == doc->end())
        problems.push_back("missing 'inputs'");
    else if (!inputs->is_array())
        problems.push_back("'inputs' must be a list of tensors, not " + describe_value(*inputs));
    else
        for (size_t i = 0; i < inputs->size(); ++i)
            if (auto tensor = read_tensor((*inputs)[i], i, problems)) {
                if (seen.insert(tensor->name).second)
                    tensors.push_back(std::move(*tensor));
                else
                    problems.push_back("input '" + tensor->name + "' appears more than once");
            }
    if (auto outputs = doc->find("outputs"); outputs != doc->end() && !outputs->is_null()) {
        if (!outputs->is_array())
            problems.push_back("'outputs' must be a list of {\"name\": ...}, not " +
                               describe_value(*outputs));
        else
            for (size_t i = 0; i < outputs->size(); ++i) {
                const json& entry = (*outputs)[i];
                auto name = entry.is_object() ? entry.find("name") : entry.end();
                if (!entry.is_object() || name == entry.end() || !name->is_string())
                    problems.push_back("outputs[" + std::to_string(i) +
                                       "] must be an object with a string 'name'");
                else if (std::find(request.requested_outputs.begin(), request.requested_outputs.end(),
                                   name->get_ref<const std::string&>()) == request.requested_outputs.end())
                    request.requested_outputs.push_back(name->get<std::string>());
            }
    }
    if (!problems.empty())
        return http_fail(400, join_problems(problems));

    std::vector<std::string> names;
    names.reserve(tensors.size());
    for (const auto& tensor : tensors)
        names.push_back(tensor.name);
    if (auto checked = check_input_names(names, signature); !checked)
        return pass(std::move(checked).error());
    if (signature.checks_inputs()) {
        std::unordered_map<std::string_view, FieldType> types;
        for (const auto& field : signature.inputs)
            types.emplace(field.name, field.type);
        for (const auto& tensor : tensors)
            if (auto it = types.find(tensor.name);
                it != types.end() && v2_datatype(it->second) != tensor.datatype)
                problems.push_back("input '" + tensor.name + "': expected datatype " +
                                   v2_datatype(it->second) + ", got " + tensor.datatype);
        if (!problems.empty())
            return http_fail(400, join_problems(problems));
    }

    for (auto& tensor : tensors) {
        const auto& shape = tensor.shape;
        json& data = *tensor.data;
        if (shape.empty() || shape.size() > 2 || (shape.size() == 2 && shape[1] != 1)) {
            problems.push_back("input '" + tensor.name + "': shape " + shape_text(shape) +
                               " is not supported: send [rows] or [rows, 1]");
            continue;
        }
        // [rows, 1] may come nested, [[v], [w]]: flatten it.
        bool nested = shape.size() == 2 && !data.empty() && data.size() == shape[0];
        for (size_t i = 0; nested && i < data.size(); ++i)
            nested = data[i].is_array() && data[i].size() == 1;
        if (nested)
            for (auto& value : data)
                value = json(std::move(value[0]));
        if (data.size() != shape[0])
            problems.push_back("input '" + tensor.name + "': shape " + shape_text(shape) + " needs " +
                               std::to_string(shape[0]) + " value(s), data has " +
                               std::to_string(data.size()));
    }
    if (!problems.empty())
        return http_fail(400, join_problems(problems));
    if (!tensors.empty()) {
        std::vector<std::string> sizes;
        for (const auto& tensor : tensors)
            if (tensor.shape[0] != tensors.front().shape[0])
                sizes.push_back("'" + tensor.name + "' has " + std::to_string(tensor.shape[0]));
        if (!sizes.empty()) {
            sizes.insert(sizes.begin(), "'" + tensors.front().name + "' has " +
                                            std::to_string(tensors.front().shape[0]) + " row" +
                                            (tensors.front().shape[0] == 1 ? "" : "s"));
            return http_fail(400, "inputs have different batch sizes: " + join_names(sizes));
        }
    }
    if (signature.checks_outputs()) {
        std::unordered_set<std::string_view> known;
        for (const auto& field : signature.outputs)
            known.insert(field.name);
        std::vector<std::string> unknown_outputs;
        for (const auto& name : request.requested_outputs)
            if (!known.count(name))
                unknown_outputs.push_back(name);
        if (!unknown_outputs.empty()) {
            std::vector<std::string> all;
            for (const auto& field : signature.outputs)
                all.push_back(field.name);
            return http_fail(400, "unknown requested output(s): " + join_names(unknown_outputs) +
                                      " (the model's outputs: " + join_names(all) + ")");
        }
    }

    Columns columns;
    for (auto& tensor : tensors) {
        ordered_json::array_t values;
        values.reserve(tensor.data->size());
        for (auto& value : *tensor.data)
            values.push_back(to_ordered(value));
        detail::append_column(columns.columns, tensor.name, ordered_json(std::move(values)));
    }
    auto validated = validate_columns(std::move(columns), signature, max_rows);
    if (!validated)
        return pass(std::move(validated).error());
    request.inputs = std::move(*validated);
    return request;
}

HttpResult<std::string> v2_response(const std::string& model, const std::string& version,
                                    const V2Request& request, const json& outputs, size_t rows,
                                    const Signature& signature) {
    auto columns = detail::check_outputs(outputs, rows, signature);
    if (!columns)
        return pass(std::move(columns).error());
    std::vector<detail::OutputColumn*> selected;
    if (request.requested_outputs.empty()) {
        for (auto& column : *columns)
            selected.push_back(&column);
    } else {
        std::vector<std::string> unknown;
        for (const auto& name : request.requested_outputs) {
            auto it = std::find_if(columns->begin(), columns->end(),
                                   [&](const detail::OutputColumn& column) { return column.name == name; });
            if (it == columns->end())
                unknown.push_back(name);
            else
                selected.push_back(&*it);
        }
        if (!unknown.empty())
            return http_fail(400, "unknown requested output(s): " + join_names(unknown));
    }
    ordered_json tensors = ordered_json::array();
    for (detail::OutputColumn* column : selected) {
        ordered_json tensor = ordered_json::object();
        tensor["name"] = column->name;
        if (column->type) {
            tensor["datatype"] = v2_datatype(*column->type);
            tensor["shape"] = ordered_json::array({rows});
            tensor["data"] = std::move(column->values);
        } else {
            infer_tensor(column->values, rows, tensor);
        }
        tensors.push_back(std::move(tensor));
    }
    ordered_json response = ordered_json::object();
    response["model_name"] = model;
    response["model_version"] = version;
    if (!request.id.empty())
        response["id"] = request.id;
    response["outputs"] = std::move(tensors);
    return detail::dump(response);
}

json v2_model_metadata(const std::string& model, const std::string& version, const std::string& platform,
                       const Signature& signature) {
    auto tensors = [](const std::vector<Field>& fields) {
        json list = json::array();
        for (const auto& field : fields)
            list.push_back(
                {{"name", field.name}, {"datatype", v2_datatype(field.type)}, {"shape", json::array({-1})}});
        return list;
    };
    json versions = json::array();
    if (!version.empty())
        versions.push_back(version);
    return {{"name", model},
            {"versions", std::move(versions)},
            {"platform", platform},
            {"inputs", tensors(signature.present ? signature.inputs : std::vector<Field>{})},
            {"outputs", tensors(signature.present ? signature.outputs : std::vector<Field>{})}};
}

} // namespace mlo::serve
