#pragma once

#include <filesystem>
#include <functional>
#include <mlo/core/project.hpp>
#include <mlo/deploy/history.hpp>
#include <mlo/deploy/local_server.hpp>
#include <mlo/deploy/target.hpp>
#include <mlo/registry/tag_name.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::deploy {

struct DeployOptions {
    enum class Strategy { blue_green, canary };
    Strategy strategy = Strategy::blue_green;
    std::vector<unsigned> steps = {10, 50, 100}; // canary: percent of traffic, ascending, ending at 100
    double interval_seconds = 30;                // canary: time at each step before its gates
    double max_error_rate = 0.01;                // canary gate: 5xx share of the canary's requests
    std::optional<double> max_p99_ms;            // canary gate: the canary's p99 latency
    double ready_timeout_seconds = 300;          // for a version's workers to start and warm up
    std::filesystem::path output_dir;            // kubernetes: where the manifests go
    bool apply = false;                          // kubernetes: kubectl apply them
};

using Emit = std::function<void(const std::string&)>;

struct DeployOutcome {
    std::string version;              // what holds full traffic now (or was rendered)
    std::string previous;             // what held it before, if anything
    std::string url;                  // local: where it answers
    std::filesystem::path output_dir; // kubernetes: where the manifests are
    bool unchanged = false;           // the version already held full traffic
};

// .mlo/deploy/TARGET
std::filesystem::path target_dir(const core::Project& project, const std::string& target);

// Deploys `ref` to `target` after verify_deployment found nothing wrong (ErrorCode::precondition
// naming every problem otherwise). Local: starts the server, or switches a running one blue/green
// or by canary steps, rolling back by itself when a canary gate fails or the deploy is
// interrupted (SIGINT, SIGTERM) — both ErrorCode::failure. Kubernetes: renders the manifests into
// output_dir and optionally applies them. Every outcome is appended to the target's history and
// the audit log.
Result<DeployOutcome> deploy(core::Project& project, const registry::ModelRef& ref, const Target& target,
                             const DeployOptions& options, const Emit& emit);

// Returns a local target to the version that held full traffic before the current one
// (blue/green). The version's files and tags are verified; access rules are not consulted again,
// since that version was deployed under them.
Result<DeployOutcome> rollback(core::Project& project, const Target& target, const DeployOptions& options,
                               const Emit& emit);

// Stops a local target's server after it drained its requests. Stopping a stopped target is fine.
Status stop(core::Project& project, const Target& target, const Emit& emit);

struct TargetStatus {
    std::string name, type;
    bool running = false;
    std::optional<serve::ServerInfo> server;
    std::vector<serve::VersionTraffic> versions; // routed versions, with their counters
    std::optional<DeployEvent> last_event;
};
Result<TargetStatus> status(const core::Project& project, const Target& target);

} // namespace mlo::deploy
