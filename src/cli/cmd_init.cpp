#include "command.hpp"

#include <mlo/core/init.hpp>

namespace mlo::cli {
namespace {

class InitCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("--template", m_options.template_name, "Project template (default: default)")
            ->option_text("NAME");
        app.add_option("--ci", m_options.ci, "Also write a CI workflow: github or gitlab")
            ->check(CLI::IsMember({"github", "gitlab"}))
            ->option_text("PROVIDER");
        app.add_flag("--force", m_options.force, "With --ci: replace an existing workflow file");
    }

    Result<int> run(Context& context) override {
        if (m_options.force && m_options.ci.empty())
            return fail(ErrorCode::usage, "--force goes with --ci (it replaces an existing workflow)");
        auto report = core::init_project(context.cwd, m_options);
        if (!report)
            return fail(std::move(report).error());
        if (context.out.json()) {
            context.out.json_result("mlo.init/1", {{"root", report->root.string()},
                                                   {"created", report->created},
                                                   {"already_initialized", report->already_initialized()}});
            return 0;
        }
        if (report->already_initialized()) {
            context.out.line("mlo project already initialized in " + report->root.string() +
                             "; nothing changed");
            return 0;
        }
        context.out.line("initialized mlo project in " + report->root.string());
        for (const auto& item : report->created)
            context.out.line("  created " + item);
        context.out.hint("commit it: git add mlo.yaml .gitignore && git commit -m 'mlo init'");
        return 0;
    }

  private:
    core::InitOptions m_options;
};

} // namespace

std::unique_ptr<Command> make_init_command() {
    return std::make_unique<InitCommand>();
}

} // namespace mlo::cli
