#pragma once

#include <cstddef>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace mlo::serve {

// An error answered to an HTTP client: a status and a human sentence naming the problem. 4xx
// statuses blame the request, 5xx the server or its worker.
struct HttpError {
    int status = 400;
    std::string message;
};
template <class T> using HttpResult = tl::expected<T, HttpError>;

inline tl::unexpected<HttpError> http_fail(int status, std::string message) {
    return tl::unexpected<HttpError>(HttpError{status, std::move(message)});
}

// The scalar types a signature field may have.
enum class FieldType { float64, float32, int64, int32, boolean, string };

struct Field {
    std::string name;
    FieldType type = FieldType::float64;
    bool pii = false; // logged only as a keyed hash (SPEC.md section 6)
};

// A model's inputs and outputs, from its registered manifest. `present` is false when the manifest
// has no signature: inputs are then passed through unvalidated and outputs are whatever the worker
// returns. A present signature with an empty (or null) list checks nothing in that direction.
struct Signature {
    bool present = false;
    std::vector<Field> inputs, outputs;

    // {"inputs": [{"name", "type", "pii"?}], "outputs": [...]}, or null for no signature. Accepted
    // types: double/float64, float/float32, long/int64, integer/int32, boolean/bool, string. Every
    // problem (unknown type, missing name, duplicate name, ...) is listed in one ErrorCode::input
    // error naming the field; other keys of a field (MLflow's "required", ...) are ignored.
    static Result<Signature> from_json(const nlohmann::json& signature);

    bool checks_inputs() const { return present && !inputs.empty(); }
    bool checks_outputs() const { return present && !outputs.empty(); }
};

// The type named in a signature ("double", "int64", ...), or nullopt when unknown.
std::optional<FieldType> parse_field_type(std::string_view name);
// MLflow's names: "double", "float", "long", "integer", "boolean", "string". Error messages use them.
std::string mlflow_type_name(FieldType type);
// Open Inference Protocol datatypes: "FP64", "FP32", "INT64", "INT32", "BOOL", "BYTES".
std::string v2_datatype(FieldType type);

// A batch of rows as columns: what a worker receives ({"inputs": columns}). An ordered_json so the
// columns keep their order (the signature's, else the request's) up to the worker line: a model fed
// a DataFrame may depend on it. Converting it to a plain nlohmann::json sorts the names; use
// worker_request_line (protocols.hpp) or dump it directly.
struct Columns {
    size_t rows = 0;
    nlohmann::ordered_json columns = nlohmann::ordered_json::object(); // name -> list of values
};

// 400 "missing input field(s): a, b; unexpected input field(s): x" when `names` (a request's fields)
// differ from the signature's inputs; nothing is checked when the signature has none.
tl::expected<void, HttpError> check_input_names(const std::vector<std::string>& names,
                                                const Signature& signature);

// Checks and normalises a request's columns against the signature, in this order, each step
// failing with one message that lists every problem of its kind:
//   400 "missing input field(s): a, b; unexpected input field(s): x" (with a signature);
//   400 a column that is not a list, "input fields have different lengths: ...", "the request has
//   no input fields", "the request has no rows"; 413 more than `max_rows` rows;
//   400 "field 'tenure', row 3: expected double, got string \"abc\"" (the first bad value of each
//   field; rows count from 0 as in a DataFrame). Ints are accepted (and stored as doubles) for
//   double/float; a double without fraction is accepted (and stored as an int) for long/integer;
//   bools are not numbers; null is rejected.
// The result has the signature's columns in its order and `rows` set (the input's `rows` is
// ignored). Without a signature only the shape is checked, values pass unchanged (absent record
// fields become null). The protocol parsers have already refused JSON nested over 64 levels.
HttpResult<Columns> validate_columns(Columns columns, const Signature& signature, size_t max_rows);

// Checks one value against a type and normalises it in place (int -> double for double/float,
// integral double -> int for long/integer). Returns the problem ("expected long, got number 1.5")
// or nullopt. A discarded value means "absent" and reads "missing value".
std::optional<std::string> normalise_value(nlohmann::ordered_json& value, FieldType type);

// Rows [begin, end) of every column (clamped to each column's length); non-list columns are
// copied unchanged. Used to answer each request of a dynamically batched group from the batch's
// outputs.
nlohmann::json slice_columns(const nlohmann::json& columns, size_t begin, size_t end);
nlohmann::ordered_json slice_columns(const nlohmann::ordered_json& columns, size_t begin, size_t end);

// Whether two requests have the same fields in the same order and so may share a batch. Requests
// validated against the same signature always do; without one they may not.
bool same_fields(const Columns& a, const Columns& b);

// Concatenates parts row-wise; the fields and their order are the first part's. Parts must have
// the same fields (same_fields); a field a part lacks is filled with nulls so rows stay aligned.
Columns concat_columns(const std::vector<const Columns*>& parts);

} // namespace mlo::serve
