#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mlo/git/tag_refs_files.hpp>
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

// Who makes something (a tag): from git config user.name / user.email.
struct Identity {
    std::string name;
    std::string email;
};

// An annotated tag object, or a lightweight tag (annotated = false; tagger and message empty).
struct TagInfo {
    std::string name;       // without "refs/tags/"
    std::string tag_oid;    // what the ref points at: the tag object, or the commit of a lightweight tag
    std::string target_oid; // the commit it finally points at (peeled), 40 hex
    bool annotated = false;
    std::string tagger_name; // empty for a tag object without a tagger line (very old git)
    std::string tagger_email;
    int64_t time = 0;       // tagger time, seconds since the epoch
    int offset_minutes = 0; // tagger time zone, minutes east of UTC
    std::string message;    // exactly as stored (git tag -a adds a trailing newline; create_tag does not)
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

    // HEAD and its first parents, newest first, at most `limit` commits (empty when unborn).
    Result<std::vector<std::string>> first_parent_history(size_t limit) const;

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

    // The patch text between the trees of two commits, formatted exactly as diff_against_head()
    // formats the same change, so a run's recorded diff hash can be matched against a commit made
    // afterwards. Paths in `exclude` are left out.
    Result<std::string> diff_commits(const std::string& old_commit, const std::string& new_commit,
                                     const std::vector<std::string>& exclude = {}) const;

    // Writes the files of commit `rev` into `dest` (an empty directory), as a checkout would,
    // without touching this repository's work tree, index or HEAD.
    Status export_tree(const std::string& rev, const fs::path& dest) const;

    // Paths (work-tree relative) that differ between the trees of two commits.
    Result<std::vector<std::string>> changed_files(const std::string& old_commit,
                                                   const std::string& new_commit) const;

    // Every tag ref (loose and packed), sorted by name (bytewise); symbolic refs under refs/tags are
    // skipped. read_tag_refs_files() gives the same list without loading libgit2.
    Result<std::vector<TagRef>> tag_refs() const;

    // Reads the tag named `name` (without "refs/tags/"). An absent tag or an invalid name is
    // ErrorCode::input naming it, and so is a tag that does not lead to a commit (one on a tree or blob).
    Result<TagInfo> read_tag(const std::string& name) const;

    // Reads the tag object (or lightweight target) `ref.oid` for the tag `ref.name` without looking the ref
    // up again (for listing many tags from tag_refs()). A malformed or missing `ref.oid`, or one that does
    // not lead to a commit, is ErrorCode::input.
    Result<TagInfo> read_tag(const TagRef& ref) const;

    // Creates the annotated tag `name` on commit `target_commit` (40 hex or any revision) with `message`
    // (stored verbatim: no cleanup, no newline added) by `tagger` at the current time in the local time
    // zone, or at `time` seconds since the epoch in UTC when nonzero. Returns the tag object's id.
    // Never moves an existing tag: an existing name, or one that collides with an existing tag as a
    // directory ("a" against "a/b"), is ErrorCode::precondition naming it. An invalid tag name (git's
    // rules: no "..", spaces, '~', '^', ':', '?', '*', '[', backslash, "@{", leading '-' ...), a message with
    // a NUL byte, an identity git cannot store or an unknown revision is ErrorCode::input.
    Result<std::string> create_tag(const std::string& name, const std::string& target_commit,
                                   const std::string& message, const Identity& tagger, int64_t time = 0);

    // user.name and user.email from the repository's git config (local, global, system). Changed files
    // are re-read at each call; a global or system file created after the repository was opened is not
    // seen. Either missing or empty is ErrorCode::precondition with the hint
    // `git config user.email you@example.com` (or `git config user.name 'Your Name'`).
    Result<Identity> identity() const;

    // The common git directory, canonical and without a trailing '/' (for a worktree, the main
    // repository's .git): where refs/tags and packed-refs live.
    fs::path common_dir() const;

  private:
    struct Impl;
    explicit Repository(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace mlo::git
