#pragma once

// Helpers shared by the serve codecs (private to src/serve): how a JSON value reads in an error
// message, lists of names, nesting depth, appending a column without a quadratic search, and the
// pieces both protocols use (defined in protocols.cpp).

#include <mlo/serve/signature.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::serve::detail {

// Values nested deeper than this are refused: nlohmann's copy and dump recurse.
inline constexpr int k_max_depth = 64;
// Names listed in one message before "and N more".
inline constexpr size_t k_max_listed = 10;

// `text` as a JSON string literal, cut to about `limit` bytes (at a UTF-8 boundary) with "...".
inline std::string quote_text(std::string_view text, size_t limit = 40) {
    bool cut = text.size() > limit;
    if (cut) {
        size_t end = limit;
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
            --end;
        text = text.substr(0, end);
    }
    std::string quoted =
        nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (cut)
        quoted.insert(quoted.size() - 1, "...");
    return quoted;
}

// How a value reads after "got": `string "abc"`, `number 1.5`, `boolean true`, `null`, `a list`.
template <class J> std::string describe_value(const J& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::null:
        return "null";
    case nlohmann::json::value_t::string:
        return "string " + quote_text(value.template get_ref<const typename J::string_t&>());
    case nlohmann::json::value_t::boolean:
        return value.template get<bool>() ? "boolean true" : "boolean false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
        return "number " + value.dump();
    case nlohmann::json::value_t::array:
        return "a list";
    case nlohmann::json::value_t::object:
        return "an object";
    default:
        return "no value";
    }
}

// "a, b, c" — at most k_max_listed names, then " and N more".
inline std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < k_max_listed; ++i)
        out += (i == 0 ? "" : ", ") + names[i];
    if (names.size() > k_max_listed)
        out += " and " + std::to_string(names.size() - k_max_listed) + " more";
    return out;
}

// Several problems of one kind as one message: "a; b; c" — at most k_max_listed, then "; and N more".
inline std::string join_problems(const std::vector<std::string>& problems) {
    std::string out;
    for (size_t i = 0; i < problems.size() && i < k_max_listed; ++i)
        out += (i == 0 ? "" : "; ") + problems[i];
    if (problems.size() > k_max_listed)
        out += "; and " + std::to_string(problems.size() - k_max_listed) + " more";
    return out;
}

// The 413 message for a request over the row limit.
inline std::string too_many_rows(size_t rows, size_t max_rows) {
    return "the request has " + std::to_string(rows) + " rows, more than the " + std::to_string(max_rows) +
           " allowed";
}

// Whether `value` has lists or objects nested more than `limit` levels deep (recursion bounded by
// `limit`).
template <class J> bool nested_deeper_than(const J& value, int limit) {
    if (!value.is_structured())
        return false;
    if (limit <= 0)
        return true;
    for (const auto& item : value)
        if (nested_deeper_than(item, limit - 1))
            return true;
    return false;
}

// Appends name -> values to an ordered_json object without ordered_map's linear search for an
// existing key (quadratic over many columns). The caller guarantees `name` is new.
inline void append_column(nlohmann::ordered_json& object, std::string name, nlohmann::ordered_json values) {
    auto& map = object.get_ref<nlohmann::ordered_json::object_t&>();
    map.nlohmann::ordered_json::object_t::Container::emplace_back(std::move(name), std::move(values));
}

inline tl::unexpected<HttpError> pass(HttpError error) {
    return tl::unexpected<HttpError>(std::move(error));
}

// The body as JSON: 400 "malformed JSON: <parser message> (byte N)", or 400 when nested deeper
// than k_max_depth (so that later copies and dumps recurse boundedly).
HttpResult<nlohmann::json> parse_json(std::string_view body);

// A parsed value as an ordered_json cell, moving strings rather than copying them.
nlohmann::ordered_json to_ordered(nlohmann::json& value);

// Compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string dump(const nlohmann::ordered_json& value);

// One column of a worker's outputs, checked.
struct OutputColumn {
    std::string name;
    std::optional<FieldType> type; // nullopt without a signature
    nlohmann::ordered_json values;
};

// The worker's outputs checked against the request's row count and the signature (500 "the worker
// ..."): the signature's outputs in its order, else all in the worker's (name) order.
HttpResult<std::vector<OutputColumn>> check_outputs(const nlohmann::json& outputs, size_t rows,
                                                    const Signature& signature);

} // namespace mlo::serve::detail
