#include <cerrno>
#include <fcntl.h>
#include <mlo/util/child_process.hpp>
#include <signal.h>
#include <spawn.h>
#include <string_view>
#include <unistd.h>

extern char** environ; // NOLINT: POSIX declares it this way

namespace mlo::util {

namespace {

// Moves an fd above 0..2, so that dup2-ing onto 0, 1 and 2 in the child can never overwrite a
// pipe end before it is duplicated (possible only when mlo runs with stdio closed).
Result<UniqueFd> above_stdio(UniqueFd fd) {
    if (fd.get() > 2)
        return fd;
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return fail(system_error("cannot duplicate a pipe descriptor", errno));
    return UniqueFd(moved);
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    bool attr_ready = false;
    bool actions_ready = false;

    SpawnSetup() = default;
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup() {
        if (actions_ready)
            ::posix_spawn_file_actions_destroy(&actions);
        if (attr_ready)
            ::posix_spawnattr_destroy(&attr);
    }
};

} // namespace

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return fail(system_error("cannot create a pipe", errno));
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    auto r = above_stdio(std::move(read_end));
    if (!r)
        return fail(std::move(r).error());
    auto w = above_stdio(std::move(write_end));
    if (!w)
        return fail(std::move(w).error());
    return Pipe{std::move(*r), std::move(*w)};
}

Result<std::vector<std::string>> build_environment(const std::map<std::string, std::string>& extra) {
    for (const auto& [name, value] : extra) {
        if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
            return fail(ErrorCode::input, "invalid environment variable name '" + name + "'");
        if (value.find('\0') != std::string::npos)
            return fail(ErrorCode::input, "environment variable " + name + " contains a NUL byte");
    }
    std::vector<std::string> env;
    std::map<std::string, bool> used;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        std::string name(text.substr(0, text.find('=')));
        if (auto it = extra.find(name); it != extra.end()) {
            if (!used[name])
                env.push_back(name + "=" + it->second);
            used[name] = true; // a name repeated in environ keeps only the replacement
            continue;
        }
        env.emplace_back(text);
    }
    for (const auto& [name, value] : extra)
        if (!used[name])
            env.push_back(name + "=" + value);
    return env;
}

Result<pid_t> spawn_shell(const std::string& command, const std::filesystem::path& cwd,
                          const std::vector<std::string>& env, int stdin_fd, int stdout_fd, int stderr_fd,
                          const std::string& what) {
    SpawnSetup setup;
    auto check = [&](int rc, const char* call) -> Status {
        if (rc != 0)
            return fail(system_error("cannot start " + what + ": " + call, rc));
        return {};
    };
    MLO_TRY(check(::posix_spawnattr_init(&setup.attr), "posix_spawnattr_init"));
    setup.attr_ready = true;
    MLO_TRY(check(::posix_spawn_file_actions_init(&setup.actions), "posix_spawn_file_actions_init"));
    setup.actions_ready = true;

    sigset_t empty;
    sigset_t all;
    ::sigemptyset(&empty);
    ::sigfillset(&all);
    MLO_TRY(check(::posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                              POSIX_SPAWN_SETSIGDEF),
                  "posix_spawnattr_setflags"));
    MLO_TRY(check(::posix_spawnattr_setpgroup(&setup.attr, 0), "posix_spawnattr_setpgroup"));
    MLO_TRY(check(::posix_spawnattr_setsigmask(&setup.attr, &empty), "posix_spawnattr_setsigmask"));
    MLO_TRY(check(::posix_spawnattr_setsigdefault(&setup.attr, &all), "posix_spawnattr_setsigdefault"));
    if (!cwd.empty())
        MLO_TRY(check(::posix_spawn_file_actions_addchdir_np(&setup.actions, cwd.c_str()),
                      "posix_spawn_file_actions_addchdir_np"));
    if (stdin_fd < 0)
        MLO_TRY(check(::posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0),
                      "posix_spawn_file_actions_addopen"));
    else
        MLO_TRY(check(::posix_spawn_file_actions_adddup2(&setup.actions, stdin_fd, 0),
                      "posix_spawn_file_actions_adddup2"));
    MLO_TRY(check(::posix_spawn_file_actions_adddup2(&setup.actions, stdout_fd, 1),
                  "posix_spawn_file_actions_adddup2"));
    MLO_TRY(check(::posix_spawn_file_actions_adddup2(&setup.actions, stderr_fd, 2),
                  "posix_spawn_file_actions_adddup2"));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    MLO_TRY(check(::posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3),
                  "posix_spawn_file_actions_addclosefrom_np"));
#endif

    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (const auto& entry : env)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    char sh[] = "/bin/sh";
    char dash_c[] = "-c";
    std::string command_copy = command;
    char* argv[] = {sh, dash_c, command_copy.data(), nullptr};

    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv, envp.data());
    if (rc != 0) {
        std::string text = "cannot start " + what;
        if (!cwd.empty())
            text += " in " + cwd.string();
        Error error = system_error(text, rc);
        error.code = ErrorCode::internal; // callers check the working directory: this is not user input
        return fail(std::move(error));
    }
    return pid;
}

} // namespace mlo::util
