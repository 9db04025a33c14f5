#pragma once

#include <map>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::util {

// What a finished program printed and how it ended.
struct ProgramResult {
    int exit_code = -1; // -1 when killed by a signal
    std::string stdout_text;
    std::string stderr_text;
};

struct ProgramOptions {
    std::map<std::string, std::string> extra_env; // added to (and overriding) the inherited env
    std::string stdin_text;                       // fed to the program's stdin, then closed
};

// Runs argv[0] (looked up on PATH) with exactly these arguments — no shell, so no value is ever
// parsed as shell text — and waits for it, capturing its output. A program that cannot be found or
// started is ErrorCode::precondition naming it; a program that runs and fails is not an error:
// the caller reads exit_code. Blocks; safe to call from several threads.
Result<ProgramResult> run_program(const std::vector<std::string>& argv, const ProgramOptions& options = {});

// Whether `name` is an executable on PATH.
bool program_on_path(const std::string& name);

} // namespace mlo::util
