#include "command.hpp"

#include <mlo/data/diff.hpp>

namespace mlo::cli {
namespace {

class DiffCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("revisions", m_revs, "Old revision (default HEAD) and new one (default the workspace)")
            ->expected(0, 2)
            ->option_text("[REV [REV]]");
    }

    Result<int> run(Context& context) override {
        std::optional<std::string> old_rev, new_rev;
        if (!m_revs.empty())
            old_rev = m_revs[0];
        if (m_revs.size() > 1)
            new_rev = m_revs[1];
        auto report = data::diff(*context.project, old_rev, new_rev);
        if (!report)
            return fail(std::move(report).error());
        if (context.out.json()) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto& entry : report->entries) {
                nlohmann::json item = {{"path", entry.path}, {"change", entry.change}};
                item["old"] = entry.old_id
                                  ? nlohmann::json{{"hash", entry.old_id->str()}, {"size", entry.old_size}}
                                  : nlohmann::json(nullptr);
                item["new"] = entry.new_id
                                  ? nlohmann::json{{"hash", entry.new_id->str()}, {"size", entry.new_size}}
                                  : nlohmann::json(nullptr);
                entries.push_back(std::move(item));
            }
            context.out.json_result(
                "mlo.diff/1", {{"old", report->old_side}, {"new", report->new_side}, {"changes", entries}});
            return 0;
        }
        if (report->entries.empty()) {
            context.out.info("no changes to tracked data");
            return 0;
        }
        size_t added = 0, modified = 0, deleted = 0;
        for (const auto& entry : report->entries) {
            auto color = entry.change == "added"      ? Output::Color::green
                         : entry.change == "modified" ? Output::Color::yellow
                                                      : Output::Color::red;
            context.out.line(context.out.paint(fmt::format("{:<10}", entry.change + ":"), color) +
                             entry.path);
            added += entry.change == "added";
            modified += entry.change == "modified";
            deleted += entry.change == "deleted";
        }
        context.out.info(fmt::format("{} added, {} modified, {} deleted", added, modified, deleted));
        return 0;
    }

  private:
    std::vector<std::string> m_revs;
};

} // namespace

std::unique_ptr<Command> make_diff_command() {
    return std::make_unique<DiffCommand>();
}

} // namespace mlo::cli
