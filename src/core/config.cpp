// Reading `mlo.yaml` happens in two steps. yaml-cpp first builds a node tree; a syntax error stops
// there, because nothing after it can be trusted. A validator then walks the tree once, section by
// section in file order, and collects every problem instead of stopping at the first, so a user who
// fixes the file sees all of its mistakes in one run (as mold and rustc report). Problems are sorted
// by line and returned as one ErrorCode::input error.
//
// Only the shape is checked here: known keys, types, names, paths that stay inside the project, and
// references between sections (default_remote). Sections that later layers interpret in depth
// (deploy, monitor, access, serve, slurm) are kept as nodes and checked one level deep.

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <mlo/core/config.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/problems.hpp>
#include <optional>
#include <set>
#include <unistd.h>
#include <utility>

namespace mlo::core {

namespace {

using Names = std::vector<std::string>;

const Names k_top_keys = {"project", "store",    "params", "remotes", "default_remote", "pipeline",
                          "models",  "registry", "deploy", "monitor", "access"};
const Names k_store_keys = {"link"};
const Names k_remote_keys = {"url", "endpoint", "region", "profile", "jobs"};
const Names k_stage_keys = {"cmd",      "deps",  "params", "outs",          "metrics",
                            "executor", "slurm", "desc",   "always_changed"};
const Names k_slurm_keys = {"partition", "time", "cpus", "mem", "gpus"};
const Names k_executors = {"local", "slurm"};
const Names k_model_keys = {"path", "type", "signature", "serve", "description"};
const Names k_signature_keys = {"inputs", "outputs"};
const Names k_field_keys = {"name", "type", "pii"};
const Names k_registry_keys = {"stages"};
const Names k_monitor_keys = {"model",       "reference", "target",  "prediction", "features", "drift",
                              "performance", "on_fail",   "binning", "labels",     "current"};
const Names k_access_keys = {"keys", "rules"};
const Names k_rule_keys = {"action", "stage", "signers", "min"};
const Names k_actions = {"register", "promote", "demote", "deprecate", "deploy"};

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [A-Za-z0-9][A-Za-z0-9<extra>]*
bool valid_name(std::string_view name, std::string_view extra) {
    if (name.empty() || !is_alnum(name.front()))
        return false;
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return is_alnum(c) || extra.find(c) != std::string_view::npos; });
}

// GTO's artifact name grammar, [a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?, because model versions and
// stages are written as GTO tags (`MODEL@vX.Y.Z`, `MODEL#STAGE#N`) that GTO itself must read.
bool valid_gto_name(std::string_view name) {
    return valid_name(name, "-/_") && is_alnum(name.back());
}

// Joins pieces in one allocation; messages are built inside loops over the file's entries.
template <typename... Pieces> std::string concat(const Pieces&... pieces) {
    std::string out;
    out.reserve((std::string_view(pieces).size() + ...));
    (out.append(pieces), ...);
    return out;
}

std::string join(const Names& names) {
    std::string out;
    for (const auto& name : names)
        out += (out.empty() ? "" : ", ") + name;
    return out;
}

// A path must name something inside the project: mlo hashes, moves and deletes what it names.
// Returns what is wrong with it, or "" when it is fine.
std::string path_problem(std::string_view path) {
    if (path.empty())
        return "empty path";
    if (path.front() == '/')
        return "'" + std::string(path) + "' is an absolute path";
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = std::min(path.find('/', start), path.size());
        if (path.substr(start, end - start) == "..")
            return "'" + std::string(path) + "' leaves the project ('..')";
        start = end + 1;
    }
    return {};
}

const char* const k_path_hint = "paths are relative to the directory holding mlo.yaml and stay inside it";

struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
};

struct Located {
    std::string value;
    int line = 0;
};

using util::Problem;

class Validator {
  public:
    explicit Validator(Config& config) : m_config(config) {}

    void validate(const YAML::Node& root);
    std::vector<Problem>& problems() { return m_problems; }

  private:
    void report(int line, std::string text, std::string hint = {}) {
        m_problems.push_back(Problem{line, std::move(text), std::move(hint)});
    }

    // A null value ("key:" with nothing after it) has the mark of the next token, so such problems
    // are reported on the key's line.
    static int value_line(const Entry& entry) {
        return entry.value.IsNull() || entry.value.Mark().is_null() ? util::yaml_line(entry.key_node)
                                                                    : util::yaml_line(entry.value);
    }

    std::vector<Entry> entries(const YAML::Node& map, const std::string& where);
    std::vector<Entry> known_entries(const YAML::Node& map, const std::string& where, const Names& allowed);
    bool expect_map(const Entry& entry, const std::string& where, bool null_ok);
    std::optional<std::string> string_value(const Entry& entry, const std::string& where);
    std::optional<bool> bool_value(const Entry& entry, const std::string& where);
    std::vector<Located> string_list(const Entry& entry, const std::string& where,
                                     const std::string& map_entry_message = {});
    std::vector<std::string> path_list(const Entry& entry, const std::string& where);
    void check_path(const std::string& path, int line, const std::string& where);

    void project(const Entry& entry);
    void store(const Entry& entry);
    void params(const Entry& entry);
    void remotes(const Entry& entry);
    void remote(const Entry& entry);
    void pipeline(const Entry& entry);
    void stage(const Entry& entry);
    void slurm_options(const Entry& entry, const std::string& where, SlurmOptions& options);
    void models(const Entry& entry);
    void model(const Entry& entry);
    void signature(const Entry& entry, const std::string& where);
    void registry(const Entry& entry);
    YAML::Node deploy(const Entry& entry);
    void access(const Entry& entry);
    void access_keys(const Entry& entry);
    void access_rule(const YAML::Node& node);
    void check_rule_references();
    YAML::Node keyed_section(const Entry& entry, const Names& allowed);

    Config& m_config;
    std::vector<Problem> m_problems;
};

// Every entry of a map, in file order, reporting keys that are not plain strings and duplicates
// (yaml-cpp keeps both copies of a duplicated key; a silent "last one wins" would hide a mistake).
std::vector<Entry> Validator::entries(const YAML::Node& map, const std::string& where) {
    std::vector<Entry> out;
    std::set<std::string> seen;
    std::string prefix = where.empty() ? "" : where + ": ";
    for (const auto& item : map) {
        if (!item.first.IsScalar()) {
            report(util::yaml_line(item.first),
                   prefix + "keys must be plain strings, not " + util::yaml_describe(item.first));
            continue;
        }
        const std::string& key = item.first.Scalar();
        if (!seen.insert(key).second) {
            report(util::yaml_line(item.first), concat(prefix, "duplicate key '", key, "'"));
            continue;
        }
        out.push_back(Entry{key, item.first, item.second});
    }
    return out;
}

std::vector<Entry> Validator::known_entries(const YAML::Node& map, const std::string& where,
                                            const Names& allowed) {
    std::vector<Entry> out;
    for (auto& entry : entries(map, where)) {
        if (std::find(allowed.begin(), allowed.end(), entry.key) != allowed.end()) {
            out.push_back(std::move(entry));
            continue;
        }
        std::string suggestion = util::did_you_mean(entry.key, allowed);
        // With a close match the suggestion is enough; without one, the list of keys is the help.
        std::string hint =
            suggestion.empty()
                ? (where.empty() ? "top-level keys: " : "keys of " + where + ": ") + join(allowed)
                : std::string();
        report(util::yaml_line(entry.key_node),
               concat(where, where.empty() ? "" : ": ", "unknown key '", entry.key, "'", suggestion),
               std::move(hint));
    }
    return out;
}

// True when the value is a map. An empty section ("pipeline:" with its stages commented out) is
// fine where `null_ok`, and reads as absent.
bool Validator::expect_map(const Entry& entry, const std::string& where, bool null_ok) {
    if (entry.value.IsMap())
        return true;
    if (!(null_ok && entry.value.IsNull()))
        report(value_line(entry), where + ": must be a map, not " + util::yaml_describe(entry.value));
    return false;
}

std::optional<std::string> Validator::string_value(const Entry& entry, const std::string& where) {
    if (entry.value.IsScalar() && !entry.value.Scalar().empty())
        return entry.value.Scalar();
    report(value_line(entry),
           where + ": must be a non-empty string, not " + util::yaml_describe(entry.value));
    return std::nullopt;
}

std::optional<bool> Validator::bool_value(const Entry& entry, const std::string& where) {
    bool value = false;
    if (entry.value.IsScalar() && YAML::convert<bool>::decode(entry.value, value))
        return value;
    report(value_line(entry), where + ": must be true or false, not " + util::yaml_describe(entry.value));
    return std::nullopt;
}

std::vector<Located> Validator::string_list(const Entry& entry, const std::string& where,
                                            const std::string& map_entry_message) {
    std::vector<Located> out;
    if (entry.value.IsNull())
        return out;
    if (!entry.value.IsSequence()) {
        report(value_line(entry),
               where + ": must be a list of strings, not " + util::yaml_describe(entry.value),
               "write a list as [a, b] or as lines starting with '- '");
        return out;
    }
    for (const auto& item : entry.value) {
        if (item.IsMap() && !map_entry_message.empty())
            report(util::yaml_line(item), concat(where, ": ", map_entry_message));
        else if (!item.IsScalar() || item.Scalar().empty())
            report(util::yaml_line(item),
                   concat(where, ": entries must be non-empty strings, not ", util::yaml_describe(item)));
        else
            out.push_back(Located{item.Scalar(), util::yaml_line(item)});
    }
    return out;
}

void Validator::check_path(const std::string& path, int line, const std::string& where) {
    if (std::string problem = path_problem(path); !problem.empty())
        report(line, where + ": " + problem, k_path_hint);
}

std::vector<std::string> Validator::path_list(const Entry& entry, const std::string& where) {
    std::vector<std::string> out;
    for (auto& item : string_list(entry, where)) {
        check_path(item.value, item.line, where);
        out.push_back(std::move(item.value));
    }
    return out;
}

void Validator::validate(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
        report(0, "the file is empty", "an mlo.yaml needs at least `project: <name>`");
        return;
    }
    if (!root.IsMap()) {
        report(util::yaml_line(root), "the top level must be a map of keys such as `project: <name>`, not " +
                                          util::yaml_describe(root));
        return;
    }
    bool has_project = false;
    std::optional<Entry> default_remote;
    for (const auto& entry : known_entries(root, "", k_top_keys)) {
        const std::string& key = entry.key;
        if (key == "project") {
            has_project = true;
            project(entry);
        } else if (key == "store") {
            store(entry);
        } else if (key == "params") {
            params(entry);
        } else if (key == "remotes") {
            remotes(entry);
        } else if (key == "default_remote") {
            default_remote = entry; // checked once every remote is known, wherever it is defined
        } else if (key == "pipeline") {
            pipeline(entry);
        } else if (key == "models") {
            models(entry);
        } else if (key == "registry") {
            registry(entry);
        } else if (key == "deploy") {
            m_config.deploy = deploy(entry);
        } else if (key == "monitor") {
            m_config.monitor = keyed_section(entry, k_monitor_keys);
        } else if (key == "access") {
            access(entry);
        }
    }
    check_rule_references();
    if (!has_project)
        report(0, "missing required key 'project'", "start mlo.yaml with `project: <name>`");
    if (default_remote) {
        if (auto name = string_value(*default_remote, "default_remote")) {
            if (m_config.remotes.count(*name) != 0) {
                m_config.default_remote = *name;
            } else {
                Names known;
                for (const auto& [remote_name, remote_config] : m_config.remotes)
                    known.push_back(remote_name);
                report(value_line(*default_remote),
                       "default_remote: '" + *name + "' is not a remote" + util::did_you_mean(*name, known),
                       known.empty() ? "define it under `remotes:`" : "remotes: " + join(known));
            }
        }
    }
}

void Validator::project(const Entry& entry) {
    auto name = string_value(entry, "project");
    if (!name)
        return;
    if (!valid_name(*name, "._-")) {
        report(value_line(entry), "project: '" + *name + "' is not a valid name",
               "use letters, digits, '.', '_' and '-', starting with a letter or digit");
        return;
    }
    m_config.project = *name;
}

void Validator::store(const Entry& entry) {
    if (!expect_map(entry, "store", true))
        return;
    for (const auto& item : known_entries(entry.value, "store", k_store_keys)) {
        if (auto text = string_value(item, "store.link")) {
            if (auto mode = store::parse_link_mode(*text))
                m_config.link = *mode;
            else
                report(value_line(item), "store.link: " + mode.error().message);
        }
    }
}

void Validator::params(const Entry& entry) {
    auto path = string_value(entry, "params");
    if (!path)
        return;
    check_path(*path, value_line(entry), "params");
    m_config.params_file = *path;
}

void Validator::remotes(const Entry& entry) {
    if (!expect_map(entry, "remotes", true))
        return;
    for (const auto& item : entries(entry.value, "remotes"))
        remote(item);
}

void Validator::remote(const Entry& entry) {
    std::string where = "remotes." + entry.key;
    // Remote names appear on the command line (-r NAME) and in directory names under .mlo/.
    if (!valid_name(entry.key, "._-")) {
        report(util::yaml_line(entry.key_node), "remotes: '" + entry.key + "' is not a valid remote name",
               "use letters, digits, '.', '_' and '-', starting with a letter or digit");
        return;
    }
    if (!expect_map(entry, where, false))
        return;
    RemoteConfig remote_config;
    remote_config.name = entry.key;
    bool has_url = false;
    for (const auto& item : known_entries(entry.value, where, k_remote_keys)) {
        std::string item_where = where + "." + item.key;
        if (item.key == "jobs") {
            int jobs = 0;
            if (item.value.IsScalar() && YAML::convert<int>::decode(item.value, jobs) && jobs > 0)
                remote_config.jobs = jobs;
            else
                report(value_line(item),
                       item_where + ": must be a positive integer, not " + util::yaml_describe(item.value));
            continue;
        }
        auto value = string_value(item, item_where);
        if (item.key == "url")
            has_url = true;
        if (!value)
            continue;
        if (item.key == "url")
            remote_config.url = *value;
        else if (item.key == "endpoint")
            remote_config.endpoint = *value;
        else if (item.key == "region")
            remote_config.region = *value;
        else if (item.key == "profile")
            remote_config.profile = *value;
    }
    if (!has_url)
        report(util::yaml_line(entry.key_node), where + ": missing required key 'url'",
               "a remote is a directory (url: /mnt/share/mlo) or a bucket (url: s3://bucket/prefix)");
    // Kept even when incomplete, so that default_remote still resolves and reports nothing extra.
    m_config.remotes[entry.key] = std::move(remote_config);
}

void Validator::pipeline(const Entry& entry) {
    if (!expect_map(entry, "pipeline", true))
        return;
    for (const auto& item : entries(entry.value, "pipeline"))
        stage(item);
}

void Validator::stage(const Entry& entry) {
    std::string where = "pipeline." + entry.key;
    // Stage names become file names of logs and keys of mlo.lock, and `train STAGE` arguments.
    if (!valid_name(entry.key, "_-")) {
        report(util::yaml_line(entry.key_node), "pipeline: '" + entry.key + "' is not a valid stage name",
               "use letters, digits, '_' and '-', starting with a letter or digit");
        return;
    }
    if (!expect_map(entry, where, false))
        return;
    StageConfig stage_config;
    stage_config.name = entry.key;
    bool has_cmd = false;
    for (const auto& item : known_entries(entry.value, where, k_stage_keys)) {
        std::string item_where = where + "." + item.key;
        if (item.key == "cmd") {
            has_cmd = true;
            if (auto cmd = string_value(item, item_where))
                stage_config.cmd = *cmd;
        } else if (item.key == "deps") {
            stage_config.deps = path_list(item, item_where);
        } else if (item.key == "outs") {
            stage_config.outs = path_list(item, item_where);
        } else if (item.key == "metrics") {
            stage_config.metrics = path_list(item, item_where);
        } else if (item.key == "params") {
            // DVC also allows {other_file.yaml: [keys]}; not supported yet, so say so plainly.
            for (auto& key : string_list(item, item_where,
                                         "params from another file ({file: [keys]}) are not supported yet; "
                                         "list keys of the params file"))
                stage_config.params.push_back(std::move(key.value));
        } else if (item.key == "executor") {
            if (auto executor = string_value(item, item_where)) {
                stage_config.executor = *executor == "local" ? std::string() : *executor;
                if (std::find(k_executors.begin(), k_executors.end(), *executor) == k_executors.end())
                    report(value_line(item), item_where + ": unknown executor '" + *executor + "'",
                           "executors: " + join(k_executors));
            }
        } else if (item.key == "slurm") {
            if (expect_map(item, item_where, true)) {
                stage_config.executor_options = item.value;
                slurm_options(item, item_where, stage_config.slurm);
            }
        } else if (item.key == "desc") {
            if (auto desc = string_value(item, item_where))
                stage_config.desc = *desc;
        } else if (item.key == "always_changed") {
            if (auto value = bool_value(item, item_where))
                stage_config.always_changed = *value;
        }
    }
    if (!has_cmd)
        report(util::yaml_line(entry.key_node), where + ": missing required key 'cmd'",
               "a stage needs the command that produces its outs, e.g. `cmd: python3 src/train.py`");
    m_config.pipeline.push_back(std::move(stage_config));
}

// Each value goes to sbatch as one argument (never through a shell), so these checks are about
// catching typos early, with a line number, rather than when the job is submitted.
void Validator::slurm_options(const Entry& entry, const std::string& where, SlurmOptions& options) {
    if (entry.value.IsNull())
        return;
    auto all_of = [](const std::string& text, auto predicate) {
        return !text.empty() && std::all_of(text.begin(), text.end(), predicate);
    };
    auto digits = [&](const std::string& text) {
        return all_of(text, [](char c) { return c >= '0' && c <= '9'; });
    };
    for (const auto& item : known_entries(entry.value, where, k_slurm_keys)) {
        std::string item_where = where + "." + item.key;
        auto value = string_value(item, item_where);
        if (!value)
            continue;
        const std::string& text = *value;
        int line = value_line(item);
        if (item.key == "partition") {
            if (valid_name(text, "_-."))
                options.partition = text;
            else
                report(line, item_where + ": '" + text + "' is not a partition name",
                       "a partition name as `sinfo` lists it, e.g. `partition: gpu`");
        } else if (item.key == "cpus") {
            if (digits(text) && text.size() < 6 && std::stoi(text) > 0)
                options.cpus = std::stoi(text);
            else
                report(line, item_where + ": must be a positive integer, not '" + text + "'");
        } else if (item.key == "mem") {
            std::string number = text;
            if (!number.empty() && std::string("KMGTkmgt").find(number.back()) != std::string::npos)
                number.pop_back();
            if (digits(number))
                options.mem = text;
            else
                report(line, item_where + ": '" + text + "' is not a memory size",
                       "a number of megabytes or one with a K, M, G or T suffix, e.g. `mem: 16G`");
        } else if (item.key == "gpus") {
            size_t colon = text.rfind(':');
            std::string count = colon == std::string::npos ? text : text.substr(colon + 1);
            std::string type = colon == std::string::npos ? "" : text.substr(0, colon);
            if (digits(count) && std::stoll(count.substr(0, 6)) > 0 &&
                (colon == std::string::npos || valid_name(type, "_-.")))
                options.gpus = text;
            else
                report(line, item_where + ": '" + text + "' is not a GPU count",
                       "N or TYPE:N, e.g. `gpus: 1` or `gpus: a100:2`");
        } else if (item.key == "time") {
            // Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED.
            std::string rest = text;
            bool ok = !rest.empty();
            size_t dash = rest.find('-');
            int parts_allowed = 3;
            if (dash != std::string::npos) {
                ok = digits(rest.substr(0, dash));
                rest = rest.substr(dash + 1);
            }
            int parts = 0;
            size_t start = 0;
            while (ok && start <= rest.size()) {
                size_t end = std::min(rest.find(':', start), rest.size());
                ok = digits(rest.substr(start, end - start));
                ++parts;
                start = end + 1;
            }
            ok = ok && parts <= parts_allowed;
            if (ok || text == "UNLIMITED" || text == "infinite")
                options.time = text;
            else
                report(line, item_where + ": '" + text + "' is not a time limit",
                       "minutes, MM:SS, HH:MM:SS or D-HH:MM:SS, e.g. `time: 2:00:00`");
        }
    }
}

void Validator::models(const Entry& entry) {
    if (!expect_map(entry, "models", true))
        return;
    for (const auto& item : entries(entry.value, "models"))
        model(item);
}

void Validator::model(const Entry& entry) {
    std::string where = "models." + entry.key;
    if (!valid_gto_name(entry.key)) {
        report(util::yaml_line(entry.key_node), "models: '" + entry.key + "' is not a valid model name",
               "use letters, digits, '-', '_' and '/', starting and ending with a letter or digit");
        return;
    }
    // `mlo register NAME` would read these as its subcommands.
    static const Names k_reserved = {"list",   "show",      "diff", "promote",
                                     "demote", "deprecate", "get",  "verify"};
    if (std::find(k_reserved.begin(), k_reserved.end(), entry.key) != k_reserved.end()) {
        report(util::yaml_line(entry.key_node),
               "models: '" + entry.key + "' is reserved (a subcommand of mlo register)",
               "choose another name, e.g. '" + entry.key + "-model'");
        return;
    }
    if (!expect_map(entry, where, false))
        return;
    ModelConfig model_config;
    model_config.name = entry.key;
    bool has_path = false;
    for (const auto& item : known_entries(entry.value, where, k_model_keys)) {
        std::string item_where = where + "." + item.key;
        if (item.key == "path") {
            has_path = true;
            if (auto path = string_value(item, item_where)) {
                check_path(*path, value_line(item), item_where);
                model_config.path = *path;
            }
        } else if (item.key == "type") {
            if (auto type = string_value(item, item_where))
                model_config.type = *type;
        } else if (item.key == "description") {
            if (auto description = string_value(item, item_where))
                model_config.description = *description;
        } else if (item.key == "signature") {
            if (expect_map(item, item_where, true)) {
                signature(item, item_where);
                model_config.signature = item.value;
            }
        } else if (item.key == "serve") {
            if (expect_map(item, item_where, true))
                model_config.serve = item.value;
        }
    }
    if (!has_path)
        report(util::yaml_line(entry.key_node), where + ": missing required key 'path'",
               "the model's file or directory, e.g. `path: models/model.pkl`");
    m_config.models[entry.key] = std::move(model_config);
}

// inputs/outputs: lists of {name, type, pii?}; the serve layer checks the types themselves.
void Validator::signature(const Entry& entry, const std::string& where) {
    for (const auto& list : known_entries(entry.value, where, k_signature_keys)) {
        std::string list_where = where + "." + list.key;
        if (list.value.IsNull())
            continue;
        if (!list.value.IsSequence()) {
            report(value_line(list),
                   list_where + ": must be a list of {name, type}, not " + util::yaml_describe(list.value));
            continue;
        }
        std::set<std::string> names;
        for (const auto& field : list.value) {
            if (!field.IsMap()) {
                report(util::yaml_line(field),
                       list_where + ": entries must be maps like {name: x, type: double}, not " +
                           util::yaml_describe(field));
                continue;
            }
            bool has_name = false;
            bool has_type = false;
            for (const auto& item : known_entries(field, list_where, k_field_keys)) {
                std::string item_where = list_where + "." + item.key;
                if (item.key == "pii") {
                    bool_value(item, item_where);
                } else if (auto value = string_value(item, item_where)) {
                    if (item.key == "type") {
                        has_type = true;
                    } else {
                        has_name = true;
                        if (!names.insert(*value).second)
                            report(value_line(item), list_where + ": duplicate field name '" + *value + "'");
                    }
                } else {
                    // Already reported as not a string; don't also report it missing.
                    (item.key == "type" ? has_type : has_name) = true;
                }
            }
            if (!has_name)
                report(util::yaml_line(field), list_where + ": an entry is missing required key 'name'");
            if (!has_type)
                report(util::yaml_line(field), list_where + ": an entry is missing required key 'type'");
        }
    }
}

void Validator::registry(const Entry& entry) {
    if (!expect_map(entry, "registry", true))
        return;
    for (const auto& item : known_entries(entry.value, "registry", k_registry_keys)) {
        std::set<std::string> seen;
        for (auto& stage_name : string_list(item, "registry.stages")) {
            // Stages are written into GTO tags (MODEL#STAGE#N), so they follow GTO's grammar too.
            if (!valid_gto_name(stage_name.value))
                report(stage_name.line,
                       "registry.stages: '" + stage_name.value + "' is not a valid stage name",
                       "use letters, digits, '-', '_' and '/', starting and ending with a letter or digit");
            else if (!seen.insert(stage_name.value).second)
                report(stage_name.line, "registry.stages: duplicate stage '" + stage_name.value + "'");
            else
                m_config.registry_stages.push_back(std::move(stage_name.value));
        }
    }
}

// deploy: target name -> map of settings; the deploy layer reads the settings.
YAML::Node Validator::deploy(const Entry& entry) {
    if (!expect_map(entry, "deploy", true))
        return {};
    for (const auto& item : entries(entry.value, "deploy"))
        expect_map(item, "deploy." + item.key, false);
    return entry.value;
}

// access: {keys: {signer: "ed25519:<base64>"}, rules: [{action, stage, signers, min}]}. The key
// text itself is checked by the registry, which knows the key format; here only the shape.
void Validator::access(const Entry& entry) {
    if (!expect_map(entry, "access", true))
        return;
    for (const auto& item : known_entries(entry.value, "access", k_access_keys)) {
        if (item.key == "keys") {
            access_keys(item);
        } else if (!item.value.IsNull()) {
            if (!item.value.IsSequence()) {
                report(value_line(item),
                       "access.rules: must be a list of rules, not " + util::yaml_describe(item.value));
                continue;
            }
            for (const auto& rule : item.value)
                access_rule(rule);
        }
    }
}

void Validator::access_keys(const Entry& entry) {
    if (!expect_map(entry, "access.keys", true))
        return;
    for (const auto& key : entries(entry.value, "access.keys")) {
        // Signer ids appear in tag messages as one word, so they share the key file names' grammar.
        if (!valid_name(key.key, "._@+-")) {
            report(util::yaml_line(key.key_node), "access.keys: '" + key.key + "' is not a valid signer id",
                   "use an email-like id of letters, digits and '._@+-'");
            continue;
        }
        if (auto text = string_value(key, "access.keys." + key.key)) {
            if (text->rfind("ed25519:", 0) != 0) {
                report(value_line(key), "access.keys." + key.key + ": must be \"ed25519:<base64>\"",
                       "print your public key line with `mlo keys list`");
                continue;
            }
            m_config.access.keys[key.key] = *text;
        }
    }
}

void Validator::access_rule(const YAML::Node& node) {
    if (!node.IsMap()) {
        report(util::yaml_line(node), "access.rules: entries must be maps like {action: promote, stage: "
                                      "production, signers: [alice@example.com], min: 1}, not " +
                                          util::yaml_describe(node));
        return;
    }
    AccessRule rule;
    rule.line = util::yaml_line(node);
    bool has_action = false;
    bool has_min = false;
    for (const auto& item : known_entries(node, "access.rules", k_rule_keys)) {
        std::string where = "access.rules." + item.key;
        if (item.key == "action") {
            has_action = true;
            if (auto action = string_value(item, where)) {
                if (std::find(k_actions.begin(), k_actions.end(), *action) == k_actions.end())
                    report(value_line(item),
                           where + ": unknown action '" + *action + "'" +
                               util::did_you_mean(*action, k_actions),
                           "actions: " + join(k_actions));
                else
                    rule.action = *action;
            }
        } else if (item.key == "stage") {
            if (auto stage = string_value(item, where))
                rule.stage = *stage;
        } else if (item.key == "signers") {
            for (auto& signer : string_list(item, where))
                rule.signers.push_back(std::move(signer.value));
        } else {
            int min = 0;
            has_min = true;
            if (!item.value.IsScalar() || !YAML::convert<int>::decode(item.value, min) || min < 1)
                report(value_line(item), where + ": must be a whole number of at least 1, not " +
                                             util::yaml_describe(item.value));
            else
                rule.min = min;
        }
    }
    if (!has_action)
        report(rule.line, "access.rules: a rule is missing required key 'action'",
               "actions: " + join(k_actions));
    if (has_min && !rule.signers.empty() && static_cast<size_t>(rule.min) > rule.signers.size())
        report(rule.line, "access.rules: min " + std::to_string(rule.min) + " is more than the " +
                              std::to_string(rule.signers.size()) + " signers listed");
    if (!rule.action.empty())
        m_config.access.rules.push_back(std::move(rule));
}

// Rules name stages and signers defined in other sections, which may come later in the file.
void Validator::check_rule_references() {
    Names signer_ids;
    for (const auto& [id, key] : m_config.access.keys)
        signer_ids.push_back(id);
    const Names& stages = m_config.registry_stages;
    for (const auto& rule : m_config.access.rules) {
        if (!rule.stage.empty() && rule.stage != "*" &&
            std::find(stages.begin(), stages.end(), rule.stage) == stages.end())
            report(rule.line,
                   "access.rules: stage '" + rule.stage + "' is not in registry.stages" +
                       util::did_you_mean(rule.stage, stages),
                   stages.empty() ? "list it under `registry: {stages: [...]}`" : "stages: " + join(stages));
        for (const auto& signer : rule.signers)
            if (m_config.access.keys.count(signer) == 0)
                report(rule.line,
                       "access.rules: signer '" + signer + "' has no key in access.keys" +
                           util::did_you_mean(signer, signer_ids),
                       "add its public key line (from `mlo keys generate`) under `access.keys`");
    }
}

YAML::Node Validator::keyed_section(const Entry& entry, const Names& allowed) {
    if (!expect_map(entry, entry.key, true))
        return {};
    known_entries(entry.value, entry.key, allowed);
    return entry.value;
}

} // namespace

const std::vector<std::string>& access_actions() {
    return k_actions;
}

Result<Config> parse_config(const std::string& text, const std::string& source) {
    try {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            std::string hint = text.find('\t') != std::string::npos
                                   ? "YAML indents with spaces; the file contains a tab"
                                   : std::string();
            std::string line = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ": ";
            return fail(ErrorCode::input, source + ": " + line + e.msg, std::move(hint));
        }
        Config config;
        Validator validator(config);
        validator.validate(root);
        if (!validator.problems().empty())
            return fail(util::problems_error(validator.problems(), source));
        return config;
    } catch (const YAML::Exception& e) {
        // The validator checks types before converting, so this is a bug, but still the file's.
        std::string line = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ": ";
        return fail(ErrorCode::input, source + ": " + line + e.msg);
    } catch (const std::exception& e) {
        return fail(ErrorCode::internal, source + ": " + e.what());
    }
}

Result<Config> load_config(const std::filesystem::path& path) {
    // Plain POSIX reads keep this module free of other library parts and give errno for the message.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(system_error("reading " + path.string(), errno));
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            return fail(system_error("reading " + path.string(), saved));
        }
        if (n == 0)
            break;
        text.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    // Messages name the file as the user knows it ("mlo.yaml: line 3: ..."), not the full path.
    std::string source = path.filename().empty() ? path.string() : path.filename().string();
    return parse_config(text, source);
}

} // namespace mlo::core
