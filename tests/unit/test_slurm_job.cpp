#include <catch2/catch.hpp>
#include <mlo/pipeline/slurm_job.hpp>

using namespace mlo::pipeline;

TEST_CASE("scontrol show job: state, reason, exit code and run time", "[slurm]") {
    auto job =
        parse_scontrol_job("JobId=7 JobName=mlo-p-train UserId=u(1) JobState=FAILED Reason=NonZeroExitCode "
                           "Dependency=(null) ExitCode=3:0 RunTime=00:01:05 TimeLimit=UNLIMITED");
    REQUIRE(job);
    CHECK(job->state == "FAILED");
    CHECK(job->reason == "NonZeroExitCode");
    CHECK(job->exit_code == 3);
    CHECK(job->signal == 0);
    CHECK(job->run_seconds == 65);
    CHECK(job->ended());
    CHECK_FALSE(parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"));
}

TEST_CASE("a job stays live while pending or running, unless its dependency can never be met", "[slurm]") {
    SlurmJobState job;
    job.state = "PENDING";
    job.reason = "Dependency";
    CHECK_FALSE(job.ended());
    job.reason = "DependencyNeverSatisfied";
    CHECK(job.ended());
    job.state = "RUNNING";
    CHECK_FALSE(job.ended());
    for (const char* state : {"COMPLETED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}) {
        job.state = state;
        CHECK(job.ended());
    }
}

TEST_CASE("sacct lines: 'CANCELLED by UID', exit code with signal, elapsed seconds", "[slurm]") {
    auto job = parse_sacct_job("CANCELLED by 0|0:15|42\n");
    REQUIRE(job);
    CHECK(job->state == "CANCELLED");
    CHECK(job->signal == 15);
    CHECK(job->run_seconds == 42);
    CHECK_FALSE(parse_sacct_job(""));
}

TEST_CASE("sbatch --parsable output and Slurm durations", "[slurm]") {
    CHECK(parse_sbatch_job_id("42\n") == "42");
    CHECK(parse_sbatch_job_id("42;cluster\n") == "42");
    CHECK(parse_sbatch_job_id("sbatch: error: invalid partition") == "");
    CHECK(parse_slurm_duration("1-02:03:04") == 93784);
    CHECK(parse_slurm_duration("05:00") == 300);
    CHECK(parse_slurm_duration("garbage") == 0);
}

TEST_CASE("sbatch arguments: one argument per value, dependencies as afterok", "[slurm]") {
    SlurmSubmission submission;
    submission.job_name = "mlo-p-train";
    submission.script = "/p/.mlo/tmp/run/train.sbatch";
    submission.working_directory = "/p";
    submission.stdout_file = "/p/out";
    submission.stderr_file = "/p/err";
    submission.after = {"3", "5"};
    submission.options.partition = "gpu";
    submission.options.cpus = 4;
    submission.options.time = "1:00:00";
    submission.options.mem = "8G";
    submission.options.gpus = "a100:1";
    auto args = sbatch_arguments(submission);
    auto has = [&](const std::string& arg) { return std::find(args.begin(), args.end(), arg) != args.end(); };
    CHECK(args.front() == "sbatch");
    CHECK(args.back() == "/p/.mlo/tmp/run/train.sbatch");
    CHECK(has("--dependency=afterok:3:5"));
    CHECK(has("--partition=gpu"));
    CHECK(has("--cpus-per-task=4"));
    CHECK(has("--time=1:00:00"));
    CHECK(has("--mem=8G"));
    CHECK(has("--gpus=a100:1"));
    CHECK(has("--chdir=/p"));
    submission.after.clear();
    submission.options = {};
    args = sbatch_arguments(submission);
    CHECK(std::none_of(args.begin(), args.end(),
                       [](const std::string& arg) { return arg.rfind("--dependency", 0) == 0; }));
}

TEST_CASE("the batch script holds the command as written, after the exit-status trap", "[slurm]") {
    std::string cmd = "python3 train.py --lr 0.1 && echo \"done $HOME\"";
    std::string script = batch_script("train", "20261127-1", cmd);
    CHECK(script.rfind("#!/bin/sh\n", 0) == 0);
    CHECK(script.find("\n" + cmd + "\n") != std::string::npos);
    CHECK(script.find("trap") < script.find(cmd));
}
