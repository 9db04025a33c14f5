// The model server's codecs: signatures, input validation, MLflow's scoring protocol (JSON and
// CSV), the Open Inference Protocol v2, responses, and the batch slicing helpers. Error messages
// are pinned exactly: they are what a client reads.

#include <catch2/catch.hpp>
#include <mlo/serve/csv.hpp>
#include <mlo/serve/protocols.hpp>
#include <mlo/serve/signature.hpp>
#include <string>

using namespace mlo::serve;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

Signature signature_of(const std::string& text) {
    auto signature = Signature::from_json(json::parse(text));
    REQUIRE(signature);
    return *signature;
}

// tenure: double, plan: string (pii) -> churn: long
const Signature& churn() {
    static const Signature signature = signature_of(R"({"inputs": [{"name": "tenure", "type": "double"},
        {"name": "plan", "type": "string", "pii": true}], "outputs": [{"name": "churn", "type": "int64"}]})");
    return signature;
}

const Signature k_none;

HttpResult<Columns> mlflow(const std::string& body, const Signature& signature = churn(),
                           size_t max_rows = 100) {
    return parse_mlflow_request("application/json", body, signature, max_rows);
}

HttpResult<Columns> csv(const std::string& body, const Signature& signature = churn(),
                        size_t max_rows = 100) {
    return parse_mlflow_request("text/csv", body, signature, max_rows);
}

template <class T> HttpError error_of(const HttpResult<T>& result) {
    REQUIRE_FALSE(result);
    return result.error();
}

template <class T> std::string message_of(const HttpResult<T>& result) {
    auto error = error_of(result);
    CHECK(error.status == 400);
    return error.message;
}

std::string columns_text(const HttpResult<Columns>& result) {
    if (!result)
        FAIL("unexpected error " << result.error().status << ": " << result.error().message);
    return result->columns.dump();
}

Columns columns_of(const std::string& text) {
    Columns columns;
    columns.columns = ordered_json::parse(text);
    columns.rows = columns.columns.empty() ? 0 : columns.columns.begin()->size();
    return columns;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Signatures

TEST_CASE("a signature reads fields, types and pii", "[serve]") {
    const Signature& signature = churn();
    CHECK(signature.present);
    REQUIRE(signature.inputs.size() == 2);
    CHECK(signature.inputs[0].name == "tenure");
    CHECK(signature.inputs[0].type == FieldType::float64);
    CHECK_FALSE(signature.inputs[0].pii);
    CHECK(signature.inputs[1].type == FieldType::string);
    CHECK(signature.inputs[1].pii);
    REQUIRE(signature.outputs.size() == 1);
    CHECK(signature.outputs[0].type == FieldType::int64);
    CHECK(signature.checks_inputs());
    CHECK(signature.checks_outputs());
}

TEST_CASE("signature types accept MLflow's names and common aliases", "[serve]") {
    CHECK(parse_field_type("double") == FieldType::float64);
    CHECK(parse_field_type("float64") == FieldType::float64);
    CHECK(parse_field_type("float") == FieldType::float32);
    CHECK(parse_field_type("float32") == FieldType::float32);
    CHECK(parse_field_type("long") == FieldType::int64);
    CHECK(parse_field_type("int64") == FieldType::int64);
    CHECK(parse_field_type("integer") == FieldType::int32);
    CHECK(parse_field_type("int32") == FieldType::int32);
    CHECK(parse_field_type("boolean") == FieldType::boolean);
    CHECK(parse_field_type("bool") == FieldType::boolean);
    CHECK(parse_field_type("string") == FieldType::string);
    CHECK(parse_field_type("Double") == FieldType::float64);
    CHECK_FALSE(parse_field_type("datetime"));
    CHECK_FALSE(parse_field_type("binary"));
}

TEST_CASE("type names for MLflow and v2", "[serve]") {
    CHECK(mlflow_type_name(FieldType::float64) == "double");
    CHECK(mlflow_type_name(FieldType::float32) == "float");
    CHECK(mlflow_type_name(FieldType::int64) == "long");
    CHECK(mlflow_type_name(FieldType::int32) == "integer");
    CHECK(mlflow_type_name(FieldType::boolean) == "boolean");
    CHECK(mlflow_type_name(FieldType::string) == "string");
    CHECK(v2_datatype(FieldType::float64) == "FP64");
    CHECK(v2_datatype(FieldType::float32) == "FP32");
    CHECK(v2_datatype(FieldType::int64) == "INT64");
    CHECK(v2_datatype(FieldType::int32) == "INT32");
    CHECK(v2_datatype(FieldType::boolean) == "BOOL");
    CHECK(v2_datatype(FieldType::string) == "BYTES");
}

TEST_CASE("a null or absent signature checks nothing", "[serve]") {
    auto none = Signature::from_json(json());
    REQUIRE(none);
    CHECK_FALSE(none->present);
    CHECK_FALSE(none->checks_inputs());

    auto outputs_only = Signature::from_json(
        json::parse(R"({"inputs": null, "outputs": [{"name": "y", "type": "double"}]})"));
    REQUIRE(outputs_only);
    CHECK(outputs_only->present);
    CHECK_FALSE(outputs_only->checks_inputs());
    CHECK(outputs_only->checks_outputs());
}

TEST_CASE("an unknown signature type is an input error naming the field", "[serve]") {
    auto signature = Signature::from_json(
        json::parse(R"({"inputs": [{"name": "when", "type": "datetime"}], "outputs": []})"));
    REQUIRE_FALSE(signature);
    CHECK(signature.error().code == mlo::ErrorCode::input);
    CHECK(signature.error().message == "signature: inputs.when: unknown type \"datetime\" (expected double, "
                                       "float, long, integer, boolean or string)");
}

TEST_CASE("every signature problem is reported at once", "[serve]") {
    auto signature =
        Signature::from_json(json::parse(R"({"inputs": [{"type": "double"}, {"name": "a", "type": "double"},
        {"name": "a", "type": "long", "pii": "yes"}, 7], "outputs": {"name": "y"}})"));
    REQUIRE_FALSE(signature);
    CHECK(signature.error().message ==
          "signature: 5 problems:\n"
          "  inputs[0]: missing 'name'\n"
          "  inputs.a: duplicate field name\n"
          "  inputs.a: 'pii' must be true or false, not string \"yes\"\n"
          "  inputs[3]: must be an object like {\"name\": \"x\", \"type\": \"double\"}, "
          "not number 7\n"
          "  outputs: must be a list of {name, type}, not an object");
}

TEST_CASE("a signature that is not an object is refused", "[serve]") {
    auto signature = Signature::from_json(json::parse("[1]"));
    REQUIRE_FALSE(signature);
    CHECK(signature.error().message == "signature: must be an object with inputs and outputs, not a list");
}

// ---------------------------------------------------------------------------------------------
// validate_columns

TEST_CASE("validation orders columns as the signature and normalises numbers", "[serve]") {
    auto columns = validate_columns(columns_of(R"({"plan": ["a", "b"], "tenure": [3, 4.5]})"), churn(), 100);
    CHECK(columns_text(columns) == R"({"tenure":[3.0,4.5],"plan":["a","b"]})");
    CHECK(columns->rows == 2);
}

TEST_CASE("ints are accepted for double and float and stored as doubles", "[serve]") {
    auto signature =
        signature_of(R"({"inputs": [{"name": "x", "type": "float"}, {"name": "y", "type": "double"}]})");
    auto columns =
        validate_columns(columns_of(R"({"x": [1, -2], "y": [18446744073709551615, 0]})"), signature, 10);
    REQUIRE(columns);
    CHECK(columns->columns["x"][0].is_number_float());
    CHECK(columns->columns["y"][0].is_number_float());
    CHECK(columns_text(columns) == R"({"x":[1.0,-2.0],"y":[1.8446744073709552e+19,0.0]})");
}

TEST_CASE("a double without fraction is an int, with a fraction it is not", "[serve]") {
    auto signature = signature_of(R"({"inputs": [{"name": "n", "type": "long"}]})");
    auto whole = validate_columns(columns_of(R"({"n": [3.0, 1e3, -0.0]})"), signature, 10);
    REQUIRE(whole);
    CHECK(whole->columns["n"][0].is_number_integer());
    CHECK(columns_text(whole) == R"({"n":[3,1000,0]})");

    auto fraction = validate_columns(columns_of(R"({"n": [1, 1.5]})"), signature, 10);
    CHECK(message_of(fraction) == "field 'n', row 1: expected long, got number 1.5");
}

TEST_CASE("ints out of range are refused", "[serve]") {
    auto int32 = signature_of(R"({"inputs": [{"name": "n", "type": "integer"}]})");
    CHECK(message_of(validate_columns(columns_of(R"({"n": [2147483647, 2147483648]})"), int32, 10)) ==
          "field 'n', row 1: expected integer, got number 2147483648 (out of range)");
    CHECK(message_of(validate_columns(columns_of(R"({"n": [-2147483649]})"), int32, 10)) ==
          "field 'n', row 0: expected integer, got number -2147483649 (out of range)");

    auto int64 = signature_of(R"({"inputs": [{"name": "n", "type": "long"}]})");
    CHECK(validate_columns(columns_of(R"({"n": [9223372036854775807, -9223372036854775808]})"), int64, 10));
    CHECK(message_of(validate_columns(columns_of(R"({"n": [9223372036854775808]})"), int64, 10)) ==
          "field 'n', row 0: expected long, got number 9223372036854775808 (out of range)");
    CHECK(message_of(validate_columns(columns_of(R"({"n": [1e19]})"), int64, 10)) ==
          "field 'n', row 0: expected long, got number 1e+19 (out of range)");

    auto float32 = signature_of(R"({"inputs": [{"name": "x", "type": "float"}]})");
    CHECK(message_of(validate_columns(columns_of(R"({"x": [1e39]})"), float32, 10)) ==
          "field 'x', row 0: expected float, got number 1e+39 (out of range)");
}

TEST_CASE("bools are not numbers and numbers are not bools or strings", "[serve]") {
    auto signature =
        signature_of(R"({"inputs": [{"name": "x", "type": "double"}, {"name": "b", "type": "bool"},
        {"name": "s", "type": "string"}]})");
    CHECK(message_of(validate_columns(columns_of(R"({"x": [true], "b": [true], "s": ["a"]})"), signature,
                                      10)) == "field 'x', row 0: expected double, got boolean true");
    CHECK(message_of(validate_columns(columns_of(R"({"x": [1], "b": [1], "s": ["a"]})"), signature, 10)) ==
          "field 'b', row 0: expected boolean, got number 1");
    CHECK(message_of(validate_columns(columns_of(R"({"x": [1], "b": [false], "s": [12345]})"), signature,
                                      10)) == "field 's', row 0: expected string, got number 12345");
}

TEST_CASE("a mistyped value names the field, row, type and value", "[serve]") {
    auto result = validate_columns(
        columns_of(R"({"tenure": [1, 2, 3, "abc"], "plan": ["a", "b", "c", "d"]})"), churn(), 100);
    CHECK(message_of(result) == "field 'tenure', row 3: expected double, got string \"abc\"");
}

TEST_CASE("the first bad value of every field is reported", "[serve]") {
    auto result =
        validate_columns(columns_of(R"({"tenure": [1, "x", "y"], "plan": [1, 2, "c"]})"), churn(), 100);
    CHECK(message_of(result) == "field 'tenure', row 1: expected double, got string \"x\"; field 'plan', row "
                                "0: expected string, got number 1");
}

TEST_CASE("long strings and lists are shortened in messages", "[serve]") {
    auto result = validate_columns(
        columns_of(R"({"tenure": ["abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"], "plan": [[1]]})"),
        churn(), 100);
    CHECK(message_of(result) ==
          "field 'tenure', row 0: expected double, got string "
          "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmn...\"; field 'plan', row 0: expected "
          "string, got a list");
}

TEST_CASE("null is rejected naming the field and row", "[serve]") {
    auto result = validate_columns(columns_of(R"({"tenure": [1, 2], "plan": ["a", null]})"), churn(), 100);
    CHECK(message_of(result) == "field 'plan', row 1: expected string, got null");
}

TEST_CASE("missing and unexpected fields are listed together", "[serve]") {
    auto result = validate_columns(columns_of(R"({"tenur": [1], "x": [2]})"), churn(), 100);
    CHECK(message_of(result) == "missing input field(s): tenure, plan; unexpected input field(s): tenur, x");
    CHECK(message_of(validate_columns(columns_of(R"({"tenure": [1]})"), churn(), 100)) ==
          "missing input field(s): plan");
    CHECK(message_of(validate_columns(columns_of(R"({"tenure": [1], "plan": ["a"], "z": [0]})"), churn(),
                                      100)) == "unexpected input field(s): z");
}

TEST_CASE("long name lists are cut after ten", "[serve]") {
    ordered_json columns = ordered_json::object();
    columns["tenure"] = {1};
    columns["plan"] = {"a"};
    for (int i = 0; i < 13; ++i)
        columns["x" + std::to_string(i)] = {0};
    Columns input;
    input.columns = columns;
    CHECK(message_of(validate_columns(input, churn(), 100)) ==
          "unexpected input field(s): x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 and 3 more");
}

TEST_CASE("ragged columns are refused naming the lengths", "[serve]") {
    auto result = validate_columns(columns_of(R"({"tenure": [1, 2], "plan": ["a"]})"), churn(), 100);
    CHECK(message_of(result) == "input fields have different lengths: 'tenure' has 2 values, 'plan' has 1");
}

TEST_CASE("a column that is not a list is refused", "[serve]") {
    auto result = validate_columns(columns_of(R"({"tenure": 5, "plan": ["a"]})"), churn(), 100);
    CHECK(message_of(result) == "field 'tenure': expected a list of values, got number 5");
}

TEST_CASE("a request needs at least one row and at most max_rows", "[serve]") {
    CHECK(message_of(validate_columns(columns_of(R"({"tenure": [], "plan": []})"), churn(), 100)) ==
          "the request has no rows");
    auto too_many =
        validate_columns(columns_of(R"({"tenure": [1, 2, 3], "plan": ["a", "b", "c"]})"), churn(), 2);
    CHECK(error_of(too_many).status == 413);
    CHECK(error_of(too_many).message == "the request has 3 rows, more than the 2 allowed");
    CHECK(validate_columns(columns_of(R"({"tenure": [1, 2], "plan": ["a", "b"]})"), churn(), 2));
}

TEST_CASE("without a signature columns pass through unchecked", "[serve]") {
    auto result = validate_columns(columns_of(R"({"z": [1, null], "a": ["x", {"k": 1}]})"), k_none, 100);
    CHECK(columns_text(result) == R"({"z":[1,null],"a":["x",{"k":1}]})");
    CHECK(result->rows == 2);
    CHECK(message_of(validate_columns(Columns{}, k_none, 100)) == "the request has no input fields");
    CHECK(message_of(validate_columns(columns_of(R"({"a": [1], "b": []})"), k_none, 100)) ==
          "input fields have different lengths: 'a' has 1 value, 'b' has 0");
}

// ---------------------------------------------------------------------------------------------
// MLflow JSON

TEST_CASE("mlflow dataframe_split", "[serve]") {
    auto result = mlflow(R"({"dataframe_split": {"columns": ["plan", "tenure"], "index": [7, 8],
        "data": [["a", 1], ["b", 2.5]]}})");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.5],"plan":["a","b"]})");
    CHECK(result->rows == 2);
}

TEST_CASE("mlflow dataframe_split keeps the client's column order without a signature", "[serve]") {
    auto result = mlflow(R"({"dataframe_split": {"columns": ["z", "a"], "data": [[1, "x"]]}})", k_none);
    CHECK(columns_text(result) == R"({"z":[1],"a":["x"]})");
}

TEST_CASE("mlflow dataframe_split problems", "[serve]") {
    CHECK(message_of(
              mlflow(R"({"dataframe_split": {"columns": ["tenure", "plan"], "data": [[1, "a"], [2]]}})")) ==
          "dataframe_split.data[1] has 1 value(s), but there are 2 column(s)");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": ["tenure", "plan"], "data": [{"a": 1}]}})")) ==
          "dataframe_split.data[0] must be a list of values, not an object");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": ["tenure", 3, "tenure"], "data": []}})")) ==
          "dataframe_split.columns[1] must be a string, not number 3; dataframe_split.columns: duplicate "
          "column "
          "'tenure'");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"data": []}})")) == "dataframe_split: missing 'columns'");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": ["tenure", "plan"]}})")) ==
          "dataframe_split: missing 'data'");
    CHECK(message_of(mlflow(R"({"dataframe_split": [1]})")) ==
          "dataframe_split must be an object with columns and data, not a list");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": [], "data": [], "orient": "x"}})")) ==
          "dataframe_split: unexpected key(s): orient (expected columns, data and index)");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": ["tenure"], "data": [[1]]}})")) ==
          "missing input field(s): plan");
    CHECK(message_of(mlflow(R"({"dataframe_split": {"columns": ["tenure", "plan"], "data": []}})")) ==
          "the request has no rows");
}

TEST_CASE("mlflow dataframe_records", "[serve]") {
    auto result =
        mlflow(R"({"dataframe_records": [{"tenure": 1, "plan": "a"}, {"plan": "b", "tenure": 2}]})");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.0],"plan":["a","b"]})");
}

TEST_CASE("a field missing from one record is a missing value", "[serve]") {
    CHECK(message_of(mlflow(R"({"dataframe_records": [{"tenure": 1, "plan": "a"}, {"tenure": 2}]})")) ==
          "field 'plan', row 1: missing value");
    // Without a signature it is null, as pandas makes it.
    CHECK(columns_text(mlflow(R"({"dataframe_records": [{"a": 1}, {"b": 2}]})", k_none)) ==
          R"({"a":[1,null],"b":[null,2]})");
}

TEST_CASE("mlflow dataframe_records problems", "[serve]") {
    CHECK(message_of(mlflow(R"({"dataframe_records": [{"tenure": 1, "plan": "a"}, [2, "b"]]})")) ==
          "dataframe_records[1] must be an object of field values, not a list");
    CHECK(message_of(mlflow(R"({"dataframe_records": {"tenure": 1}})")) ==
          "dataframe_records must be a list of objects, one per row, not an object");
    CHECK(message_of(mlflow(R"({"dataframe_records": []})")) == "the request has no rows");
    CHECK(message_of(mlflow(R"({"dataframe_records": [{"tenure": 1, "plan": "a", "extra": 0}]})")) ==
          "unexpected input field(s): extra");
    auto too_many = mlflow(
        R"({"dataframe_records": [{"tenure": 1, "plan": "a"}, {"tenure": 1, "plan": "a"}]})", churn(), 1);
    CHECK(error_of(too_many).status == 413);
    CHECK(error_of(too_many).message == "the request has 2 rows, more than the 1 allowed");
}

TEST_CASE("mlflow instances as objects", "[serve]") {
    auto result = mlflow(R"({"instances": [{"tenure": 1, "plan": "a"}]})");
    CHECK(columns_text(result) == R"({"tenure":[1.0],"plan":["a"]})");
}

TEST_CASE("mlflow instances as plain values need a one-input signature", "[serve]") {
    auto one = signature_of(R"({"inputs": [{"name": "x", "type": "double"}]})");
    CHECK(columns_text(mlflow(R"({"instances": [1, 2.5, 3]})", one)) == R"({"x":[1.0,2.5,3.0]})");
    CHECK(message_of(mlflow(R"({"instances": [1, "a"]})", one)) ==
          "field 'x', row 1: expected double, got string \"a\"");
    CHECK(message_of(mlflow(R"({"instances": [1, 2]})", k_none)) ==
          "instances[0] must be an object of field values, not number 1 (a list of plain values needs a "
          "signature "
          "with exactly one input)");
    CHECK(message_of(mlflow(R"({"instances": [1, 2]})")) ==
          "instances[0] must be an object of field values, not number 1 (a list of plain values needs a "
          "signature "
          "with exactly one input)");
}

TEST_CASE("mlflow inputs as columns", "[serve]") {
    auto result = mlflow(R"({"inputs": {"tenure": [1, 2], "plan": ["a", "b"]}})");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.0],"plan":["a","b"]})");
    CHECK(message_of(mlflow(R"({"inputs": {"tenure": 1, "plan": ["a"]}})")) ==
          "field 'tenure': expected a list of values, got number 1");
}

TEST_CASE("mlflow inputs as a list of records or of values", "[serve]") {
    CHECK(columns_text(mlflow(R"({"inputs": [{"tenure": 1, "plan": "a"}]})")) ==
          R"({"tenure":[1.0],"plan":["a"]})");
    auto one = signature_of(R"({"inputs": [{"name": "flag", "type": "boolean"}]})");
    CHECK(columns_text(mlflow(R"({"inputs": [true, false]})", one)) == R"({"flag":[true,false]})");
    CHECK(message_of(mlflow(R"({"inputs": "x"})")) ==
          "inputs must be an object of column lists or a list of objects, not string \"x\"");
}

TEST_CASE("mlflow params are allowed and ignored", "[serve]") {
    auto result = mlflow(R"({"params": {"temperature": 0.5}, "inputs": {"tenure": [1], "plan": ["a"]}})");
    CHECK(columns_text(result) == R"({"tenure":[1.0],"plan":["a"]})");
}

TEST_CASE("mlflow requests need exactly one of the four keys", "[serve]") {
    CHECK(message_of(mlflow(R"({})")) == "the request must have exactly one of the keys dataframe_split, "
                                         "dataframe_records, instances or inputs; it has none");
    CHECK(message_of(mlflow(R"({"data": [1], "columns": ["a"]})")) ==
          "the request must have exactly one of the keys dataframe_split, dataframe_records, instances or "
          "inputs; "
          "it has none (its keys: columns, data)");
    CHECK(message_of(mlflow(R"({"inputs": {}, "instances": [], "params": {}})")) ==
          "the request must have exactly one of the keys dataframe_split, dataframe_records, instances or "
          "inputs; "
          "it has inputs and instances");
    CHECK(message_of(mlflow(R"({"inputs": {"tenure": [1], "plan": ["a"]}, "extra": 1})")) ==
          "unexpected key(s) in the request: extra (only params may accompany inputs)");
    CHECK(message_of(mlflow(R"([1, 2])")) ==
          "the request must be a JSON object with one of the keys dataframe_split, "
          "dataframe_records, instances or inputs, not a list");
}

TEST_CASE("malformed JSON is 400 with the parser's message and byte offset", "[serve]") {
    CHECK(message_of(mlflow(R"({"inputs": {"tenure": [1,, 2]}})")) ==
          "malformed JSON: parse error at line 1, column 26: syntax error while parsing value - unexpected "
          "','; "
          "expected '[', '{', or a literal (byte 26)");
    CHECK(message_of(mlflow(" \r\n")) == "the request body is empty: send a JSON object");
    auto bad_utf8 = message_of(mlflow("{\"inputs\": \"\xff\"}"));
    CHECK(bad_utf8.rfind("malformed JSON: ", 0) == 0);
    CHECK(bad_utf8.find('\xff') == std::string::npos);
}

TEST_CASE("JSON nested very deep is refused without recursing", "[serve]") {
    std::string body = R"({"inputs": {"a": [)" + std::string(200000, '[') + std::string(200000, ']') + "]}}";
    CHECK(message_of(mlflow(body, k_none)) == "the request nests lists or objects more than 64 levels deep");
    std::string shallow = R"({"inputs": {"a": [)" + std::string(20, '[') + std::string(20, ']') + "]}}";
    CHECK(mlflow(shallow, k_none));
}

TEST_CASE("content types other than JSON and CSV are 415", "[serve]") {
    std::string body = R"({"inputs": {"tenure": [1], "plan": ["a"]}})";
    CHECK(parse_mlflow_request("application/json; charset=utf-8", body, churn(), 10));
    CHECK(parse_mlflow_request(" Application/JSON ", body, churn(), 10));
    auto plain = parse_mlflow_request("text/plain", body, churn(), 10);
    CHECK(error_of(plain).status == 415);
    CHECK(error_of(plain).message ==
          "unsupported content type \"text/plain\": send application/json or text/csv");
    auto none = parse_mlflow_request("", body, churn(), 10);
    CHECK(error_of(none).status == 415);
    CHECK(error_of(none).message == "unsupported content type (none): send application/json or text/csv");
}

// ---------------------------------------------------------------------------------------------
// CSV

TEST_CASE("csv with a signature converts cells by type", "[serve]") {
    auto result = csv("plan,tenure\na,1\nb,2.5\n");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.5],"plan":["a","b"]})");
    CHECK(result->rows == 2);
}

TEST_CASE("csv quotes, escaped quotes, commas and line breaks in quoted fields", "[serve]") {
    auto result = csv("tenure,plan\r\n1,\"a, \"\"big\"\" one\"\r\n2,\"two\r\nlines\"\r\n3,\"\"\r\n");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.0,3.0],"plan":["a, \"big\" one","two\r\nlines",""]})");
}

TEST_CASE("csv with a byte order mark, no final newline and blank lines", "[serve]") {
    auto result = csv("\xEF\xBB\xBFtenure,plan\n\n1,a\n\n2,b");
    CHECK(columns_text(result) == R"({"tenure":[1.0,2.0],"plan":["a","b"]})");
}

TEST_CASE("csv types: booleans, integers and their limits", "[serve]") {
    auto signature =
        signature_of(R"({"inputs": [{"name": "b", "type": "boolean"}, {"name": "n", "type": "long"},
        {"name": "i", "type": "int32"}, {"name": "f", "type": "float"}]})");
    CHECK(columns_text(
              csv("b,n,i,f\nTRUE,3.0,+7, 1.5 \nfalse,-9223372036854775808,-2147483648,1e3\n", signature)) ==
          R"({"b":[true,false],"n":[3,-9223372036854775808],"i":[7,-2147483648],"f":[1.5,1000.0]})");
    CHECK(message_of(csv("b,n,i,f\nyes,1,1,1\n", signature)) ==
          "field 'b', row 0 (line 2): expected boolean, got \"yes\"");
    CHECK(message_of(csv("b,n,i,f\ntrue,1.5,1,1\n", signature)) ==
          "field 'n', row 0 (line 2): expected long, got \"1.5\"");
    CHECK(message_of(csv("b,n,i,f\ntrue,1,2147483648,1\n", signature)) ==
          "field 'i', row 0 (line 2): expected integer, got \"2147483648\" (out of range)");
    CHECK(message_of(csv("b,n,i,f\ntrue,1,1,1e39\n", signature)) ==
          "field 'f', row 0 (line 2): expected float, got \"1e39\" (out of range)");
    CHECK(message_of(csv("b,n,i,f\ntrue,1,1,nan\n", signature)) ==
          "field 'f', row 0 (line 2): expected float, got \"nan\"");
}

TEST_CASE("csv: an empty cell is a missing value, a quoted empty cell an empty string", "[serve]") {
    CHECK(message_of(csv("tenure,plan\n1,a\n,b\n")) ==
          "field 'tenure', row 1 (line 3): missing value (empty cell)");
    CHECK(message_of(csv("tenure,plan\n1,\n")) == "field 'plan', row 0 (line 2): missing value (empty cell)");
    CHECK(columns_text(csv("tenure,plan\n1,\"\"\n")) == R"({"tenure":[1.0],"plan":[""]})");
}

TEST_CASE("csv: a mistyped cell names the field, row and line", "[serve]") {
    CHECK(message_of(csv("tenure,plan\n1,a\n\"x\ny\",b\nabc,c\n")) ==
          "field 'tenure', row 1 (line 3): expected double, got \"x\\ny\"");
    CHECK(message_of(csv("tenure,plan\n1,a\n2,b\nabc,c\n")) ==
          "field 'tenure', row 2 (line 4): expected double, got \"abc\"");
}

TEST_CASE("csv without a signature turns numbers into numbers", "[serve]") {
    auto result = csv("id,score,name,zip,note\n1,0.5,ann,\"02134\",\n-7,1e2,\"bob\", 3 ,x\n", k_none);
    CHECK(columns_text(result) ==
          R"({"id":[1,-7],"score":[0.5,100.0],"name":["ann","bob"],"zip":[2134,3],"note":[null,"x"]})");
    CHECK(columns_text(csv("a\ninf\n12abc\n99999999999999999999\n", k_none)) ==
          R"({"a":["inf","12abc",1e+20]})");
}

TEST_CASE("csv structure problems", "[serve]") {
    CHECK(message_of(csv("tenure,plan\n1,a\n2\n")) ==
          "CSV line 3: 1 value(s), but the header names 2 column(s)");
    CHECK(message_of(csv("tenure,plan\n1,\"abc\n")) == "CSV line 2: a quoted field is not closed");
    CHECK(message_of(csv("tenure,plan\n1,\"a\"b\n")) ==
          "CSV line 2: unexpected text after the closing quote of a field");
    CHECK(message_of(csv("")) == "CSV: the body has no header row; send a first row naming the columns");
    CHECK(message_of(csv("\n\n")) == "CSV: the body has no header row; send a first row naming the columns");
    CHECK(message_of(csv("tenure,,tenure\n")) ==
          "CSV header: column 2 has no name; CSV header: duplicate column 'tenure'");
    CHECK(message_of(csv("tenure,plan\n")) == "the request has no rows");
    CHECK(message_of(csv("tenure,plan\n1,\xC3\x28\n")) == "CSV: the body is not valid UTF-8 (byte 14)");
}

TEST_CASE("csv header names are checked like JSON fields", "[serve]") {
    CHECK(message_of(csv("tenur,plan,x\n1,a,2\n")) ==
          "missing input field(s): tenure; unexpected input field(s): tenur, x");
}

TEST_CASE("csv rows over the limit are 413 with the true count", "[serve]") {
    auto result = csv("tenure,plan\n1,a\n2,b\n3,c\n", churn(), 2);
    CHECK(error_of(result).status == 413);
    CHECK(error_of(result).message == "the request has 3 rows, more than the 2 allowed");
}

TEST_CASE("csv in a lone-CR file and non-ASCII text", "[serve]") {
    CHECK(columns_text(csv("tenure,plan\r1,caf\xC3\xA9\r2,\xE6\x97\xA5\r")) ==
          "{\"tenure\":[1.0,2.0],\"plan\":[\"caf\xC3\xA9\",\"\xE6\x97\xA5\"]}");
}

// ---------------------------------------------------------------------------------------------
// MLflow responses

TEST_CASE("mlflow response with one output is a list of values", "[serve]") {
    auto body = mlflow_response(json::parse(R"({"churn": [1, 0.0]})"), 2, churn());
    REQUIRE(body);
    CHECK(*body == R"({"predictions":[1,0]})");
}

TEST_CASE("mlflow response with several outputs is a list of row objects", "[serve]") {
    auto signature = signature_of(R"({"inputs": [], "outputs": [{"name": "label", "type": "string"},
        {"name": "p", "type": "double"}]})");
    auto body = mlflow_response(json::parse(R"({"p": [0.9, 1], "label": ["yes", "no"], "debug": [0, 0]})"), 2,
                                signature);
    REQUIRE(body);
    CHECK(*body == R"({"predictions":[{"label":"yes","p":0.9},{"label":"no","p":1.0}]})");
}

TEST_CASE("mlflow response without a signature returns what the worker returned", "[serve]") {
    auto one = mlflow_response(json::parse(R"({"y": [[0.1, 0.9]]})"), 1, k_none);
    REQUIRE(one);
    CHECK(*one == R"({"predictions":[[0.1,0.9]]})");
    auto two = mlflow_response(json::parse(R"({"b": [1], "a": ["x"]})"), 1, k_none);
    REQUIRE(two);
    CHECK(*two == R"({"predictions":[{"a":"x","b":1}]})");
}

TEST_CASE("worker mistakes are 500 naming the problem", "[serve]") {
    auto status_message = [](const HttpResult<std::string>& result) {
        REQUIRE_FALSE(result);
        CHECK(result.error().status == 500);
        return result.error().message;
    };
    CHECK(status_message(mlflow_response(json::parse(R"({"churn": [1]})"), 2, churn())) ==
          "the worker returned outputs that do not match the request: 'churn' has 1 value(s) for 2 row(s)");
    CHECK(status_message(mlflow_response(json::parse(R"({"other": [1]})"), 1, churn())) ==
          "the worker did not return output field(s): churn");
    CHECK(status_message(mlflow_response(json::parse(R"({"churn": 1})"), 1, churn())) ==
          "the worker returned outputs that do not match the request: 'churn' is number 1, not a list");
    CHECK(status_message(mlflow_response(json::parse(R"([1])"), 1, churn())) ==
          "the worker returned outputs that are not an object of columns but a list");
    CHECK(status_message(mlflow_response(json::parse(R"({"churn": [0.7]})"), 1, churn())) ==
          "the worker returned bad values: field 'churn', row 0: expected long, got number 0.7");
    CHECK(status_message(mlflow_response(json::parse(R"({})"), 1, k_none)) ==
          "the worker returned no outputs");
    CHECK(status_message(mlflow_response(json::parse(R"({"a": [1, 2], "b": [1]})"), 2, k_none)) ==
          "the worker returned outputs that do not match the request: 'b' has 1 value(s) for 2 row(s)");
}

// ---------------------------------------------------------------------------------------------
// Open Inference Protocol v2

TEST_CASE("v2 request with every part", "[serve]") {
    auto request = parse_v2_request(R"({"id": "r1", "parameters": {"x": 1},
        "inputs": [{"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["a", "b"], "parameters": {}},
                   {"name": "tenure", "shape": [2, 1], "datatype": "FP64", "data": [[1], [2.5]]}],
        "outputs": [{"name": "churn"}, {"name": "churn"}]})",
                                    churn(), 100);
    REQUIRE(request);
    CHECK(request->id == "r1");
    CHECK(request->inputs.rows == 2);
    CHECK(request->inputs.columns.dump() == R"({"tenure":[1.0,2.5],"plan":["a","b"]})");
    CHECK(request->requested_outputs == std::vector<std::string>{"churn"});
}

TEST_CASE("v2 flat data for shape [n, 1] and no id", "[serve]") {
    auto request = parse_v2_request(R"({"inputs": [{"name": "plan", "shape": [1, 1], "datatype": "BYTES",
        "data": ["a"]}, {"name": "tenure", "shape": [1], "datatype": "FP64", "data": [3]}]})",
                                    churn(), 100);
    REQUIRE(request);
    CHECK(request->id.empty());
    CHECK(request->requested_outputs.empty());
    CHECK(request->inputs.columns.dump() == R"({"tenure":[3.0],"plan":["a"]})");
}

TEST_CASE("v2 datatypes must match the signature exactly", "[serve]") {
    auto result =
        parse_v2_request(R"({"inputs": [{"name": "tenure", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "INT64", "data": [1]}]})",
                         churn(), 100);
    CHECK(
        message_of(result) ==
        "input 'tenure': expected datatype FP64, got FP32; input 'plan': expected datatype BYTES, got INT64");
}

TEST_CASE("v2 shape must match the data", "[serve]") {
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [3], "datatype": "FP64", "data": [1, 2]},
        {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]})",
              churn(), 100)) == "input 'tenure': shape [3] needs 3 value(s), data has 2");
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]},
        {"name": "plan", "shape": [], "datatype": "BYTES", "data": ["a"]}]})",
              churn(), 100)) == "input 'tenure': shape [1, 2] is not supported: send [rows] or [rows, 1]; "
                                "input 'plan': shape [] is not "
                                "supported: send [rows] or [rows, 1]");
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [-1], "datatype": "FP64", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})",
              churn(), 100)) == "input 'tenure': 'shape' must be a list of non-negative integers");
}

TEST_CASE("v2 inputs must have the same batch size", "[serve]") {
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [2], "datatype": "FP64", "data": [1, 2]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})",
              churn(), 100)) == "inputs have different batch sizes: 'tenure' has 2 rows, 'plan' has 1");
}

TEST_CASE("v2 unknown requested output is refused at parse time", "[serve]") {
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [1], "datatype": "FP64", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["a"]}], "outputs": [{"name": "prob"}]})",
              churn(), 100)) == "unknown requested output(s): prob (the model's outputs: churn)");
}

TEST_CASE("v2 request structure problems are listed together", "[serve]") {
    CHECK(message_of(parse_v2_request(R"({"id": 5, "inputs": [{"name": "tenure", "datatype": "FP64"},
        {"shape": [1]}, 3], "outputs": [{"nome": "x"}], "extra": 1})",
                                      churn(), 100)) ==
          "unexpected key(s) in the request: extra (expected id, parameters, inputs and outputs); 'id' must "
          "be a "
          "string, not number 5; input 'tenure': missing 'shape'; input 'tenure': missing 'data'; inputs[1]: "
          "missing 'name'; inputs[2] must be an object with name, shape, datatype and data, not number 3; "
          "outputs[0] must be an object with a string 'name'");
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FLOAT", "data": [1]}]})", k_none,
              100)) == "input 'a': unknown datatype \"FLOAT\"");
    CHECK(message_of(
              parse_v2_request(R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
        {"name": "a", "shape": [1], "datatype": "FP64", "data": [2]}]})",
                               k_none, 100)) == "input 'a' appears more than once");
    CHECK(message_of(parse_v2_request(R"({"outputs": []})", k_none, 100)) == "missing 'inputs'");
    CHECK(message_of(parse_v2_request(R"({"inputs": []})", k_none, 100)) ==
          "the request has no input fields");
    CHECK(message_of(parse_v2_request("{", k_none, 100)).rfind("malformed JSON: ", 0) == 0);
}

TEST_CASE("v2 names and values are validated as in MLflow requests", "[serve]") {
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenur", "shape": [1], "datatype": "FP64", "data": [1]}]})", churn(),
              100)) == "missing input field(s): tenure, plan; unexpected input field(s): tenur");
    CHECK(message_of(parse_v2_request(
              R"({"inputs": [{"name": "tenure", "shape": [1], "datatype": "FP64", "data": ["x"]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})",
              churn(), 100)) == "field 'tenure', row 0: expected double, got string \"x\"");
    auto too_many = parse_v2_request(
        R"({"inputs": [{"name": "a", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}]})", k_none, 2);
    CHECK(error_of(too_many).status == 413);
}

TEST_CASE("v2 response carries shape, datatype and id", "[serve]") {
    V2Request request;
    request.id = "r1";
    auto body = v2_response("churn-clf", "v1.0.0", request, json::parse(R"({"churn": [1, 0]})"), 2, churn());
    REQUIRE(body);
    CHECK(*body ==
          R"({"model_name":"churn-clf","model_version":"v1.0.0","id":"r1","outputs":[{"name":"churn",)"
          R"("datatype":"INT64","shape":[2],"data":[1,0]}]})");
}

TEST_CASE("v2 response holds only the requested outputs, in the requested order", "[serve]") {
    auto signature =
        signature_of(R"({"outputs": [{"name": "a", "type": "double"}, {"name": "b", "type": "bool"},
        {"name": "c", "type": "string"}]})");
    V2Request request;
    request.requested_outputs = {"c", "a"};
    auto body =
        v2_response("m", "v1", request, json::parse(R"({"a": [1], "b": [true], "c": ["x"]})"), 1, signature);
    REQUIRE(body);
    CHECK(*body ==
          R"({"model_name":"m","model_version":"v1","outputs":[{"name":"c","datatype":"BYTES","shape":[1],)"
          R"("data":["x"]},{"name":"a","datatype":"FP64","shape":[1],"data":[1.0]}]})");
}

TEST_CASE("v2 response without a signature infers datatypes and matrix shapes", "[serve]") {
    V2Request request;
    auto body =
        v2_response("m", "", request,
                    json::parse(R"({"b": [true, false], "f": [1, 0.5], "i": [1, 2], "p": [[0.1, 0.9], [1, 0]],
                                            "s": ["x", "y"], "z": [null, 1]})"),
                    2, k_none);
    REQUIRE(body);
    CHECK(*body == R"({"model_name":"m","model_version":"","outputs":[)"
                   R"({"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},)"
                   R"({"name":"f","datatype":"FP64","shape":[2],"data":[1,0.5]},)"
                   R"({"name":"i","datatype":"INT64","shape":[2],"data":[1,2]},)"
                   R"({"name":"p","datatype":"FP64","shape":[2,2],"data":[0.1,0.9,1,0]},)"
                   R"({"name":"s","datatype":"BYTES","shape":[2],"data":["x","y"]},)"
                   R"({"name":"z","datatype":"BYTES","shape":[2],"data":[null,1]}]})");
    request.requested_outputs = {"nope"};
    auto unknown = v2_response("m", "", request, json::parse(R"({"a": [1]})"), 1, k_none);
    CHECK(message_of(unknown) == "unknown requested output(s): nope");
}

TEST_CASE("v2 response reports worker mistakes as 500", "[serve]") {
    auto body = v2_response("m", "v1", V2Request{}, json::parse(R"({"churn": [1, 2]})"), 3, churn());
    REQUIRE_FALSE(body);
    CHECK(body.error().status == 500);
    CHECK(body.error().message ==
          "the worker returned outputs that do not match the request: 'churn' has 2 value(s) for 3 row(s)");
}

TEST_CASE("v2 model metadata", "[serve]") {
    CHECK(v2_model_metadata("churn-clf", "v1.0.0", "mlo", churn()) ==
          json::parse(R"({"name": "churn-clf", "versions": ["v1.0.0"], "platform": "mlo",
              "inputs": [{"name": "tenure", "datatype": "FP64", "shape": [-1]},
                         {"name": "plan", "datatype": "BYTES", "shape": [-1]}],
              "outputs": [{"name": "churn", "datatype": "INT64", "shape": [-1]}]})"));
    CHECK(v2_model_metadata("m", "", "mlo", k_none) ==
          json::parse(R"({"name": "m", "versions": [], "platform": "mlo", "inputs": [], "outputs": []})"));
}

// ---------------------------------------------------------------------------------------------
// Batching helpers and the worker line

TEST_CASE("concat then slice gives back each request", "[serve]") {
    auto first = mlflow(R"({"dataframe_records": [{"tenure": 1, "plan": "a"}, {"tenure": 2, "plan": "b"}]})");
    auto second = mlflow(R"({"inputs": {"plan": ["c"], "tenure": [3]}})");
    REQUIRE(first);
    REQUIRE(second);
    CHECK(same_fields(*first, *second));
    Columns merged = concat_columns({&*first, &*second});
    CHECK(merged.rows == 3);
    CHECK(merged.columns.dump() == R"({"tenure":[1.0,2.0,3.0],"plan":["a","b","c"]})");
    CHECK(slice_columns(merged.columns, 0, 2) == first->columns);
    CHECK(slice_columns(merged.columns, 2, 3) == second->columns);

    json outputs = json::parse(R"({"churn": [1, 0, 1], "p": [0.1, 0.2, 0.3]})");
    CHECK(slice_columns(outputs, 1, 3) == json::parse(R"({"churn": [0, 1], "p": [0.2, 0.3]})"));
}

TEST_CASE("slice clamps its range and copies non-list columns", "[serve]") {
    json columns = json::parse(R"({"a": [1, 2, 3], "b": "x"})");
    CHECK(slice_columns(columns, 2, 10) == json::parse(R"({"a": [3], "b": "x"})"));
    CHECK(slice_columns(columns, 5, 1) == json::parse(R"({"a": [], "b": "x"})"));
    CHECK(slice_columns(json::array(), 0, 1) == json::object());
}

TEST_CASE("concat keeps rows aligned when a part lacks a field", "[serve]") {
    Columns a = columns_of(R"({"x": [1, 2], "y": ["a", "b"]})");
    Columns b = columns_of(R"({"x": [3]})");
    CHECK_FALSE(same_fields(a, b));
    Columns merged = concat_columns({&a, &b});
    CHECK(merged.rows == 3);
    CHECK(merged.columns.dump() == R"({"x":[1,2,3],"y":["a","b",null]})");
    CHECK(concat_columns({}).rows == 0);
}

TEST_CASE("the worker line keeps the columns' order", "[serve]") {
    auto columns = mlflow(R"({"inputs": {"plan": ["a"], "tenure": [3]}})");
    REQUIRE(columns);
    CHECK(worker_request_line("b17", *columns) == R"({"id":"b17","inputs":{"tenure":[3.0],"plan":["a"]}})");
}
