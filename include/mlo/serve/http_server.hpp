#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mlo/util/error.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mlo::serve {

struct HttpRequest {
    std::string method; // "GET", "POST" ...
    std::string path;   // percent-decoded, without the query
    std::string query;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    std::string remote; // peer address, for logs

    // The header's value, "" when absent.
    std::string header(const std::string& lower_name) const;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Called once per request; answers by calling the responder exactly once, from any thread (the
// handler may return first and answer later, when a worker has replied).
using Responder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, Responder)>;

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080; // 0 = any free port (see port())
    size_t max_body_bytes = 10u << 20;
    double read_timeout_seconds = 10; // a request must arrive whole within this (else 408)
    double idle_timeout_seconds = 60; // a kept-alive connection with no request is closed after this
    unsigned threads = 2;
    size_t max_connections = 1024;           // beyond it, new connections get 503 and are closed
    std::string tls_cert_file, tls_key_file; // both set = HTTPS only
};

// An HTTP/1.1 server (Boost.Beast over Asio) with bounded requests: body size (413), header size
// (431), read time (408), connection count (503), malformed requests (400). Keeps connections
// alive; TLS through OpenSSL when a certificate is given.
class HttpServer {
  public:
    // Binds and starts serving on background threads. A busy port or an unreadable certificate
    // is an error naming it.
    static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpHandler handler);
    ~HttpServer();
    int port() const;
    // Stops accepting, lets requests in flight finish (up to `drain_seconds`), then closes every
    // connection. Idempotent.
    void stop(double drain_seconds = 10);

    struct Impl;

  private:
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace mlo::serve
