#pragma once

#include <atomic>
#include <functional>
#include <mlo/core/project.hpp>
#include <mlo/runs/run_record.hpp>
#include <mlo/util/progress.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::pipeline {

struct TrainOptions {
    std::vector<std::string> targets;   // stages to bring up to date (with what they need); empty = all
    std::vector<std::string> overrides; // -S key=value, written to the params file and recorded
    unsigned jobs = 0;                  // stages run at once; 0 = one per core
    bool force = false;                 // run every selected stage even if up to date
    bool dry_run = false;               // decide and report, run nothing, write nothing
    std::map<std::string, std::string> tags;
    std::string executor; // "local" or "slurm" for every stage; "" = each stage's `executor:`
    const std::atomic<bool>* stop_requested = nullptr; // set by the CLI's SIGINT handler
    // Each line a stage prints, as it arrives (called from worker threads, one line at a time).
    std::function<void(const std::string& stage, const std::string& line, bool is_stderr)> on_output;
    // Each stage decision and outcome: ("train", "running: dep data/x.csv changed").
    std::function<void(const std::string& stage, const std::string& event)> on_event;
};

struct StageDecision {
    std::string stage;
    std::string action; // "run", "restore", "skip"
    std::string reason;
};

struct TrainReport {
    std::vector<StageDecision> decisions; // dry run: the plan; else what happened
    std::optional<runs::RunRecord> run;   // recorded unless every stage was up to date (or dry run)
    bool interrupted = false;
    bool failed = false;
};

// Runs the pipeline DAG (SPEC.md section 5): validates it, then for each selected stage in
// dependency order decides whether it must run (command, a dep's id, a tracked param or an out
// changed since mlo.lock, or an out is missing), restores it from the run cache when the exact
// inputs ran before, or runs it — independent stages in parallel. Outs are stored; mlo.lock is
// rewritten atomically with every stage that succeeded (a failed stage keeps its last good entry);
// the run is recorded as FINISHED, FAILED or KILLED. A failed stage stops its downstream stages.
// Holds the store's shared lock and `.mlo/train.lock` (one train at a time per project).
Result<TrainReport> train(core::Project& project, const TrainOptions& options);

} // namespace mlo::pipeline
