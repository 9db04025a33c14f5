#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::git {

namespace fs = std::filesystem;

// Facts about HEAD used for run lineage and status.
struct HeadInfo {
    std::string commit;  // 40 hex, empty when the repository has no commits yet
    std::string branch;  // short name, empty when detached or unborn
    bool unborn = false; // no commit yet
};

// A file found in a git tree: its path (relative to the work tree root, '/'-separated) and content.
struct TreeFile {
    std::string path;
    std::string content;
};

// A thin, exception-free wrapper over libgit2. Every method reports libgit2's message on failure.
// Not thread-safe: use one Repository per thread.
class Repository {
  public:
    // Opens the repository whose work tree contains `path` (searching upwards).
    // Fails with ErrorCode::precondition when there is none.
    static Result<Repository> discover(const fs::path& path);
    // Creates a repository in `work_tree` (libgit2's git_repository_init, initial branch "main").
    static Result<Repository> init(const fs::path& work_tree);

    Repository(Repository&&) noexcept;
    Repository& operator=(Repository&&) noexcept;
    ~Repository();

    fs::path work_tree() const;
    Result<HeadInfo> head() const;

    // Resolves a revision (branch, tag, sha, HEAD~2 ...) to a commit id (40 hex).
    // An unknown revision is ErrorCode::input naming it.
    Result<std::string> resolve_commit(const std::string& rev) const;

    // Content of the file at `path` (work-tree relative, '/'-separated) in commit `rev`, as stored (no
    // filters); nullopt if absent or not a regular file. An unknown `rev` is ErrorCode::input.
    Result<std::optional<std::string>> read_file_at(const std::string& rev, const std::string& path) const;

    // Every regular file in the tree of commit `rev` whose path satisfies `want` (called with the
    // '/'-separated path), in tree order. Symlinks and submodules are skipped.
    Result<std::vector<TreeFile>> files_at(const std::string& rev,
                                           const std::function<bool(const std::string&)>& want) const;

    // Every commit reachable from any branch, tag or HEAD (each once). Used by gc so that nothing
    // a past commit refers to is deleted.
    Result<std::vector<std::string>> all_reachable_commits() const;

    // Whether the index or work tree differs from HEAD for tracked files (a staged new file counts;
    // untracked and ignored files and submodules do not). An unborn HEAD with an empty index is clean.
    Result<bool> is_dirty() const;

    // The patch text of uncommitted changes to tracked files (index and work tree against HEAD),
    // "" when clean. Runs record its hash so that two runs from the same dirty state match.
    // Paths in `exclude` (work-tree relative) are left out.
    Result<std::string> diff_against_head(const std::vector<std::string>& exclude = {}) const;

    // Writes the files of commit `rev` into `dest` (an empty directory), as a checkout would,
    // without touching this repository's work tree, index or HEAD.
    Status export_tree(const std::string& rev, const fs::path& dest) const;

    // Paths (work-tree relative) that differ between the trees of two commits.
    Result<std::vector<std::string>> changed_files(const std::string& old_commit,
                                                   const std::string& new_commit) const;

  private:
    struct Impl;
    explicit Repository(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace mlo::git
