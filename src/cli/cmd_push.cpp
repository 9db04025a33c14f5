#include "command.hpp"
#include "remote_options.hpp"

#include <mlo/remote/known_objects.hpp>
#include <mlo/remote/sync.hpp>

namespace mlo::cli {
namespace {

class PushCommand : public Command {
  public:
    void define(CLI::App& app) override {
        m_options.define(app, "push to");
        app.add_flag("--rescan", m_rescan,
                     "Ignore the local record of what the remote holds and list the remote again");
    }

    Result<int> run(Context& context) override {
        auto request = m_options.request(context);
        if (!request)
            return fail(std::move(request).error());
        auto remote = m_options.open(context);
        if (!remote)
            return fail(std::move(remote).error());
        // gc must not delete what is being sent.
        auto lock = context.project->lock_store(util::FileLock::Mode::shared);
        if (!lock)
            return fail(std::move(lock).error());
        auto scope = local_scope(*context.project, *request);
        if (!scope)
            return fail(std::move(scope).error());
        auto known =
            remote::KnownObjects::load(context.project->mlo_dir(), (*remote)->name(), (*remote)->location());
        remote::PushOptions options;
        options.rescan = m_rescan;
        options.progress = context.progress_sink();
        auto report = remote::push(**remote, context.project->objects(), known, scope->plan, options);
        if (!report) {
            Error error = std::move(report).error();
            if (error.hint.empty() && error.code == ErrorCode::failure)
                error.hint = "run 'mlo push' again: it sends only what is still missing";
            return fail(std::move(error));
        }
        if (context.out.json()) {
            context.out.json_result("mlo.push/1", {{"remote", (*remote)->name()},
                                                   {"objects", report->objects},
                                                   {"uploaded", report->uploaded},
                                                   {"uploaded_bytes", report->uploaded_bytes},
                                                   {"refs", report->refs},
                                                   {"listed", report->listed},
                                                   {"missing_locally", report->missing_locally}});
        } else {
            context.out.line(fmt::format("pushed {} objects ({}) and {} refs to {}; {} already there",
                                         report->uploaded, human_bytes(report->uploaded_bytes), report->refs,
                                         (*remote)->name(), report->objects - report->uploaded));
        }
        if (!report->missing_locally.empty()) {
            print_some(context.out,
                       "not in the local store, so not pushed (nor the directories holding them):",
                       report->missing_locally);
            return fail(ErrorCode::failure,
                        std::to_string(report->missing_locally.size()) +
                            " objects are not in the local store",
                        "fetch them from where they were made ('mlo fetch'), or track the data again");
        }
        return 0;
    }

  private:
    RemoteOptions m_options;
    bool m_rescan = false;
};

} // namespace

std::unique_ptr<Command> make_push_command() {
    return std::make_unique<PushCommand>();
}

} // namespace mlo::cli
