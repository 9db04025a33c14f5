#pragma once

#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mlo::util {

// One problem found while validating a file, collected with the others before failing.
struct Problem {
    int line = 0; // 1-based; 0 when the problem has no place in the file
    std::string text;
    std::string hint;
};

// All problems as one ErrorCode::input error, sorted by line: "<source>: line 3: what" for one,
// "<source>: N problems:" and an indented line each for several. Each distinct hint once, then
// `extra_hint`.
Error problems_error(std::vector<Problem> problems, const std::string& source,
                     const std::string& extra_hint = {});

// The 1-based line of a YAML node, 0 when it has none.
int yaml_line(const YAML::Node& node);
// How a YAML value reads in a message: "'text'", "a list", "a map" or "empty".
std::string yaml_describe(const YAML::Node& node);

// A scalar holding a whole number within [low, high], else the problem to report:
// "must be a whole number from LOW to HIGH, not <yaml_describe>".
std::optional<long long> yaml_whole_number(const YAML::Node& value, long long low, long long high,
                                           std::string& problem);

} // namespace mlo::util
