#pragma once

#include <filesystem>
#include <map>
#include <mlo/runs/run_record.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::pipeline {

// Reads a metrics file written by a stage (JSON object, possibly nested; YAML also accepted for
// `.yaml`/`.yml`): every finite numeric leaf becomes a metric named by its dotted path
// ({"val": {"acc": 0.9}} -> "val.acc"); booleans count as 0/1; strings are ignored.
// A malformed file is ErrorCode::input naming it.
Result<std::map<std::string, double>> read_metrics_file(const std::filesystem::path& path);

// Reads the JSON lines a stage appended to MLO_METRICS: each line an object such as
// {"step": 3, "loss": 0.21}; a missing "step" counts up per key from 0. Lines that are not JSON
// objects are skipped and counted in `bad_lines` (line numbers, 1-based) so the caller can warn.
std::vector<runs::StepMetric> read_step_metrics(const std::filesystem::path& path, const std::string& stage,
                                                std::vector<size_t>& bad_lines);
// The same, from the text itself (step metrics kept in the run cache).
std::vector<runs::StepMetric> parse_step_metrics(const std::string& text, const std::string& stage,
                                                 std::vector<size_t>& bad_lines);

// Gives every step-metric key that `metrics` lacks (metrics files win) the value of its last step.
void add_last_step_values(std::map<std::string, double>& metrics, const std::vector<runs::StepMetric>& steps);

} // namespace mlo::pipeline
