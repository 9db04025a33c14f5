#include <chrono>
#include <future>
#include <mlo/core/embedded_files.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/serve/served_version.hpp>
#include <mlo/util/file_io.hpp>
#include <numeric>
#include <sys/stat.h>
#include <thread>

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
    if (!fs::exists(root, ec))
        return;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); ++it)
        if (it->is_directory(ec))
            ::chmod(it->path().c_str(), 0755);
    ::chmod(root.c_str(), 0755);
    fs::remove_all(root, ec);
}

// One row with a neutral value of each input's type, to warm every worker up before the version
// takes traffic (a model that fails on it would fail on real traffic too).
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

// One request per worker, sent together so that each worker gets one. The neutral row may be no
// valid input for the model (an unknown category): an error answer still shows the worker is
// loaded and answering. A worker that dies or does not answer in time fails the warm-up.
Status warm_up(WorkerPool& pool, const Signature& signature, const ServeConfig& config,
               const std::function<void(const std::string&)>& emit) {
    std::vector<std::future<WorkerResult>> answers;
    for (unsigned i = 0; i < config.workers; ++i) {
        auto promise = std::make_shared<std::promise<WorkerResult>>();
        answers.push_back(promise->get_future());
        pool.submit(
            warmup_inputs(signature),
            [promise](WorkerResult result) { promise->set_value(std::move(result)); },
            config.request_timeout_seconds);
    }
    for (auto& answer : answers) {
        WorkerResult result = answer.get();
        if (result.ok)
            continue;
        if (result.status == 500) {
            emit("warm-up request answered with an error (the neutral row may not be a valid input): " +
                 result.error);
            continue;
        }
        return fail(ErrorCode::failure,
                    "the warm-up request failed (" + std::to_string(result.status) + "): " + result.error,
                    "every worker must answer a request with one row of the signature's inputs");
    }
    return {};
}

} // namespace

Result<std::shared_ptr<ServedVersion>>
ServedVersion::start(core::Project& project, const std::string& model, const std::string& version,
                     ServeConfig config, const fs::path& run_dir, ServerMetrics& metrics,
                     const std::function<void(const std::string&)>& emit) {
    std::shared_ptr<ServedVersion> served(new ServedVersion());
    served->m_model = model;
    served->m_version = version;
    served->m_config = config;
    served->m_run_dir = run_dir;
    // From here on, a failure stops and removes whatever was started (the destructor).
    remove_tree(run_dir);
    std::error_code ec;
    fs::create_directories(run_dir / "lib", ec);
    if (ec)
        return fail(system_error("cannot create " + run_dir.string(), ec.value()));

    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto semver = registry::SemVer::parse(version);
    if (!semver)
        return fail(std::move(semver).error());
    registry::ModelRef exact{model, *semver, ""};
    auto manifest = registry::get_model(*registry, exact, run_dir / "model");
    if (!manifest)
        return fail(std::move(manifest).error());
    make_read_only(run_dir / "model");
    auto signature = Signature::from_json(manifest->signature);
    if (!signature)
        return fail(std::move(signature).error().context(model + "@" + version));
    served->m_signature = *signature;
    for (const auto* fields : {&signature->inputs, &signature->outputs})
        for (const auto& field : *fields)
            if (field.pii)
                served->m_pii_fields.insert(field.name);
    if (auto helper = core::embedded_file("serve/mlo_worker.py"))
        MLO_TRY(util::write_file_atomic(run_dir / "lib" / "mlo_worker.py", *helper));

    WorkerOptions workers;
    workers.command = config.cmd;
    workers.cwd = project.root();
    workers.workers = config.workers;
    workers.env["MLO_MODEL_DIR"] = (run_dir / "model").string();
    workers.env["MLO_MODEL"] = model;
    workers.env["MLO_MODEL_VERSION"] = version;
    const char* python_path = std::getenv("PYTHONPATH");
    workers.env["PYTHONPATH"] =
        (run_dir / "lib").string() + (python_path && *python_path ? ":" + std::string(python_path) : "");
    workers.on_stderr = [version](unsigned worker, const std::string& line) {
        std::fprintf(stderr, "[%s worker %u] %s\n", version.c_str(), worker, line.c_str());
    };
    workers.on_event = [emit, &metrics, model, version](const std::string& event) {
        if (event.find("restart") != std::string::npos)
            metrics.worker_restarted(model, version);
        emit(model + "@" + version + ": " + event);
    };
    emit("starting " + std::to_string(config.workers) + " worker(s) of " + model + "@" + version + ": " +
         config.cmd);
    auto pool = WorkerPool::start(workers);
    if (!pool)
        return fail(std::move(pool).error().context("starting the workers of " + model + "@" + version));
    served->m_pool = std::move(*pool);
    metrics.set_workers(model, version, served->m_pool->live_workers());

    BatchOptions batch;
    batch.max_size = config.batch_max_size;
    batch.max_delay_ms = config.batch_max_delay_ms;
    batch.timeout_seconds = config.request_timeout_seconds;
    batch.on_batch = [&metrics, model, version](size_t rows, size_t requests) {
        metrics.observe_batch(model, version, rows, requests);
    };
    served->m_batcher = std::make_unique<Batcher>(*served->m_pool, batch);

    if (signature->present)
        MLO_TRY_CTX(warm_up(*served->m_pool, *signature, config, emit), model + "@" + version);
    return served;
}

ServedVersion::~ServedVersion() {
    shutdown(0);
}

bool ServedVersion::try_begin_request() {
    uint64_t current = m_requests.load();
    while ((current & k_closed) == 0)
        if (m_requests.compare_exchange_weak(current, current + 1))
            return true;
    return false;
}

void ServedVersion::shutdown(double drain_seconds) {
    if (m_stopped)
        return;
    m_stopped = true;
    m_requests.fetch_or(k_closed);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(drain_seconds);
    while (in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    m_batcher.reset(); // answers whatever is still queued with 503, then the pool can go
    if (m_pool)
        m_pool->stop();
    m_pool.reset();
    if (!m_run_dir.empty())
        remove_tree(m_run_dir);
}

size_t weighted_pick(std::span<const unsigned> weights, uint64_t ticket) {
    uint64_t total = 0;
    for (unsigned weight : weights)
        total += weight;
    if (total == 0)
        return weights.size();
    // Multiplying by a number coprime with the total permutes the slots of each window of `total`
    // tickets, so the shares stay exact while consecutive tickets spread over the versions.
    uint64_t stride = 1;
    for (uint64_t candidate : {7919u, 7907u, 7901u})
        if (std::gcd(candidate, total) == 1) {
            stride = candidate;
            break;
        }
    uint64_t slot = (ticket % total) * stride % total;
    for (size_t i = 0; i < weights.size(); ++i) {
        if (slot < weights[i])
            return i;
        slot -= weights[i];
    }
    return weights.size() - 1; // not reached: the slots add up to the total
}

RoutingTable::RoutingTable(std::vector<Route> routes) : m_routes(std::move(routes)) {
    for (const auto& route : m_routes)
        m_weights.push_back(route.weight);
}

const std::shared_ptr<ServedVersion>& RoutingTable::primary() const {
    static const std::shared_ptr<ServedVersion> k_none;
    if (m_routes.empty())
        return k_none;
    const Route* best = &m_routes.front();
    for (const auto& route : m_routes)
        if (route.weight > best->weight)
            best = &route;
    return best->target;
}

std::shared_ptr<ServedVersion> RoutingTable::pick(uint64_t ticket) const {
    size_t index = weighted_pick(m_weights, ticket);
    return index < m_routes.size() ? m_routes[index].target : nullptr;
}

std::shared_ptr<ServedVersion> RoutingTable::find(const std::string& version) const {
    for (const auto& route : m_routes)
        if (route.target->version() == version)
            return route.target;
    return nullptr;
}

} // namespace mlo::serve
