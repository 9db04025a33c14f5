#pragma once

#include <map>
#include <mlo/runs/run_record.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::runs {

// Params and metrics of several runs side by side: one row per key (params first, then metrics),
// one cell per run (empty when a run lacks the key), and whether the cells differ.
struct ComparisonRow {
    std::string key; // "params.train.lr", "metrics.acc"
    std::vector<std::optional<std::string>> values;
    bool differs = false;
};

std::vector<ComparisonRow> compare_runs(const std::vector<RunRecord>& runs);

// What changed between two runs, grouped as `mlo runs diff` shows it.
struct RunDiff {
    std::string old_id, new_id;
    std::string old_commit, new_commit;
    std::vector<std::string> code_changes; // files changed between the commits ("" if same commit)
    bool old_dirty = false, new_dirty = false;
    struct Change {
        std::string what; // path or key
        std::string old_value, new_value;
    };
    std::vector<Change> data;    // deps whose ids differ (by path)
    std::vector<Change> params;  // params whose values differ
    std::vector<Change> metrics; // metrics whose values differ (with both values)
    std::vector<Change> outs;    // outs whose ids differ
};

// Compares two runs; `code_changes` is filled by the caller (it needs git).
RunDiff diff_runs(const RunRecord& old_run, const RunRecord& new_run);

// A self-contained HTML page: final metrics and params as a table (differences highlighted) and
// one SVG line chart per step metric with a line per run. No scripts, no external resources.
std::string comparison_html(const std::vector<RunRecord>& runs);

// Formats a metric for display: up to 6 significant digits, no trailing zeros.
std::string format_number(double value);

} // namespace mlo::runs
