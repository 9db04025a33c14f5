#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mlo/hash/object_id.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::pipeline {

// How a stage command ended and what it cost.
struct ProcessResult {
    int exit_code = -1;       // the exit status, or -1 when killed by a signal
    int signal = 0;           // the signal that killed it, 0 if none
    bool interrupted = false; // stopped by mlo (Ctrl-C / a stop request)
    double wall_seconds = 0;
    double cpu_seconds = 0; // user + system of the command and its children
    // The largest RSS of the command or one of the children it waited for. Linux carries the
    // parent's high-water RSS into a child at exec, so this is never below mlo's own peak RSS at
    // the time of the spawn: a stage smaller than mlo reports mlo's figure.
    uint64_t peak_rss_bytes = 0;
    std::string stdout_text; // everything the command wrote, kept for the run's log objects
    std::string stderr_text;
};

struct ProcessOptions {
    std::string command;                          // run with /bin/sh -c
    std::filesystem::path working_directory;      // empty: mlo's current directory
    std::map<std::string, std::string> extra_env; // added to (and overriding) the inherited env
    // Called with each complete line (and a final partial one) as it arrives, from the thread that
    // called run_stage_process; `is_stderr` tells the stream. May be null.
    std::function<void(const std::string& line, bool is_stderr)> on_line;
    // When set to true by another thread (e.g. a SIGINT handler flag), the command's process
    // group gets SIGTERM, then SIGKILL after `kill_grace_ms` (sooner if the shell has exited and the
    // output pipes are closed). If it is already true on entry, nothing is started and the result
    // is `interrupted` with exit_code -1.
    const std::atomic<bool>* stop_requested = nullptr;
    int kill_grace_ms = 3000;
};

// Runs one stage command to completion in its own process group, streaming its output line by
// line and capturing it, and measures wall time, CPU time and peak RSS (wait4's rusage).
// stdin is /dev/null; signal dispositions and mask are reset to the defaults.
// A command that cannot be started is an error: ErrorCode::input for a missing or non-directory
// working directory, an invalid extra_env entry or a NUL byte in the command, ErrorCode::internal
// otherwise. A command that fails is not an error: the caller reads exit_code.
// Blocks until the shell has exited and its output pipes are closed; then any process still in the
// group (a background job that closed its output) is SIGKILLed, so nothing from a stage outlives it
// and writes to its outputs after they are hashed. Several calls may run at once from different
// threads.
Result<ProcessResult> run_stage_process(const ProcessOptions& options);

// A stage command as `mlo train` and `--rerun` run it.
struct StageCommand {
    std::string run_id;
    std::string stage;
    std::string command;
    std::filesystem::path root;         // the project (or the rerun's scratch copy): working directory
    std::filesystem::path params_file;  // MLO_PARAMS
    std::filesystem::path metrics_file; // MLO_METRICS: where the stage appends step metrics
    const std::atomic<bool>* stop_requested = nullptr;
    std::function<void(const std::string& stage, const std::string& line, bool is_stderr)> on_output;
};

// Where a stage's outcome goes: the fields of runs::StageRun this fills, kept apart so that this
// layer needs no run records.
struct StageOutcome {
    ProcessResult process;
    std::optional<hash::ObjectId> stdout_log, stderr_log; // the output stored as objects (if any)
    // Batch executors: the job and how it ended ("COMPLETED", "FAILED", "CANCELLED", ...).
    std::string job_id, job_state;
    std::vector<std::string> job_after; // the job ids it waited for
    std::string abandoned;              // non-empty: cancelled unrun because of this reason
};

// Runs a stage command with MLO_RUN_ID, MLO_STAGE, MLO_PARAMS, MLO_METRICS and MLO_PROJECT_ROOT set
// and stores what it printed in `objects`.
Result<StageOutcome> run_stage_command(const store::ObjectStore& objects, const StageCommand& stage);

} // namespace mlo::pipeline
