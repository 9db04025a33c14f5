#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mlo/core/project.hpp>
#include <mlo/runs/run_record.hpp>
#include <string>
#include <vector>

namespace mlo::pipeline {

struct RerunOptions {
    std::string run; // id, prefix or "latest"
    bool keep = false;
    const std::atomic<bool>* stop_requested = nullptr;
    std::function<void(const std::string& stage, const std::string& line, bool is_stderr)> on_output;
    std::function<void(const std::string& stage, const std::string& event)> on_event;
};

// One recorded out compared with what the re-execution produced.
struct OutComparison {
    std::string stage;
    std::string path;
    hash::ObjectId recorded;
    std::optional<hash::ObjectId> produced; // nullopt: the stage did not produce it
    bool identical = false;
    std::vector<std::string> differing_files; // inside a directory out: added/removed/changed files
};

struct RerunReport {
    std::string original_run;
    runs::RunRecord run; // the new run (rerun_of = original), recorded in the run store
    std::vector<OutComparison> outs;
    std::vector<std::string> warnings; // e.g. a dep that could not be restored bit-identically
    std::filesystem::path scratch;     // kept only with options.keep
    bool failed = false;
    bool interrupted = false;
    bool all_identical() const;
};

// Re-executes a recorded run from its recorded inputs, in a scratch directory under `.mlo/tmp/`:
// the code is the recorded git commit (refused with ErrorCode::precondition if that commit is not
// in the repository), the params file is the recorded bytes, and every dep not in that commit is
// checked out from the store by its recorded id. The stages that ran (or were restored) in the
// original run execute again in their recorded order with their recorded commands; each out is
// hashed and compared with the recorded id. The re-execution is recorded as a new run.
Result<RerunReport> rerun(core::Project& project, const RerunOptions& options);

} // namespace mlo::pipeline
