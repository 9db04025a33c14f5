#include <csignal>
#include <future>
#include <mlo/core/embedded_files.hpp>
#include <mlo/core/version.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/serve/model_server.hpp>
#include <mlo/serve/serve_config.hpp>
#include <mlo/serve/serve_model.hpp>
#include <mlo/util/file_io.hpp>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::serve {

namespace fs = std::filesystem;

namespace {

// Model files are the worker's to read, never to change: a worker that writes into its model
// directory would serve something other than the registered version.
void make_read_only(const fs::path& root) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_regular_file(ec))
            ::chmod(it->path().c_str(),
                    (it->status(ec).permissions() & fs::perms::owner_exec) != fs::perms::none ? 0555 : 0444);
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_directory(ec))
            ::chmod(it->path().c_str(), 0555);
    ::chmod(root.c_str(), 0555);
}

void remove_tree(const fs::path& root) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_directory(ec))
            ::chmod(it->path().c_str(), 0755);
    ::chmod(root.c_str(), 0755);
    fs::remove_all(root, ec);
}

// One row with a neutral value of each input's type, to warm every worker up before the server
// says it is ready (a model that fails on it would fail on real traffic too).
nlohmann::ordered_json warmup_inputs(const Signature& signature) {
    nlohmann::ordered_json columns = nlohmann::ordered_json::object();
    for (const auto& field : signature.inputs) {
        switch (field.type) {
        case FieldType::float64:
        case FieldType::float32:
            columns[field.name] = nlohmann::ordered_json::array({0.0});
            break;
        case FieldType::int64:
        case FieldType::int32:
            columns[field.name] = nlohmann::ordered_json::array({0});
            break;
        case FieldType::boolean:
            columns[field.name] = nlohmann::ordered_json::array({false});
            break;
        case FieldType::string:
            columns[field.name] = nlohmann::ordered_json::array({""});
            break;
        }
    }
    return columns;
}

// Blocks SIGINT and SIGTERM in this thread (and so in every thread started after it), so that
// sigwait() below receives them instead of the default handler killing the process mid-request.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

} // namespace

Status serve_model(core::Project& project, const ServeRequest& request,
                   const std::function<void(const std::string&)>& on_event) {
    auto emit = [&](const std::string& text) {
        if (on_event)
            on_event(text);
    };
    const auto& models = project.config().models;
    auto config_entry = models.find(request.ref.model);
    if (config_entry == models.end())
        return fail(ErrorCode::input, "model '" + request.ref.model + "' is not under `models:` in mlo.yaml",
                    "mlo serve reads the worker command from models." + request.ref.model + ".serve");
    auto config = ServeConfig::from_yaml(config_entry->second.serve, request.ref.model);
    if (!config)
        return fail(std::move(config).error());
    if (request.workers)
        config->workers = *request.workers;

    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto version = registry->resolve(request.ref);
    if (!version)
        return fail(std::move(version).error());
    std::string version_name = (*version)->version.str();
    registry::ModelRef exact{request.ref.model, (*version)->version, ""};

    fs::path run_dir = project.mlo_dir() / "serve" / ("run-" + std::to_string(::getpid()));
    remove_tree(run_dir);
    fs::create_directories(run_dir / "lib");
    struct Cleanup {
        fs::path dir;
        ~Cleanup() { remove_tree(dir); }
    } cleanup{run_dir};
    auto manifest = registry::get_model(*registry, exact, run_dir / "model");
    if (!manifest)
        return fail(std::move(manifest).error());
    make_read_only(run_dir / "model");
    auto signature = Signature::from_json(manifest->signature);
    if (!signature)
        return fail(std::move(signature).error().context(request.ref.model + "@" + version_name));
    if (auto helper = core::embedded_file("serve/mlo_worker.py"))
        MLO_TRY(util::write_file_atomic(run_dir / "lib" / "mlo_worker.py", *helper));

    sigset_t stop_signals = block_stop_signals();

    WorkerOptions workers;
    workers.command = config->cmd;
    workers.cwd = project.root();
    workers.workers = config->workers;
    workers.env["MLO_MODEL_DIR"] = (run_dir / "model").string();
    workers.env["MLO_MODEL"] = request.ref.model;
    workers.env["MLO_MODEL_VERSION"] = version_name;
    const char* python_path = std::getenv("PYTHONPATH");
    workers.env["PYTHONPATH"] =
        (run_dir / "lib").string() + (python_path && *python_path ? ":" + std::string(python_path) : "");
    workers.on_stderr = [](unsigned worker, const std::string& line) {
        std::fprintf(stderr, "[worker %u] %s\n", worker, line.c_str());
    };
    ServerMetrics metrics(k_version);
    std::string model_name = request.ref.model;
    workers.on_event = [&emit, &metrics, model_name, version_name](const std::string& event) {
        if (event.find("restart") != std::string::npos)
            metrics.worker_restarted(model_name, version_name);
        emit(event);
    };
    emit("starting " + std::to_string(config->workers) + " worker(s) of " + model_name + "@" + version_name +
         ": " + config->cmd);
    auto pool = WorkerPool::start(workers);
    if (!pool)
        return fail(
            std::move(pool).error().context("starting the workers of " + model_name + "@" + version_name));
    metrics.set_workers(model_name, version_name, (*pool)->live_workers());

    std::unique_ptr<RequestLog> log;
    if (config->log) {
        RequestLogOptions log_options;
        log_options.path = project.mlo_dir() / "serve" / "logs" / model_name / "requests.jsonl";
        for (const auto& field : signature->inputs)
            if (field.pii)
                log_options.pii_fields.insert(field.name);
        for (const auto& field : signature->outputs)
            if (field.pii)
                log_options.pii_fields.insert(field.name);
        if (!log_options.pii_fields.empty()) {
            auto key = load_or_create_pii_key(project.mlo_dir());
            if (!key)
                return fail(std::move(key).error());
            log_options.pii_key = *key;
        }
        auto opened = RequestLog::open(log_options);
        if (!opened)
            return fail(std::move(opened).error());
        log = std::move(*opened);
    }

    BatchOptions batch;
    batch.max_size = config->batch_max_size;
    batch.max_delay_ms = config->batch_max_delay_ms;
    batch.timeout_seconds = config->request_timeout_seconds;
    batch.on_batch = [&metrics, model_name, version_name](size_t rows, size_t requests) {
        metrics.observe_batch(model_name, version_name, rows, requests);
    };
    Batcher batcher(**pool, batch);

    ModelServerOptions server_options;
    server_options.model = model_name;
    server_options.version = version_name;
    server_options.signature = *signature;
    server_options.token = request.token;
    server_options.http.host = request.host;
    server_options.http.port = request.port;
    server_options.http.max_body_bytes = config->max_request_bytes;
    server_options.http.read_timeout_seconds = config->read_timeout_seconds;
    server_options.http.tls_cert_file = request.tls_cert_file;
    server_options.http.tls_key_file = request.tls_key_file;
    server_options.http.threads = std::max(2u, std::thread::hardware_concurrency());
    auto server = ModelServer::start(server_options, batcher, metrics, log.get());
    if (!server)
        return fail(std::move(server).error());

    // Warm-up: one request per worker, sent together so that each worker gets one.
    if (signature->present) {
        std::vector<std::future<WorkerResult>> answers;
        for (unsigned i = 0; i < config->workers; ++i) {
            auto promise = std::make_shared<std::promise<WorkerResult>>();
            answers.push_back(promise->get_future());
            (*pool)->submit(
                warmup_inputs(*signature),
                [promise](WorkerResult result) { promise->set_value(std::move(result)); },
                config->request_timeout_seconds);
        }
        // The neutral row may be no valid input for the model (an unknown category): an error
        // answer still shows the worker is loaded and answering. A worker that dies or does not
        // answer in time is what keeps the server from being ready.
        for (auto& answer : answers) {
            WorkerResult result = answer.get();
            if (result.ok)
                continue;
            if (result.status == 500) {
                emit("warm-up request answered with an error (the neutral row may not be a valid input): " +
                     result.error);
                continue;
            }
            (*server)->stop(0);
            return fail(ErrorCode::failure,
                        "the warm-up request failed (" + std::to_string(result.status) + "): " + result.error,
                        "every worker must answer a request with one row of the signature's inputs");
        }
    }
    (*server)->set_ready(true);
    std::string scheme = request.tls_cert_file.empty() ? "http" : "https";
    std::string url = scheme + "://" + request.host + ":" + std::to_string((*server)->port());
    if (!request.ready_file.empty()) {
        nlohmann::json ready = {{"pid", ::getpid()},
                                {"port", (*server)->port()},
                                {"url", url},
                                {"model", model_name},
                                {"version", version_name}};
        MLO_TRY(util::write_file_atomic(request.ready_file, ready.dump() + "\n"));
    }
    emit("serving " + model_name + "@" + version_name + " at " + url + " (" +
         std::to_string(config->workers) + " worker(s), batch " + std::to_string(config->batch_max_size) +
         ")");

    int signal = 0;
    sigwait(&stop_signals, &signal);
    emit(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
         ", draining requests in flight");
    (*server)->set_ready(false);
    (*server)->stop(request.drain_seconds);
    (*pool)->stop();
    if (log)
        (void)log->flush();
    emit("stopped");
    return {};
}

} // namespace mlo::serve
