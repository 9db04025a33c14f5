// The model server's worker processes.
//
// A worker is any program that reads requests as JSON lines on stdin and writes answers as JSON
// lines on stdout (SPEC.md section 6). Loading a model takes seconds, so workers are long-lived:
// `start` spawns them once, waits for each to print {"ready": true}, and from then on requests are
// streamed to them.
//
// Pipelining and matching by id. mlo does not wait for an answer before writing the next request to
// the same worker: while the worker computes one batch, the next is already in its stdin pipe, so
// the worker never idles between requests and one slow batch does not hold a connection. Each
// request carries a pool-wide unique id ("b17"), and answers are matched to requests by that id
// alone, not by order: a worker may answer out of order (a thread pool inside the worker, a cache
// hit answered early) and nothing gets mixed up. A request goes to the live worker with the fewest
// requests outstanding (ties in turn), which is least-busy balancing without any estimate of cost.
// Requests that timed out still count as outstanding until their late answer arrives (and is
// dropped), so a worker stuck on a long request stops attracting new ones.
//
// One thread reads everything. It polls every worker's stdout, stderr and (when there is something
// left to write) stdin, plus an eventfd that `submit` and `stop` write to wake it. `submit`
// serialises the request and, when nothing is queued for the chosen worker, writes the line into
// its pipe itself with a non-blocking write: the worker gets the request without the pool thread
// being woken, which on a loaded machine is most of what a request costs the gateway (a context
// switch there and back). What the pipe does not take, or everything when the caller's thread
// could be killed by SIGPIPE, goes to the worker's write buffer and the pool thread is woken to
// write it as the pipe drains, so a caller never blocks on a worker that is slow to read. A write
// to a worker that has gone away must fail with EPIPE (the pending, thread-directed SIGPIPE is
// consumed with sigtimedwait) instead of killing mlo, and count as the worker's death: the pool
// thread keeps SIGPIPE blocked, the HTTP server's threads do too, and other threads hand the
// write to the pool thread. Every callback (`done`,
// on_stderr, on_event) runs on the pool thread with the pool's lock released, so a callback may call
// `submit`; `done` runs exactly once per request, and only the pool thread completes requests.
//
// What a crash does. A worker's death shows as EOF on its stdout, EPIPE on its stdin, or (checked
// once a second, for a worker whose stdout is held open by a child) its exit status. The process is
// given a second to finish exiting and is then SIGKILLed; its exit status is read, and every
// request in flight on it, written or still queued, fails with 503 naming that status ("worker 1
// was killed by signal 9 (SIGKILL) while the request was in flight"). Those requests are not
// retried on another worker: a request that crashes a worker would crash them all in turn, and the
// caller (the HTTP layer) can decide. As in stage_process.cpp the worker is reaped only at the very
// end, after a SIGKILL to its whole process group: until then its zombie keeps the group id from
// being reused, so kill(-pgid) never hits a stranger, and nothing the worker started survives it.
//
// Restarts and backoff. A worker that dies after start() is restarted after a delay that starts at
// 0.1 s and doubles, up to 5 s, each time it dies again before printing {"ready": true}; a worker
// that got ready resets its delay. A broken model (an import error, a missing file) thus costs a
// few restarts a minute instead of a busy loop, while a worker that crashed once on a bad input is
// back within 0.1 s plus its load time. Each restart is counted and reported through on_event.
// During start() nothing is restarted: a worker that cannot get ready fails the start with its last
// stderr lines, since a model that does not load is a configuration problem to show, not to retry.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fmt/format.h>
#include <mlo/serve/worker_pool.hpp>
#include <mlo/util/child_process.hpp>
#include <mlo/util/file_io.hpp>
#include <mutex>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mlo::serve {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using util::UniqueFd;

constexpr double k_first_backoff_seconds = 0.1;
constexpr double k_max_backoff_seconds = 5;
constexpr double k_max_timeout_seconds = 1e7;          // longer timeouts are "forever" (and cannot overflow)
constexpr auto k_exit_grace = std::chrono::seconds(1); // after EOF/EPIPE, to exit by itself
constexpr auto k_exit_poll = std::chrono::milliseconds(10);
constexpr auto k_sweep_interval = std::chrono::seconds(1);
constexpr auto k_unkillable_limit = std::chrono::seconds(5); // after SIGKILL, when stopping
constexpr auto k_max_poll_wait = std::chrono::seconds(1);
constexpr size_t k_kept_stderr_lines = 20;
constexpr size_t k_max_stderr_line = size_t{64} * 1024;
constexpr size_t k_quote_chars = 200;
constexpr size_t k_compact_after = 1 << 20;

Clock::duration seconds_duration(double seconds) {
    seconds = std::clamp(seconds, 0.0, k_max_timeout_seconds);
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string quote(std::string_view line) {
    std::string text(line.substr(0, k_quote_chars));
    if (line.size() > k_quote_chars)
        text += "...";
    return "'" + text + "'";
}

std::string describe_exit(int status) {
    if (WIFEXITED(status))
        return fmt::format("exited with status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
        if (const char* name = ::sigabbrev_np(sig))
            return fmt::format("was killed by signal {} (SIG{})", sig, name);
#endif
        return fmt::format("was killed by signal {}", sig);
    }
    return "exited";
}

WorkerResult failure(int status, std::string message) {
    WorkerResult result;
    result.status = status;
    result.error = std::move(message);
    return result;
}

// --- Spawning (the same rules as pipeline/stage_process.cpp; see the essay there) -----------------

using util::make_pipe;

// Only mlo's end is non-blocking: each end of a pipe is its own open file description.
Status set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return fail(system_error("cannot make a pipe non-blocking", errno));
    return {};
}

using util::build_environment;

struct Spawned {
    pid_t pid = -1;
    UniqueFd in, out, err; // mlo's ends, close-on-exec and non-blocking
};

// Starts `/bin/sh -c command` in a new process group with stdin, stdout and stderr on pipes, an
// empty signal mask and default dispositions (the pool thread blocks SIGPIPE; the child must not).
Result<Spawned> spawn_worker(const std::string& command, const std::filesystem::path& cwd,
                             const std::vector<std::string>& env) {
    auto in = make_pipe();
    if (!in)
        return fail(std::move(in).error());
    auto out = make_pipe();
    if (!out)
        return fail(std::move(out).error());
    auto err = make_pipe();
    if (!err)
        return fail(std::move(err).error());

    auto pid = util::spawn_shell(command, cwd, env, in->read_end.get(), out->write_end.get(),
                                 err->write_end.get(), "the worker");
    if (!pid)
        return fail(std::move(pid).error());
    Spawned spawned;
    spawned.pid = *pid;
    spawned.in = std::move(in->write_end);
    spawned.out = std::move(out->read_end);
    spawned.err = std::move(err->read_end);
    // The child's ends close here, so EOF and EPIPE mean the worker (and its children) are gone.
    for (int fd : {spawned.in.get(), spawned.out.get(), spawned.err.get()})
        if (auto nonblocking = set_nonblocking(fd); !nonblocking) {
            ::kill(-spawned.pid, SIGKILL);
            int status = 0;
            while (::waitpid(spawned.pid, &status, 0) < 0 && errno == EINTR) {
            }
            return fail(std::move(nonblocking).error());
        }
    return spawned;
}

// Consumes the SIGPIPE a failed write raised on this thread (it is blocked here, so it is pending).
void consume_sigpipe() {
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGPIPE);
    timespec zero{0, 0};
    while (::sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
    }
}

// Whether a write to a broken pipe on this thread fails with EPIPE instead of killing mlo: SIGPIPE
// blocked here (the pool thread, the HTTP server's threads) or ignored process-wide.
bool sigpipe_blocked_here() {
    // Threads that block SIGPIPE do so when they start and never unblock it, so a "blocked" answer
    // is kept: the question is asked on every request, and asking the kernel cost a system call.
    thread_local bool known_blocked = false;
    if (known_blocked)
        return true;
    sigset_t mask;
    if (::pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0 && ::sigismember(&mask, SIGPIPE) == 1)
        return known_blocked = true;
    struct sigaction action {};
    return ::sigaction(SIGPIPE, nullptr, &action) == 0 && action.sa_handler == SIG_IGN;
}

// A non-blocking write of as much of `data` as the pipe takes now; nullopt when the reader is gone
// (EPIPE, whose SIGPIPE is consumed) or the write fails otherwise.
std::optional<size_t> write_some(int fd, std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EPIPE)
            consume_sigpipe();
        return std::nullopt;
    }
    return done;
}

// Calls `each` with every complete line of `buffer` (searching from `from`, where new bytes began)
// and removes them; the partial rest stays.
template <typename Each> void take_lines(std::string& buffer, size_t from, Each&& each) {
    size_t start = 0;
    for (size_t newline; (newline = buffer.find('\n', from)) != std::string::npos; from = start) {
        each(std::string_view(buffer).substr(start, newline - start));
        start = newline + 1;
    }
    buffer.erase(0, start);
}

// --- One worker slot ---------------------------------------------------------------------------

struct Worker;
using Deadlines = std::multimap<Clock::time_point, std::pair<Worker*, std::string>>;

struct Pending {
    std::function<void(WorkerResult)> done;
    double timeout_seconds = 0;
    std::optional<Deadlines::iterator> deadline;
    std::optional<Clock::time_point> written; // when its line went into the pipe
};

enum class State {
    idle,     // no process and none coming (before start, after a failed start, after stop)
    starting, // spawned, waiting for {"ready": true}
    ready,    // takes requests
    exiting,  // dying or being killed; waiting to read its exit status
    waiting,  // dead; respawns at restart_at
};

struct Worker {
    unsigned number = 0;
    State state = State::idle;
    pid_t pid = -1;
    UniqueFd in, out, err;
    std::string out_partial, err_partial;

    std::string to_write; // request lines not yet in the pipe, from write_offset on
    size_t write_offset = 0;
    uint64_t queued_bytes = 0, written_bytes = 0;
    std::deque<std::pair<uint64_t, std::string>> line_ends; // queued_bytes after each request, its id

    std::unordered_map<std::string, Pending> pending;
    std::unordered_set<std::string> expired; // timed out, answer still to come (and be dropped)
    std::deque<std::string> last_stderr;

    bool was_ready = false; // this process printed {"ready": true}
    bool killed = false;    // mlo sent this process SIGKILL
    bool lost = false;      // someone else reaped it: its pid must not be signalled
    std::string trigger;    // what showed that it is dying ("closed its stdout")
    std::string cause;      // why mlo ended it; replaces the exit status in messages
    Clock::time_point ready_deadline{}, exit_deadline{}, restart_at{};
    double backoff = k_first_backoff_seconds;

    size_t load() const { return pending.size() + expired.size(); }
    bool has_process() const {
        return state == State::starting || state == State::ready || state == State::exiting;
    }
};

} // namespace

// --- The pool ----------------------------------------------------------------------------------

struct WorkerPool::Impl {
    enum class Phase { starting, running, stopping, stopped };

    WorkerOptions options;
    std::vector<std::string> env;
    std::vector<std::unique_ptr<Worker>> workers;
    UniqueFd wake_fd;
    std::thread thread;
    std::atomic<uint64_t> next_id{0};
    std::mutex stop_mutex; // one stop() at a time

    // Everything below is guarded by `mutex`.
    mutable std::mutex mutex;
    std::condition_variable changed; // start() waits for readiness or a start failure
    Phase phase = Phase::starting;
    bool shutdown_begun = false;
    double grace_seconds = 5;
    Clock::time_point stop_deadline{};
    std::string start_error;
    Deadlines deadlines;
    std::vector<std::function<void()>> actions; // callbacks to run once the lock is released
    uint64_t restarts = 0;
    unsigned cursor = 0;
    Clock::time_point next_sweep{};
    // When the pool thread's poll times out at the latest; a request with an earlier deadline
    // must wake it.
    Clock::time_point poll_until{};

    void wake() const {
        uint64_t one = 1;
        [[maybe_unused]] auto ignored = ::write(wake_fd.get(), &one, sizeof one);
    }

    void event(std::string text) {
        if (options.on_event)
            actions.emplace_back([this, text = std::move(text)] { options.on_event(text); });
    }

    void finish(Pending& pending, WorkerResult result) {
        if (pending.deadline) {
            deadlines.erase(*pending.deadline);
            pending.deadline.reset();
        }
        if (pending.done)
            actions.emplace_back([done = std::move(pending.done), result = std::move(result)]() mutable {
                done(std::move(result));
            });
    }

    // Fails every request on `w` (written or queued) and forgets what was queued for it.
    void fail_all(Worker& w, int status, const std::string& message) {
        for (auto& [id, pending] : w.pending)
            finish(pending, failure(status, message));
        w.pending.clear();
        w.expired.clear();
        w.to_write.clear();
        w.write_offset = 0;
        w.queued_bytes = w.written_bytes = 0;
        w.line_ends.clear();
    }

    Status spawn(Worker& w, Clock::time_point now) {
        auto spawned = spawn_worker(options.command, options.cwd, env);
        if (!spawned)
            return fail(std::move(spawned).error());
        w.pid = spawned->pid;
        w.in = std::move(spawned->in);
        w.out = std::move(spawned->out);
        w.err = std::move(spawned->err);
        w.out_partial.clear();
        w.err_partial.clear();
        w.last_stderr.clear();
        w.was_ready = w.killed = w.lost = false;
        w.trigger.clear();
        w.cause.clear();
        w.state = State::starting;
        w.ready_deadline = options.ready_timeout_seconds > 0
                               ? now + seconds_duration(options.ready_timeout_seconds)
                               : Clock::time_point::max();
        return {};
    }

    // Whether the worker's shell has exited, without reaping it (the zombie pins the group id).
    bool has_exited(Worker& w) {
        for (;;) {
            siginfo_t info;
            std::memset(&info, 0, sizeof info);
            if (::waitid(P_PID, static_cast<id_t>(w.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0)
                return info.si_pid == w.pid;
            if (errno == EINTR)
                continue;
            w.lost = true; // ECHILD: reaped elsewhere (SIGCHLD ignored, or a waitpid(-1) somewhere)
            return true;
        }
    }

    void signal_group(Worker& w, int sig) {
        if (!w.lost && w.pid > 0)
            ::kill(-w.pid, sig);
    }

    // The worker showed signs of dying: stop writing to it and give it a moment to exit by itself.
    void begin_exit(Worker& w, const char* trigger, Clock::time_point now) {
        if (w.state == State::exiting)
            return;
        w.state = State::exiting;
        w.trigger = trigger;
        w.in = UniqueFd();
        w.exit_deadline = now + k_exit_grace;
    }

    // mlo ends the worker itself (it broke the start handshake).
    void kill_now(Worker& w, std::string cause, Clock::time_point now) {
        if (w.cause.empty())
            w.cause = std::move(cause);
        signal_group(w, SIGKILL);
        w.killed = true;
        w.state = State::exiting;
        w.in = UniqueFd();
        w.exit_deadline = now;
    }

    void become_ready(Worker& w) {
        w.state = State::ready;
        w.was_ready = true;
        w.backoff = k_first_backoff_seconds;
        if (phase == Phase::starting) {
            bool all = std::all_of(workers.begin(), workers.end(),
                                   [](const auto& other) { return other->state == State::ready; });
            if (all) {
                phase = Phase::running;
                changed.notify_all();
            }
        } else if (phase == Phase::running) {
            event(fmt::format("worker {} restarted and ready", w.number));
        }
    }

    void on_stdout_line(Worker& w, std::string_view line, Clock::time_point now) {
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            return;
        Json message = Json::parse(line, nullptr, false);
        if (w.state == State::starting) {
            auto ready = message.is_object() ? message.find("ready") : message.end();
            if (message.is_object() && ready != message.end() && ready->is_boolean() && ready->get<bool>())
                become_ready(w);
            else
                kill_now(w, "printed " + quote(line) + R"( before {"ready": true})", now);
            return;
        }
        if (w.state != State::ready && !(w.state == State::exiting && w.was_ready))
            return; // after a broken handshake nothing it prints matters
        if (message.is_discarded() || !message.is_object()) {
            event(fmt::format("worker {} printed a line that is not a JSON object; ignored: {}", w.number,
                              quote(line)));
            return;
        }
        auto id_field = message.find("id");
        std::string id =
            id_field != message.end() && id_field->is_string() ? id_field->get<std::string>() : "";
        auto it = id.empty() ? w.pending.end() : w.pending.find(id);
        if (it == w.pending.end()) {
            if (!id.empty() && w.expired.erase(id) > 0)
                event(fmt::format("worker {} answered request {} after it timed out; answer dropped",
                                  w.number, id));
            else
                event(
                    fmt::format("worker {} printed a line without the id of a request in flight; ignored: {}",
                                w.number, quote(line)));
            return;
        }
        WorkerResult result;
        if (it->second.written)
            result.compute_seconds = std::chrono::duration<double>(now - *it->second.written).count();
        if (auto error = message.find("error"); error != message.end()) {
            result.status = 500;
            result.error = error->is_string() ? error->get<std::string>()
                                              : error->dump(-1, ' ', false, Json::error_handler_t::replace);
        } else if (auto outputs = message.find("outputs"); outputs != message.end() && outputs->is_object()) {
            result.ok = true;
            result.status = 200;
            result.outputs = std::move(*outputs);
        } else {
            result.status = 500;
            result.error =
                fmt::format(R"(worker {} answered request {} without an "outputs" object)", w.number, id);
        }
        finish(it->second, std::move(result));
        w.pending.erase(it);
    }

    void on_stderr_line(Worker& w, std::string_view line) {
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        w.last_stderr.emplace_back(line);
        if (w.last_stderr.size() > k_kept_stderr_lines)
            w.last_stderr.pop_front();
        if (options.on_stderr)
            actions.emplace_back(
                [this, number = w.number, text = std::string(line)] { options.on_stderr(number, text); });
    }

    // Reads what is available; returns false at EOF (or a read error), having closed the stream.
    bool read_stream(Worker& w, bool is_stderr, Clock::time_point now) {
        UniqueFd& fd = is_stderr ? w.err : w.out;
        std::string& partial = is_stderr ? w.err_partial : w.out_partial;
        char buffer[65536];
        ssize_t n;
        do {
            n = ::read(fd.get(), buffer, sizeof buffer);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0) {
            fd = UniqueFd();
            if (!partial.empty()) {
                std::string last = std::move(partial);
                partial.clear();
                if (is_stderr)
                    on_stderr_line(w, last);
                else
                    on_stdout_line(w, last, now);
            }
            return false;
        }
        size_t from = partial.size();
        partial.append(buffer, static_cast<size_t>(n));
        if (is_stderr) {
            take_lines(partial, from, [&](std::string_view line) { on_stderr_line(w, line); });
            if (partial.size() > k_max_stderr_line) {
                std::string chunk = std::move(partial);
                partial.clear();
                on_stderr_line(w, chunk);
            }
        } else {
            take_lines(partial, from, [&](std::string_view line) { on_stdout_line(w, line, now); });
        }
        return true;
    }

    void on_readable(Worker& w, bool is_stderr, Clock::time_point now) {
        if (!read_stream(w, is_stderr, now) && !is_stderr &&
            (w.state == State::starting || w.state == State::ready))
            begin_exit(w, "closed its stdout", now);
    }

    void on_writable(Worker& w, Clock::time_point now) {
        if (w.in && w.write_offset < w.to_write.size()) {
            auto written = write_some(w.in.get(), std::string_view(w.to_write).substr(w.write_offset));
            if (!written) {
                begin_exit(w, "closed its stdin", now);
                return;
            }
            w.write_offset += *written;
            w.written_bytes += *written;
        }
        while (!w.line_ends.empty() && w.line_ends.front().first <= w.written_bytes) {
            if (auto it = w.pending.find(w.line_ends.front().second); it != w.pending.end())
                it->second.written = now;
            w.line_ends.pop_front();
        }
        if (w.write_offset == w.to_write.size()) {
            w.to_write.clear();
            w.write_offset = 0;
        } else if (w.write_offset > k_compact_after) {
            w.to_write.erase(0, w.write_offset);
            w.write_offset = 0;
        }
    }

    std::string stderr_tail(const Worker& w) const {
        if (w.last_stderr.empty())
            return "; it printed nothing on stderr";
        std::string text = "; its last stderr lines:";
        for (const auto& line : w.last_stderr)
            text += "\n  " + line;
        return text;
    }

    // The worker's process has exited: take its last output, reap it, fail what it had, and decide
    // what comes next.
    void finalize(Worker& w, Clock::time_point now) {
        while (w.out && read_stream(w, false, now)) {
        }
        while (w.err && read_stream(w, true, now)) {
        }
        // A child of the worker may still hold the pipes; what it writes later is not the worker's.
        w.in = UniqueFd();
        w.out = UniqueFd();
        w.err = UniqueFd();
        int status = 0;
        if (!w.lost) {
            signal_group(w, SIGKILL); // anything the worker left behind in its group
            pid_t reaped;
            do {
                reaped = ::waitpid(w.pid, &status, 0);
            } while (reaped < 0 && errno == EINTR);
            if (reaped < 0)
                w.lost = true;
        }
        std::string how = !w.cause.empty() ? w.cause
                          : w.lost         ? std::string("exited (its exit status was collected elsewhere)")
                                           : describe_exit(status);
        if (w.cause.empty() && !w.was_ready)
            how += " before it was ready";
        w.pid = -1;
        w.state = State::idle;

        if (phase == Phase::stopping || phase == Phase::stopped) {
            fail_all(w, 503, "server shutting down");
            return;
        }
        fail_all(w, 503, fmt::format("worker {} {} while the request was in flight", w.number, how));
        if (phase == Phase::starting) {
            if (start_error.empty()) {
                start_error = fmt::format("worker {} {}{}", w.number, how, stderr_tail(w));
                changed.notify_all();
            }
            return;
        }
        schedule_restart(w, fmt::format("worker {} {}", w.number, how), now);
    }

    void schedule_restart(Worker& w, const std::string& what, Clock::time_point now) {
        ++restarts;
        double delay = w.backoff;
        w.backoff = std::min(delay * 2, k_max_backoff_seconds);
        w.state = State::waiting;
        w.restart_at = now + seconds_duration(delay);
        event(fmt::format("{}; restarting it in {:g} s", what, delay));
    }

    void begin_shutdown(Clock::time_point now) {
        shutdown_begun = true;
        stop_deadline = now + seconds_duration(grace_seconds);
        for (auto& w : workers) {
            fail_all(*w, 503, "server shutting down");
            if (!w->has_process()) {
                w->state = State::idle;
                continue;
            }
            w->in = UniqueFd(); // EOF: a well-behaved worker exits by itself
            signal_group(*w, SIGTERM);
            w->state = State::exiting;
            if (!w->killed)
                w->exit_deadline = stop_deadline;
        }
    }

    void expire_deadlines(Clock::time_point now) {
        while (!deadlines.empty() && deadlines.begin()->first <= now) {
            auto [worker, id] = deadlines.begin()->second;
            deadlines.erase(deadlines.begin());
            auto it = worker->pending.find(id);
            if (it == worker->pending.end())
                continue; // cannot happen: finishing a request removes its deadline
            it->second.deadline.reset();
            finish(it->second, failure(504, fmt::format("worker {} did not answer within {:g} s",
                                                        worker->number, it->second.timeout_seconds)));
            worker->pending.erase(it);
            worker->expired.insert(id);
        }
    }

    void tick(Worker& w, Clock::time_point now, bool sweep) {
        switch (w.state) {
        case State::idle:
            return;
        case State::waiting:
            if (phase == Phase::running && now >= w.restart_at)
                if (auto spawned = spawn(w, now); !spawned)
                    schedule_restart(w,
                                     fmt::format("worker {} could not be restarted: {}", w.number,
                                                 spawned.error().message),
                                     now);
            return;
        case State::starting:
            if (now >= w.ready_deadline) {
                kill_now(w,
                         fmt::format(R"(did not print {{"ready": true}} within {:g} s)",
                                     options.ready_timeout_seconds),
                         now);
                return;
            }
            [[fallthrough]];
        case State::ready:
            if (sweep && has_exited(w))
                begin_exit(w, "exited", now);
            return;
        case State::exiting:
            if (has_exited(w)) {
                finalize(w, now);
                return;
            }
            if (now < w.exit_deadline)
                return;
            if (!w.killed) {
                signal_group(w, SIGKILL);
                w.killed = true;
                if (phase == Phase::stopping) {
                    if (grace_seconds > 0)
                        event(fmt::format("worker {} did not stop within {:g} s; killed", w.number,
                                          grace_seconds));
                } else if (w.cause.empty()) {
                    w.cause = w.trigger + " but did not exit; killed";
                }
                return;
            }
            if (phase == Phase::stopping && now >= w.exit_deadline + k_unkillable_limit) {
                // Not even SIGKILL ends it (uninterruptible sleep): leave it rather than hang mlo.
                event(fmt::format("worker {} (pid {}) did not exit after SIGKILL; left behind", w.number,
                                  w.pid));
                w.in = UniqueFd();
                w.out = UniqueFd();
                w.err = UniqueFd();
                w.pid = -1;
                w.state = State::idle;
            }
            return;
        }
    }

    // How long poll may sleep: until the nearest thing with a deadline.
    int poll_timeout_ms(Clock::time_point now) const {
        Clock::time_point next = now + k_max_poll_wait;
        if (!deadlines.empty())
            next = std::min(next, deadlines.begin()->first);
        if (shutdown_begun)
            next = std::min(next, stop_deadline);
        for (const auto& w : workers) {
            switch (w->state) {
            case State::waiting:
                if (phase == Phase::running)
                    next = std::min(next, w->restart_at);
                break;
            case State::starting:
                next = std::min({next, w->ready_deadline, next_sweep});
                break;
            case State::ready:
                next = std::min(next, next_sweep);
                break;
            case State::exiting:
                next = std::min(next, now + k_exit_poll);
                break;
            case State::idle:
                break;
            }
        }
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
        return static_cast<int>(std::clamp<long long>(wait, 0, 1000));
    }

    // Puts a request line on its way to the worker; returns whether the pool thread must be woken
    // (to write what the pipe did not take, or to see the worker dying). When nothing is queued
    // before it and this thread cannot be killed by SIGPIPE, the line is written here at once, so
    // the request reaches the worker without waking the pool thread: a thread handoff, two context
    // switches, saved per request.
    bool enqueue_line(Worker& w, Pending& pending, std::string id, std::string line) {
        size_t written = 0;
        if (w.to_write.empty() && w.in && sigpipe_blocked_here()) {
            auto result = write_some(w.in.get(), line);
            if (!result) {
                begin_exit(w, "closed its stdin", Clock::now());
                return true;
            }
            written = *result;
        }
        w.queued_bytes += line.size();
        w.written_bytes += written;
        if (written == line.size()) {
            pending.written = Clock::now();
            return false;
        }
        w.to_write.append(line, written);
        w.line_ends.emplace_back(w.queued_bytes, std::move(id));
        return true;
    }

    void run_actions(std::vector<std::function<void()>>& list) {
        for (auto& action : list) {
            // A throwing callback must not end the pool thread (std::terminate would take mlo down).
            try {
                action();
            } catch (...) { // NOLINT(bugprone-empty-catch): nowhere better to report it
            }
        }
        list.clear();
    }

    void loop() {
        sigset_t pipe_only;
        ::sigemptyset(&pipe_only);
        ::sigaddset(&pipe_only, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

        std::vector<pollfd> fds;
        struct Source {
            Worker* worker;
            int kind; // 0 stdout, 1 stderr, 2 stdin
        };
        std::vector<Source> sources;
        std::vector<std::function<void()>> ready_actions;

        std::unique_lock lock(mutex);
        for (;;) {
            auto now = Clock::now();
            if (phase == Phase::stopping && !shutdown_begun)
                begin_shutdown(now);
            expire_deadlines(now);
            bool sweep = now >= next_sweep;
            if (sweep)
                next_sweep = now + k_sweep_interval;
            for (auto& w : workers)
                tick(*w, now, sweep);
            if (shutdown_begun) {
                bool all_gone = std::none_of(workers.begin(), workers.end(),
                                             [](const auto& w) { return w->has_process(); });
                if (all_gone)
                    break;
            }

            fds.clear();
            sources.clear();
            fds.push_back(pollfd{wake_fd.get(), POLLIN, 0});
            sources.push_back(Source{nullptr, -1});
            for (auto& w : workers) {
                if (w->out) {
                    fds.push_back(pollfd{w->out.get(), POLLIN, 0});
                    sources.push_back(Source{w.get(), 0});
                }
                if (w->err) {
                    fds.push_back(pollfd{w->err.get(), POLLIN, 0});
                    sources.push_back(Source{w.get(), 1});
                }
                if (w->in && w->write_offset < w->to_write.size()) {
                    fds.push_back(pollfd{w->in.get(), POLLOUT, 0});
                    sources.push_back(Source{w.get(), 2});
                }
            }
            int timeout = poll_timeout_ms(now);
            poll_until = now + std::chrono::milliseconds(timeout);
            ready_actions.swap(actions);

            lock.unlock();
            run_actions(ready_actions);
            int ready = ::poll(fds.data(), fds.size(), timeout);
            lock.lock();

            if (ready <= 0)
                continue; // timeout, or EINTR: the next round re-checks everything
            now = Clock::now();
            if (fds[0].revents != 0) {
                uint64_t count;
                [[maybe_unused]] auto ignored = ::read(wake_fd.get(), &count, sizeof count);
            }
            for (size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].revents == 0)
                    continue;
                Worker& w = *sources[i].worker;
                // Handling one stream may have closed another of the same worker (EOF closes stdin).
                switch (sources[i].kind) {
                case 0:
                    if (w.out.get() == fds[i].fd)
                        on_readable(w, false, now);
                    break;
                case 1:
                    if (w.err.get() == fds[i].fd)
                        on_readable(w, true, now);
                    break;
                default:
                    if (w.in.get() == fds[i].fd)
                        on_writable(w, now);
                    break;
                }
            }
        }
        phase = Phase::stopped;
        changed.notify_all();
        ready_actions.swap(actions);
        lock.unlock();
        run_actions(ready_actions);
    }
};

WorkerPool::WorkerPool(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

WorkerPool::~WorkerPool() {
    stop();
}

Result<std::unique_ptr<WorkerPool>> WorkerPool::start(const WorkerOptions& options) {
    if (options.command.find_first_not_of(" \t\n") == std::string::npos)
        return fail(ErrorCode::input, "the worker command is empty");
    if (options.command.find('\0') != std::string::npos)
        return fail(ErrorCode::input, "the worker command contains a NUL byte");
    if (options.workers == 0)
        return fail(ErrorCode::input, "the number of workers must be at least 1");
    if (!options.cwd.empty()) {
        struct stat st;
        if (::stat(options.cwd.c_str(), &st) != 0) {
            Error error = system_error("working directory " + options.cwd.string(), errno);
            error.code = ErrorCode::input;
            return fail(std::move(error).context("starting the workers"));
        }
        if (!S_ISDIR(st.st_mode))
            return fail(ErrorCode::input, "starting the workers: not a directory: " + options.cwd.string());
    }
    auto env = build_environment(options.env);
    if (!env)
        return fail(std::move(env).error().context("starting the workers"));
    int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0)
        return fail(system_error("cannot create an eventfd", errno));

    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->env = std::move(*env);
    impl->wake_fd = UniqueFd(wake);
    for (unsigned i = 0; i < options.workers; ++i) {
        impl->workers.push_back(std::make_unique<Worker>());
        impl->workers.back()->number = i + 1;
    }
    std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(impl)));
    Impl& s = *pool->m_impl;

    std::optional<Error> spawn_error;
    {
        std::lock_guard lock(s.mutex);
        auto now = Clock::now();
        for (auto& w : s.workers)
            if (auto spawned = s.spawn(*w, now); !spawned) {
                spawn_error =
                    std::move(spawned).error().context(fmt::format("starting worker {}", w->number));
                break;
            }
    }
    try {
        s.thread = std::thread([&s] { s.loop(); });
    } catch (const std::system_error& e) {
        for (auto& w : s.workers)
            if (w->has_process()) {
                s.signal_group(*w, SIGKILL);
                int status = 0;
                while (::waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
                }
                w->state = State::idle;
            }
        s.phase = Impl::Phase::stopped;
        return fail(ErrorCode::internal, std::string("cannot start the worker pool's thread: ") + e.what());
    }
    if (spawn_error) {
        pool->stop(0);
        return fail(std::move(*spawn_error));
    }

    std::unique_lock lock(s.mutex);
    s.changed.wait(lock, [&] { return s.phase != Impl::Phase::starting || !s.start_error.empty(); });
    if (!s.start_error.empty()) {
        std::string message = s.start_error;
        lock.unlock();
        pool->stop(0);
        return fail(ErrorCode::failure, message);
    }
    return pool;
}

void WorkerPool::submit(nlohmann::ordered_json inputs, std::function<void(WorkerResult)> done,
                        double timeout_seconds) {
    Impl& s = *m_impl;
    std::string id = "b" + std::to_string(++s.next_id);
    std::string line;
    {
        // Ordered: columns reach the worker in the signature's order (a DataFrame built from them
        // must have the training column order).
        nlohmann::ordered_json request = nlohmann::ordered_json::object();
        request["id"] = id;
        request["inputs"] = std::move(inputs);
        line = request.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        line += '\n';
    }

    std::unique_lock lock(s.mutex);
    if (s.phase == Impl::Phase::stopped) {
        lock.unlock();
        if (done)
            done(failure(503, "server shutting down"));
        return;
    }
    auto reject = [&](std::string message) {
        if (done)
            s.actions.emplace_back(
                [done = std::move(done), message = std::move(message)] { done(failure(503, message)); });
        lock.unlock();
        s.wake();
    };
    if (s.phase != Impl::Phase::running)
        return reject("server shutting down");

    const size_t count = s.workers.size();
    Worker* best = nullptr;
    for (size_t k = 0; k < count; ++k) {
        Worker& w = *s.workers[(s.cursor + k) % count];
        if (w.state == State::ready && (best == nullptr || w.load() < best->load()))
            best = &w;
    }
    if (best == nullptr)
        return reject(fmt::format("no worker is ready (all {} are restarting)", count));
    s.cursor = best->number % static_cast<unsigned>(count);

    Pending pending;
    pending.done = std::move(done);
    bool wake = false;
    if (timeout_seconds > 0) {
        pending.timeout_seconds = timeout_seconds;
        auto deadline = Clock::now() + seconds_duration(timeout_seconds);
        pending.deadline = s.deadlines.emplace(deadline, std::make_pair(best, id));
        wake = deadline < s.poll_until; // the pool thread must not sleep past it
    }
    auto& slot = best->pending.emplace(id, std::move(pending)).first->second;
    wake = s.enqueue_line(*best, slot, std::move(id), std::move(line)) || wake;
    lock.unlock();
    if (wake)
        s.wake();
}

unsigned WorkerPool::live_workers() const {
    std::lock_guard lock(m_impl->mutex);
    return static_cast<unsigned>(std::count_if(m_impl->workers.begin(), m_impl->workers.end(),
                                               [](const auto& w) { return w->state == State::ready; }));
}

uint64_t WorkerPool::restarts() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->restarts;
}

void WorkerPool::stop(double grace_seconds) {
    Impl& s = *m_impl;
    auto request = [&] {
        std::lock_guard lock(s.mutex);
        if (s.phase == Impl::Phase::starting || s.phase == Impl::Phase::running) {
            s.phase = Impl::Phase::stopping;
            s.grace_seconds = std::isnan(grace_seconds) ? 0 : std::max(0.0, grace_seconds);
        }
    };
    if (s.thread.joinable() && std::this_thread::get_id() == s.thread.get_id()) {
        request(); // from a callback: the pool thread notices when the callback returns
        return;
    }
    std::lock_guard serial(s.stop_mutex);
    request();
    s.wake();
    if (s.thread.joinable())
        s.thread.join();
}

} // namespace mlo::serve
