#pragma once

#include <mlo/core/project.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/remote/sync.hpp>
#include <string>
#include <vector>

namespace mlo::cli {

// What push, pull and fetch were asked to move (their positional arguments and flags).
struct ScopeRequest {
    std::vector<std::string> paths;  // project-relative data paths
    std::vector<std::string> runs;   // run ids, prefixes or "latest"
    std::vector<std::string> models; // MODEL@vX.Y.Z or MODEL#STAGE
    bool all_commits = false;
    // Nothing selected: the workspace, every run and every registered version.
    bool everything() const { return paths.empty() && runs.empty() && models.empty(); }
};

// The objects of a request, computed from what this project knows locally: pointers of the
// workspace (and of every commit with all_commits), run records and what they refer to, model
// manifests and their files. `workspace` is what a pull checks out afterwards.
struct Scope {
    remote::PushPlan plan;
    std::vector<data::PointerRef> workspace;
};
Result<Scope> local_scope(core::Project& project, const ScopeRequest& request);

// Splits positional arguments into data paths and model references: an argument is a model
// reference when it has the form MODEL@vX.Y.Z or MODEL#STAGE and MODEL is a model of mlo.yaml.
void split_targets(const core::Project& project, const std::vector<std::string>& targets,
                   std::vector<std::string>& paths, std::vector<std::string>& models);

} // namespace mlo::cli
