#include "command.hpp"

#include <mlo/core/schedule.hpp>
#include <mlo/util/run_program.hpp>

namespace mlo::cli {
namespace {

class ScheduleCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(1, 1);
        m_install =
            app.add_subcommand("install", "Run a command periodically (systemd user timer or crontab)");
        m_install->add_option("command", m_command, "The shell command to run, quoted as one argument")
            ->required()
            ->option_text("COMMAND");
        m_install->add_option("--every", m_every, "How often: 15m, 1h, 1d")
            ->required()
            ->option_text("INTERVAL");
        m_install->add_option("--name", m_name, "Schedule name (default: from the command)")
            ->option_text("NAME");
        auto* systemd = m_install->add_flag("--systemd", m_systemd,
                                            "Install a systemd user timer (default when systemctl exists)");
        auto* cron = m_install->add_flag("--cron", m_cron, "Install a crontab line");
        systemd->excludes(cron);
        m_install->add_flag("--yes", m_yes, "Install; without it, only show what would be installed");
        m_install->add_flag("--no-enable", m_no_enable,
                            "With --systemd: write the units but do not run systemctl --user");

        m_list = app.add_subcommand("list", "Schedules mlo installed for this project");

        m_remove = app.add_subcommand("remove", "Remove a schedule (timer and service, or crontab line)");
        m_remove->add_option("name", m_name, "Schedule name or unit name (mlo-PROJECT-NAME)")
            ->required()
            ->option_text("NAME");
        m_remove->add_flag("--no-enable", m_no_enable, "Do not run systemctl --user to stop the timer");
        for (auto* sub : {m_install, m_list, m_remove})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        const std::string& project = context.project->config().project;
        if (m_install->parsed())
            return install(context, project);
        if (m_list->parsed())
            return list(context, project);
        std::vector<std::string> notes;
        auto removed = core::remove_schedule(project, m_name, !m_no_enable, notes);
        if (!removed)
            return fail(std::move(removed).error());
        for (const auto& note : notes)
            context.out.warning(note);
        if (context.out.json()) {
            context.out.json_result("mlo.schedule.remove/1", {{"removed", *removed}});
            return 0;
        }
        for (const auto& item : *removed)
            context.out.line("removed " + item);
        return 0;
    }

  private:
    Result<int> install(Context& context, const std::string& project) {
        auto spec = core::make_schedule(project, context.project->root(), m_name, m_command, m_every);
        if (!spec)
            return fail(std::move(spec).error());
        bool use_cron = m_cron || (!m_systemd && !util::program_on_path("systemctl"));
        std::string unit = core::schedule_unit_name(*spec);
        const Output& out = context.out;
        std::vector<std::pair<std::string, std::string>> files; // what is (or would be) written
        if (use_cron) {
            auto entry = core::render_cron_entry(*spec);
            if (!entry)
                return fail(std::move(entry).error());
            files.push_back({"crontab", *entry});
        } else {
            auto dir = core::systemd_user_dir();
            files.push_back({(dir / (unit + ".service")).string(), core::render_systemd_service(*spec)});
            files.push_back({(dir / (unit + ".timer")).string(), core::render_systemd_timer(*spec)});
        }
        std::vector<std::string> notes;
        if (m_yes) {
            if (use_cron)
                MLO_TRY(core::install_cron_schedule(*spec));
            else
                MLO_TRY(core::install_systemd_schedule(*spec, !m_no_enable, notes));
        }
        for (const auto& note : notes)
            out.warning(note);
        if (out.json()) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& [where, text] : files)
                list.push_back({{"path", where}, {"content", text}});
            out.json_result("mlo.schedule.install/1", {{"unit", unit},
                                                       {"kind", use_cron ? "cron" : "systemd"},
                                                       {"installed", m_yes},
                                                       {"files", list}});
            return 0;
        }
        for (const auto& [where, text] : files) {
            out.line((use_cron ? "# added to the crontab:" : "# " + where));
            out.line(text);
        }
        if (m_yes)
            out.info("installed " + unit + (use_cron ? " in the crontab" : " as a systemd user timer"));
        else
            out.hint("nothing installed yet: run again with --yes to install this");
        return 0;
    }

    Result<int> list(Context& context, const std::string& project) {
        auto installed = core::list_schedules(project);
        if (!installed)
            return fail(std::move(installed).error());
        if (context.out.json()) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& item : *installed)
                list.push_back({{"unit", item.unit},
                                {"kind", item.kind},
                                {"every", item.every},
                                {"command", item.command}});
            context.out.json_result("mlo.schedule.list/1", {{"schedules", list}});
            return 0;
        }
        if (installed->empty()) {
            context.out.info("no schedules installed for project " + project);
            return 0;
        }
        std::vector<std::vector<std::string>> table = {{"unit", "kind", "every", "command"}};
        for (const auto& item : *installed)
            table.push_back({item.unit, item.kind, item.every, item.command});
        print_table(context.out, table);
        return 0;
    }

    CLI::App *m_install = nullptr, *m_list = nullptr, *m_remove = nullptr;
    std::string m_command, m_every, m_name;
    bool m_systemd = false, m_cron = false, m_yes = false, m_no_enable = false;
};

} // namespace

std::unique_ptr<Command> make_schedule_command() {
    return std::make_unique<ScheduleCommand>();
}

} // namespace mlo::cli
