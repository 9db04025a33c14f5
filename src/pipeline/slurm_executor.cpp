// The Slurm executor: a stage becomes one batch job.
//
// The stage's command goes into a batch script (slurm_job.cpp) and is submitted with sbatch, by
// argv; every value from mlo.yaml is one sbatch argument. Upstream stages still in flight become
// `--dependency=afterok:ID...`, so Slurm holds the job until they succeed, and
// `--kill-on-invalid-dep=yes` ends it if one of them fails. The job inherits mlo's environment
// (sbatch's default --export=ALL), which carries MLO_RUN_ID and friends without quoting.
//
// mlo then follows the job until it ends, polling `scontrol show job` (which forgets a job
// MinJobAge seconds after it ends) and falling back on `sacct` (which needs accounting). When both
// are silent, the exit status the batch script's trap wrote decides; when that is missing too, the
// stage fails as UNKNOWN rather than waiting forever. The job's output files are tailed while it
// runs (lines go to on_output as they appear) and stored as the stage's logs when it ends.
// A stop request (Ctrl-C) or an abandoned stage (its upstream failed) is `scancel`ed.
#include <chrono>
#include <fmt/core.h>
#include <fstream>
#include <mlo/pipeline/slurm_job.hpp>
#include <mlo/pipeline/stage_executor.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/run_program.hpp>
#include <thread>

namespace mlo::pipeline {

namespace {

namespace fs = std::filesystem;

// Each job is polled first every 250 ms (short stages finish fast), then less and less often, up to
// every 5 s: a wide DAG has one poller per job, and slurmctld is shared with everyone else.
constexpr auto k_first_poll_interval = std::chrono::milliseconds(250);
constexpr auto k_longest_poll_interval = std::chrono::milliseconds(5000);
// How long scontrol, sacct and the exit file may all be silent before the job's fate is unknown.
constexpr auto k_silence_allowed = std::chrono::seconds(10);

// Reads what a job appended to an output file since the last call, line by line.
class FileTail {
  public:
    FileTail(fs::path path, bool is_stderr) : m_path(std::move(path)), m_is_stderr(is_stderr) {}

    void poll(const std::function<void(const std::string&, bool)>& on_line, bool final) {
        std::ifstream in(m_path, std::ios::binary);
        if (!in)
            return;
        in.seekg(static_cast<std::streamoff>(m_text.size()));
        std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        m_text += chunk;
        size_t newline;
        while ((newline = m_text.find('\n', m_emitted)) != std::string::npos) {
            if (on_line)
                on_line(m_text.substr(m_emitted, newline - m_emitted), m_is_stderr);
            m_emitted = newline + 1;
        }
        if (final && m_emitted < m_text.size()) {
            if (on_line)
                on_line(m_text.substr(m_emitted), m_is_stderr);
            m_emitted = m_text.size();
        }
    }
    const std::string& text() const { return m_text; }

  private:
    fs::path m_path;
    bool m_is_stderr;
    std::string m_text;
    size_t m_emitted = 0;
};

class SlurmExecutor : public StageExecutor {
  public:
    std::string name() const override { return "slurm"; }
    bool chains_jobs() const override { return true; }

    Status check_available() const override {
        for (const char* program : {"sbatch", "scancel"})
            if (!util::program_on_path(program))
                return fail(ErrorCode::precondition,
                            std::string("the slurm executor needs ") + program + ", which is not on PATH",
                            "run mlo train on a Slurm login node, or use --executor local");
        if (!util::program_on_path("scontrol") && !util::program_on_path("sacct"))
            return fail(ErrorCode::precondition,
                        "the slurm executor needs scontrol or sacct to follow jobs; neither is on PATH");
        return {};
    }

    Result<StageOutcome> run(const store::ObjectStore& objects, const ExecutorStage& stage) override;

  private:
    static std::optional<SlurmJobState> query(const std::string& job_id, const fs::path& exit_file);
};

std::optional<SlurmJobState> SlurmExecutor::query(const std::string& job_id, const fs::path& exit_file) {
    if (auto shown = util::run_program({"scontrol", "show", "job", "-o", job_id});
        shown && shown->exit_code == 0)
        if (auto state = parse_scontrol_job(shown->stdout_text))
            return state;
    if (auto accounted =
            util::run_program({"sacct", "-j", job_id, "-X", "-n", "-P", "-o", "State,ExitCode,ElapsedRaw"});
        accounted && accounted->exit_code == 0)
        if (auto state = parse_sacct_job(accounted->stdout_text))
            return state;
    // Neither knows the job (scontrol forgot it, no accounting): the script's own exit status.
    if (auto text = util::read_file(exit_file)) {
        SlurmJobState state;
        std::string code = text->substr(0, text->find('\n'));
        if (!code.empty() && code.find_first_not_of("0123456789") == std::string::npos) {
            state.exit_code = std::stoi(code);
            state.state = state.exit_code == 0 ? "COMPLETED" : "FAILED";
            return state;
        }
    }
    return std::nullopt;
}

Result<StageOutcome> SlurmExecutor::run(const store::ObjectStore& objects, const ExecutorStage& stage) {
    const StageCommand& command = stage.command;
    StageOutcome outcome;
    fs::path base = stage.scratch / command.stage;
    fs::path script = base.string() + ".sbatch";
    fs::path exit_file = base.string() + ".exit";
    SlurmSubmission submission{stage.job_name,         script,      command.root, base.string() + ".out",
                               base.string() + ".err", stage.after, stage.slurm};
    for (const auto& stale : {exit_file, submission.stdout_file, submission.stderr_file}) {
        std::error_code ec;
        fs::remove(stale, ec);
    }
    MLO_TRY_CTX(util::write_file_atomic(script, batch_script(command.stage, command.run_id, command.command)),
                "stage '" + command.stage + "': writing its batch script");
    outcome.job_after = stage.after;
    if (command.stop_requested && command.stop_requested->load()) {
        outcome.process.interrupted = true;
        return outcome;
    }

    util::ProgramOptions environment;
    environment.extra_env = {{"MLO_RUN_ID", command.run_id},
                             {"MLO_STAGE", command.stage},
                             {"MLO_PARAMS", command.params_file.string()},
                             {"MLO_METRICS", command.metrics_file.string()},
                             {"MLO_PROJECT_ROOT", command.root.string()},
                             {"MLO_SLURM_EXIT_FILE", exit_file.string()}};
    auto submitted = util::run_program(sbatch_arguments(submission), environment);
    if (!submitted)
        return fail(std::move(submitted).error().context("stage '" + command.stage + "'"));
    std::string job_id = parse_sbatch_job_id(submitted->stdout_text);
    if (submitted->exit_code != 0 || job_id.empty()) {
        // Refused (a bad partition, a limit): the stage fails with sbatch's own words.
        outcome.job_state = "NOT_SUBMITTED";
        outcome.process.exit_code = submitted->exit_code ? submitted->exit_code : 1;
        outcome.process.stderr_text = submitted->stderr_text + submitted->stdout_text;
        if (auto stored = objects.put_bytes(outcome.process.stderr_text))
            outcome.stderr_log = stored->id;
        return outcome;
    }
    outcome.job_id = job_id;
    if (stage.on_submitted)
        stage.on_submitted(job_id);

    auto on_line = [&](const std::string& line, bool is_stderr) {
        if (command.on_output)
            command.on_output(command.stage, line, is_stderr);
    };
    FileTail out_tail(submission.stdout_file, false), err_tail(submission.stderr_file, true);
    auto started = std::chrono::steady_clock::now();
    bool cancelled = false;
    auto interval = k_first_poll_interval;
    auto last_heard = std::chrono::steady_clock::now();
    std::optional<SlurmJobState> last;
    for (;;) {
        if (!cancelled) {
            std::string abandon = stage.abandon_reason ? stage.abandon_reason() : std::string();
            bool stop = command.stop_requested && command.stop_requested->load();
            if (stop || !abandon.empty()) {
                (void)util::run_program({"scancel", job_id});
                cancelled = true;
                outcome.process.interrupted = stop;
                outcome.abandoned = abandon;
            }
        }
        auto state = query(job_id, exit_file);
        out_tail.poll(on_line, false);
        err_tail.poll(on_line, false);
        if (state) {
            last = state;
            last_heard = std::chrono::steady_clock::now();
            if (state->ended())
                break;
        } else if (std::chrono::steady_clock::now() - last_heard > k_silence_allowed) {
            last = SlurmJobState{"UNKNOWN", "neither scontrol nor sacct knows the job", -1, 0, 0};
            break;
        }
        // Sleep in slices, so that Ctrl-C is acted on within 100 ms even between slow polls.
        auto wake = std::chrono::steady_clock::now() + interval;
        while (std::chrono::steady_clock::now() < wake && !cancelled &&
               !(command.stop_requested && command.stop_requested->load()))
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        interval = std::min(k_longest_poll_interval,
                            std::chrono::duration_cast<std::chrono::milliseconds>(interval * 3 / 2));
    }
    out_tail.poll(on_line, true);
    err_tail.poll(on_line, true);

    auto& process = outcome.process;
    outcome.job_state = last->state;
    if (last->state == "PENDING" && last->reason == "DependencyNeverSatisfied") {
        (void)util::run_program({"scancel", job_id});
        outcome.job_state = "CANCELLED";
        if (outcome.abandoned.empty())
            outcome.abandoned = "a job it depends on failed";
    } else if (last->reason == "DependencyNeverSatisfied" && outcome.abandoned.empty()) {
        outcome.abandoned = "a job it depends on failed";
    }
    process.exit_code = last->state == "COMPLETED" ? 0 : last->exit_code != 0 ? last->exit_code : -1;
    process.signal = last->state == "COMPLETED" ? 0 : last->signal;
    process.wall_seconds =
        last->run_seconds > 0
            ? last->run_seconds
            : std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    process.stdout_text = out_tail.text();
    process.stderr_text = err_tail.text();
    if (!process.stdout_text.empty())
        if (auto stored = objects.put_bytes(process.stdout_text))
            outcome.stdout_log = stored->id;
    if (!process.stderr_text.empty())
        if (auto stored = objects.put_bytes(process.stderr_text))
            outcome.stderr_log = stored->id;
    return outcome;
}

} // namespace

std::unique_ptr<StageExecutor> make_slurm_executor() {
    return std::make_unique<SlurmExecutor>();
}

} // namespace mlo::pipeline
