// Running one stage command.
//
// Several stages run at once from different threads, so the child is started with posix_spawn (glibc
// clones with CLONE_VFORK and runs only async-signal-safe steps before exec) and every descriptor mlo
// opens here is O_CLOEXEC: a pipe end leaked into a sibling stage's child would hold that pipe open
// and stall our EOF. The file actions also close every descriptor above 2 that someone else opened
// without O_CLOEXEC.
//
// The child is `/bin/sh -c command` in a process group of its own (pgid == its pid), with stdin from
// /dev/null, an empty signal mask and default signal dispositions (mlo may ignore SIGPIPE or block
// SIGTERM in its threads; both would otherwise be inherited across exec). Being in its own group
// keeps a terminal Ctrl-C with mlo, which decides, and lets mlo signal the whole tree at once.
//
// The parent polls both pipes with a 100 ms timeout so it sees `stop_requested` promptly. It does not
// reap the shell until the very end: it only peeks at its exit with waitid(WNOWAIT). While the shell
// is an unreaped zombie its pid, and so the group id, cannot be reused, which makes every
// kill(-pgid, ...) safe from hitting an unrelated process group. The command is finished when the
// shell has exited and both pipes are at EOF (i.e. every process holding them has exited too). Then
// one SIGKILL to the group removes anything left behind that had closed its output, so no process
// from a stage outlives it and writes to its outputs after they are hashed. Finally wait4 reaps the
// shell and returns its rusage, which includes the children it waited for.
//
// On a stop request: SIGTERM to the group, then SIGKILL after the grace period, or as soon as the
// shell has exited and the pipes are at EOF. After the SIGKILL the pipes get one more second to
// reach EOF (a process that left the group with setsid could hold them forever), and then mlo stops
// reading.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mlo/pipeline/stage_process.hpp>
#include <mlo/util/child_process.hpp>
#include <mlo/util/file_io.hpp>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace mlo::pipeline {

namespace {

using Clock = std::chrono::steady_clock;
using util::UniqueFd;

constexpr int k_poll_interval_ms = 100;
constexpr int k_drain_after_kill_ms = 1000;

using util::build_environment;
using util::make_pipe;
using util::Pipe;

Result<pid_t> spawn_shell(const ProcessOptions& options, const std::vector<std::string>& env, int out_fd,
                          int err_fd) {
    return util::spawn_shell(options.command, options.working_directory, env, -1, out_fd, err_fd,
                             "the command");
}

// Kills and reaps the child if run_stage_process leaves early (an error, or an exception from
// on_line), so no process or zombie is left behind.
struct ChildGuard {
    pid_t pid = -1;
    ~ChildGuard() {
        if (pid <= 0)
            return;
        ::kill(-pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
};

// Whether the shell has exited, without reaping it (see the essay above).
bool shell_has_exited(pid_t pid, bool& lost) {
    for (;;) {
        siginfo_t info;
        std::memset(&info, 0, sizeof info);
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0)
            return info.si_pid == pid;
        if (errno == EINTR)
            continue;
        lost = true; // ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere)
        return true;
    }
}

// One output stream: collects everything and hands out complete lines.
struct Stream {
    UniqueFd fd;
    bool is_stderr = false;
    std::string* text = nullptr;
    std::string partial;
    bool open() const { return static_cast<bool>(fd); }
};

void emit_lines(Stream& stream, const ProcessOptions& options, bool at_eof) {
    if (!options.on_line) {
        stream.partial.clear();
        return;
    }
    size_t start = 0;
    for (size_t newline; (newline = stream.partial.find('\n', start)) != std::string::npos;
         start = newline + 1)
        options.on_line(stream.partial.substr(start, newline - start), stream.is_stderr);
    stream.partial.erase(0, start);
    if (at_eof && !stream.partial.empty()) {
        options.on_line(stream.partial, stream.is_stderr);
        stream.partial.clear();
    }
}

void close_stream(Stream& stream, const ProcessOptions& options) {
    stream.fd = UniqueFd();
    emit_lines(stream, options, true);
}

// Reads what is available on a stream that poll reported ready; closes it at EOF.
Status read_stream(Stream& stream, const ProcessOptions& options) {
    char buffer[65536];
    ssize_t n;
    do {
        n = ::read(stream.fd.get(), buffer, sizeof buffer);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(system_error(
            std::string("cannot read the command's ") + (stream.is_stderr ? "stderr" : "stdout"), errno));
    if (n == 0) {
        close_stream(stream, options);
        return {};
    }
    stream.text->append(buffer, static_cast<size_t>(n));
    stream.partial.append(buffer, static_cast<size_t>(n));
    emit_lines(stream, options, false);
    return {};
}

int ms_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, k_poll_interval_ms));
}

double seconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

} // namespace

Result<ProcessResult> run_stage_process(const ProcessOptions& options) {
    ProcessResult result;
    if (options.command.find('\0') != std::string::npos)
        return fail(ErrorCode::input, "the command contains a NUL byte");
    if (options.stop_requested != nullptr && options.stop_requested->load()) {
        result.interrupted = true;
        return result;
    }
    if (!options.working_directory.empty()) {
        struct stat st;
        if (::stat(options.working_directory.c_str(), &st) != 0)
            return fail(system_error("working directory " + options.working_directory.string(), errno));
        if (!S_ISDIR(st.st_mode))
            return fail(system_error("working directory " + options.working_directory.string(), ENOTDIR));
    }
    auto env = build_environment(options.extra_env);
    if (!env)
        return fail(std::move(env).error());
    auto out_pipe = make_pipe();
    if (!out_pipe)
        return fail(std::move(out_pipe).error());
    auto err_pipe = make_pipe();
    if (!err_pipe)
        return fail(std::move(err_pipe).error());

    const auto started = Clock::now();
    auto spawned = spawn_shell(options, *env, out_pipe->write_end.get(), err_pipe->write_end.get());
    if (!spawned)
        return fail(std::move(spawned).error());
    const pid_t pid = *spawned;
    ChildGuard guard{pid};
    // Only the child may hold the write ends, or EOF would never come.
    out_pipe->write_end = UniqueFd();
    err_pipe->write_end = UniqueFd();

    Stream streams[2];
    streams[0].fd = std::move(out_pipe->read_end);
    streams[0].text = &result.stdout_text;
    streams[1].fd = std::move(err_pipe->read_end);
    streams[1].is_stderr = true;
    streams[1].text = &result.stderr_text;

    enum class Phase { running, terminating, killed };
    Phase phase = Phase::running;
    Clock::time_point deadline{};
    const auto grace = std::chrono::milliseconds(std::max(0, options.kill_grace_ms));
    bool exited = false;
    bool lost = false;
    int exit_check_delay_ms = 1; // backs off while the pipes are closed but the shell still runs

    for (;;) {
        if (!exited)
            exited = shell_has_exited(pid, lost);
        const bool pipes_done = !streams[0].open() && !streams[1].open();
        if (lost)
            break;
        if (phase == Phase::running && options.stop_requested != nullptr && options.stop_requested->load() &&
            !(exited && pipes_done)) {
            ::kill(-pid, SIGTERM);
            result.interrupted = true;
            phase = Phase::terminating;
            deadline = Clock::now() + grace;
        }
        if (phase == Phase::terminating && ((exited && pipes_done) || Clock::now() >= deadline)) {
            ::kill(-pid, SIGKILL);
            phase = Phase::killed;
            deadline = Clock::now() + std::chrono::milliseconds(k_drain_after_kill_ms);
        }
        if (exited && (pipes_done || (phase == Phase::killed && Clock::now() >= deadline)))
            break;

        pollfd fds[2];
        nfds_t count = 0;
        Stream* polled[2];
        for (auto& stream : streams) {
            if (stream.open()) {
                fds[count] = pollfd{stream.fd.get(), POLLIN, 0};
                polled[count++] = &stream;
            }
        }
        int timeout = phase == Phase::running ? k_poll_interval_ms : ms_until(deadline);
        if (count == 0) {
            timeout = std::min(timeout, exit_check_delay_ms);
            exit_check_delay_ms = std::min(exit_check_delay_ms * 2, k_poll_interval_ms);
        }
        int ready = ::poll(fds, count, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot wait for the command's output", errno));
        }
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents & POLLNVAL)
                close_stream(*polled[i], options);
            else if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                MLO_TRY(read_stream(*polled[i], options));
        }
    }
    for (auto& stream : streams)
        if (stream.open())
            close_stream(stream, options); // gave up after the kill: something outside the group holds it

    if (lost) {
        guard.pid = -1; // the pid may already belong to someone else: never signal it
        return fail(ErrorCode::internal, "lost track of the command's process (was SIGCHLD ignored?)");
    }
    // Anything still in the group closed its output and was left behind by the shell.
    ::kill(-pid, SIGKILL);
    int status = 0;
    rusage usage;
    std::memset(&usage, 0, sizeof usage);
    pid_t reaped;
    do {
        reaped = ::wait4(pid, &status, 0, &usage);
    } while (reaped < 0 && errno == EINTR);
    guard.pid = -1;
    if (reaped < 0)
        return fail(system_error("cannot wait for the command", errno));

    result.wall_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    result.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    result.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exit_code = -1;
        result.signal = WTERMSIG(status);
    }
    return result;
}

Result<StageOutcome> run_stage_command(const store::ObjectStore& objects, const StageCommand& stage) {
    ProcessOptions process;
    process.command = stage.command;
    process.working_directory = stage.root;
    process.extra_env = {{"MLO_RUN_ID", stage.run_id},
                         {"MLO_STAGE", stage.stage},
                         {"MLO_PARAMS", stage.params_file.string()},
                         {"MLO_METRICS", stage.metrics_file.string()},
                         {"MLO_PROJECT_ROOT", stage.root.string()}};
    process.stop_requested = stage.stop_requested;
    if (stage.on_output)
        process.on_line = [&](const std::string& line, bool is_stderr) {
            stage.on_output(stage.stage, line, is_stderr);
        };
    auto result = run_stage_process(process);
    if (!result)
        return fail(std::move(result).error().context("stage '" + stage.stage + "'"));
    StageOutcome outcome;
    outcome.process = std::move(*result);
    // Logs are kept as objects; failing to store them does not change the stage's outcome.
    if (!outcome.process.stdout_text.empty())
        if (auto stored = objects.put_bytes(outcome.process.stdout_text))
            outcome.stdout_log = stored->id;
    if (!outcome.process.stderr_text.empty())
        if (auto stored = objects.put_bytes(outcome.process.stderr_text))
            outcome.stderr_log = stored->id;
    return outcome;
}

} // namespace mlo::pipeline
