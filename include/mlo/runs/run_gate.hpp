#pragma once

#include <mlo/runs/run_record.hpp>
#include <mlo/runs/run_store.hpp>
#include <string>
#include <vector>

namespace mlo::runs {

// The outcome of a `--fail-if` condition on one run.
struct GateResult {
    bool holds = false;              // the condition is true: the gate fails (exit 1)
    std::vector<std::string> values; // "metrics.acc = 0.85" for every key the condition names
    std::string condition;           // as evaluated (baseline references replaced by values)
};

// Evaluates a `--fail-if` condition against `run`. The condition is a run filter (run_filter.hpp:
// `metrics.acc < 0.9 or params.model = 'lr'`), evaluated by the run index, so `mlo runs list
// --filter` and gates share one grammar. With a `baseline` (mlo runs compare), the condition may
// also name `baseline.metrics.KEY` and `baseline.params.KEY`, replaced by the baseline's values
// before evaluation (`metrics.acc < baseline.metrics.acc`). A metric the condition names that the
// run lacks makes the gate fail: a CI gate must not pass because a metric went missing.
// A malformed condition, or a baseline key the baseline lacks, is ErrorCode::usage.
Result<GateResult> evaluate_gate(RunStore& store, const RunRecord& run, const std::string& condition,
                                 const RunRecord* baseline = nullptr);

} // namespace mlo::runs
