#pragma once

#include <filesystem>
#include <mlo/core/config.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::pipeline {

// What Slurm says about one job.
struct SlurmJobState {
    std::string state;  // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
    std::string reason; // why it is pending or ended ("Dependency", "DependencyNeverSatisfied")
    int exit_code = 0;  // of the batch script
    int signal = 0;     // that killed it, 0 if none
    double run_seconds = 0;

    // Whether the job will not change state any more. A job whose dependency can never be
    // satisfied counts as ended: it would stay PENDING forever.
    bool ended() const;
};

// Parses `scontrol show job -o ID` (one line of Key=Value pairs); nullopt without a JobState.
std::optional<SlurmJobState> parse_scontrol_job(const std::string& text);

// Parses `sacct -j ID -X -n -P -o State,ExitCode,ElapsedRaw` ("CANCELLED by 0|0:15|12");
// nullopt when there is no such line.
std::optional<SlurmJobState> parse_sacct_job(const std::string& text);

// The job id from `sbatch --parsable` ("42" or "42;cluster"); "" when it is not one.
std::string parse_sbatch_job_id(const std::string& text);

// Slurm's elapsed-time forms (MM:SS, HH:MM:SS, D-HH:MM:SS) in seconds; 0 when unreadable.
double parse_slurm_duration(const std::string& text);

// A stage as one batch job.
struct SlurmSubmission {
    std::string job_name;
    std::filesystem::path script; // the batch script (see batch_script)
    std::filesystem::path working_directory;
    std::filesystem::path stdout_file, stderr_file;
    std::vector<std::string> after; // job ids that must complete successfully first
    core::SlurmOptions options;
};

// The sbatch command line for a submission: one argument per value, for exec, never a shell.
std::vector<std::string> sbatch_arguments(const SlurmSubmission& submission);

// The batch script for a stage: `cmd` exactly as given (the only shell text in it), after a trap
// that writes the script's exit status to $MLO_SLURM_EXIT_FILE, so the outcome is known even where
// neither `scontrol` nor `sacct` can report the job any more.
std::string batch_script(const std::string& stage, const std::string& run_id, const std::string& cmd);

} // namespace mlo::pipeline
