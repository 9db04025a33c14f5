// Routes of mlo serve.
//
// Open Inference Protocol v2 (KServe, Triton): /v2/health/live, /v2/health/ready, /v2 (server
// metadata), /v2/models/{m}[/versions/{v}] (model metadata with the signature), .../ready and
// POST .../infer. MLflow's scoring protocol: /ping, /health, /version, POST /invocations.
// Prometheus: /metrics. Health endpoints answer without the bearer token (probes carry none);
// everything else needs it when one is configured.
//
// A prediction is parsed and validated against the signature before it reaches a worker, so a
// bad request costs no model time and gets a 4xx naming the problem. Every request gets an id
// (the client's X-Request-Id when it is sane, else a random one), returned in X-Request-Id and
// written to the request log with the inputs and outputs.

#include <mlo/core/version.hpp>
#include <mlo/serve/model_server.hpp>
#include <mlo/util/clock.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <regex>
#include <thread>

namespace mlo::serve {

namespace {

using nlohmann::json;

HttpResponse json_response(int status, const json& body) {
    return HttpResponse{status, "application/json", body.dump(), {}};
}

HttpResponse v2_error(int status, const std::string& message) {
    return json_response(status, json{{"error", message}});
}

// MLflow's error body.
HttpResponse mlflow_error(int status, const std::string& message) {
    const char* code = status == 400 || status == 413 || status == 415 ? "BAD_REQUEST"
                       : status == 404                                 ? "RESOURCE_DOES_NOT_EXIST"
                       : status == 503                                 ? "TEMPORARILY_UNAVAILABLE"
                                                                       : "INTERNAL_ERROR";
    return json_response(status, json{{"error_code", code}, {"message", message}});
}

// A request id: 16 hex digits, unique in practice, not secret (it is sent back in a header). Each
// thread seeds a splitmix64 sequence from OpenSSL's generator once; asking OpenSSL per request cost
// a lock and a getpid() (its fork check) on every request.
std::string random_id() {
    thread_local uint64_t state = [] {
        uint64_t seed = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1)
            seed = util::unix_time_ns() ^ std::hash<std::thread::id>()(std::this_thread::get_id());
        return seed;
    }();
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    static const char* k_hex = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, z >>= 4)
        out[static_cast<size_t>(i)] = k_hex[z & 15];
    return out;
}

bool sane_request_id(const std::string& id) {
    if (id.empty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

// Constant-time: the time to reject a wrong token does not tell how much of it was right.
bool token_matches(const std::string& given, const std::string& expected) {
    if (given.size() != expected.size())
        return false;
    return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

bool is_health_path(const std::string& path) {
    return path == "/v2/health/live" || path == "/v2/health/ready" || path == "/ping" || path == "/health";
}

} // namespace

Result<std::unique_ptr<ModelServer>> ModelServer::start(ModelServerOptions options, ServerMetrics& metrics,
                                                        RequestLog* log) {
    std::unique_ptr<ModelServer> server(new ModelServer(std::move(options), metrics, log));
    ModelServer* self = server.get();
    auto http = HttpServer::start(server->m_options.http, [self](HttpRequest&& request, Responder respond) {
        self->handle(std::move(request), std::move(respond));
    });
    if (!http)
        return fail(std::move(http).error());
    server->m_http = std::move(*http);
    return server;
}

void ModelServer::set_routes(std::shared_ptr<const RoutingTable> routes) {
    std::lock_guard lock(m_routes_mutex);
    m_routes = std::move(routes);
}

std::shared_ptr<const RoutingTable> ModelServer::routes() const {
    std::lock_guard lock(m_routes_mutex);
    return m_routes;
}

std::shared_ptr<ServedVersion> ModelServer::acquire(const std::string& version) {
    // A version closes only after a newer table is published, so a retry sees that table; the
    // bound guards against a storm of switches.
    for (int attempt = 0; attempt < 8; ++attempt) {
        auto table = routes();
        if (!table)
            return nullptr;
        auto target = version.empty() ? table->pick(m_tickets.fetch_add(1, std::memory_order_relaxed))
                                      : table->find(version);
        if (!target)
            return nullptr;
        if (target->try_begin_request())
            return target;
    }
    return nullptr;
}

bool ModelServer::ready() const {
    if (!m_ready)
        return false;
    auto table = routes();
    return table && !table->empty();
}

void ModelServer::handle(HttpRequest&& request, Responder respond) {
    const std::string& path = request.path;
    if (!m_options.token.empty() && !is_health_path(path)) {
        std::string header = request.header("authorization");
        const std::string prefix = "Bearer ";
        if (header.compare(0, prefix.size(), prefix) != 0 ||
            !token_matches(header.substr(prefix.size()), m_options.token)) {
            HttpResponse response = v2_error(401, "missing or wrong bearer token");
            response.headers.emplace_back("WWW-Authenticate", "Bearer");
            respond(std::move(response));
            return;
        }
    }
    const bool get = request.method == "GET" || request.method == "HEAD";
    const bool post = request.method == "POST";
    auto method_not_allowed = [&](const char* allowed) {
        HttpResponse response = v2_error(405, "method " + request.method + " is not allowed on " + path);
        response.headers.emplace_back("Allow", allowed);
        respond(std::move(response));
    };
    const std::string& model = m_options.model;

    if (path == "/v2/health/live" || path == "/ping" || path == "/health") {
        if (!get)
            return method_not_allowed("GET, HEAD");
        respond(path == "/v2/health/live" ? json_response(200, json{{"live", true}})
                                          : HttpResponse{200, "application/json", "\n", {}});
        return;
    }
    if (path == "/v2/health/ready") {
        if (!get)
            return method_not_allowed("GET, HEAD");
        bool is_ready = ready();
        respond(json_response(is_ready ? 200 : 503, json{{"ready", is_ready}}));
        return;
    }
    if (path == "/v2" || path == "/v2/") {
        if (!get)
            return method_not_allowed("GET, HEAD");
        respond(
            json_response(200, json{{"name", "mlo"}, {"version", k_version}, {"extensions", json::array()}}));
        return;
    }
    if (path == "/version") {
        if (!get)
            return method_not_allowed("GET, HEAD");
        respond(HttpResponse{200, "text/plain; charset=utf-8", std::string(k_version) + "\n", {}});
        return;
    }
    if (path == "/metrics") {
        if (!get)
            return method_not_allowed("GET, HEAD");
        respond(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", m_metrics.render(), {}});
        return;
    }
    if (path == "/invocations") {
        if (!post)
            return method_not_allowed("POST");
        predict(std::move(request), std::move(respond), false, acquire(""));
        return;
    }
    // /v2/models/{m}[/versions/{v}][/ready|/infer]; model names may hold '/'.
    static const std::regex k_model_route(R"(^/v2/models/(.+?)(?:/versions/([^/]+))?(/ready|/infer)?/?$)");
    std::smatch match;
    if (std::regex_match(path, match, k_model_route)) {
        std::string asked_model = match[1];
        std::string asked_version = match[2];
        std::string action = match[3];
        if (asked_model != model) {
            respond(v2_error(404, "unknown model '" + asked_model + "'; this server serves '" + model + "'"));
            return;
        }
        auto table = routes();
        std::shared_ptr<ServedVersion> target;
        if (table && !asked_version.empty()) {
            target = table->find(asked_version);
            if (!target) {
                std::string served;
                for (const auto& route : table->routes())
                    served += (served.empty() ? "" : ", ") + route.target->version();
                respond(v2_error(404, "unknown version '" + asked_version + "' of model '" + model +
                                          "'; this server serves " + (served.empty() ? "none yet" : served)));
                return;
            }
        } else if (table) {
            target = table->primary();
        }
        if (action == "/infer") {
            if (!post)
                return method_not_allowed("POST");
            predict(std::move(request), std::move(respond), true, acquire(asked_version));
            return;
        }
        if (!get)
            return method_not_allowed("GET, HEAD");
        if (action == "/ready") {
            bool is_ready = ready() && target != nullptr;
            respond(json_response(is_ready ? 200 : 503, json{{"name", model}, {"ready", is_ready}}));
        } else if (target == nullptr) {
            respond(v2_error(503, "the model is not ready yet"));
        } else {
            respond(
                json_response(200, v2_model_metadata(model, target->version(), "mlo", target->signature())));
        }
        return;
    }
    respond(v2_error(404, "no route " + path));
}

void ModelServer::predict(HttpRequest&& request, Responder respond, bool v2,
                          std::shared_ptr<ServedVersion> target) {
    auto arrived = std::chrono::steady_clock::now();
    std::string request_id = request.header("x-request-id");
    if (!sane_request_id(request_id))
        request_id = random_id();
    const char* protocol = v2 ? "v2" : "mlflow";
    m_metrics.set_in_flight(+1);
    const std::string version = target ? target->version() : std::string("none");
    auto finish = [this, respond, request_id, protocol, arrived, target,
                   version](HttpResponse response, const json& inputs, const json& outputs,
                            const std::string& error, double queue_seconds, double compute_seconds) {
        m_metrics.set_in_flight(-1);
        double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count();
        m_metrics.observe_request(m_options.model, version, protocol, response.status, queue_seconds,
                                  compute_seconds, total);
        if (m_log != nullptr) {
            RequestRecord record;
            record.request_id = request_id;
            record.time_ns = util::unix_time_ns();
            record.model = m_options.model;
            record.version = version;
            record.protocol = protocol;
            record.status = response.status;
            record.latency_seconds = total;
            record.inputs = inputs;
            record.outputs = outputs;
            record.error = error;
            // A full disk must not fail predictions.
            (void)m_log->write(record, target ? target->pii_fields() : std::set<std::string>());
        }
        response.headers.emplace_back("X-Request-Id", request_id);
        if (target)
            response.headers.emplace_back("X-Model-Version", version);
        respond(std::move(response));
        if (target)
            target->end_request();
    };
    auto reject = [&](const HttpError& error) {
        finish(v2 ? v2_error(error.status, error.message) : mlflow_error(error.status, error.message),
               nullptr, nullptr, error.message, 0, 0);
    };
    if (!m_ready || !target) {
        reject(HttpError{503, "the model is not ready yet"});
        return;
    }
    const Signature& signature = target->signature();
    V2Request v2_request;
    Columns columns;
    if (v2) {
        std::string content_type = request.header("content-type");
        if (!content_type.empty() && content_type.find("json") == std::string::npos) {
            reject(HttpError{415, "content type must be application/json, not " + content_type});
            return;
        }
        auto parsed = parse_v2_request(request.body, signature, m_options.max_rows);
        if (!parsed) {
            reject(parsed.error());
            return;
        }
        v2_request = std::move(*parsed);
        columns = v2_request.inputs;
    } else {
        auto parsed =
            parse_mlflow_request(request.header("content-type"), request.body, signature, m_options.max_rows);
        if (!parsed) {
            reject(parsed.error());
            return;
        }
        columns = std::move(*parsed);
    }
    size_t rows = columns.rows;
    json inputs = columns.columns;
    target->batcher().submit(std::move(columns), [this, v2, rows, inputs = std::move(inputs), target, version,
                                                  v2_request = std::move(v2_request),
                                                  finish](BatchAnswer answer) mutable {
        const WorkerResult& result = answer.result;
        if (!result.ok) {
            HttpResponse response =
                v2 ? v2_error(result.status, result.error) : mlflow_error(result.status, result.error);
            finish(std::move(response), inputs, nullptr, result.error, answer.queue_seconds,
                   result.compute_seconds);
            return;
        }
        HttpResult<std::string> body =
            v2 ? v2_response(m_options.model, version, v2_request, result.outputs, rows, target->signature())
               : mlflow_response(result.outputs, rows, target->signature());
        if (!body) {
            HttpResponse response = v2 ? v2_error(body.error().status, body.error().message)
                                       : mlflow_error(body.error().status, body.error().message);
            finish(std::move(response), inputs, result.outputs, body.error().message, answer.queue_seconds,
                   result.compute_seconds);
            return;
        }
        finish(HttpResponse{200, "application/json", std::move(*body), {}}, inputs, result.outputs, "",
               answer.queue_seconds, result.compute_seconds);
    });
}

} // namespace mlo::serve
