// `mlo deploy`: verify, then put a version behind a target. For a local target the running server
// holds both versions during a switch (see serve/served_version.hpp), so moving traffic is a change
// of weights in one process and no request is dropped; this file decides the weights, watches the
// canary's counters, and records what happened.

#include <csignal>
#include <fmt/format.h>
#include <mlo/deploy/deploy.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/registry/verify.hpp>
#include <mlo/serve/kubernetes.hpp>
#include <mlo/util/file_io.hpp>
#include <spawn.h>
#include <sys/wait.h>

namespace mlo::deploy {

namespace fs = std::filesystem;
using serve::Route;

namespace {

std::string actor_of(const core::Project& project) {
    if (auto repo = git::Repository::discover(project.root()))
        if (auto identity = repo->identity())
            return identity->email;
    const char* user = std::getenv("USER");
    return user && *user ? user : "unknown";
}

// Records an outcome in the target's history and the project's audit log. The deployment already
// happened, so a failure to record is reported but does not undo it.
void record(const core::Project& project, const std::string& target, DeployEvent event, const Emit& emit) {
    event.time = utc_now();
    event.actor = actor_of(project);
    if (auto written = DeployHistory(target_dir(project, target) / "history.jsonl").append(event); !written)
        emit("warning: cannot record the deployment history: " + written.error().message);
    nlohmann::json details = {{"target", target},
                              {"model", event.model},
                              {"version", event.version},
                              {"strategy", event.strategy},
                              {"outcome", event.outcome}};
    if (!event.previous.empty())
        details["previous"] = event.previous;
    if (auto appended = registry::AuditLog(project.mlo_dir()).append(event.action, event.actor, details);
        !appended)
        emit("warning: cannot record the deployment in the audit log: " + appended.error().message);
}

std::string routes_text(const std::vector<Route>& routes) {
    std::string text;
    for (const auto& route : routes)
        text += (text.empty() ? "" : ", ") + route.version + " " + std::to_string(route.weight) + "%";
    return text;
}

// The version with the largest weight in the server's routing.
std::string leading_version(const std::vector<Route>& routes) {
    const Route* best = nullptr;
    for (const auto& route : routes)
        if (best == nullptr || route.weight > best->weight)
            best = &route;
    return best ? best->version : "";
}

// Holds SIGINT and SIGTERM while a canary runs, so that an interrupted canary rolls back instead
// of leaving traffic split. Restores the previous mask on destruction.
class InterruptGuard {
  public:
    InterruptGuard() {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGINT);
        sigaddset(&m_set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &m_set, &m_previous);
    }
    ~InterruptGuard() { pthread_sigmask(SIG_SETMASK, &m_previous, nullptr); }
    // Sleeps `seconds`; true when interrupted meanwhile.
    bool sleep_interrupted(double seconds) {
        timespec wait{static_cast<time_t>(seconds),
                      static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
        while (true) {
            int signal = sigtimedwait(&m_set, nullptr, &wait);
            if (signal == SIGINT || signal == SIGTERM)
                return true;
            if (signal < 0 && errno == EINTR)
                continue;
            return false;
        }
    }
    bool pending() {
        timespec zero{0, 0};
        return sigtimedwait(&m_set, nullptr, &zero) > 0;
    }

  private:
    sigset_t m_set{}, m_previous{};
};

struct Verified {
    std::string version;
    std::string manifest; // "sha256:..."
};

Result<Verified> verify(core::Project& project, const registry::ModelRef& ref) {
    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto checked = registry::verify_deployment(*registry, ref);
    if (!checked)
        return fail(std::move(checked).error());
    if (!checked->problems.empty()) {
        std::string text;
        for (const auto& problem : checked->problems)
            text += "\n  " + problem.tag + ": " + problem.message;
        return fail(ErrorCode::precondition, "refusing to deploy " + ref.str() + ":" + text,
                    "see `mlo register verify` and `mlo audit verify`");
    }
    auto semver = registry::SemVer::parse(checked->version);
    const registry::VersionState* version = nullptr;
    if (semver)
        if (const auto* model = registry->state().find(ref.model))
            version = model->find_version(*semver);
    return Verified{checked->version, version ? version->manifest : std::string()};
}

class LocalDeployment {
  public:
    LocalDeployment(core::Project& project, const Target& target, const DeployOptions& options,
                    const Emit& emit)
        : m_project(project), m_target(target), m_options(options), m_emit(emit),
          m_server(target_dir(project, target.name)) {}

    Result<DeployOutcome> to(const std::string& model, const std::string& version,
                             const std::string& action) {
        auto lock = lock_target();
        if (!lock)
            return fail(std::move(lock).error());
        DeployEvent event{.action = action, .model = model, .version = version};
        auto running = m_server.running();
        if (!running) {
            m_emit("starting " + model + "@" + version + " on target " + m_target.name);
            auto started = m_server.start(model, {Route{version, 100}}, m_target.local, m_project.root(),
                                          m_options.ready_timeout_seconds);
            event.strategy = "start";
            if (!started)
                return failed(std::move(event), std::move(started).error());
            event.outcome = "ok";
            event.full_traffic = true;
            event.message = "started at " + started->url;
            record(m_project, m_target.name, event, m_emit);
            return DeployOutcome{version, "", started->url, {}, false};
        }
        if (running->model != model)
            return fail(ErrorCode::precondition,
                        "target " + m_target.name + " serves model '" + running->model + "', not '" + model +
                            "'",
                        "stop it first: mlo deploy stop --target " + m_target.name);
        auto applied = m_server.applied();
        if (!applied)
            return fail(std::move(applied).error());
        std::string previous = leading_version(applied->routes);
        event.previous = previous;
        if (applied->routes.size() == 1 && previous == version) {
            m_emit(model + "@" + version + " already takes all traffic on " + m_target.name);
            return DeployOutcome{version, previous, running->url, {}, true};
        }
        bool canary = m_options.strategy == DeployOptions::Strategy::canary && action == "deploy";
        return canary ? run_canary(*running, std::move(event))
                      : switch_blue_green(*running, std::move(event));
    }

  private:
    Result<util::FileLock> lock_target() {
        std::error_code ec;
        fs::create_directories(m_server.dir(), ec);
        auto lock = util::FileLock::acquire(m_server.dir() / "lock", util::FileLock::Mode::exclusive, false);
        if (!lock)
            return fail(ErrorCode::precondition, "another mlo deploy is working on target " + m_target.name,
                        "wait for it to finish");
        return lock;
    }

    Result<DeployOutcome> failed(DeployEvent event, Error error) {
        event.outcome = "failed";
        event.message = error.message;
        record(m_project, m_target.name, event, m_emit);
        return fail(std::move(error));
    }

    Result<DeployOutcome> switch_blue_green(const serve::ServerInfo& server, DeployEvent event) {
        event.strategy = "blue-green";
        m_emit("starting " + event.model + "@" + event.version + " beside " + event.previous +
               "; it takes all traffic once ready");
        auto applied = m_server.apply(server, event.model, {Route{event.version, 100}},
                                      m_options.ready_timeout_seconds + m_target.local.drain_seconds);
        if (!applied)
            return failed(std::move(event), std::move(applied).error().context("switching to " + event.model +
                                                                               "@" + event.version));
        event.outcome = "ok";
        event.full_traffic = true;
        event.message = "switched from " + event.previous;
        record(m_project, m_target.name, event, m_emit);
        m_emit(event.model + "@" + event.version + " takes all traffic; " + event.previous +
               " drained and stopped");
        return DeployOutcome{event.version, event.previous, server.url, {}, false};
    }

    Result<DeployOutcome> run_canary(const serve::ServerInfo& server, DeployEvent event) {
        event.strategy = "canary";
        InterruptGuard interrupts;
        const std::string& stable = event.previous;
        for (unsigned step : m_options.steps) {
            std::vector<Route> routes =
                step >= 100 ? std::vector<Route>{Route{event.version, 100}}
                            : std::vector<Route>{Route{stable, 100 - step}, Route{event.version, step}};
            auto applied = m_server.apply(server, event.model, routes,
                                          m_options.ready_timeout_seconds + m_target.local.drain_seconds);
            if (!applied)
                return failed(std::move(event), std::move(applied).error().context(
                                                    "canary step " + std::to_string(step) + "%"));
            m_emit("canary step " + std::to_string(step) + "%: " + routes_text(applied->routes));
            if (step >= 100)
                break;
            auto before = m_server.fresh_traffic(0, 5);
            if (!before)
                return abort(server, std::move(event),
                             "cannot read the traffic counters: " + before.error().message);
            if (interrupts.sleep_interrupted(m_options.interval_seconds))
                return abort(server, std::move(event), "interrupted at step " + std::to_string(step) + "%");
            auto after = m_server.fresh_traffic(before->time_ns, 5);
            if (!after)
                return abort(server, std::move(event),
                             "cannot read the traffic counters: " + after.error().message);
            serve::TrafficWindow window = serve::traffic_between(*before, *after, event.version);
            if (std::string failure = gate_failure(window); !failure.empty())
                return abort(server, std::move(event),
                             "gate failed at step " + std::to_string(step) + "%: " + failure);
            if (window.requests == 0)
                m_emit("warning: no request reached the canary at step " + std::to_string(step) +
                       "%; its gates had nothing to check");
            else
                m_emit(fmt::format("step {}% passed: {} request(s), error rate {:.4f}, p99 {:.1f} ms", step,
                                   window.requests, window.error_rate(), window.p99_seconds * 1000));
        }
        event.outcome = "ok";
        event.full_traffic = true;
        event.message = "canary " + steps_text() + " passed";
        record(m_project, m_target.name, event, m_emit);
        m_emit(event.model + "@" + event.version + " takes all traffic; " + stable + " drained and stopped");
        return DeployOutcome{event.version, stable, server.url, {}, false};
    }

    std::string gate_failure(const serve::TrafficWindow& window) const {
        if (window.requests > 0 && window.error_rate() > m_options.max_error_rate)
            return fmt::format("error rate {:.4f} ({} of {} requests) is above {}", window.error_rate(),
                               window.errors, window.requests, m_options.max_error_rate);
        if (m_options.max_p99_ms && window.requests > 0 && window.p99_seconds * 1000 > *m_options.max_p99_ms)
            return fmt::format("p99 latency {:.1f} ms is above {} ms", window.p99_seconds * 1000,
                               *m_options.max_p99_ms);
        return "";
    }

    // Puts all traffic back on the stable version and records the rollback.
    Result<DeployOutcome> abort(const serve::ServerInfo& server, DeployEvent event,
                                const std::string& reason) {
        m_emit("rolling back: " + reason);
        auto restored = m_server.apply(server, event.model, {Route{event.previous, 100}},
                                       m_options.ready_timeout_seconds + m_target.local.drain_seconds);
        event.outcome = "rolled-back";
        event.message = reason;
        record(m_project, m_target.name, event, m_emit);
        if (!restored)
            return fail(ErrorCode::failure,
                        "canary of " + event.model + "@" + event.version + " failed (" + reason +
                            ") and the rollback failed too: " + restored.error().message,
                        "see mlo deploy status --target " + m_target.name);
        m_emit(event.previous + " takes all traffic again");
        return fail(ErrorCode::failure,
                    "canary of " + event.model + "@" + event.version + " rolled back: " + reason,
                    event.previous + " serves all traffic; see mlo deploy logs --target " + m_target.name);
    }

    std::string steps_text() const {
        std::string text;
        for (unsigned step : m_options.steps)
            text += (text.empty() ? "" : ",") + std::to_string(step);
        return text;
    }

    core::Project& m_project;
    const Target& m_target;
    const DeployOptions& m_options;
    const Emit& m_emit;
    LocalServer m_server;
};

Status run_kubectl(const fs::path& dir) {
    std::vector<std::string> args = {"kubectl", "apply", "-f", dir.string()};
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int spawned = ::posix_spawnp(&pid, "kubectl", nullptr, nullptr, argv.data(), environ);
    if (spawned != 0)
        return fail(ErrorCode::precondition, "cannot run kubectl: " + std::string(std::strerror(spawned)),
                    "install kubectl and point it at the cluster, or leave out --apply and apply the files "
                    "yourself");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(ErrorCode::failure, "kubectl apply -f " + dir.string() + " failed");
    return {};
}

Result<DeployOutcome> deploy_kubernetes(core::Project& project, const registry::ModelRef& ref,
                                        const Target& target, const Verified& verified,
                                        const DeployOptions& options, const Emit& emit) {
    serve::KubernetesRelease release;
    release.model = ref.model;
    release.version = verified.version;
    release.manifest_id = verified.manifest;
    release.project = project.config().project;
    DeployHistory history(target_dir(project, target.name) / "history.jsonl");
    auto events = history.read();
    if (!events)
        return fail(std::move(events).error());
    std::optional<std::string> stable = current_full_traffic(*events);
    DeployEvent event{.action = "deploy",
                      .model = ref.model,
                      .version = verified.version,
                      .previous = stable.value_or(""),
                      .strategy = "kubernetes"};
    if (options.strategy == DeployOptions::Strategy::canary) {
        if (!stable || *stable == verified.version)
            return fail(ErrorCode::precondition,
                        "a canary needs another version deployed to " + target.name + " first",
                        "deploy without --strategy canary the first time");
        release.canary_percent = options.steps.front() >= 100 ? 0 : options.steps.front();
        release.stable_version = *stable;
    }
    auto files = serve::render_kubernetes(target.kubernetes, release);
    if (!files)
        return fail(std::move(files).error());
    fs::path dir =
        options.output_dir.empty() ? target_dir(project, target.name) / "manifests" : options.output_dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(system_error("cannot create " + dir.string(), ec.value()));
    // Files of an earlier render that this one does not write (a canary Deployment) would be
    // applied too; they go.
    for (const char* name :
         {"deployment-stable.yaml", "deployment-canary.yaml", "service.yaml", "hpa.yaml", "Dockerfile"})
        fs::remove(dir / name, ec);
    for (const auto& file : *files) {
        MLO_TRY(util::write_file_atomic(dir / file.name, file.content));
        emit("wrote " + (dir / file.name).string());
    }
    event.action = options.apply ? "deploy" : "render";
    if (options.apply) {
        if (auto applied = run_kubectl(dir); !applied) {
            event.outcome = "failed";
            event.message = applied.error().message;
            record(project, target.name, event, emit);
            return fail(std::move(applied).error());
        }
    }
    event.outcome = "ok";
    // A plain render counts as the target's version even when someone else applies it: the next
    // canary runs beside it.
    event.full_traffic = release.canary_percent == 0;
    event.message = release.canary_percent
                        ? "canary at " + std::to_string(release.canary_percent) + "% beside " + *stable
                        : "rendered into " + dir.string();
    record(project, target.name, event, emit);
    return DeployOutcome{verified.version, event.previous, "", dir, false};
}

} // namespace

fs::path target_dir(const core::Project& project, const std::string& target) {
    return project.mlo_dir() / "deploy" / target;
}

Result<DeployOutcome> deploy(core::Project& project, const registry::ModelRef& ref, const Target& target,
                             const DeployOptions& options, const Emit& emit) {
    auto verified = verify(project, ref);
    if (!verified)
        return fail(std::move(verified).error());
    std::string exact = ref.model + "@" + verified->version;
    emit("verified " + (ref.str() == exact ? exact : ref.str() + " = " + exact));
    if (target.type == Target::Type::kubernetes)
        return deploy_kubernetes(project, ref, target, *verified, options, emit);
    return LocalDeployment(project, target, options, emit).to(ref.model, verified->version, "deploy");
}

Result<DeployOutcome> rollback(core::Project& project, const Target& target, const DeployOptions& options,
                               const Emit& emit) {
    if (target.type != Target::Type::local)
        return fail(ErrorCode::usage, "rollback works on local targets; for " + target.name +
                                          " deploy the earlier version again (it renders its manifests)");
    auto events = DeployHistory(target_dir(project, target.name) / "history.jsonl").read();
    if (!events)
        return fail(std::move(events).error());
    auto version = rollback_version(*events);
    if (!version)
        return fail(ErrorCode::precondition, "target " + target.name + " has no earlier version to return to",
                    "mlo deploy history --target " + target.name);
    std::string model;
    for (const auto& event : *events)
        if (event.full_traffic && event.version == *version)
            model = event.model;
    auto semver = registry::SemVer::parse(*version);
    if (!semver)
        return fail(std::move(semver).error());
    registry::ModelRef ref{model, *semver, ""};
    // The version's own integrity still matters: its tag, manifest and files.
    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto checked = registry::verify_deployment(*registry, ref, false);
    if (!checked)
        return fail(std::move(checked).error());
    for (const auto& problem : checked->problems)
        return fail(ErrorCode::precondition,
                    "refusing to roll back to " + ref.str() + ": " + problem.tag + ": " + problem.message);
    emit("rolling back " + target.name + " to " + ref.str());
    DeployOptions blue_green = options;
    blue_green.strategy = DeployOptions::Strategy::blue_green;
    return LocalDeployment(project, target, blue_green, emit).to(model, *version, "rollback");
}

Status stop(core::Project& project, const Target& target, const Emit& emit) {
    if (target.type != Target::Type::local)
        return fail(ErrorCode::usage,
                    "stop works on local targets; remove Kubernetes objects with kubectl delete");
    LocalServer server(target_dir(project, target.name));
    auto lock = util::FileLock::acquire(server.dir() / "lock", util::FileLock::Mode::exclusive, false);
    if (!lock && fs::exists(server.dir()))
        return fail(ErrorCode::precondition, "another mlo deploy is working on target " + target.name);
    auto running = server.running();
    if (!running) {
        emit("target " + target.name + " is not running");
        return {};
    }
    std::string version;
    if (auto applied = server.applied())
        version = leading_version(applied->routes);
    emit("stopping " + running->model + " on " + target.name + " (pid " + std::to_string(running->pid) +
         "), draining requests in flight");
    MLO_TRY(server.stop(*running, target.local.drain_seconds + 10));
    record(project, target.name,
           DeployEvent{.action = "stop",
                       .model = running->model,
                       .version = version,
                       .strategy = "",
                       .outcome = "ok",
                       .message = "stopped"},
           emit);
    emit("stopped");
    return {};
}

Result<TargetStatus> status(const core::Project& project, const Target& target) {
    TargetStatus out;
    out.name = target.name;
    out.type = target.type == Target::Type::local ? "local" : "kubernetes";
    auto events = DeployHistory(target_dir(project, target.name) / "history.jsonl").read();
    if (!events)
        return fail(std::move(events).error());
    if (!events->empty())
        out.last_event = events->back();
    if (target.type != Target::Type::local)
        return out;
    LocalServer server(target_dir(project, target.name));
    out.server = server.running();
    out.running = out.server.has_value();
    if (out.running) {
        auto applied = server.applied();
        auto traffic = server.traffic();
        if (applied)
            for (const auto& route : applied->routes) {
                serve::VersionTraffic entry{route.version, route.weight, 0, 0, {}};
                if (traffic)
                    if (const auto* counted = traffic->find(route.version)) {
                        entry.requests = counted->requests;
                        entry.errors = counted->errors;
                        entry.latency_cumulative = counted->latency_cumulative;
                    }
                out.versions.push_back(std::move(entry));
            }
    }
    return out;
}

} // namespace mlo::deploy
