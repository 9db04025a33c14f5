#pragma once

#include <filesystem>
#include <map>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mlo::pipeline {

// The parameter file (`params:` in mlo.yaml, default params.yaml): a YAML map addressed by
// dotted keys ("train.lr", "prepare.split"). Values are compared and recorded as canonical
// strings: scalars as written ("0.1", "lr", "true"), maps and lists as compact JSON with sorted
// keys, so `train: {lr: 0.1, depth: 3}` tracked as `train` is one value that changes when any
// leaf changes.
class Params {
  public:
    // A missing file is an empty parameter set (ok), a malformed one an ErrorCode::input error
    // naming the file and line.
    static Result<Params> load(const std::filesystem::path& path);
    static Result<Params> parse(const std::string& text, const std::string& source);

    // The canonical value at a dotted key, or ErrorCode::input "unknown parameter 'x'" with a
    // did-you-mean among existing keys.
    Result<std::string> value(const std::string& dotted_key) const;
    bool contains(const std::string& dotted_key) const;

    // Every leaf under `dotted_key` (or the whole file for ""), flattened: {"train.lr": "0.1", ...}.
    std::map<std::string, std::string> flatten(const std::string& dotted_key = "") const;

    // Applies `key=value` overrides (-S): the value is parsed as YAML (so 0.1 stays a number,
    // 'x' a string, [1, 2] a list; an empty value is the empty string); intermediate maps are
    // created, and a map may be replaced by a value. A malformed override (no '=', empty key or
    // segment, bad YAML, a key below an existing value such as `lr.x` for `lr: 0.1`) is
    // ErrorCode::usage and changes nothing. Copies of a Params never see each other's overrides.
    Status apply_override(const std::string& assignment);

    // The YAML text to write back (after overrides): block style, keys in file order, quoted
    // scalars kept quoted so that a string such as "1.0" stays a string; comments are not kept.
    std::string serialize() const;

  private:
    YAML::Node m_root;
    std::string m_source;
};

// Expands `${a.b}` in a stage command with canonical parameter values. `$${` is a literal `${`.
// Every unknown key is reported together (ErrorCode::input, naming the stage's cmd).
Result<std::string> expand_template(const std::string& text, const Params& params);

// The keys a command template references (for tracking them as the stage's params).
std::vector<std::string> template_keys(const std::string& text);

} // namespace mlo::pipeline
