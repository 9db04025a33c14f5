#include "command.hpp"

#include <mlo/data/track.hpp>

namespace mlo::cli {
namespace {

class TrackCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("paths", m_paths, "Files or directories to track")->required()->option_text("PATH...");
    }

    Result<int> run(Context& context) override {
        std::vector<std::string> relative;
        for (const auto& path : m_paths) {
            auto rel = context.project->relative_path(path, context.cwd);
            if (!rel)
                return fail(std::move(rel).error());
            relative.push_back(*rel);
        }
        auto report = data::track(*context.project, relative, context.progress_sink());
        if (!report)
            return fail(std::move(report).error());
        if (context.out.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& item : report->items)
                items.push_back(
                    {{"path", item.path},
                     {"kind", item.pointer.kind == store::EntryKind::directory ? "directory" : "file"},
                     {"hash", item.pointer.id.str()},
                     {"size", item.pointer.size},
                     {"files", item.pointer.kind == store::EntryKind::directory ? item.pointer.files : 1},
                     {"pointer", item.path + ".mlo"},
                     {"changed", item.pointer_changed},
                     {"hashed_files", item.hashed_files}});
            context.out.json_result("mlo.track/1",
                                    {{"tracked", items}, {"gitignores", report->gitignores_changed}});
            return 0;
        }
        std::string to_add;
        for (const auto& item : report->items) {
            std::string what =
                item.pointer.kind == store::EntryKind::directory
                    ? std::to_string(item.pointer.files) + " files, " + human_bytes(item.pointer.size)
                    : human_bytes(item.pointer.size);
            context.out.line(fmt::format("{} {} ({}){}", item.pointer_changed ? "tracked" : "unchanged",
                                         item.path, what,
                                         context.out.verbose() ? " " + item.pointer.id.str() : ""));
            to_add += " " + item.path + ".mlo";
        }
        for (const auto& gitignore : report->gitignores_changed)
            if (to_add.find(" " + gitignore) == std::string::npos)
                to_add += " " + gitignore;
        context.out.hint("commit the pointers: git add" + to_add);
        return 0;
    }

  private:
    std::vector<std::string> m_paths;
};

} // namespace

std::unique_ptr<Command> make_track_command() {
    return std::make_unique<TrackCommand>();
}

} // namespace mlo::cli
