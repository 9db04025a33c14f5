#include "command.hpp"
#include "object_roots.hpp"

#include <mlo/data/gc.hpp>

namespace mlo::cli {
namespace {

class FsckCommand : public Command {
  public:
    void define(CLI::App&) override {}

    Result<int> run(Context& context) override {
        auto roots = object_roots(*context.project);
        if (!roots)
            return fail(std::move(roots).error());
        auto report = data::fsck(*context.project, *roots, context.progress_sink());
        if (!report)
            return fail(std::move(report).error());
        int code = report->problems.empty() ? 0 : 1;
        if (context.out.json()) {
            nlohmann::json problems = nlohmann::json::array();
            for (const auto& problem : report->problems)
                problems.push_back(
                    {{"kind", problem.kind}, {"object", problem.object}, {"detail", problem.detail}});
            context.out.json_result("mlo.fsck/1", {{"checked_objects", report->checked_objects},
                                                   {"checked_bytes", report->checked_bytes},
                                                   {"ok", problems.empty()},
                                                   {"problems", problems}});
            return code;
        }
        for (const auto& problem : report->problems)
            context.out.line(context.out.paint(problem.kind + ":", Output::Color::red) + " " +
                             problem.object + (problem.detail.empty() ? "" : " (" + problem.detail + ")"));
        context.out.info(fmt::format(
            "checked {} objects ({}): {}", report->checked_objects, human_bytes(report->checked_bytes),
            report->problems.empty() ? "all good" : std::to_string(report->problems.size()) + " problems"));
        return code;
    }
};

} // namespace

std::unique_ptr<Command> make_fsck_command() {
    return std::make_unique<FsckCommand>();
}

} // namespace mlo::cli
