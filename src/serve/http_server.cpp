// The HTTP layer of mlo serve, on Boost.Beast and Asio.
//
// Every connection is a session that reads one request, hands it to the handler, and writes the
// answer when the handler calls back — possibly much later and from another thread (a worker
// process answering), so the answer is posted onto the session's event loop. Only then is the
// next request on that connection read. A few I/O threads carry any number of connections because
// nothing blocks on them: the waiting happens in the batcher and the worker pool. Each thread runs
// its own loop and a connection stays on the loop that accepted it, so a session's handlers never
// run at the same time and need no strand.
//
// Bounds, each answered with its status and then the connection closed: a body over the limit
// (413), headers over 16 KiB (431), a request that does not arrive whole within the read timeout
// (408: a slow client cannot hold a connection forever), a malformed request (400), and more
// connections than allowed (503). An idle kept-alive connection is closed silently, and so is one
// whose client does not take its answer within the read timeout.
//
// Stopping (graceful shutdown): the acceptor closes, the server waits until every request in
// flight has been answered (up to the drain time), and only then are connections closed and the
// threads joined, so a request that was accepted is answered.

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mlo/serve/http_server.hpp>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <thread>

namespace mlo::serve {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

std::string HttpRequest::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

namespace {

constexpr size_t k_header_limit = 16 * 1024;
constexpr size_t k_read_bytes = 64 * 1024; // room offered to each socket read

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Handlers on these threads write requests straight into worker pipes (WorkerPool::submit); with
// SIGPIPE blocked, a worker that died makes that write fail with EPIPE instead of killing mlo.
// Sockets are unaffected: Asio sends with MSG_NOSIGNAL.
void block_sigpipe() {
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::chrono::steady_clock::duration seconds(double value) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(value));
}

} // namespace

struct HttpServer::Impl {
    HttpServerOptions options;
    HttpHandler handler;
    // One event loop per thread, each run by its thread alone (concurrency hint 1): a connection
    // lives on one loop for its whole life, so its handlers never run concurrently and need no
    // strand, and no loop's queue is shared by two threads (with one loop for all threads, its
    // lock was contended on every completion).
    std::vector<std::unique_ptr<net::io_context>> loops;
    // Keep the loops running while sessions wait for the handler's answers: that wait is no I/O,
    // so without the guards the threads would leave once the acceptor closes at shutdown.
    std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
    size_t next_loop = 0; // the loop the next accepted connection joins (round robin)
    std::optional<ssl::context> tls;
    std::optional<tcp::acceptor> acceptor; // on loops[0]
    std::vector<std::thread> threads;
    std::atomic<size_t> connections{0};
    std::atomic<bool> stopping{false};
    // Requests in flight, counted without a lock on every request; the mutex and condition are
    // for stop(), which waits for the count to reach zero.
    std::atomic<size_t> in_flight{0};
    std::mutex drain_mutex;
    std::condition_variable drained;
    bool stopped = false;
    int bound_port = 0;

    void request_started() { in_flight.fetch_add(1, std::memory_order_relaxed); }
    void request_finished() {
        if (in_flight.fetch_sub(1) == 1 && stopping.load()) {
            std::lock_guard lock(drain_mutex); // so stop() cannot miss the notification
            drained.notify_all();
        }
    }

    void accept();

    // The loops go first, while everything their pending handlers (the sessions) refer to, the
    // counters and the TLS context, still exists; the acceptor before its loop.
    ~Impl() {
        acceptor.reset();
        work.clear();
        loops.clear();
    }
};

namespace {

// One connection. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream> class Session : public std::enable_shared_from_this<Session<Stream>> {
  public:
    Session(HttpServer::Impl& server, Stream stream, std::string remote)
        : m_server(server), m_stream(std::move(stream)), m_watchdog(m_stream.get_executor()),
          m_remote(std::move(remote)) {}

    ~Session() { --m_server.connections; }

    void start() {
        watch();
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            read();
        } else {
            expect_within(m_server.options.read_timeout_seconds, Phase::reading);
            m_stream.async_handshake(ssl::stream_base::server,
                                     [self = this->shared_from_this()](beast::error_code ec) {
                                         if (ec)
                                             self->close();
                                         else
                                             self->read();
                                     });
        }
    }

    // Answers at once with `status` and closes (used when over the connection limit).
    void refuse(int status, const std::string& message) {
        watch();
        m_close_after = true;
        write(HttpResponse{status, "application/json", "{\"error\":\"" + message + "\"}", {}});
    }

  private:
    using Clock = std::chrono::steady_clock;
    // What the connection waits for, which decides what its deadline means.
    enum class Phase { reading, handling, writing };

    beast::tcp_stream& tcp_layer() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
            return m_stream;
        else
            return beast::get_lowest_layer(m_stream);
    }

    // Deadlines. Every connection has one watchdog timer, armed when the connection opens and
    // re-armed each time it fires, never more than the shortest timeout ahead; a deadline is
    // just a time stored in the session. Setting one for each read and write costs nothing, where
    // arming a timer per operation (and cancelling it when the operation finished in time) cost
    // a timer update, a cancelled wait and its handler on every request.
    void expect_within(double seconds_from_now, Phase phase) {
        m_phase = phase;
        m_deadline_at = Clock::now() + seconds(seconds_from_now);
    }
    void no_deadline() {
        m_phase = Phase::handling; // the handler may take as long as the model needs
        m_deadline_at = Clock::time_point::max();
    }

    void watch() {
        auto shortest =
            seconds(std::min(m_server.options.read_timeout_seconds, m_server.options.idle_timeout_seconds));
        auto now = Clock::now();
        auto wait =
            m_deadline_at == Clock::time_point::max() ? shortest : std::min(shortest, m_deadline_at - now);
        m_watchdog.expires_after(std::max(wait, Clock::duration::zero()));
        m_watchdog.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (ec || self->m_closed)
                return; // cancelled: the connection closed
            if (Clock::now() >= self->m_deadline_at)
                self->on_deadline();
            self->watch();
        });
    }

    // A read that did not finish in time is cancelled, not the socket closed: a slow client must
    // still be told 408 before the connection closes (on_read_error). A write that did not finish
    // in time (a client that does not read its answer) closes the connection.
    void on_deadline() {
        m_deadline_at = Clock::time_point::max();
        beast::error_code ignored;
        if (m_phase == Phase::reading) {
            m_timed_out = true;
            tcp_layer().socket().cancel(ignored);
        } else if (m_phase == Phase::writing) {
            tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
            tcp_layer().socket().cancel(ignored);
        }
    }

    // Reading a request: the connection's bytes are fed to Beast's parser as they arrive, one
    // socket read per request as a rule (http::async_read_header followed by http::async_read cost
    // two composed operations and a posted completion per request). Bytes of the next request
    // (a pipelining client) stay in m_buffer for the next call.
    void read() {
        m_parser.emplace();
        m_parser->body_limit(m_server.options.max_body_bytes);
        m_parser->header_limit(k_header_limit);
        m_parser->eager(true); // parse the body in the same call as the header
        m_timed_out = false;
        // A new request on a kept-alive connection may take the idle time to start; once its
        // first bytes are in, the read timeout applies to the rest (set in on_bytes).
        m_awaiting_first_byte = m_buffer.size() == 0;
        expect_within(m_awaiting_first_byte ? m_server.options.idle_timeout_seconds
                                            : m_server.options.read_timeout_seconds,
                      Phase::reading);
        parse_buffered();
    }

    // Feeds the buffered bytes to the parser; reads more while the request is not whole.
    void parse_buffered() {
        beast::error_code ec;
        while (m_buffer.size() > 0 && !m_parser->is_done()) {
            size_t used = m_parser->put(m_buffer.data(), ec);
            m_buffer.consume(used);
            if (ec == http::error::need_more) {
                ec = {};
                break;
            }
            if (ec) {
                on_read_error(ec);
                return;
            }
            if (used == 0)
                break;
        }
        if (m_parser->is_done()) {
            on_read({});
            return;
        }
        m_stream.async_read_some(m_buffer.prepare(k_read_bytes),
                                 [self = this->shared_from_this()](beast::error_code read_ec, size_t bytes) {
                                     self->on_bytes(read_ec, bytes);
                                 });
    }

    void on_bytes(beast::error_code ec, size_t bytes) {
        if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
            if (!m_parser->got_some() && m_buffer.size() == 0) {
                on_read_error(http::error::end_of_stream); // closed between requests
                return;
            }
            m_parser->put_eof(ec); // complete only if the message had no length (never a request)
            if (!ec && m_parser->is_done())
                on_read({});
            else
                on_read_error(ec ? ec : beast::error_code(http::error::partial_message));
            return;
        }
        if (ec) {
            on_read_error(ec);
            return;
        }
        if (m_awaiting_first_byte && bytes > 0) {
            m_awaiting_first_byte = false;
            expect_within(m_server.options.read_timeout_seconds, Phase::reading);
        }
        m_buffer.commit(bytes);
        parse_buffered();
    }

    void on_read_error(beast::error_code ec) {
        no_deadline();
        if (m_timed_out && ec == net::error::operation_aborted)
            ec = beast::error::timeout;
        if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
            ec == net::ssl::error::stream_truncated) {
            close();
            return;
        }
        if (ec == beast::error::timeout) {
            // Nothing of a request yet: an idle keep-alive connection, closed quietly.
            if (!m_parser || (!m_parser->got_some() && m_buffer.size() == 0)) {
                close();
                return;
            }
            m_close_after = true;
            write(error_response(
                408, "the request did not arrive within " +
                         std::to_string(static_cast<int>(m_server.options.read_timeout_seconds)) + " s"));
            return;
        }
        m_close_after = true;
        if (ec == http::error::body_limit)
            write(error_response(413, "the request body is larger than the limit of " +
                                          std::to_string(m_server.options.max_body_bytes) + " bytes"));
        else if (ec == http::error::header_limit)
            write(error_response(431, "the request headers are larger than 16 KiB"));
        else
            write(error_response(400, "malformed HTTP request: " + ec.message()));
    }

    static HttpResponse error_response(int status, const std::string& message) {
        std::string escaped;
        for (char c : message)
            escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
        return HttpResponse{status, "application/json", "{\"error\":\"" + escaped + "\"}", {}};
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            on_read_error(ec);
            return;
        }
        no_deadline();
        auto message = m_parser->release();
        m_keep_alive = message.keep_alive();
        m_head_request = message.method() == http::verb::head;
        HttpRequest request;
        request.method = std::string(message.method_string().data(), message.method_string().size());
        std::string_view target(message.target().data(), message.target().size());
        size_t question = target.find('?');
        request.path = percent_decode(target.substr(0, question));
        if (question != std::string_view::npos)
            request.query = std::string(target.substr(question + 1));
        for (const auto& field : message)
            request
                .headers[to_lower(std::string_view(field.name_string().data(), field.name_string().size()))] =
                std::string(field.value());
        request.body = std::move(message.body());
        request.remote = m_remote;
        m_server.request_started();
        auto self = this->shared_from_this();
        auto executor = m_stream.get_executor();
        auto answered = std::make_shared<std::atomic<bool>>(false);
        m_server.handler(std::move(request), [self, executor, answered](HttpResponse response) {
            if (answered->exchange(true))
                return; // a second answer is a bug in the caller; the first one stands
            net::post(executor, [self, response = std::move(response)]() mutable {
                self->write(std::move(response));
                self->m_server.request_finished();
            });
        });
    }

    // The answer is written as two buffers, its head (formatted here) and its body: Beast's
    // message and serializer cost more per request than the bytes themselves (a field list,
    // a shared message, and a chain of buffer views walked on every send).
    void write(HttpResponse response) {
        bool close_after = m_close_after || !m_keep_alive || m_server.stopping.load();
        m_head = head_bytes(response, close_after);
        m_body = m_head_request ? std::string() : std::move(response.body);
        expect_within(m_server.options.read_timeout_seconds, Phase::writing);
        std::array<net::const_buffer, 2> buffers{net::buffer(m_head), net::buffer(m_body)};
        net::async_write(m_stream, buffers,
                         [self = this->shared_from_this(), close_after](beast::error_code ec, size_t) {
                             if (ec || close_after) {
                                 self->close();
                                 return;
                             }
                             self->read();
                         });
    }

    // The status line and headers of `response`, as HTTP/1.1: Server, Content-Type, the handler's
    // headers, Content-Length (the body's, also for HEAD, which then sends none) and, when the
    // connection ends after it, Connection: close.
    static std::string head_bytes(const HttpResponse& response, bool close_after) {
        auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
        std::string head;
        head.reserve(160);
        head += "HTTP/1.1 ";
        head += std::to_string(response.status);
        head += ' ';
        head.append(reason.data(), reason.size());
        head += "\r\nServer: mlo\r\nContent-Type: ";
        append_field_value(head, response.content_type);
        for (const auto& [name, value] : response.headers) {
            head += "\r\n";
            append_field_value(head, name);
            head += ": ";
            append_field_value(head, value);
        }
        head += "\r\nContent-Length: ";
        head += std::to_string(response.body.size());
        if (close_after)
            head += "\r\nConnection: close";
        head += "\r\n\r\n";
        return head;
    }

    // Field names and values come from the handlers, some from request data (a request id): a
    // line break in one would split the head, so CR and LF are dropped.
    static void append_field_value(std::string& head, std::string_view text) {
        for (char c : text)
            if (c != '\r' && c != '\n')
                head += c;
    }

    void close() {
        m_closed = true;
        m_watchdog.cancel();
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            beast::error_code ignored;
            m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        } else {
            tcp_layer().expires_after(std::chrono::seconds(2));
            m_stream.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        }
    }

    HttpServer::Impl& m_server;
    Stream m_stream;
    net::steady_timer m_watchdog;
    Clock::time_point m_deadline_at = Clock::time_point::max();
    Phase m_phase = Phase::handling;
    bool m_timed_out = false; // the read was cancelled by its deadline
    bool m_closed = false;
    std::string m_remote;
    beast::flat_buffer m_buffer;
    std::optional<http::request_parser<http::string_body>> m_parser;
    std::string m_head, m_body;         // the answer being written
    bool m_awaiting_first_byte = false; // of the next request: the idle timeout applies
    bool m_keep_alive = true;
    bool m_head_request = false;
    bool m_close_after = false;
};

} // namespace

void HttpServer::Impl::accept() {
    net::io_context& loop = *loops[next_loop];
    next_loop = (next_loop + 1) % loops.size();
    acceptor->async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
        if (ec) {
            if (!stopping.load() && ec != net::error::operation_aborted)
                accept();
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto endpoint = socket.remote_endpoint(ignored);
        std::string remote =
            ignored ? "?" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
        bool over_limit = ++connections > options.max_connections;
        if (tls && over_limit) {
            // No handshake is spent on a connection that would be refused: it is closed at once.
            --connections;
            socket.close(ignored);
        } else if (tls) {
            auto session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                *this, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), remote);
            session->start();
        } else {
            auto session = std::make_shared<Session<beast::tcp_stream>>(
                *this, beast::tcp_stream(std::move(socket)), remote);
            if (over_limit)
                session->refuse(503, "too many connections");
            else
                session->start();
        }
        if (!stopping.load())
            accept();
    });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

HttpServer::~HttpServer() {
    stop(0);
}

int HttpServer::port() const {
    return m_impl->bound_port;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpHandler handler) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->handler = std::move(handler);
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
        if (options.tls_cert_file.empty() || options.tls_key_file.empty())
            return fail(ErrorCode::usage, "TLS needs both a certificate and its private key");
        impl->tls.emplace(ssl::context::tls_server);
        impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        beast::error_code ec;
        impl->tls->use_certificate_chain_file(options.tls_cert_file, ec);
        if (ec)
            return fail(ErrorCode::input, "TLS certificate " + options.tls_cert_file + ": " + ec.message());
        impl->tls->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
        if (ec)
            return fail(ErrorCode::input, "TLS private key " + options.tls_key_file + ": " + ec.message());
    }
    beast::error_code ec;
    auto address = net::ip::make_address(options.host, ec);
    if (ec)
        return fail(ErrorCode::usage, "'" + options.host + "' is not an IP address to listen on");
    unsigned threads = std::max(1u, options.threads);
    for (unsigned i = 0; i < threads; ++i) {
        impl->loops.push_back(std::make_unique<net::io_context>(1));
        impl->work.push_back(net::make_work_guard(*impl->loops.back()));
    }
    impl->acceptor.emplace(*impl->loops.front());
    tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
    impl->acceptor->open(endpoint.protocol(), ec);
    if (!ec)
        impl->acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        impl->acceptor->bind(endpoint, ec);
    if (!ec)
        impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return fail(
            ErrorCode::precondition,
            "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + ec.message(),
            ec == net::error::address_in_use ? "another process uses the port; choose one with --port" : "");
    impl->bound_port = impl->acceptor->local_endpoint().port();
    impl->accept();
    for (auto& loop : impl->loops)
        impl->threads.emplace_back([loop = loop.get()] {
            block_sigpipe();
            loop->run();
        });
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::stop(double drain_seconds) {
    Impl& impl = *m_impl;
    {
        std::lock_guard lock(impl.drain_mutex);
        if (impl.stopped)
            return;
        impl.stopped = true;
    }
    impl.stopping = true;
    net::post(impl.acceptor->get_executor(), [&impl] {
        beast::error_code ignored;
        impl.acceptor->close(ignored);
    });
    {
        std::unique_lock lock(impl.drain_mutex);
        impl.drained.wait_for(lock, std::chrono::duration<double>(drain_seconds),
                              [&] { return impl.in_flight.load() == 0; });
    }
    // Give the last answers a moment to be written before the loops stop.
    std::this_thread::sleep_for(std::chrono::milliseconds(drain_seconds > 0 ? 50 : 0));
    impl.work.clear();
    for (auto& loop : impl.loops)
        loop->stop();
    for (auto& thread : impl.threads)
        if (thread.joinable())
            thread.join();
}

} // namespace mlo::serve
