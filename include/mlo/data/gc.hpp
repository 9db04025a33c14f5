#pragma once

#include <mlo/core/project.hpp>
#include <mlo/util/progress.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace mlo::data {

// Objects that runs (and later the registry) refer to; see store::ObjectRoot.
using ExtraRoot = store::ObjectRoot;

// Every object that must be kept: everything the workspace pointers refer to, and everything the
// pointers of every commit reachable from any branch, tag or HEAD refer to, with all manifests
// expanded. Later layers (runs, registry, deployments) add their roots here.
// `missing` collects referenced objects that are not in the store (for fsck).
Result<std::unordered_set<hash::ObjectId>> reachable_objects(core::Project& project,
                                                             const std::vector<ExtraRoot>& extra_roots,
                                                             std::vector<std::string>* missing = nullptr);

struct GcReport {
    uint64_t kept_objects = 0;
    uint64_t removed_objects = 0;
    uint64_t removed_bytes = 0;
    uint64_t removed_temp_files = 0;
    std::vector<std::string> removed; // ids (listed with --dry-run and --verbose)
    bool dry_run = false;
};

// Removes every object that is not reachable, and stray temp files. Holds the store's exclusive
// lock, so it waits for running commands and blocks new ones until done.
Result<GcReport> gc(core::Project& project, const std::vector<ExtraRoot>& extra_roots, bool dry_run);

struct FsckProblem {
    std::string kind;   // "corrupt", "missing", "malformed manifest", "stray file"
    std::string object; // id or path
    std::string detail;
};

struct FsckReport {
    uint64_t checked_objects = 0;
    uint64_t checked_bytes = 0;
    std::vector<FsckProblem> problems;
};

// Re-hashes every object (in parallel), checks every manifest parses, and checks that everything
// the workspace and git history refer to is present. Changes nothing.
Result<FsckReport> fsck(core::Project& project, const std::vector<ExtraRoot>& extra_roots,
                        util::ProgressSink* progress);

} // namespace mlo::data
