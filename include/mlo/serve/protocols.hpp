#pragma once

#include <cstddef>
#include <mlo/serve/signature.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::serve {

// The request codecs below never throw; every failure is an HttpError whose message names the
// problem. Rows in messages count from 0. Bodies are parsed in linear time (10 MB is fine); JSON
// nested more than 64 levels deep is refused (400) because copying and writing it recurse.

// MLflow's scoring protocol, POST /invocations. `content_type` is the request's Content-Type:
// application/json or text/csv, parameters (charset=...) allowed; anything else is 415.
// JSON bodies hold exactly one of
//   dataframe_split   {"columns": [...], "data": [[...], ...], "index"?: [...]}
//   dataframe_records [{"a": 1, "b": "x"}, ...]   (a field missing from a record is a missing value)
//   instances         a list of objects, or of plain values when the signature has exactly one input
//   inputs            {"a": [1, 2], "b": ["x", "y"]}, or a list as for instances
// and optionally "params" (ignored); none, several or other keys are 400. Malformed JSON is 400
// "malformed JSON: <parser message> (byte N)". CSV is read by parse_csv_request (csv.hpp). The
// result has passed validate_columns.
HttpResult<Columns> parse_mlflow_request(std::string_view content_type, std::string_view body,
                                         const Signature& signature, size_t max_rows);

// The /invocations answer for a worker's `outputs` (an object of columns) for a request of `rows`
// rows: {"predictions": [v, ...]} for one output, {"predictions": [{"a": v, "b": w}, ...]} for
// several. With a signature only its outputs are answered, in its order, checked and normalised
// like inputs. A worker's mistake (not an object, a column not a list or of another length, a
// signature output missing, a bad value) is 500 "the worker ...".
HttpResult<std::string> mlflow_response(const nlohmann::json& outputs, size_t rows,
                                        const Signature& signature);

// Open Inference Protocol v2 (KServe/Triton), POST /v2/models/{m}[/versions/{v}]/infer:
// {"id"?, "parameters"?, "inputs": [{"name", "shape": [n] or [n, 1], "datatype", "data" (flat, or
// nested as [[v], ...] for [n, 1]), "parameters"?}], "outputs"?: [{"name", "parameters"?}]}.
// Checked in order, each step listing every problem of its kind (400): the request's structure;
// the input names (as validate_columns); each datatype against the signature's v2_datatype
// (exactly: FP32 is not FP64); shape against data; equal batch sizes; requested outputs against
// the signature's outputs; then validate_columns.
struct V2Request {
    std::string id; // "" when the request had none
    Columns inputs;
    std::vector<std::string> requested_outputs; // in the request's order, without repeats
};
HttpResult<V2Request> parse_v2_request(std::string_view body, const Signature& signature, size_t max_rows);

// {"model_name", "model_version", "id" (when the request had one), "outputs": [{"name", "datatype",
// "shape": [rows], "data"}]}: the requested outputs in the requested order, else all (the
// signature's, in its order). Without a signature datatypes are inferred from the values (BOOL,
// INT64, FP64, else BYTES; rows that are equal-length lists give shape [rows, k], data flattened).
// Worker mistakes are 500 as for mlflow_response; a requested output the worker (without a
// signature) did not return is 400 "unknown requested output(s): ...".
HttpResult<std::string> v2_response(const std::string& model, const std::string& version,
                                    const V2Request& request, const nlohmann::json& outputs, size_t rows,
                                    const Signature& signature);

// GET /v2/models/{m}[/versions/{v}]: {"name", "versions": [version] ([] when ""), "platform",
// "inputs": [{"name", "datatype", "shape": [-1]}], "outputs": [...]} (empty lists without a
// signature).
nlohmann::json v2_model_metadata(const std::string& model, const std::string& version,
                                 const std::string& platform, const Signature& signature);

// One line of the worker protocol (SPEC.md section 6), without the newline:
// {"id":"b17","inputs":{"tenure":[3,40],"plan":["a","b"]}}, columns in their order (converting the
// ordered_json to nlohmann::json would sort them).
std::string worker_request_line(std::string_view id, const Columns& columns);

} // namespace mlo::serve
