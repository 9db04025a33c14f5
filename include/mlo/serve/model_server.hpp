#pragma once

#include <atomic>
#include <memory>
#include <mlo/serve/http_server.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/serve/protocols.hpp>
#include <mlo/serve/request_log.hpp>
#include <mlo/serve/served_version.hpp>
#include <mutex>
#include <string>

namespace mlo::serve {

struct ModelServerOptions {
    std::string model;
    std::string token;        // bearer token; "" = no authentication
    size_t max_rows = 100000; // rows per request
    HttpServerOptions http;
};

// The routes of both protocols for one model (see model_server.cpp), in front of the versions of
// a routing table: a request that names no version goes to one picked by weight, one that names a
// version (v2's /versions/V) to that version. Not ready (503 on the readiness endpoints) until
// set_ready(true) with a non-empty table.
class ModelServer {
  public:
    static Result<std::unique_ptr<ModelServer>> start(ModelServerOptions options, ServerMetrics& metrics,
                                                      RequestLog* log);
    int port() const { return m_http->port(); }
    void set_ready(bool ready) { m_ready = ready; }
    void stop(double drain_seconds) { m_http->stop(drain_seconds); }

    // Swaps the routing table: requests accepted from now on use the new one; requests already
    // accepted finish on the version they were given (see ServedVersion::in_flight).
    void set_routes(std::shared_ptr<const RoutingTable> routes);
    std::shared_ptr<const RoutingTable> routes() const;

  private:
    ModelServer(ModelServerOptions options, ServerMetrics& metrics, RequestLog* log)
        : m_options(std::move(options)), m_metrics(metrics), m_log(log) {}
    void handle(HttpRequest&& request, Responder respond);
    // `target` was acquire()d (or is null: 503); predict() ends its request when answering.
    void predict(HttpRequest&& request, Responder respond, bool v2, std::shared_ptr<ServedVersion> target);
    // The version that answers a prediction naming `version` ("" = pick by weight), with its
    // request begun so that it cannot be stopped before answering; null when none can take it.
    std::shared_ptr<ServedVersion> acquire(const std::string& version);
    bool ready() const;

    ModelServerOptions m_options;
    ServerMetrics& m_metrics;
    RequestLog* m_log;
    std::atomic<bool> m_ready{false};
    mutable std::mutex m_routes_mutex;
    std::shared_ptr<const RoutingTable> m_routes;
    std::atomic<uint64_t> m_tickets{0};
    std::unique_ptr<HttpServer> m_http;
};

} // namespace mlo::serve
