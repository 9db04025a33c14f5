#include <csignal>
#include <map>
#include <mlo/core/version.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/serve/deployment_files.hpp>
#include <mlo/serve/model_server.hpp>
#include <mlo/serve/serve_config.hpp>
#include <mlo/serve/serve_model.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/file_io.hpp>
#include <mutex>
#include <pthread.h>
#include <set>
#include <thread>
#include <unistd.h>

namespace mlo::serve {

namespace fs = std::filesystem;

namespace {

// Blocks SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread started after it), so
// that the signal loop below receives them instead of the default handler killing the process
// mid-request.
sigset_t block_control_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

// The versions a server has started, and the switch from one routing to the next.
class VersionSet {
  public:
    VersionSet(core::Project& project, std::string model, ServeConfig config, fs::path run_dir,
               ServerMetrics& metrics, ModelServer& server, double drain_seconds,
               std::function<void(const std::string&)> emit)
        : m_project(project), m_model(std::move(model)), m_config(std::move(config)),
          m_run_dir(std::move(run_dir)), m_metrics(metrics), m_server(server), m_drain_seconds(drain_seconds),
          m_emit(std::move(emit)) {}

    // Starts the versions `routes` name that are not running yet (each must warm up), then swaps
    // the routing table in one step, then drains and stops the versions no route names. A version
    // that fails to start leaves the routing as it was, stops the versions this call started,
    // and is the error.
    Status apply(const std::vector<Route>& routes) {
        std::vector<std::string> started;
        for (const auto& route : routes) {
            if (m_running.count(route.version) != 0)
                continue;
            auto version = ServedVersion::start(m_project, m_model, route.version, m_config,
                                                m_run_dir / route.version, m_metrics, m_emit);
            if (!version) {
                for (const auto& name : started)
                    m_running.erase(name); // their destructors stop them
                return fail(std::move(version).error());
            }
            m_running[route.version] = std::move(*version);
            started.push_back(route.version);
        }
        std::vector<RoutingTable::Route> table;
        for (const auto& route : routes)
            table.push_back({m_running.at(route.version), route.weight});
        m_server.set_routes(std::make_shared<const RoutingTable>(std::move(table)));
        m_emit("routing: " + describe(routes));
        for (auto it = m_running.begin(); it != m_running.end();) {
            bool kept = std::any_of(routes.begin(), routes.end(),
                                    [&](const Route& route) { return route.version == it->first; });
            if (kept) {
                ++it;
                continue;
            }
            m_emit("draining " + m_model + "@" + it->first + " (" + std::to_string(it->second->in_flight()) +
                   " request(s) in flight)");
            it->second->shutdown(m_drain_seconds);
            m_emit("stopped " + m_model + "@" + it->first);
            it = m_running.erase(it);
        }
        m_routes = routes;
        return {};
    }

    TrafficSnapshot traffic() const {
        TrafficSnapshot snapshot;
        snapshot.time_ns = util::unix_time_ns();
        for (const auto& route : m_routes) {
            auto stats = m_metrics.stats(m_model, route.version);
            snapshot.versions.push_back(VersionTraffic{route.version, route.weight, stats.requests,
                                                       stats.errors, stats.latency_cumulative});
        }
        return snapshot;
    }

    const std::vector<Route>& routes() const { return m_routes; }

    void stop_all() {
        for (auto& [name, version] : m_running)
            version->shutdown(0);
        m_running.clear();
    }

    static std::string describe(const std::vector<Route>& routes) {
        std::string text;
        for (const auto& route : routes)
            text += (text.empty() ? "" : ", ") + route.version + " " + std::to_string(route.weight) + "%";
        return text;
    }

  private:
    core::Project& m_project;
    std::string m_model;
    ServeConfig m_config;
    fs::path m_run_dir;
    ServerMetrics& m_metrics;
    ModelServer& m_server;
    double m_drain_seconds;
    std::function<void(const std::string&)> m_emit;
    std::map<std::string, std::shared_ptr<ServedVersion>> m_running;
    std::vector<Route> m_routes;
};

// The weights of a desired state must make sense before anything is started.
Status check_routes(const std::vector<Route>& routes) {
    if (routes.empty())
        return fail(ErrorCode::input, "the deployment names no version to serve");
    unsigned total = 0;
    std::set<std::string> seen;
    for (const auto& route : routes) {
        if (!seen.insert(route.version).second)
            return fail(ErrorCode::input, "version " + route.version + " is routed twice");
        if (route.weight > 100)
            return fail(ErrorCode::input, "weight " + std::to_string(route.weight) + " is above 100");
        total += route.weight;
    }
    if (total != 100)
        return fail(ErrorCode::input, "the weights add up to " + std::to_string(total) + ", not 100");
    return {};
}

Result<std::vector<Route>> initial_routes(core::Project& project, const ServeRequest& request) {
    if (!request.deployment_dir.empty()) {
        auto desired = read_desired_state(request.deployment_dir / "desired.json");
        if (!desired)
            return fail(std::move(desired).error());
        if (desired->model != request.ref.model)
            return fail(ErrorCode::input, "the deployment serves model '" + desired->model + "', not '" +
                                              request.ref.model + "'");
        return desired->routes;
    }
    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto version = registry->resolve(request.ref);
    if (!version)
        return fail(std::move(version).error());
    return std::vector<Route>{Route{(*version)->version.str(), 100}};
}

// SIGHUP under `--deployment`: act on desired.json and say how it went in applied.json.
void reload(const fs::path& deployment_dir, const std::string& model, VersionSet& versions,
            const std::function<void(const std::string&)>& emit) {
    AppliedState applied;
    auto desired = read_desired_state(deployment_dir / "desired.json");
    Status status = desired ? Status{} : Status(fail(std::move(desired).error()));
    if (desired) {
        applied.generation = desired->generation;
        if (desired->model != model)
            status = fail(ErrorCode::input,
                          "this server serves model '" + model + "', not '" + desired->model + "'");
        if (status)
            status = check_routes(desired->routes);
        if (status)
            status = versions.apply(desired->routes);
    }
    applied.ok = static_cast<bool>(status);
    if (!status) {
        applied.error = status.error().message;
        emit("reload refused, routing unchanged: " + applied.error);
    }
    applied.routes = versions.routes();
    if (auto written = write_applied_state(deployment_dir / "applied.json", applied); !written)
        emit("cannot write applied.json: " + written.error().message);
}

} // namespace

Status serve_model(core::Project& project, const ServeRequest& request,
                   const std::function<void(const std::string&)>& on_event) {
    // Events come from worker threads too; the operator's sink need not be thread-safe.
    auto emit_mutex = std::make_shared<std::mutex>();
    auto emit = [emit_mutex, on_event](const std::string& text) {
        std::lock_guard lock(*emit_mutex);
        if (on_event)
            on_event(text);
    };
    const std::string& model_name = request.ref.model;
    const auto& models = project.config().models;
    auto config_entry = models.find(model_name);
    if (config_entry == models.end())
        return fail(ErrorCode::input, "model '" + model_name + "' is not under `models:` in mlo.yaml",
                    "mlo serve reads the worker command from models." + model_name + ".serve");
    auto config = ServeConfig::from_yaml(config_entry->second.serve, model_name);
    if (!config)
        return fail(std::move(config).error());
    if (request.workers)
        config->workers = *request.workers;
    auto routes = initial_routes(project, request);
    if (!routes)
        return fail(std::move(routes).error());
    MLO_TRY(check_routes(*routes));

    fs::path run_dir = project.mlo_dir() / "serve" / ("run-" + std::to_string(::getpid()));
    sigset_t control_signals = block_control_signals();

    ServerMetrics metrics(k_version);
    std::unique_ptr<RequestLog> log;
    if (config->log) {
        RequestLogOptions log_options;
        log_options.path = project.mlo_dir() / "serve" / "logs" / model_name / "requests.jsonl";
        // Any version may mark fields as PII, including one deployed later, so the key is always
        // at hand; each record is hashed with the fields of the version that answered it.
        auto key = load_or_create_pii_key(project.mlo_dir());
        if (!key)
            return fail(std::move(key).error());
        log_options.pii_key = *key;
        auto opened = RequestLog::open(log_options);
        if (!opened)
            return fail(std::move(opened).error());
        log = std::move(*opened);
    }

    ModelServerOptions server_options;
    server_options.model = model_name;
    server_options.token = request.token;
    server_options.http.host = request.host;
    server_options.http.port = request.port;
    server_options.http.max_body_bytes = config->max_request_bytes;
    server_options.http.read_timeout_seconds = config->read_timeout_seconds;
    server_options.http.tls_cert_file = request.tls_cert_file;
    server_options.http.tls_key_file = request.tls_key_file;
    server_options.http.threads = std::max(2u, std::thread::hardware_concurrency());
    auto server = ModelServer::start(server_options, metrics, log.get());
    if (!server)
        return fail(std::move(server).error());

    VersionSet versions(project, model_name, *config, run_dir, metrics, **server, request.drain_seconds,
                        emit);
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec); // the versions removed their read-only files already
        }
    } cleanup{run_dir};
    if (auto applied = versions.apply(*routes); !applied) {
        (*server)->stop(0);
        if (!request.deployment_dir.empty()) {
            uint64_t generation = 0;
            if (auto desired = read_desired_state(request.deployment_dir / "desired.json"))
                generation = desired->generation;
            (void)write_applied_state(request.deployment_dir / "applied.json",
                                      AppliedState{generation, false, applied.error().message, {}});
        }
        return fail(std::move(applied).error());
    }
    (*server)->set_ready(true);
    std::string scheme = request.tls_cert_file.empty() ? "http" : "https";
    std::string url = scheme + "://" + request.host + ":" + std::to_string((*server)->port());
    if (!request.deployment_dir.empty()) {
        auto desired = read_desired_state(request.deployment_dir / "desired.json");
        MLO_TRY(write_applied_state(
            request.deployment_dir / "applied.json",
            AppliedState{desired ? desired->generation : 0, true, "", versions.routes()}));
        MLO_TRY(write_traffic(request.deployment_dir / "traffic.json", versions.traffic()));
    }
    if (!request.ready_file.empty()) {
        nlohmann::json ready = {{"pid", ::getpid()},
                                {"port", (*server)->port()},
                                {"url", url},
                                {"model", model_name},
                                {"version", versions.routes().front().version}};
        MLO_TRY(util::write_file_atomic(request.ready_file, ready.dump() + "\n"));
    }
    emit("serving " + model_name + " (" + VersionSet::describe(versions.routes()) + ") at " + url + " (" +
         std::to_string(config->workers) + " worker(s) per version, batch " +
         std::to_string(config->batch_max_size) + ")");

    int signal = 0;
    while (true) {
        // A deployment's traffic counters are written every second for the canary gates.
        timespec one_second{1, 0};
        signal = sigtimedwait(&control_signals, nullptr, &one_second);
        if (signal == SIGINT || signal == SIGTERM)
            break;
        if (signal == SIGHUP && !request.deployment_dir.empty())
            reload(request.deployment_dir, model_name, versions, emit);
        if (!request.deployment_dir.empty())
            (void)write_traffic(request.deployment_dir / "traffic.json", versions.traffic());
    }
    emit(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
         ", draining requests in flight");
    (*server)->set_ready(false);
    (*server)->stop(request.drain_seconds);
    versions.stop_all();
    if (log)
        (void)log->flush();
    emit("stopped");
    return {};
}

} // namespace mlo::serve
