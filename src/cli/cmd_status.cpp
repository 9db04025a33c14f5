#include "command.hpp"

#include <mlo/data/status.hpp>

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
        int code = (m_exit_code && !report->clean()) ? 1 : 0;
        if (context.out.json()) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto& entry : report->entries)
                entries.push_back({{"path", entry.path},
                                   {"kind", entry.kind},
                                   {"state", data::to_string(entry.state)},
                                   {"details", entry.details}});
            context.out.json_result(
                "mlo.status/1",
                {{"clean", report->clean()}, {"link_mode", report->link_mode}, {"data", entries}});
            return code;
        }
        context.out.detail("link mode: " + report->link_mode);
        if (report->entries.empty()) {
            context.out.line("nothing tracked");
            return code;
        }
        if (report->clean()) {
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
