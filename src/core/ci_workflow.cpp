#include <mlo/core/ci_workflow.hpp>
#include <mlo/core/embedded_files.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::core {

namespace fs = std::filesystem;

std::vector<std::string> ci_providers() {
    return {"github", "gitlab"};
}

Result<std::string> ci_workflow_path(const std::string& provider) {
    if (provider == "github")
        return std::string(".github/workflows/mlo.yml");
    if (provider == "gitlab")
        return std::string(".gitlab-ci.yml");
    return fail(ErrorCode::usage,
                "unknown CI provider '" + provider + "'" + util::did_you_mean(provider, ci_providers()),
                "providers: github, gitlab");
}

Status check_ci_workflow(const fs::path& root, const std::string& provider, bool force) {
    auto path = ci_workflow_path(provider);
    if (!path)
        return fail(std::move(path).error());
    std::error_code ec;
    if (!force && fs::exists(root / *path, ec))
        return fail(ErrorCode::precondition, *path + " already exists",
                    "pass --force to replace it with mlo's workflow (your edits to it are lost)");
    return {};
}

Result<std::string> write_ci_workflow(const fs::path& root, const std::string& provider,
                                      const std::string& project, const std::string& main_branch) {
    auto path = ci_workflow_path(provider);
    if (!path)
        return fail(std::move(path).error());
    auto text = embedded_file("ci/" + provider + ".yml");
    if (!text)
        return fail(ErrorCode::internal, "the " + provider + " workflow template is not embedded");
    std::string out(*text);
    // Both values are plain names (a project name, a git branch): safe inside the YAML as is.
    for (const auto& [marker, value] : {std::pair<std::string, std::string>{"@PROJECT@", project},
                                        std::pair<std::string, std::string>{"@MAIN_BRANCH@", main_branch}}) {
        for (size_t at = out.find(marker); at != std::string::npos; at = out.find(marker, at + value.size()))
            out.replace(at, marker.size(), value);
    }
    std::error_code ec;
    fs::create_directories((root / *path).parent_path(), ec);
    MLO_TRY_CTX(util::write_file_atomic(root / *path, out), "writing " + *path);
    return *path;
}

} // namespace mlo::core
