#include "command.hpp"

#include <mlo/data/status.hpp>
#include <mlo/pipeline/trainer.hpp>

namespace mlo::cli {
namespace {

class StatusCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("paths", m_paths, "Limit to these tracked paths")->option_text("PATH...");
        app.add_flag("--exit-code", m_exit_code, "Exit with 1 when anything differs");
    }

    Result<int> run(Context& context) override {
        std::vector<std::string> relative;
        for (const auto& path : m_paths) {
            auto rel = context.project->relative_path(path, context.cwd);
            if (!rel)
                return fail(std::move(rel).error());
            relative.push_back(*rel);
        }
        auto report = data::status(*context.project, relative, context.progress_sink());
        if (!report)
            return fail(std::move(report).error());
        // Stale pipeline stages: what `mlo train` would run now, and why.
        std::vector<pipeline::StageDecision> stale;
        std::string pipeline_problem;
        if (!context.project->config().pipeline.empty() && m_paths.empty()) {
            pipeline::TrainOptions plan_options;
            plan_options.dry_run = true;
            auto plan = pipeline::train(*context.project, plan_options);
            if (plan) {
                for (const auto& decision : plan->decisions)
                    if (decision.action != "skip")
                        stale.push_back(decision);
            } else {
                pipeline_problem = plan.error().message;
            }
        }
        bool clean = report->clean() && stale.empty() && pipeline_problem.empty();
        int code = (m_exit_code && !clean) ? 1 : 0;
        if (context.out.json()) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto& entry : report->entries)
                entries.push_back({{"path", entry.path},
                                   {"kind", entry.kind},
                                   {"state", data::to_string(entry.state)},
                                   {"details", entry.details}});
            nlohmann::json stages = nlohmann::json::array();
            for (const auto& decision : stale)
                stages.push_back({{"stage", decision.stage}, {"reason", decision.reason}});
            nlohmann::json doc = {{"clean", clean},
                                  {"link_mode", report->link_mode},
                                  {"effective_link_mode", report->effective_link_mode},
                                  {"data", entries},
                                  {"stale_stages", stages}};
            if (!pipeline_problem.empty())
                doc["pipeline_error"] = pipeline_problem;
            context.out.json_result("mlo.status/1", doc);
            return code;
        }
        context.out.detail("link mode: " + report->effective_link_mode);
        if (!pipeline_problem.empty())
            context.out.warning("cannot check the pipeline: " + pipeline_problem);
        for (const auto& decision : stale)
            context.out.line(
                context.out.paint(fmt::format("{:>13}: ", "stale stage"), Output::Color::yellow) +
                decision.stage + " (" + decision.reason + ")");
        if (report->entries.empty()) {
            if (stale.empty())
                context.out.line("nothing tracked");
            return code;
        }
        if (report->clean()) {
            if (stale.empty())
                context.out.line("data and pointers are up to date");
            return code;
        }
        for (const auto& entry : report->entries) {
            if (entry.state == data::DataState::unchanged)
                continue;
            auto color =
                entry.state == data::DataState::modified ? Output::Color::yellow : Output::Color::red;
            context.out.line(context.out.paint(fmt::format("{:>13}: ", data::to_string(entry.state)), color) +
                             entry.path);
            for (const auto& detail : entry.details)
                context.out.line("               " + detail);
        }
        return code;
    }

  private:
    std::vector<std::string> m_paths;
    bool m_exit_code = false;
};

} // namespace

std::unique_ptr<Command> make_status_command() {
    return std::make_unique<StatusCommand>();
}

} // namespace mlo::cli
