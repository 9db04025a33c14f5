#include "command.hpp"

#include <mlo/data/checkout.hpp>

namespace mlo::cli {
namespace {

class CheckoutCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("paths", m_paths, "Limit to these tracked paths")->option_text("PATH...");
        app.add_option("--rev", m_rev, "Check out the data as it was at this git revision")
            ->option_text("REV");
        app.add_flag("-f,--force", m_force, "Discard workspace changes that are not saved in the store");
    }

    Result<int> run(Context& context) override {
        std::vector<std::string> relative;
        for (const auto& path : m_paths) {
            auto rel = context.project->relative_path(path, context.cwd);
            if (!rel)
                return fail(std::move(rel).error());
            relative.push_back(*rel);
        }
        data::CheckoutOptions options;
        if (!m_rev.empty())
            options.rev = m_rev;
        options.force = m_force;
        options.progress = context.progress_sink();
        auto report = data::checkout(*context.project, relative, options);
        if (!report)
            return fail(std::move(report).error());
        if (context.out.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& item : report->items)
                items.push_back({{"path", item.path},
                                 {"action", item.action},
                                 {"files_written", item.files_written},
                                 {"files_removed", item.files_removed}});
            nlohmann::json doc = {{"items", items}, {"link_mode", report->link_mode}};
            if (!report->rev_commit.empty())
                doc["rev"] = report->rev_commit;
            context.out.json_result("mlo.checkout/1", doc);
            return 0;
        }
        size_t changed = 0;
        for (const auto& item : report->items) {
            if (item.action == "unchanged") {
                context.out.detail("unchanged " + item.path);
                continue;
            }
            ++changed;
            context.out.line(fmt::format("{} {} ({} written, {} removed)", item.action, item.path,
                                         item.files_written, item.files_removed));
        }
        if (changed == 0)
            context.out.line("workspace already matches" + (report->rev_commit.empty()
                                                                ? std::string()
                                                                : " " + report->rev_commit.substr(0, 12)));
        if (!report->rev_commit.empty() && changed > 0)
            context.out.hint(
                "the pointer files are unchanged: 'mlo status' shows this data as modified until you "
                "run 'mlo checkout' again or 'git checkout " +
                m_rev + " -- <pointer>'");
        return 0;
    }

  private:
    std::vector<std::string> m_paths;
    std::string m_rev;
    bool m_force = false;
};

} // namespace

std::unique_ptr<Command> make_checkout_command() {
    return std::make_unique<CheckoutCommand>();
}

} // namespace mlo::cli
