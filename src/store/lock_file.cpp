// mlo.lock: written by mlo, read back strictly.
//
// The file is committed and merged by people, so its bytes must depend only on its content:
// stages are sorted by name (std::map), entries by path, params by key; every key is written in
// one fixed order; params values are always double-quoted strings (they are canonical strings,
// and "0.10" must not come back as the number 0.1); empty lists are left out. Parsing such a file
// and writing it again gives the same bytes.
//
// Reading is strict because the lock drives checkout: a hand-edited path such as "../x" or
// "/etc/passwd" must not make mlo write outside the project, so every path must be relative and
// made of safe components. Every problem in the file is collected and reported at once, each with
// its line, like mlo.yaml's.

#include <algorithm>
#include <charconv>
#include <mlo/store/lock_file.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/problems.hpp>
#include <optional>
#include <set>
#include <yaml-cpp/yaml.h>

namespace mlo::store {

namespace {

// Joins pieces in one allocation; messages are built inside loops over the entries.
template <typename... Pieces> std::string concat(const Pieces&... pieces) {
    std::string out;
    out.reserve((std::string_view(pieces).size() + ...));
    (out.append(pieces), ...);
    return out;
}

const char* const k_schema = "mlo.lock/1";
const std::vector<std::string> k_top_keys = {"schema", "stages"};
const std::vector<std::string> k_stage_keys = {"cmd", "deps", "params", "outs", "metrics"};
const std::vector<std::string> k_path_keys = {"path", "kind", "hash", "size", "files"};

std::vector<LockedPath> sorted_by_path(std::vector<LockedPath> paths) {
    std::stable_sort(paths.begin(), paths.end(),
                     [](const LockedPath& a, const LockedPath& b) { return a.path < b.path; });
    return paths;
}

void emit_paths(YAML::Emitter& out, const char* key, const std::vector<LockedPath>& paths) {
    if (paths.empty())
        return;
    out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const auto& entry : sorted_by_path(paths)) {
        out << YAML::BeginMap;
        out << YAML::Key << "path" << YAML::Value << entry.path;
        out << YAML::Key << "kind" << YAML::Value << entry.kind;
        out << YAML::Key << "hash" << YAML::Value << entry.id.str();
        out << YAML::Key << "size" << YAML::Value << entry.size;
        if (entry.kind == "directory")
            out << YAML::Key << "files" << YAML::Value << entry.files;
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
}

struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    // A null value ("key:" with nothing after it) has the mark of the next token.
    int line() const {
        return value.IsNull() || value.Mark().is_null() ? util::yaml_line(key_node) : util::yaml_line(value);
    }
};

using util::Problem;

class Reader {
  public:
    LockFile read(const YAML::Node& root);
    std::vector<Problem>& problems() { return m_problems; }

  private:
    void report(int line, std::string text) { m_problems.push_back(Problem{line, std::move(text), {}}); }
    std::vector<Entry> entries(const YAML::Node& map, const std::string& where,
                               const std::vector<std::string>* allowed);
    std::optional<std::string> string_value(const Entry& entry, const std::string& where, bool empty_ok);
    std::optional<uint64_t> count_value(const Entry& entry, const std::string& where);
    LockedStage stage(const Entry& entry);
    std::vector<LockedPath> paths(const Entry& entry, const std::string& where);
    std::optional<LockedPath> path_entry(const YAML::Node& node, const std::string& where);

    std::vector<Problem> m_problems;
};

// Every entry of a map in file order; non-string keys, duplicates and (with `allowed`) unknown
// keys are reported and left out.
std::vector<Entry> Reader::entries(const YAML::Node& map, const std::string& where,
                                   const std::vector<std::string>* allowed) {
    std::vector<Entry> out;
    std::set<std::string> seen;
    std::string prefix = where.empty() ? "" : where + ": ";
    for (const auto& item : map) {
        if (!item.first.IsScalar() || item.first.Scalar().empty()) {
            report(util::yaml_line(item.first),
                   prefix + "keys must be non-empty strings, not " + util::yaml_describe(item.first));
            continue;
        }
        const std::string& key = item.first.Scalar();
        if (!seen.insert(key).second) {
            report(util::yaml_line(item.first), concat(prefix, "duplicate key '", key, "'"));
            continue;
        }
        if (allowed && std::find(allowed->begin(), allowed->end(), key) == allowed->end()) {
            report(util::yaml_line(item.first),
                   concat(prefix, "unknown key '", key, "'", util::did_you_mean(key, *allowed)));
            continue;
        }
        out.push_back(Entry{key, item.first, item.second});
    }
    return out;
}

std::optional<std::string> Reader::string_value(const Entry& entry, const std::string& where, bool empty_ok) {
    if (entry.value.IsScalar() && (empty_ok || !entry.value.Scalar().empty()))
        return entry.value.Scalar();
    report(entry.line(), where + ": must be a " + (empty_ok ? "" : "non-empty ") + "string, not " +
                             util::yaml_describe(entry.value));
    return std::nullopt;
}

std::optional<uint64_t> Reader::count_value(const Entry& entry, const std::string& where) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        uint64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!text.empty() && error == std::errc() && end == text.data() + text.size())
            return value;
    }
    report(entry.line(), where + ": must be a non-negative integer, not " + util::yaml_describe(entry.value));
    return std::nullopt;
}

// What is wrong with a recorded path, or "" when it is a relative path made of safe components.
std::string path_problem(const std::string& path) {
    if (path.empty())
        return "empty path";
    if (path.front() == '/')
        return "'" + path + "' is an absolute path; lock paths are relative to the project";
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = std::min(path.find('/', start), path.size());
        parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    if (std::find(parts.begin(), parts.end(), "..") != parts.end())
        return "'" + path + "' leaves the project ('..')";
    for (const auto& part : parts)
        if (!store::is_safe_component(part))
            return concat("'", path, "' is not a normalised path (component '", part, "')");
    return {};
}

std::optional<LockedPath> Reader::path_entry(const YAML::Node& node, const std::string& where) {
    if (!node.IsMap()) {
        report(util::yaml_line(node), where + ": entries must be maps with path, kind, hash and size, not " +
                                          util::yaml_describe(node));
        return std::nullopt;
    }
    LockedPath out;
    bool ok = true;
    std::optional<Entry> files;
    std::set<std::string> present;
    for (const auto& entry : entries(node, where, &k_path_keys)) {
        present.insert(entry.key);
        if (entry.key == "path") {
            auto path = string_value(entry, where + ".path", false);
            if (path) {
                if (std::string problem = path_problem(*path); !problem.empty()) {
                    report(entry.line(), concat(where, ".path: ", problem));
                    ok = false;
                }
                out.path = *path;
            }
            ok = ok && path.has_value();
        } else if (entry.key == "kind") {
            auto kind = string_value(entry, where + ".kind", false);
            if (kind && *kind != "file" && *kind != "directory") {
                report(entry.line(), where + ".kind: must be file or directory, not '" + *kind + "'");
                kind.reset();
            }
            if (kind)
                out.kind = *kind;
            ok = ok && kind.has_value();
        } else if (entry.key == "hash") {
            auto text = string_value(entry, where + ".hash", false);
            if (text) {
                auto id = hash::ObjectId::parse(*text);
                if (id)
                    out.id = *id;
                else
                    report(entry.line(), where + ".hash: " + id.error().message);
                ok = ok && id.has_value();
            }
            ok = ok && text.has_value();
        } else if (entry.key == "size") {
            auto size = count_value(entry, where + ".size");
            out.size = size.value_or(0);
            ok = ok && size.has_value();
        } else {
            files = entry;
            auto count = count_value(entry, where + ".files");
            out.files = count.value_or(0);
            ok = ok && count.has_value();
        }
    }
    for (const char* required : {"path", "kind", "hash", "size"})
        if (!present.count(required)) {
            report(util::yaml_line(node), where + ": missing '" + required + "'");
            ok = false;
        }
    if (files && out.kind == "file") {
        report(files->line(), where + ".files: only directories have 'files'");
        ok = false;
    }
    return ok ? std::optional<LockedPath>(std::move(out)) : std::nullopt;
}

std::vector<LockedPath> Reader::paths(const Entry& entry, const std::string& where) {
    std::vector<LockedPath> out;
    if (entry.value.IsNull())
        return out;
    if (!entry.value.IsSequence()) {
        report(entry.line(), where + ": must be a list, not " + util::yaml_describe(entry.value));
        return out;
    }
    std::set<std::string> seen;
    for (const auto& item : entry.value) {
        auto path = path_entry(item, where);
        if (!path)
            continue;
        if (!seen.insert(path->path).second) {
            report(util::yaml_line(item), where + ": '" + path->path + "' is listed twice");
            continue;
        }
        out.push_back(std::move(*path));
    }
    return sorted_by_path(std::move(out));
}

LockedStage Reader::stage(const Entry& entry) {
    std::string where = "stages." + entry.key;
    LockedStage out;
    if (!entry.value.IsMap()) {
        report(entry.line(), where + ": must be a map, not " + util::yaml_describe(entry.value));
        return out;
    }
    bool has_cmd = false;
    for (const auto& item : entries(entry.value, where, &k_stage_keys)) {
        std::string item_where = where + "." + item.key;
        if (item.key == "cmd") {
            has_cmd = true;
            out.cmd = string_value(item, item_where, true).value_or("");
        } else if (item.key == "deps") {
            out.deps = paths(item, item_where);
        } else if (item.key == "outs") {
            out.outs = paths(item, item_where);
        } else if (item.key == "metrics") {
            out.metrics = paths(item, item_where);
        } else if (item.value.IsMap()) {
            for (const auto& param : entries(item.value, item_where, nullptr))
                if (auto value = string_value(param, item_where + "." + param.key, true))
                    out.params[param.key] = *value;
        } else if (!item.value.IsNull()) {
            report(item.line(), item_where + ": must be a map of parameter values, not " +
                                    util::yaml_describe(item.value));
        }
    }
    if (!has_cmd)
        report(util::yaml_line(entry.key_node), where + ": missing 'cmd'");
    return out;
}

LockFile Reader::read(const YAML::Node& root) {
    LockFile lock;
    if (root.IsNull()) {
        report(0, std::string("the file is empty; expected 'schema: ") + k_schema + "'");
        return lock;
    }
    if (!root.IsMap()) {
        report(util::yaml_line(root), "the top level must be a map, not " + util::yaml_describe(root));
        return lock;
    }
    bool has_schema = false;
    for (const auto& entry : entries(root, "", &k_top_keys)) {
        if (entry.key == "schema") {
            has_schema = true;
            if (!entry.value.IsScalar() || entry.value.Scalar() != k_schema)
                report(entry.line(), "schema: expected '" + std::string(k_schema) + "', not " +
                                         util::yaml_describe(entry.value) + " (written by a newer mlo?)");
        } else if (entry.value.IsMap()) {
            for (const auto& stage_entry : entries(entry.value, "stages", nullptr))
                lock.stages[stage_entry.key] = stage(stage_entry);
        } else if (!entry.value.IsNull()) {
            report(entry.line(),
                   "stages: must be a map of stage names, not " + util::yaml_describe(entry.value));
        }
    }
    if (!has_schema)
        report(util::yaml_line(root), std::string("missing 'schema: ") + k_schema + "'");
    return lock;
}

} // namespace

std::string LockFile::serialize() const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "schema" << YAML::Value << k_schema;
    out << YAML::Key << "stages" << YAML::Value;
    if (stages.empty())
        out << YAML::Flow;
    out << YAML::BeginMap;
    for (const auto& [name, stage] : stages) {
        out << YAML::Key << name << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "cmd" << YAML::Value << stage.cmd;
        emit_paths(out, "deps", stage.deps);
        if (!stage.params.empty()) {
            out << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
            for (const auto& [key, value] : stage.params)
                out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
            out << YAML::EndMap;
        }
        emit_paths(out, "outs", stage.outs);
        emit_paths(out, "metrics", stage.metrics);
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

Result<LockFile> LockFile::load(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec)
        return LockFile{};
    auto text = util::read_file(path);
    if (!text)
        return fail(std::move(text).error());
    return parse(*text, path.string());
}

Result<LockFile> LockFile::parse(const std::string& text, const std::string& source) {
    try {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            std::string line = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ": ";
            return fail(ErrorCode::input, source + ": " + line + e.msg);
        }
        Reader reader;
        LockFile lock = reader.read(root);
        if (!reader.problems().empty())
            return fail(util::problems_error(reader.problems(), source,
                                             "mlo writes this file; restore it with 'git checkout -- " +
                                                 source + "'"));
        return lock;
    } catch (const YAML::Exception& e) {
        std::string line = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ": ";
        return fail(ErrorCode::input, source + ": " + line + e.msg);
    }
}

} // namespace mlo::store
