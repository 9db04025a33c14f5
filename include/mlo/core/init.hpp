#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::core {

struct InitOptions {
    std::string template_name = "default"; // templates/project/<name>.yaml
    std::string ci;                        // "github" or "gitlab": also write a CI workflow
    bool force = false;                    // with `ci`: replace an existing workflow file
};

struct InitReport {
    std::filesystem::path root;
    std::vector<std::string> created; // what this run created, e.g. "git repository", "mlo.yaml"
    bool already_initialized() const { return created.empty(); }
};

// Makes `dir` an mlo project: a git repository (created with libgit2 if there is none), mlo.yaml
// from the template, the `.mlo/` store and a `.gitignore` entry for it. Idempotent: what exists is
// left untouched. `dir` must be the git work tree's root (pointers are read from git by path).
// An unknown template is ErrorCode::usage with "did you mean".
Result<InitReport> init_project(const std::filesystem::path& dir, const InitOptions& options);

// Names of the embedded project templates.
std::vector<std::string> project_template_names();

} // namespace mlo::core
