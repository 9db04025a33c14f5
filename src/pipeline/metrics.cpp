#include <cmath>
#include <mlo/pipeline/metrics.hpp>
#include <mlo/util/file_io.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace mlo::pipeline {

using nlohmann::json;

namespace {

void flatten(const json& value, const std::string& prefix, std::map<std::string, double>& out) {
    if (value.is_object()) {
        for (const auto& [key, child] : value.items())
            flatten(child, prefix.empty() ? key : prefix + "." + key, out);
    } else if (value.is_number()) {
        double number = value.get<double>();
        if (std::isfinite(number) && !prefix.empty())
            out[prefix] = number;
    } else if (value.is_boolean() && !prefix.empty()) {
        out[prefix] = value.get<bool>() ? 1.0 : 0.0;
    }
}

json yaml_to_json(const YAML::Node& node) {
    if (node.IsMap()) {
        json out = json::object();
        for (const auto& item : node)
            out[item.first.as<std::string>()] = yaml_to_json(item.second);
        return out;
    }
    if (node.IsScalar()) {
        const std::string& text = node.Scalar();
        char* end = nullptr;
        double number = std::strtod(text.c_str(), &end);
        if (!text.empty() && end == text.c_str() + text.size())
            return number;
        if (text == "true" || text == "false")
            return text == "true";
        return text;
    }
    return nullptr;
}

} // namespace

Result<std::map<std::string, double>> read_metrics_file(const std::filesystem::path& path) {
    auto text = util::read_file(path);
    if (!text)
        return fail(std::move(text).error());
    json doc;
    std::string ext = path.extension().string();
    try {
        if (ext == ".yaml" || ext == ".yml")
            doc = yaml_to_json(YAML::Load(*text));
        else
            doc = json::parse(*text);
    } catch (const std::exception& e) {
        return fail(ErrorCode::input, "malformed metrics file " + path.string() + ": " + e.what());
    }
    if (!doc.is_object())
        return fail(ErrorCode::input, "malformed metrics file " + path.string() + ": expected an object");
    std::map<std::string, double> out;
    flatten(doc, "", out);
    return out;
}

std::vector<runs::StepMetric> read_step_metrics(const std::filesystem::path& path, const std::string& stage,
                                                std::vector<size_t>& bad_lines) {
    auto text = util::read_file(path);
    return text ? parse_step_metrics(*text, stage, bad_lines) : std::vector<runs::StepMetric>{};
}

std::vector<runs::StepMetric> parse_step_metrics(const std::string& text, const std::string& stage,
                                                 std::vector<size_t>& bad_lines) {
    std::vector<runs::StepMetric> out;
    std::istringstream in(text);
    std::map<std::string, int64_t> next_step;
    std::string line;
    for (size_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        json doc;
        try {
            doc = json::parse(line);
        } catch (const json::exception&) {
            bad_lines.push_back(number);
            continue;
        }
        if (!doc.is_object()) {
            bad_lines.push_back(number);
            continue;
        }
        std::optional<int64_t> step;
        if (doc.contains("step") && doc["step"].is_number())
            step = doc["step"].get<int64_t>();
        std::map<std::string, double> values;
        for (const auto& [key, value] : doc.items())
            if (key != "step")
                flatten(value, key, values);
        for (const auto& [key, value] : values) {
            int64_t at = step ? *step : next_step[key];
            next_step[key] = at + 1;
            out.push_back({stage, key, at, value});
        }
    }
    return out;
}

void add_last_step_values(std::map<std::string, double>& metrics,
                          const std::vector<runs::StepMetric>& steps) {
    std::map<std::string, std::pair<int64_t, double>> last_step;
    for (const auto& step : steps) {
        auto it = last_step.find(step.key);
        if (it == last_step.end() || step.step >= it->second.first)
            last_step[step.key] = {step.step, step.value};
    }
    for (const auto& [key, value] : last_step)
        metrics.emplace(key, value.second); // no overwrite: a metrics file's value stays
}

} // namespace mlo::pipeline
