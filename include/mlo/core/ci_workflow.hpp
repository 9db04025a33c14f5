#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::core {

// CI providers `mlo init --ci` knows, and where each keeps its workflow (relative to the root).
std::vector<std::string> ci_providers();
// The workflow file of `provider` (".github/workflows/mlo.yml", ".gitlab-ci.yml"); an unknown
// provider is ErrorCode::usage with "did you mean".
Result<std::string> ci_workflow_path(const std::string& provider);

// Checks that the workflow of `provider` may be written under `root`: an existing file is
// ErrorCode::precondition unless `force`. Called before anything is created.
Status check_ci_workflow(const std::filesystem::path& root, const std::string& provider, bool force);

// Writes the workflow of `provider` from templates/ci/<provider>.yml, with the project name and
// the main branch filled in, atomically. Returns the path written (relative to `root`).
Result<std::string> write_ci_workflow(const std::filesystem::path& root, const std::string& provider,
                                      const std::string& project, const std::string& main_branch);

} // namespace mlo::core
