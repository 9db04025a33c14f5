#pragma once

#include <cstdint>
#include <map>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::runs {

// A dep or out of a stage in a run: path and content id.
struct PathId {
    std::string path;
    std::string kind; // "file" or "directory"
    hash::ObjectId id;
    uint64_t size = 0;
};

// One step metric line from MLO_METRICS: {"step": 3, "loss": 0.21}.
struct StepMetric {
    std::string stage;
    std::string key;
    int64_t step = 0;
    double value = 0;
};

// What happened to one stage in a run.
struct StageRun {
    std::string name;
    std::string
        status; // "succeeded", "failed", "killed", "restored" (run cache), "skipped" (up to date), "not run"
    std::string reason; // why it ran, or why not ("up to date", "upstream failed")
    std::string cmd;
    int exit_code = 0;
    int signal = 0;
    int64_t started_ns = 0, ended_ns = 0;
    double wall_seconds = 0, cpu_seconds = 0;
    uint64_t peak_rss_bytes = 0;
    std::optional<hash::ObjectId> stdout_log, stderr_log;
    std::vector<PathId> deps, outs;
    std::map<std::string, std::string> params;
    // Where it ran when not locally: "slurm", its job id, the job's final state and the job ids
    // it depended on (the DAG as Slurm saw it). Empty for local stages, and then not serialised.
    std::string executor, job_id, job_state;
    std::vector<std::string> job_after;
};

// A recorded run (SPEC.md section 5). Stored as a canonical JSON object in the store; a ref file
// `.mlo/refs/runs/<id>` names the object, and the SQLite index makes runs queryable.
struct RunRecord {
    std::string id;     // "20261127-041530-a3f9": sortable by start time, unique
    std::string status; // MLflow's: FINISHED, FAILED, KILLED
    int64_t started_ns = 0, ended_ns = 0;
    std::string git_commit, git_branch;
    bool git_dirty = false;
    std::string git_diff_hash; // sha256 of the uncommitted diff of tracked files, "" when clean
    std::map<std::string, std::string> params; // effective params (every leaf of the params file)
    std::vector<std::string> overrides;        // -S key=value, as given
    std::optional<hash::ObjectId> params_file; // the params file's bytes as run, for --rerun
    std::map<std::string, double> metrics;     // final metrics: files in `metrics:`, then last step values
    std::vector<StepMetric> step_metrics;
    std::map<std::string, std::string> tags;
    std::vector<StageRun> stages; // in execution order
    nlohmann::json environment;   // os, kernel, cpu, cores, memory_bytes, gpu, tool versions
    std::string rerun_of;         // id of the run this one re-executed, for --rerun

    double duration_seconds() const { return static_cast<double>(ended_ns - started_ns) / 1e9; }
    nlohmann::json to_json() const;
    std::string canonical() const { return to_json().dump(); }
    static Result<RunRecord> from_json(const nlohmann::json& json);
    static Result<RunRecord> parse(const std::string& text);
};

// A new run id from the current time and 16 random bits.
std::string new_run_id();

} // namespace mlo::runs
