#pragma once

#include "output.hpp"
#include "progress_line.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fmt/core.h>
#include <memory>
#include <mlo/core/project.hpp>
#include <mlo/util/error.hpp>
#include <vector>

namespace mlo::cli {

// What a command is given to run: the output, the directory it runs in (after -C), the progress
// line, and — when its table row asks for it — the opened project.
struct Context {
    const GlobalOptions& global;
    const Output& out;
    std::filesystem::path cwd;
    ProgressLine& progress;
    core::Project* project = nullptr;

    // The progress sink to hand to library calls: null unless a line may be drawn.
    util::ProgressSink* progress_sink() const { return &progress; }
};

// One subcommand: declares its flags on its CLI11 app, then runs. run() returns the exit code
// for outcomes that are not errors (e.g. 1 from `status --exit-code`); errors are returned and
// mapped to exit codes in one place (main.cpp).
class Command {
  public:
    virtual ~Command() = default;
    virtual void define(CLI::App& app) = 0;
    virtual Result<int> run(Context& context) = 0;
};

// The setup a command needs before it runs, done centrally (git's commands[] table).
enum class Needs {
    nothing, // runs anywhere (init, help)
    project, // needs an mlo project: found from the working directory, mlo.yaml parsed
};

struct CommandSpec {
    const char* name;
    const char* summary;
    Needs needs;
    std::unique_ptr<Command> (*make)();
};

// Every subcommand, in the order `mlo --help` lists them.
const std::vector<CommandSpec>& command_table();

} // namespace mlo::cli
