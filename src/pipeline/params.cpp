// Parameters and their canonical values.
//
// A stage tracks parameters by dotted key, and mlo.lock records each tracked key's value as a
// string, so "did this parameter change?" is a string comparison. The string must change exactly
// when the value does:
//  - a scalar is its text as written ("0.10" stays "0.10"; quoting does not matter, so `lr: 0.1`
//    and `lr: "0.1"` are the same value); a null is "null";
//  - a map or list (a whole subtree such as `train`) is compact JSON with keys sorted bytewise,
//    so reordering keys in the file changes nothing while changing any leaf changes the string.
//    A plain scalar that is a JSON number or literal is written as is (keeping its text); any
//    other scalar, and every quoted one, is a JSON string. The result is valid JSON.
//
// yaml-cpp nodes are references into a shared document, so a copied Params would see another
// copy's overrides; apply_override therefore replaces the tree with a deep copy before changing
// it (copy on write), which also undoes YAML aliases so that an override changes one place only.
// serialize() walks the tree itself instead of streaming the node: yaml-cpp's own node emitter
// drops the quotes of a quoted scalar, which would turn `version: "1.0"` into a number.

#include <algorithm>
#include <mlo/pipeline/params.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <nlohmann/json.hpp>
#include <set>

namespace mlo::pipeline {

namespace {

const char* const k_plain_tag = "?";
const char* const k_quoted_tag = "!";
const char* const k_str_tag = "tag:yaml.org,2002:str";

std::string line_prefix(const YAML::Mark& mark) {
    return mark.is_null() ? std::string() : "line " + std::to_string(mark.line + 1) + ": ";
}

std::vector<std::string> split_key(const std::string& dotted) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t dot = dotted.find('.', start);
        out.push_back(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos)
            return out;
        start = dot + 1;
    }
}

// The value of `key` in a map, or an undefined node. Walks the entries instead of using
// operator[], which throws on scalars and compares keys through conversions.
YAML::Node child(const YAML::Node& map, const std::string& key) {
    if (map.IsMap())
        for (const auto& item : map)
            if (item.first.IsScalar() && item.first.Scalar() == key)
                return item.second;
    return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node find(const YAML::Node& root, const std::string& dotted_key) {
    if (dotted_key.empty())
        return root;
    YAML::Node current = root;
    for (const auto& segment : split_key(dotted_key)) {
        YAML::Node next = child(current, segment);
        if (!next.IsDefined())
            return next;
        current.reset(next);
    }
    return current;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text) {
    size_t i = 0;
    auto digits = [&] {
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9')
            ++i;
        return i - start;
    };
    if (i < text.size() && text[i] == '-')
        ++i;
    if (i < text.size() && text[i] == '0')
        ++i;
    else if (digits() == 0)
        return false;
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (digits() == 0)
            return false;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-'))
            ++i;
        if (digits() == 0)
            return false;
    }
    return i == text.size();
}

std::string json_string(const std::string& text) {
    // Invalid UTF-8 cannot be a JSON string; replacing it keeps the output valid and deterministic.
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json(const YAML::Node& node, std::string& out) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        bool plain = node.Tag() == k_plain_tag;
        if (plain && (is_json_number(text) || text == "true" || text == "false"))
            out += text;
        else
            out += json_string(text);
        return;
    }
    case YAML::NodeType::Sequence: {
        out += '[';
        bool first = true;
        for (const auto& item : node) {
            if (!first)
                out += ',';
            first = false;
            write_json(item, out);
        }
        out += ']';
        return;
    }
    case YAML::NodeType::Map: {
        std::map<std::string, YAML::Node> sorted;
        for (const auto& item : node)
            sorted.emplace(item.first.Scalar(), item.second);
        out += '{';
        bool first = true;
        for (const auto& [key, value] : sorted) {
            if (!first)
                out += ',';
            first = false;
            out += json_string(key);
            out += ':';
            write_json(value, out);
        }
        out += '}';
        return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        out += "null";
        return;
    }
}

std::string canonical(const YAML::Node& node) {
    if (node.IsScalar())
        return node.Scalar();
    std::string out;
    write_json(node, out);
    return out;
}

// Reports map keys that are not scalars and duplicated keys (yaml-cpp keeps both copies of a
// duplicate; a silent "first one wins" would hide a mistake), anywhere below `node`.
void check_keys(const YAML::Node& node, std::vector<std::string>& problems) {
    if (node.IsSequence()) {
        for (const auto& item : node)
            check_keys(item, problems);
        return;
    }
    if (!node.IsMap())
        return;
    std::set<std::string> seen;
    for (const auto& item : node) {
        if (!item.first.IsScalar())
            problems.push_back(line_prefix(item.first.Mark()) + "keys must be plain strings");
        else if (!seen.insert(item.first.Scalar()).second)
            problems.push_back(line_prefix(item.first.Mark()) + "duplicate key '" + item.first.Scalar() +
                               "'");
        check_keys(item.second, problems);
    }
}

// A copy sharing nothing with `node` (aliases become separate copies). Marks are not kept.
YAML::Node deep_copy(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar: {
        YAML::Node out(node.Scalar());
        out.SetTag(node.Tag());
        return out;
    }
    case YAML::NodeType::Sequence: {
        YAML::Node out(YAML::NodeType::Sequence);
        for (const auto& item : node)
            out.push_back(deep_copy(item));
        return out;
    }
    case YAML::NodeType::Map: {
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& item : node)
            out[deep_copy(item.first)] = deep_copy(item.second);
        return out;
    }
    default:
        return YAML::Node(YAML::NodeType::Null);
    }
}

void collect_names(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& names) {
    if (!node.IsMap())
        return;
    for (const auto& item : node) {
        std::string name = prefix.empty() ? item.first.Scalar() : prefix + "." + item.first.Scalar();
        names.push_back(name);
        collect_names(item.second, name, names);
    }
}

void flatten_into(const YAML::Node& node, const std::string& name, std::map<std::string, std::string>& out) {
    if (node.IsMap() && node.size() > 0) {
        for (const auto& item : node)
            flatten_into(item.second, name.empty() ? item.first.Scalar() : name + "." + item.first.Scalar(),
                         out);
        return;
    }
    if (!name.empty())
        out[name] = canonical(node);
}

void emit(YAML::Emitter& out, const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar: {
        const std::string& tag = node.Tag();
        if (tag == k_quoted_tag || tag == k_str_tag)
            out << YAML::DoubleQuoted << node.Scalar();
        else if (tag.empty() || tag == k_plain_tag)
            out << node.Scalar();
        else
            out << YAML::VerbatimTag(tag) << node.Scalar();
        return;
    }
    case YAML::NodeType::Sequence:
        if (node.size() == 0)
            out << YAML::Flow;
        out << YAML::BeginSeq;
        for (const auto& item : node)
            emit(out, item);
        out << YAML::EndSeq;
        return;
    case YAML::NodeType::Map:
        if (node.size() == 0)
            out << YAML::Flow;
        out << YAML::BeginMap;
        for (const auto& item : node) {
            out << YAML::Key;
            emit(out, item.first);
            out << YAML::Value;
            emit(out, item.second);
        }
        out << YAML::EndMap;
        return;
    default:
        out << YAML::Null;
        return;
    }
}

} // namespace

Result<Params> Params::load(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
        Params params;
        params.m_source = path.string();
        return params;
    }
    auto text = util::read_file(path);
    if (!text)
        return fail(std::move(text).error());
    return parse(*text, path.string());
}

Result<Params> Params::parse(const std::string& text, const std::string& source) {
    Params params;
    params.m_source = source;
    try {
        YAML::Node root = YAML::Load(text);
        if (root.IsNull())
            return params;
        if (!root.IsMap())
            return fail(ErrorCode::input,
                        source + ": " + line_prefix(root.Mark()) +
                            "the top level must be a map of parameters such as `train: {lr: 0.1}`");
        std::vector<std::string> problems;
        check_keys(root, problems);
        if (problems.size() == 1)
            return fail(ErrorCode::input, source + ": " + problems[0]);
        if (!problems.empty()) {
            std::string message = source + ": " + std::to_string(problems.size()) + " problems:";
            for (const auto& problem : problems)
                message += "\n  " + problem;
            return fail(ErrorCode::input, std::move(message));
        }
        params.m_root.reset(root);
        return params;
    } catch (const YAML::Exception& e) {
        return fail(ErrorCode::input, source + ": " + line_prefix(e.mark) + e.msg);
    }
}

Result<std::string> Params::value(const std::string& dotted_key) const {
    try {
        YAML::Node node = find(m_root, dotted_key);
        if (node.IsDefined())
            return canonical(node);
        std::vector<std::string> names;
        collect_names(m_root, "", names);
        return fail(ErrorCode::input,
                    "unknown parameter '" + dotted_key + "'" + util::did_you_mean(dotted_key, names),
                    m_source.empty() ? std::string() : "parameters are read from " + m_source);
    } catch (const YAML::Exception& e) {
        return fail(ErrorCode::internal, m_source + ": " + e.msg);
    }
}

bool Params::contains(const std::string& dotted_key) const {
    try {
        return find(m_root, dotted_key).IsDefined();
    } catch (const YAML::Exception&) {
        return false;
    }
}

std::map<std::string, std::string> Params::flatten(const std::string& dotted_key) const {
    std::map<std::string, std::string> out;
    try {
        YAML::Node node = find(m_root, dotted_key);
        if (node.IsDefined())
            flatten_into(node, dotted_key, out);
    } catch (const YAML::Exception&) {
        out.clear();
    }
    return out;
}

Status Params::apply_override(const std::string& assignment) {
    size_t equals = assignment.find('=');
    if (equals == std::string::npos)
        return fail(ErrorCode::usage, "malformed override '" + assignment + "': expected key=value",
                    "for example: -S train.lr=0.2");
    std::string key = assignment.substr(0, equals);
    std::string text = assignment.substr(equals + 1);
    std::vector<std::string> segments = split_key(key);
    if (key.empty() || std::any_of(segments.begin(), segments.end(), [](const auto& s) { return s.empty(); }))
        return fail(ErrorCode::usage,
                    "malformed override '" + assignment + "': '" + key + "' is not a parameter key",
                    "keys are dotted names such as train.lr");
    try {
        YAML::Node value;
        if (text.empty()) {
            value.reset(YAML::Node(std::string()));
            value.SetTag(k_quoted_tag);
        } else {
            try {
                value.reset(YAML::Load(text));
            } catch (const YAML::Exception& e) {
                return fail(ErrorCode::usage, "malformed override '" + assignment + "': " + e.msg);
            }
            std::vector<std::string> problems;
            check_keys(value, problems);
            if (!problems.empty())
                return fail(ErrorCode::usage, "malformed override '" + assignment + "': " + problems[0]);
        }

        YAML::Node root = deep_copy(m_root);
        if (!root.IsMap())
            root.reset(YAML::Node(YAML::NodeType::Map));
        YAML::Node current = root;
        for (size_t i = 0; i + 1 < segments.size(); ++i) {
            YAML::Node next = child(current, segments[i]);
            if (!next.IsDefined() || next.IsNull()) {
                current[segments[i]] = YAML::Node(YAML::NodeType::Map);
                next.reset(child(current, segments[i]));
            } else if (!next.IsMap()) {
                size_t length = i; // the dots
                for (size_t k = 0; k <= i; ++k)
                    length += segments[k].size();
                std::string prefix = key.substr(0, length);
                std::string message = "cannot set '" + key + "': '";
                message += prefix;
                message += "' is a value, not a map";
                return fail(ErrorCode::usage, std::move(message),
                            "set '" + prefix + "' itself to replace it");
            }
            current.reset(next);
        }
        current[segments.back()] = deep_copy(value);
        m_root.reset(root);
        return {};
    } catch (const YAML::Exception& e) {
        return fail(ErrorCode::internal, "applying override '" + assignment + "': " + e.msg);
    }
}

std::string Params::serialize() const {
    if (!m_root.IsMap() || m_root.size() == 0)
        return "{}\n";
    YAML::Emitter out;
    out.SetNullFormat(YAML::LowerNull);
    emit(out, m_root);
    return std::string(out.c_str()) + "\n";
}

namespace {

struct TemplatePiece {
    bool is_key = false;
    std::string text; // literal text, or the key
};

// Splits a template into literal text and `${key}` references. `$${` is a literal `${`.
std::vector<TemplatePiece> split_template(const std::string& text, std::vector<std::string>* problems) {
    std::vector<TemplatePiece> pieces;
    std::string literal;
    size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "$${") == 0) {
            literal += "${";
            i += 3;
        } else if (text.compare(i, 2, "${") == 0) {
            size_t close = text.find('}', i + 2);
            if (close == std::string::npos) {
                if (problems)
                    problems->push_back("unterminated '${' at column " + std::to_string(i + 1));
                literal += text.substr(i);
                break;
            }
            std::string key = text.substr(i + 2, close - i - 2);
            size_t first = key.find_first_not_of(" \t");
            size_t last = key.find_last_not_of(" \t");
            key = first == std::string::npos ? std::string() : key.substr(first, last - first + 1);
            if (key.empty() && problems)
                problems->push_back("empty '${}' at column " + std::to_string(i + 1));
            if (!literal.empty())
                pieces.push_back(TemplatePiece{false, std::move(literal)});
            literal.clear();
            pieces.push_back(TemplatePiece{true, std::move(key)});
            i = close + 1;
        } else {
            literal += text[i++];
        }
    }
    if (!literal.empty())
        pieces.push_back(TemplatePiece{false, std::move(literal)});
    return pieces;
}

} // namespace

Result<std::string> expand_template(const std::string& text, const Params& params) {
    std::vector<std::string> problems;
    std::vector<TemplatePiece> pieces = split_template(text, &problems);
    std::string out;
    std::vector<std::string> unknown;
    std::string hint;
    for (const auto& piece : pieces) {
        if (!piece.is_key) {
            out += piece.text;
            continue;
        }
        if (piece.text.empty())
            continue;
        auto value = params.value(piece.text);
        if (value) {
            out += *value;
        } else if (std::find(unknown.begin(), unknown.end(), value.error().message) == unknown.end()) {
            unknown.push_back(value.error().message);
            hint = value.error().hint;
        }
    }
    problems.insert(problems.end(), unknown.begin(), unknown.end());
    if (problems.empty())
        return out;
    std::string message = "in command '" + text + "': ";
    if (problems.size() == 1) {
        message += problems[0];
    } else {
        message += std::to_string(problems.size()) + " problems:";
        for (const auto& problem : problems)
            message += "\n  " + problem;
    }
    return fail(ErrorCode::input, std::move(message), unknown.empty() ? std::string() : hint);
}

std::vector<std::string> template_keys(const std::string& text) {
    std::vector<std::string> keys;
    for (const auto& piece : split_template(text, nullptr))
        if (piece.is_key && !piece.text.empty() &&
            std::find(keys.begin(), keys.end(), piece.text) == keys.end())
            keys.push_back(piece.text);
    return keys;
}

} // namespace mlo::pipeline
