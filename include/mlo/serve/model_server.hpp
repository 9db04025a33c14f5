#pragma once

#include <atomic>
#include <memory>
#include <mlo/serve/batcher.hpp>
#include <mlo/serve/http_server.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/serve/protocols.hpp>
#include <mlo/serve/request_log.hpp>
#include <mlo/serve/signature.hpp>
#include <string>

namespace mlo::serve {

struct ModelServerOptions {
    std::string model, version;
    Signature signature;
    std::string token;        // bearer token; "" = no authentication
    size_t max_rows = 100000; // rows per request
    HttpServerOptions http;
};

// The routes of both protocols for one model version (see model_server.cpp), in front of a
// batcher. Not ready (503 on the readiness endpoints) until set_ready(true).
class ModelServer {
  public:
    static Result<std::unique_ptr<ModelServer>> start(ModelServerOptions options, Batcher& batcher,
                                                      ServerMetrics& metrics, RequestLog* log);
    int port() const { return m_http->port(); }
    void set_ready(bool ready) { m_ready = ready; }
    void stop(double drain_seconds) { m_http->stop(drain_seconds); }

  private:
    ModelServer(ModelServerOptions options, Batcher& batcher, ServerMetrics& metrics, RequestLog* log)
        : m_options(std::move(options)), m_batcher(batcher), m_metrics(metrics), m_log(log) {}
    void handle(HttpRequest&& request, Responder respond);
    void predict(HttpRequest&& request, Responder respond, bool v2);

    ModelServerOptions m_options;
    Batcher& m_batcher;
    ServerMetrics& m_metrics;
    RequestLog* m_log;
    std::atomic<bool> m_ready{false};
    std::unique_ptr<HttpServer> m_http;
};

} // namespace mlo::serve
