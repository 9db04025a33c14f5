#include "command.hpp"

#include <csignal>
#include <mlo/pipeline/rerun.hpp>
#include <mlo/pipeline/trainer.hpp>
#include <mutex>

namespace mlo::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) {
    g_interrupted.store(true);
}

// Ctrl-C sets a flag instead of killing mlo: the trainer stops the running stages (each in its own
// process group), records the run as KILLED and keeps mlo.lock consistent.
class InterruptGuard {
  public:
    InterruptGuard() {
        struct sigaction action {};
        action.sa_handler = on_interrupt;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &m_old_int);
        sigaction(SIGTERM, &action, &m_old_term);
    }
    ~InterruptGuard() {
        sigaction(SIGINT, &m_old_int, nullptr);
        sigaction(SIGTERM, &m_old_term, nullptr);
    }

  private:
    struct sigaction m_old_int {
    }, m_old_term{};
};

class TrainCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("stages", m_options.targets, "Stages to run (with the stages they need); default all")
            ->option_text("STAGE...");
        // Fix (e2e test_train_skip "-S"): one value per -S (repeat -S for more), so that in
        // `mlo train -S lr=0.3 train` the stage is not taken for a second override.
        app.add_option("-S,--set", m_options.overrides, "Override a parameter (written to the params file)")
            ->allow_extra_args(false)
            ->option_text("KEY=VALUE");
        app.add_option("-j,--jobs", m_options.jobs, "Stages to run at once (default: one per core)")
            ->option_text("N");
        app.add_option("--executor", m_options.executor,
                       "Run every stage with this executor (local, slurm), whatever the stages say")
            ->check(CLI::IsMember({"local", "slurm"}))
            ->option_text("NAME");
        app.add_flag("-f,--force", m_options.force, "Run the selected stages even if they are up to date");
        app.add_flag("-n,--dry-run", m_options.dry_run, "Print what would run and why; run nothing");
        app.add_option("--rerun", m_rerun,
                       "Re-execute a recorded run from its recorded inputs, in a scratch directory")
            ->option_text("RUN");
        app.add_flag("--verify", m_verify,
                     "With --rerun: report which outputs are bit-identical to the recorded ones");
        app.add_flag("--keep", m_keep, "With --rerun: keep the scratch directory and print its path");
    }

    Result<int> run(Context& context) override {
        const Output& out = context.out;
        std::mutex print_mutex;
        m_options.on_output = [&](const std::string& stage, const std::string& line, bool) {
            if (out.quiet())
                return;
            std::lock_guard lock(print_mutex);
            fmt::print(stderr, "{} {}\n", out.paint(stage + " |", Output::Color::cyan, true), line);
        };
        m_options.on_event = [&](const std::string& stage, const std::string& text) {
            std::lock_guard lock(print_mutex);
            out.info(out.paint("[" + stage + "]", Output::Color::bold, true) + " " + text);
        };
        g_interrupted = false;
        m_options.stop_requested = &g_interrupted;
        InterruptGuard guard;
        if (!m_rerun.empty())
            return rerun(context);
        if (m_verify || m_keep)
            return fail(ErrorCode::usage, "--verify and --keep go with --rerun RUN");
        auto report = pipeline::train(*context.project, m_options);
        if (!report)
            return fail(std::move(report).error());
        int code = report->interrupted ? 130 : report->failed ? 1 : 0;

        if (out.json()) {
            nlohmann::json stages = nlohmann::json::array();
            for (const auto& decision : report->decisions)
                stages.push_back(
                    {{"stage", decision.stage}, {"action", decision.action}, {"reason", decision.reason}});
            nlohmann::json doc = {{"dry_run", m_options.dry_run}, {"stages", stages}};
            if (report->run) {
                doc["run"] = {{"id", report->run->id},
                              {"status", report->run->status},
                              {"metrics", report->run->metrics},
                              {"duration_seconds", report->run->duration_seconds()}};
            } else {
                doc["run"] = nullptr;
            }
            out.json_result("mlo.train/1", doc);
            return code;
        }
        for (const auto& decision : report->decisions)
            out.line(fmt::format("{:<16} {:<10} {}", decision.stage, decision.action, decision.reason));
        if (report->run) {
            out.line(fmt::format("run {} {}", report->run->id, report->run->status));
            for (const auto& [key, value] : report->run->metrics)
                out.line(fmt::format("  {} = {}", key, value));
        } else if (!m_options.dry_run) {
            out.info("everything is up to date; no run recorded");
        }
        if (report->interrupted)
            out.warning("interrupted: running stages were stopped and the run recorded as KILLED");
        else if (report->failed)
            out.hint("see the stage's output above, or 'mlo runs show " +
                     (report->run ? report->run->id : std::string("latest")) + "'");
        return code;
    }

  private:
    Result<int> rerun(Context& context) {
        if (!m_options.targets.empty() || !m_options.overrides.empty() || m_options.force ||
            m_options.dry_run)
            return fail(ErrorCode::usage,
                        "--rerun re-executes a recorded run as it was: it takes no stages, -S, "
                        "--force or --dry-run");
        pipeline::RerunOptions options;
        options.run = m_rerun;
        options.keep = m_keep;
        options.stop_requested = m_options.stop_requested;
        options.on_output = m_options.on_output;
        options.on_event = m_options.on_event;
        auto report = pipeline::rerun(*context.project, options);
        if (!report)
            return fail(std::move(report).error());
        const Output& out = context.out;
        for (const auto& warning : report->warnings)
            out.warning(warning);
        bool differs = !report->all_identical();
        int code = report->interrupted ? 130 : (report->failed || (m_verify && differs)) ? 1 : 0;
        if (out.json()) {
            nlohmann::json outs = nlohmann::json::array();
            for (const auto& item : report->outs)
                outs.push_back(
                    {{"stage", item.stage},
                     {"path", item.path},
                     {"recorded", item.recorded.str()},
                     {"produced", item.produced ? nlohmann::json(item.produced->str()) : nlohmann::json()},
                     {"identical", item.identical},
                     {"differing_files", item.differing_files}});
            nlohmann::json doc = {{"rerun_of", report->original_run},
                                  {"run", {{"id", report->run.id}, {"status", report->run.status}}},
                                  {"outs", outs},
                                  {"identical", !differs && !report->failed},
                                  {"warnings", report->warnings}};
            if (!report->scratch.empty())
                doc["scratch"] = report->scratch.string();
            out.json_result("mlo.train.rerun/1", doc);
            return code;
        }
        out.line(fmt::format("re-executed {} as run {} ({})", report->original_run, report->run.id,
                             report->run.status));
        if (m_verify) {
            for (const auto& item : report->outs) {
                std::string verdict = item.identical  ? out.paint("identical", Output::Color::green)
                                      : item.produced ? out.paint("differs", Output::Color::red)
                                                      : out.paint("not produced", Output::Color::red);
                out.line(fmt::format("  {:<12} {} ({})", verdict, item.path, item.stage));
                for (const auto& file : item.differing_files)
                    out.line("      " + file);
            }
            out.line(differs || report->failed ? "outputs differ from the recorded run"
                                               : "all outputs are bit-identical to the recorded run");
        }
        if (!report->scratch.empty())
            out.info("scratch directory kept: " + report->scratch.string());
        return code;
    }

    pipeline::TrainOptions m_options;
    std::string m_rerun;
    bool m_verify = false;
    bool m_keep = false;
};

} // namespace

std::unique_ptr<Command> make_train_command() {
    return std::make_unique<TrainCommand>();
}

} // namespace mlo::cli
