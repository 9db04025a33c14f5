// Process control of a local target's server. The server is started detached (its own session), so
// it outlives the `mlo deploy` that started it and a terminal's Ctrl-C does not reach it; later
// commands find it through server.json and check that the pid is still this target's server.

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <mlo/deploy/local_server.hpp>
#include <mlo/util/child_process.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/file_io.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mlo::deploy {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string read_proc(pid_t pid, const char* what) {
    auto text = util::read_file(fs::path("/proc") / std::to_string(pid) / what);
    return text ? *text : std::string();
}

// Alive, not a zombie, and running `mlo serve --deployment DIR` for this very directory.
bool is_our_server(pid_t pid, const fs::path& dir) {
    if (pid <= 0 || ::kill(pid, 0) != 0)
        return false;
    std::string stat = read_proc(pid, "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z')
        return false;
    std::string cmdline = read_proc(pid, "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    return cmdline.find(" serve ") != std::string::npos &&
           cmdline.find(" --deployment " + dir.string() + " ") != std::string::npos;
}

void sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Reaps `pid` if it is our exited child (so it is not mistaken for alive), without blocking.
bool child_exited(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == pid;
}

} // namespace

std::optional<serve::ServerInfo> LocalServer::running() const {
    auto info = serve::read_server_info(m_dir / "server.json");
    if (!info || !is_our_server(static_cast<pid_t>(info->pid), m_dir))
        return std::nullopt;
    return *info;
}

uint64_t LocalServer::next_generation() const {
    auto desired = serve::read_desired_state(m_dir / "desired.json");
    return desired ? desired->generation + 1 : 1;
}

Result<serve::ServerInfo> LocalServer::start(const std::string& model,
                                             const std::vector<serve::Route>& routes,
                                             const LocalTarget& target, const fs::path& project_root,
                                             double timeout_seconds) {
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    for (const char* stale : {"server.json", "applied.json", "traffic.json"})
        fs::remove(m_dir / stale, ec);
    MLO_TRY(serve::write_desired_state(m_dir / "desired.json", {next_generation(), model, routes}));

    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return fail(system_error("cannot find the mlo executable", ec.value()));
    std::vector<std::string> args = {self.string(),
                                     "serve",
                                     model,
                                     "--deployment",
                                     m_dir.string(),
                                     "--ready-file",
                                     (m_dir / "server.json").string(),
                                     "--host",
                                     target.host,
                                     "--port",
                                     std::to_string(target.port)};
    if (target.workers)
        args.insert(args.end(), {"--workers", std::to_string(*target.workers)});
    if (!target.token_file.empty())
        args.insert(args.end(), {"--token-file", target.token_file});
    if (!target.tls_cert.empty())
        args.insert(args.end(), {"--tls-cert", target.tls_cert, "--tls-key", target.tls_key});

    util::UniqueFd log(::open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!log)
        return fail(system_error("cannot open " + log_file().string(), errno));
    // A header line so that the log of several starts reads in order; a failed write is not fatal.
    (void)util::write_all(log.get(), "--- " + args[0] + " serve " + model + " (started by mlo deploy)\n",
                          log_file());
    auto env = util::build_environment({});
    if (!env)
        return fail(std::move(env).error());

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, log.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, log.get(), 2);
    posix_spawn_file_actions_addchdir_np(&actions, project_root.c_str());
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // Its own session: the deploying terminal's signals do not reach it. An empty signal mask and
    // default dispositions: the server sets its own.
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv, envp;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (auto& entry : *env)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    int spawned = ::posix_spawn(&pid, args[0].c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0)
        return fail(system_error("cannot start " + args[0], spawned));

    auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (Clock::now() < deadline) {
        if (auto info = serve::read_server_info(m_dir / "server.json"); info && info->pid == pid)
            return *info;
        if (child_exited(pid))
            return fail(ErrorCode::failure, "the server exited before it was ready:\n" + log_tail(12),
                        "the whole log is " + log_file().string());
        sleep_ms(50);
    }
    ::kill(pid, SIGTERM);
    return fail(ErrorCode::failure,
                "the server was not ready after " + std::to_string(static_cast<int>(timeout_seconds)) +
                    " s; stopped it:\n" + log_tail(12),
                "the whole log is " + log_file().string());
}

Result<serve::AppliedState> LocalServer::apply(const serve::ServerInfo& server, const std::string& model,
                                               const std::vector<serve::Route>& routes,
                                               double timeout_seconds) {
    uint64_t generation = next_generation();
    MLO_TRY(serve::write_desired_state(m_dir / "desired.json", {generation, model, routes}));
    if (::kill(static_cast<pid_t>(server.pid), SIGHUP) != 0)
        return fail(system_error("cannot signal the server (pid " + std::to_string(server.pid) + ")", errno));
    auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (Clock::now() < deadline) {
        auto state = applied();
        if (state && state->generation >= generation) {
            if (!state->ok)
                return fail(ErrorCode::failure, "the server kept its routing: " + state->error,
                            "its log: mlo deploy logs --target " + m_dir.filename().string());
            return *state;
        }
        // Reap it first if this process started it, so that a dead child does not look alive.
        child_exited(static_cast<pid_t>(server.pid));
        if (!is_our_server(static_cast<pid_t>(server.pid), m_dir))
            return fail(ErrorCode::failure, "the server stopped while switching:\n" + log_tail(12));
        sleep_ms(50);
    }
    return fail(ErrorCode::failure,
                "the server did not act on the new routing within " +
                    std::to_string(static_cast<int>(timeout_seconds)) + " s",
                "its log: mlo deploy logs --target " + m_dir.filename().string());
}

Result<serve::AppliedState> LocalServer::applied() const {
    return serve::read_applied_state(m_dir / "applied.json");
}

Result<serve::TrafficSnapshot> LocalServer::traffic() const {
    return serve::read_traffic(m_dir / "traffic.json");
}

Result<serve::TrafficSnapshot> LocalServer::fresh_traffic(int64_t after_ns, double timeout_seconds) const {
    auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (true) {
        auto snapshot = traffic();
        if (snapshot && snapshot->time_ns > after_ns)
            return snapshot;
        if (Clock::now() >= deadline)
            return snapshot ? fail(ErrorCode::failure, "the server wrote no traffic counters for " +
                                                           std::to_string(static_cast<int>(timeout_seconds)) +
                                                           " s")
                            : fail(std::move(snapshot).error());
        sleep_ms(100);
    }
}

Status LocalServer::stop(const serve::ServerInfo& server, double timeout_seconds) {
    auto pid = static_cast<pid_t>(server.pid);
    if (is_our_server(pid, m_dir)) {
        ::kill(pid, SIGTERM);
        auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
        while (is_our_server(pid, m_dir) && !child_exited(pid) && Clock::now() < deadline)
            sleep_ms(50);
        if (is_our_server(pid, m_dir))
            ::kill(pid, SIGKILL);
    }
    std::error_code ec;
    fs::remove(m_dir / "server.json", ec);
    return {};
}

std::string LocalServer::log_tail(size_t lines) const {
    auto text = util::read_file(log_file());
    if (!text)
        return "";
    size_t end = text->size();
    while (end > 0 && (*text)[end - 1] == '\n')
        --end;
    size_t start = end;
    for (size_t seen = 0; start > 0; --start)
        if ((*text)[start - 1] == '\n' && ++seen == lines)
            break;
    return text->substr(start, end - start);
}

} // namespace mlo::deploy
