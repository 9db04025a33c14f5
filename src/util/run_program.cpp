// Running helper programs (sbatch, scontrol, crontab, systemctl) by argv. Their output is small, so
// it is collected in memory; stdin, stdout and stderr are served by one poll loop, so a program
// that writes a lot before reading its input cannot deadlock against mlo.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mlo/util/child_process.hpp>
#include <mlo/util/run_program.hpp>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mlo::util {

bool program_on_path(const std::string& name) {
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0;
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = std::min(dirs.find(':', start), dirs.size());
        std::string dir = dirs.substr(start, end - start);
        start = end + 1;
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate))
            return true;
    }
    return false;
}

Result<ProgramResult> run_program(const std::vector<std::string>& argv, const ProgramOptions& options) {
    if (argv.empty())
        return fail(ErrorCode::internal, "run_program: empty argv");
    if (!program_on_path(argv[0]))
        return fail(ErrorCode::precondition, "cannot run " + argv[0] + ": not found on PATH");
    auto env = build_environment(options.extra_env);
    if (!env)
        return fail(std::move(env).error());
    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();
    if (!in || !out || !err)
        return fail(ErrorCode::internal, "cannot create pipes for " + argv[0]);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, in->read_end.get(), 0);
    ::posix_spawn_file_actions_adddup2(&actions, out->write_end.get(), 1);
    ::posix_spawn_file_actions_adddup2(&actions, err->write_end.get(), 2);
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    sigset_t empty, all;
    ::sigemptyset(&empty);
    ::sigfillset(&all);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setsigmask(&attr, &empty);
    ::posix_spawnattr_setsigdefault(&attr, &all);
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : *env)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return fail(ErrorCode::precondition, "cannot run " + argv[0] + ": " + std::strerror(rc));
    in->read_end = UniqueFd();
    out->write_end = UniqueFd();
    err->write_end = UniqueFd();

    ProgramResult result;
    size_t written = 0;
    if (options.stdin_text.empty())
        in->write_end = UniqueFd();
    else
        ::fcntl(in->write_end.get(), F_SETFL, O_NONBLOCK);
    // SIGPIPE from a program that exits without reading its input must not kill mlo.
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    while (out->read_end.get() >= 0 || err->read_end.get() >= 0) {
        pollfd fds[3];
        nfds_t count = 0;
        UniqueFd* owners[3];
        std::string* sinks[3] = {nullptr, nullptr, nullptr};
        if (in->write_end.get() >= 0) {
            fds[count] = {in->write_end.get(), POLLOUT, 0};
            owners[count++] = &in->write_end;
        }
        if (out->read_end.get() >= 0) {
            fds[count] = {out->read_end.get(), POLLIN, 0};
            sinks[count] = &result.stdout_text;
            owners[count++] = &out->read_end;
        }
        if (err->read_end.get() >= 0) {
            fds[count] = {err->read_end.get(), POLLIN, 0};
            sinks[count] = &result.stderr_text;
            owners[count++] = &err->read_end;
        }
        if (::poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (nfds_t i = 0; i < count; ++i) {
            if (!fds[i].revents)
                continue;
            if (!sinks[i]) {
                ssize_t n = ::write(fds[i].fd, options.stdin_text.data() + written,
                                    options.stdin_text.size() - written);
                if (n > 0)
                    written += static_cast<size_t>(n);
                if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == options.stdin_text.size() ||
                    (fds[i].revents & (POLLERR | POLLHUP)))
                    *owners[i] = UniqueFd();
                continue;
            }
            char buffer[8192];
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0)
                sinks[i]->append(buffer, static_cast<size_t>(n));
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                *owners[i] = UniqueFd();
        }
    }
    in->write_end = UniqueFd();
    ::sigaction(SIGPIPE, &old, nullptr);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

} // namespace mlo::util
