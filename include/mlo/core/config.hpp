#pragma once

#include <filesystem>
#include <map>
#include <mlo/store/link_mode.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mlo::core {

using store::LinkMode;

// A stage's `slurm:` map, validated (see config.cpp); each value becomes one sbatch argument.
struct SlurmOptions {
    std::string partition; // --partition
    std::string time;      // --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
    int cpus = 0;          // --cpus-per-task; 0 = Slurm's default
    std::string mem;       // --mem: a number with an optional K, M, G or T suffix
    std::string gpus;      // --gpus: N or TYPE:N
};

// One stage of the `pipeline:` section.
struct StageConfig {
    std::string name;
    std::string cmd;
    std::vector<std::string> deps;
    std::vector<std::string> params; // dotted keys of the params file, or whole subtrees
    std::vector<std::string> outs;
    std::vector<std::string> metrics;
    std::string executor;        // empty = local ("local" in the file is stored as "")
    YAML::Node executor_options; // the stage's `slurm:` map; Null when absent
    SlurmOptions slurm;          // the same map, validated
    std::string desc;
    bool always_changed = false; // run every time, even when no input changed
};

struct ModelConfig {
    std::string name;
    std::string path;
    std::string type;
    YAML::Node signature; // validated by the registry/serve layers
    YAML::Node serve;
    std::string description;
};

// One rule of `access.rules`: an action on a stage needs signatures from at least `min` of
// `signers` (ids of `access.keys`; empty = any listed key).
struct AccessRule {
    std::string action; // register, promote, demote, deprecate, deploy
    std::string stage;  // "" = every stage (and actions without one, like register)
    std::vector<std::string> signers;
    int min = 1;
    int line = 0; // in mlo.yaml, for messages
};

// The `access:` section: signer id -> "ed25519:<base64 public key>", and the rules.
struct AccessConfig {
    std::map<std::string, std::string> keys;
    std::vector<AccessRule> rules;
};

struct RemoteConfig {
    std::string name;
    std::string url;
    std::string endpoint;
    std::string region;
    std::string profile;
    int jobs = 0; // 0 = default
};

// The parsed `mlo.yaml`. Sections that later layers interpret in detail keep their YAML node so
// the file is validated once here (unknown keys, types) and read there. The nodes share the parsed
// document, so they keep their marks and later layers can report line numbers; an absent section is
// a Null node.
struct Config {
    std::string project;
    LinkMode link = LinkMode::auto_;
    std::string params_file = "params.yaml";
    std::map<std::string, RemoteConfig> remotes;
    std::string default_remote;
    std::vector<StageConfig> pipeline; // in file order
    std::map<std::string, ModelConfig> models;
    std::vector<std::string> registry_stages;
    YAML::Node deploy;
    YAML::Node monitor;
    AccessConfig access;
};

// The actions `access.rules` may guard.
const std::vector<std::string>& access_actions();

// Parses and validates `mlo.yaml` text. Collects every problem (unknown key with a "did you mean"
// hint, wrong type, missing `project`, bad link mode) and reports them all in one ErrorCode::input
// error whose message lists them one per line, each with its line number, prefixed by `source`.
Result<Config> parse_config(const std::string& text, const std::string& source = "mlo.yaml");

// Reads and parses a file.
Result<Config> load_config(const std::filesystem::path& path);

} // namespace mlo::core
