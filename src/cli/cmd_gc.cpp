#include "command.hpp"
#include "object_roots.hpp"

#include <mlo/data/gc.hpp>

namespace mlo::cli {
namespace {

class GcCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_flag("-n,--dry-run", m_dry_run, "List what would be removed without removing it");
    }

    Result<int> run(Context& context) override {
        auto roots = object_roots(*context.project);
        if (!roots)
            return fail(std::move(roots).error());
        auto report = data::gc(*context.project, *roots, m_dry_run);
        if (!report)
            return fail(std::move(report).error());
        if (context.out.json()) {
            context.out.json_result("mlo.gc/1", {{"dry_run", report->dry_run},
                                                 {"kept_objects", report->kept_objects},
                                                 {"removed_objects", report->removed_objects},
                                                 {"removed_bytes", report->removed_bytes},
                                                 {"removed_temp_files", report->removed_temp_files},
                                                 {"removed", report->removed}});
            return 0;
        }
        if (m_dry_run || context.out.verbose())
            for (const auto& id : report->removed)
                context.out.line((m_dry_run ? "would remove " : "removed ") + id);
        context.out.line(fmt::format("{} {} objects ({}), kept {}", m_dry_run ? "would remove" : "removed",
                                     report->removed_objects, human_bytes(report->removed_bytes),
                                     report->kept_objects));
        return 0;
    }

  private:
    bool m_dry_run = false;
};

} // namespace

std::unique_ptr<Command> make_gc_command() {
    return std::make_unique<GcCommand>();
}

} // namespace mlo::cli
