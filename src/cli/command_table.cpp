#include "command.hpp"

namespace mlo::cli {

std::unique_ptr<Command> make_init_command();
std::unique_ptr<Command> make_track_command();
std::unique_ptr<Command> make_status_command();
std::unique_ptr<Command> make_checkout_command();
std::unique_ptr<Command> make_diff_command();
std::unique_ptr<Command> make_gc_command();
std::unique_ptr<Command> make_fsck_command();
std::unique_ptr<Command> make_train_command();
std::unique_ptr<Command> make_runs_command();
std::unique_ptr<Command> make_register_command();
std::unique_ptr<Command> make_keys_command();
std::unique_ptr<Command> make_serve_command();
std::unique_ptr<Command> make_deploy_command();
std::unique_ptr<Command> make_monitor_command();
std::unique_ptr<Command> make_audit_command();
std::unique_ptr<Command> make_schedule_command();
std::unique_ptr<Command> make_push_command();
std::unique_ptr<Command> make_pull_command();
std::unique_ptr<Command> make_fetch_command();
std::unique_ptr<Command> make_help_command();

const std::vector<CommandSpec>& command_table() {
    static const std::vector<CommandSpec> k_commands = {
        {"init", "Create an mlo project (and a git repository if there is none)", Needs::nothing,
         make_init_command},
        {"track", "Version files or directories by content hash", Needs::project, make_track_command},
        {"status", "Show how the workspace differs from pointers and the store", Needs::project,
         make_status_command},
        {"checkout", "Make workspace data match its pointers (or a past revision)", Needs::project,
         make_checkout_command},
        {"diff", "Show tracked files added, modified or deleted between revisions", Needs::project,
         make_diff_command},
        {"push", "Send data, runs and model versions to a remote (only what it lacks)", Needs::project,
         make_push_command},
        {"pull", "Fetch from a remote, then check out the workspace data", Needs::project, make_pull_command},
        {"fetch", "Download data, runs and model versions from a remote into the store", Needs::project,
         make_fetch_command},
        {"gc", "Remove objects nothing refers to", Needs::project, make_gc_command},
        {"fsck", "Verify the hash of every object in the store", Needs::project, make_fsck_command},
        {"train", "Run the pipeline: skip what is unchanged, record a run", Needs::project,
         make_train_command},
        {"runs", "List, show, compare and diff recorded runs", Needs::project, make_runs_command},
        {"register", "Register model versions; promote, verify and fetch them", Needs::project,
         make_register_command},
        {"serve", "Serve a registered model over HTTP (Open Inference Protocol v2 and MLflow)",
         Needs::project, make_serve_command},
        {"deploy", "Put a registered version behind a target: blue/green, canary, rollback", Needs::project,
         make_deploy_command},
        {"monitor", "Check drift, performance and health of a model's data; gates for CI", Needs::project,
         make_monitor_command},
        {"keys", "Create and list Ed25519 signing keys", Needs::nothing, make_keys_command},
        {"audit", "Show and verify the tamper-evident record of registry events", Needs::project,
         make_audit_command},
        {"schedule", "Run a command periodically: systemd user timer or crontab line", Needs::project,
         make_schedule_command},
        {"help", "Show help for a command", Needs::nothing, make_help_command},
    };
    return k_commands;
}

} // namespace mlo::cli
