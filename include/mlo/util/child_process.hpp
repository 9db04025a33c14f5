#pragma once

#include <filesystem>
#include <map>
#include <mlo/util/error.hpp>
#include <mlo/util/file_io.hpp>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mlo::util {

// A pipe whose ends are close-on-exec and above descriptors 0..2.
struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

Result<Pipe> make_pipe();

// The inherited environment in its order, with `extra` replacing same-named entries in place and
// the rest appended. A name with '=' or NUL, or a value with NUL, is ErrorCode::input.
Result<std::vector<std::string>> build_environment(const std::map<std::string, std::string>& extra);

// Starts `/bin/sh -c command` in `cwd` (if not empty) as the leader of a new process group, with an
// empty signal mask and default dispositions (mlo may block or ignore signals; its children must
// not inherit that), stdin from `stdin_fd` (-1: /dev/null), stdout and stderr onto the given
// descriptors, and every other descriptor closed. `what` names the child in errors ("the
// command", "the worker"). Returns its pid; the caller reaps it.
Result<pid_t> spawn_shell(const std::string& command, const std::filesystem::path& cwd,
                          const std::vector<std::string>& env, int stdin_fd, int stdout_fd, int stderr_fd,
                          const std::string& what);

} // namespace mlo::util
