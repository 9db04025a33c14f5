#pragma once

#include <functional>
#include <memory>
#include <mlo/core/config.hpp>
#include <mlo/pipeline/stage_process.hpp>
#include <string>
#include <vector>

namespace mlo::pipeline {

// One stage handed to an executor: the command as the trainer resolved it, and what a batch
// executor needs besides.
struct ExecutorStage {
    StageCommand command;
    core::SlurmOptions slurm;
    std::string job_name;           // "mlo-<project>-<stage>"
    std::filesystem::path scratch;  // the run's temp directory: batch scripts and job output files
    std::vector<std::string> after; // job ids of upstream stages still in flight on this executor
    // Called once the stage is queued, with its job id (batch executors only), so that the trainer
    // can submit downstream stages against it before it finishes.
    std::function<void(const std::string& job_id)> on_submitted;
    // Polled while the stage waits or runs: a non-empty answer ("upstream stage prepare failed")
    // means its result is no longer wanted; the executor cancels it and reports `abandoned`.
    std::function<std::string()> abandon_reason;
};

// Where stages run. The trainer decides what runs (lock, run cache, DAG); an executor only runs a
// stage command to completion and reports how it ended, with its output captured and stored.
// Implementations are used from several threads at once.
class StageExecutor {
  public:
    virtual ~StageExecutor() = default;
    virtual std::string name() const = 0;
    // Whether a stage may be handed over while its upstream stages still run on this executor
    // (their job ids in ExecutorStage::after), the scheduler then enforcing the order.
    virtual bool chains_jobs() const = 0;
    // Whether the executor can run at all here (sbatch on PATH...): an error that names what is
    // missing, checked before anything runs.
    virtual Status check_available() const = 0;
    // Runs the stage and blocks until it ended. Errors are reserved for failures to start or follow
    // it; a stage that fails is a StageOutcome with a non-zero exit code or a job state.
    virtual Result<StageOutcome> run(const store::ObjectStore& objects, const ExecutorStage& stage) = 0;
};

// Runs stages as child processes of mlo (run_stage_command).
std::unique_ptr<StageExecutor> make_local_executor();
// Submits stages to Slurm with sbatch and follows them with scontrol/sacct (slurm_executor.cpp).
std::unique_ptr<StageExecutor> make_slurm_executor();

} // namespace mlo::pipeline
