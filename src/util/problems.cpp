#include <algorithm>
#include <mlo/util/problems.hpp>

namespace mlo::util {

namespace {
std::string with_line(int line, const std::string& text) {
    return line > 0 ? "line " + std::to_string(line) + ": " + text : text;
}
} // namespace

Error problems_error(std::vector<Problem> problems, const std::string& source,
                     const std::string& extra_hint) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    Error error{ErrorCode::input, source + ": ", {}};
    if (problems.size() == 1) {
        error.message += with_line(problems[0].line, problems[0].text);
    } else {
        error.message += std::to_string(problems.size()) + " problems:";
        for (const auto& problem : problems)
            error.message += "\n  " + with_line(problem.line, problem.text);
    }
    std::vector<std::string> hints;
    for (const auto& problem : problems)
        if (!problem.hint.empty() && std::find(hints.begin(), hints.end(), problem.hint) == hints.end())
            hints.push_back(problem.hint);
    if (!extra_hint.empty())
        hints.push_back(extra_hint);
    for (const auto& hint : hints)
        error.hint += (error.hint.empty() ? "" : "\n") + hint;
    return error;
}

int yaml_line(const YAML::Node& node) {
    return node.Mark().is_null() ? 0 : node.Mark().line + 1;
}

std::string yaml_describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a map";
    default:
        return "empty";
    }
}

std::optional<long long> yaml_whole_number(const YAML::Node& value, long long low, long long high,
                                           std::string& problem) {
    long long number = 0;
    bool ok = value.IsScalar();
    if (ok) {
        try {
            number = value.as<long long>();
        } catch (const YAML::Exception&) {
            ok = false;
        }
    }
    if (ok && number >= low && number <= high)
        return number;
    problem = "must be a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
              ", not " + yaml_describe(value);
    return std::nullopt;
}

} // namespace mlo::util
