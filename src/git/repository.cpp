// Repository wraps the few libgit2 calls mlo needs. Two rules shape every function here:
//
// - libgit2 reports failure as a negative int plus a thread-local message (git_error_last()). The
//   message is taken at the failing call, before any other libgit2 call can overwrite it, and becomes an
//   mlo::Error with context saying what we were doing.
// - Every libgit2 object is owned by a std::unique_ptr with a deleter calling its *_free function, so an
//   early return never leaks. Objects borrowed from their owner (git_tree_entry from git_tree_walk,
//   git_repository_workdir's string) are never freed.
//
// Files are read from the object database as stored (git_blob_rawcontent): no smudge filters, no CRLF
// conversion, so a hash of the content is the same on every platform.

#include "libgit2_api.hpp"

#include <algorithm>
#include <exception>
#include <git2.h>
#include <mlo/git/repository.hpp>

// Every libgit2 call below goes through the table loaded by load_libgit2() (see libgit2_api.hpp).
// clang-format off
#define git_blob_free (::mlo::git::detail::libgit2().git_blob_free)
#define git_blob_lookup (::mlo::git::detail::libgit2().git_blob_lookup)
#define git_blob_rawcontent (::mlo::git::detail::libgit2().git_blob_rawcontent)
#define git_blob_rawsize (::mlo::git::detail::libgit2().git_blob_rawsize)
#define git_buf_dispose (::mlo::git::detail::libgit2().git_buf_dispose)
#define git_checkout_options_init (::mlo::git::detail::libgit2().git_checkout_options_init)
#define git_checkout_tree (::mlo::git::detail::libgit2().git_checkout_tree)
#define git_commit_free (::mlo::git::detail::libgit2().git_commit_free)
#define git_commit_id (::mlo::git::detail::libgit2().git_commit_id)
#define git_commit_tree (::mlo::git::detail::libgit2().git_commit_tree)
#define git_diff_free (::mlo::git::detail::libgit2().git_diff_free)
#define git_diff_get_delta (::mlo::git::detail::libgit2().git_diff_get_delta)
#define git_diff_num_deltas (::mlo::git::detail::libgit2().git_diff_num_deltas)
#define git_diff_tree_to_tree (::mlo::git::detail::libgit2().git_diff_tree_to_tree)
#define git_diff_tree_to_workdir_with_index (::mlo::git::detail::libgit2().git_diff_tree_to_workdir_with_index)
#define git_error_clear (::mlo::git::detail::libgit2().git_error_clear)
#define git_error_last (::mlo::git::detail::libgit2().git_error_last)
#define git_libgit2_init (::mlo::git::detail::libgit2().git_libgit2_init)
#define git_object_free (::mlo::git::detail::libgit2().git_object_free)
#define git_object_id (::mlo::git::detail::libgit2().git_object_id)
#define git_object_lookup (::mlo::git::detail::libgit2().git_object_lookup)
#define git_object_peel (::mlo::git::detail::libgit2().git_object_peel)
#define git_oid_tostr (::mlo::git::detail::libgit2().git_oid_tostr)
#define git_patch_free (::mlo::git::detail::libgit2().git_patch_free)
#define git_patch_from_diff (::mlo::git::detail::libgit2().git_patch_from_diff)
#define git_patch_to_buf (::mlo::git::detail::libgit2().git_patch_to_buf)
#define git_reference_free (::mlo::git::detail::libgit2().git_reference_free)
#define git_reference_iterator_free (::mlo::git::detail::libgit2().git_reference_iterator_free)
#define git_reference_iterator_new (::mlo::git::detail::libgit2().git_reference_iterator_new)
#define git_reference_lookup (::mlo::git::detail::libgit2().git_reference_lookup)
#define git_reference_name (::mlo::git::detail::libgit2().git_reference_name)
#define git_reference_next (::mlo::git::detail::libgit2().git_reference_next)
#define git_reference_resolve (::mlo::git::detail::libgit2().git_reference_resolve)
#define git_reference_shorthand (::mlo::git::detail::libgit2().git_reference_shorthand)
#define git_reference_symbolic_target (::mlo::git::detail::libgit2().git_reference_symbolic_target)
#define git_reference_target (::mlo::git::detail::libgit2().git_reference_target)
#define git_repository_discover (::mlo::git::detail::libgit2().git_repository_discover)
#define git_repository_free (::mlo::git::detail::libgit2().git_repository_free)
#define git_repository_head (::mlo::git::detail::libgit2().git_repository_head)
#define git_repository_head_detached (::mlo::git::detail::libgit2().git_repository_head_detached)
#define git_repository_head_unborn (::mlo::git::detail::libgit2().git_repository_head_unborn)
#define git_repository_init_ext (::mlo::git::detail::libgit2().git_repository_init_ext)
#define git_repository_init_options_init (::mlo::git::detail::libgit2().git_repository_init_options_init)
#define git_repository_is_bare (::mlo::git::detail::libgit2().git_repository_is_bare)
#define git_repository_open (::mlo::git::detail::libgit2().git_repository_open)
#define git_repository_workdir (::mlo::git::detail::libgit2().git_repository_workdir)
#define git_revparse_single (::mlo::git::detail::libgit2().git_revparse_single)
#define git_revwalk_free (::mlo::git::detail::libgit2().git_revwalk_free)
#define git_revwalk_new (::mlo::git::detail::libgit2().git_revwalk_new)
#define git_revwalk_next (::mlo::git::detail::libgit2().git_revwalk_next)
#define git_revwalk_push (::mlo::git::detail::libgit2().git_revwalk_push)
#define git_revwalk_push_head (::mlo::git::detail::libgit2().git_revwalk_push_head)
#define git_status_byindex (::mlo::git::detail::libgit2().git_status_byindex)
#define git_status_list_entrycount (::mlo::git::detail::libgit2().git_status_list_entrycount)
#define git_status_list_free (::mlo::git::detail::libgit2().git_status_list_free)
#define git_status_list_new (::mlo::git::detail::libgit2().git_status_list_new)
#define git_status_options_init (::mlo::git::detail::libgit2().git_status_options_init)
#define git_tree_entry_bypath (::mlo::git::detail::libgit2().git_tree_entry_bypath)
#define git_tree_entry_filemode (::mlo::git::detail::libgit2().git_tree_entry_filemode)
#define git_tree_entry_free (::mlo::git::detail::libgit2().git_tree_entry_free)
#define git_tree_entry_id (::mlo::git::detail::libgit2().git_tree_entry_id)
#define git_tree_entry_name (::mlo::git::detail::libgit2().git_tree_entry_name)
#define git_tree_free (::mlo::git::detail::libgit2().git_tree_free)
#define git_tree_walk (::mlo::git::detail::libgit2().git_tree_walk)
// clang-format on

#include <mutex>
#include <string_view>
#include <utility>

namespace mlo::git {

namespace {

// Frees a libgit2 object with its own *_free function (called through the loaded table).
struct Deleter {
    void operator()(git_repository* object) const noexcept { git_repository_free(object); }
    void operator()(git_reference* object) const noexcept { git_reference_free(object); }
    void operator()(git_reference_iterator* object) const noexcept { git_reference_iterator_free(object); }
    void operator()(git_object* object) const noexcept { git_object_free(object); }
    void operator()(git_commit* object) const noexcept { git_commit_free(object); }
    void operator()(git_tree* object) const noexcept { git_tree_free(object); }
    void operator()(git_tree_entry* object) const noexcept { git_tree_entry_free(object); }
    void operator()(git_blob* object) const noexcept { git_blob_free(object); }
    void operator()(git_revwalk* object) const noexcept { git_revwalk_free(object); }
    void operator()(git_status_list* object) const noexcept { git_status_list_free(object); }
    void operator()(git_diff* object) const noexcept { git_diff_free(object); }
};

using RepositoryPtr = std::unique_ptr<git_repository, Deleter>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter>;
using ReferenceIteratorPtr = std::unique_ptr<git_reference_iterator, Deleter>;
using ObjectPtr = std::unique_ptr<git_object, Deleter>;
using CommitPtr = std::unique_ptr<git_commit, Deleter>;
using TreePtr = std::unique_ptr<git_tree, Deleter>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, Deleter>;
using BlobPtr = std::unique_ptr<git_blob, Deleter>;
using RevwalkPtr = std::unique_ptr<git_revwalk, Deleter>;
using StatusListPtr = std::unique_ptr<git_status_list, Deleter>;
using DiffPtr = std::unique_ptr<git_diff, Deleter>;

// libgit2's message for the call that just failed, prefixed with what we were doing.
Error libgit2_error(const std::string& what, ErrorCode code = ErrorCode::internal) {
    const git_error* last = git_error_last();
    std::string detail =
        (last != nullptr && last->message != nullptr) ? last->message : "unknown libgit2 error";
    git_error_clear();
    return Error{code, what + ": " + detail, {}};
}

std::string to_hex(const git_oid* oid) {
    char buffer[GIT_OID_HEXSZ + 1] = {};
    git_oid_tostr(buffer, sizeof buffer, oid);
    return buffer;
}

// True for tree entries that are regular files (executable or not). Symlinks are blobs too, but their
// content is the link target, which no caller wants as file content; submodules are commits.
bool is_regular_file(const git_tree_entry* entry) {
    git_filemode_t mode = git_tree_entry_filemode(entry);
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

} // namespace

struct Repository::Impl {
    RepositoryPtr repo;

    Result<CommitPtr> lookup_commit(const std::string& rev) const {
        git_object* raw = nullptr;
        if (int rc = git_revparse_single(&raw, repo.get(), rev.c_str()); rc < 0) {
            if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EUNBORNBRANCH) {
                git_error_clear();
                // "HEAD" in a fresh repository is the common case; say why it does not resolve.
                std::string hint =
                    git_repository_head_unborn(repo.get()) == 1 ? "the repository has no commits yet" : "";
                git_error_clear();
                return fail(ErrorCode::input, "unknown revision '" + rev + "'", std::move(hint));
            }
            if (rc == GIT_EAMBIGUOUS)
                return fail(libgit2_error("ambiguous revision '" + rev + "'", ErrorCode::input));
            return fail(libgit2_error("resolving revision '" + rev + "'"));
        }
        ObjectPtr object(raw);
        git_object* peeled = nullptr;
        if (int rc = git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT); rc < 0) {
            if (rc == GIT_EPEEL || rc == GIT_EINVALIDSPEC) {
                git_error_clear();
                return fail(ErrorCode::input, "revision '" + rev + "' is not a commit");
            }
            return fail(libgit2_error("resolving revision '" + rev + "'"));
        }
        return CommitPtr(reinterpret_cast<git_commit*>(peeled));
    }

    Result<TreePtr> commit_tree(const std::string& rev) const {
        auto commit = lookup_commit(rev);
        if (!commit)
            return fail(std::move(commit).error());
        git_tree* tree = nullptr;
        if (git_commit_tree(&tree, commit->get()) < 0)
            return fail(libgit2_error("reading the tree of '" + rev + "'"));
        return TreePtr(tree);
    }

    Result<std::string> read_blob(const git_oid* id, const std::string& path) const {
        git_blob* raw = nullptr;
        if (git_blob_lookup(&raw, repo.get(), id) < 0)
            return fail(libgit2_error("reading " + path));
        BlobPtr blob(raw);
        const auto* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
        auto size = static_cast<std::size_t>(git_blob_rawsize(blob.get()));
        return std::string(data, size);
    }
};

Repository::Repository(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;
Repository::~Repository() = default;

Result<Repository> Repository::discover(const fs::path& path) {
    MLO_TRY(detail::load_libgit2());
    git_buf found = GIT_BUF_INIT;
    int rc = git_repository_discover(&found, path.c_str(), 0, nullptr);
    if (rc < 0) {
        git_buf_dispose(&found);
        if (rc == GIT_ENOTFOUND) {
            git_error_clear();
            return fail(ErrorCode::precondition, "not a git repository: " + path.string());
        }
        return fail(libgit2_error("looking for a git repository at " + path.string()));
    }
    git_repository* raw = nullptr;
    rc = git_repository_open(&raw, found.ptr);
    git_buf_dispose(&found);
    if (rc < 0) {
        // GIT_EOWNER: safe.directory refuses a repository owned by someone else; the user must act.
        auto code = rc == GIT_EOWNER ? ErrorCode::precondition : ErrorCode::internal;
        return fail(libgit2_error("opening the git repository at " + path.string(), code));
    }
    RepositoryPtr repo(raw);
    if (git_repository_is_bare(repo.get()))
        return fail(ErrorCode::precondition, "a bare git repository has no work tree: " + path.string());
    return Repository(std::unique_ptr<Impl>(new Impl{std::move(repo)}));
}

Result<Repository> Repository::init(const fs::path& work_tree) {
    MLO_TRY(detail::load_libgit2());
    // The *_options_init functions instead of the INIT macros: the macros leave fields to implicit
    // zeroing, which clang's -Wmissing-field-initializers reports.
    git_repository_init_options options{};
    if (git_repository_init_options_init(&options, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0)
        return fail(libgit2_error("creating a git repository in " + work_tree.string()));
    options.flags = GIT_REPOSITORY_INIT_MKPATH;
    // Fixed rather than taken from init.defaultBranch, so every new project starts the same way.
    options.initial_head = "main";
    git_repository* raw = nullptr;
    if (git_repository_init_ext(&raw, work_tree.c_str(), &options) < 0)
        return fail(libgit2_error("creating a git repository in " + work_tree.string()));
    return Repository(std::unique_ptr<Impl>(new Impl{RepositoryPtr(raw)}));
}

fs::path Repository::work_tree() const {
    // libgit2 returns the directory with a trailing '/'; drop it so filename() and == behave.
    std::string dir = git_repository_workdir(m_impl->repo.get());
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    return fs::path(dir);
}

Result<HeadInfo> Repository::head() const {
    git_repository* repo = m_impl->repo.get();
    HeadInfo info;
    int unborn = git_repository_head_unborn(repo);
    if (unborn < 0)
        return fail(libgit2_error("reading HEAD"));
    if (unborn == 1) {
        // HEAD names a branch that does not exist yet; its name comes from HEAD's symbolic target.
        info.unborn = true;
        git_reference* raw = nullptr;
        if (git_reference_lookup(&raw, repo, "HEAD") < 0)
            return fail(libgit2_error("reading HEAD"));
        ReferencePtr head_ref(raw);
        if (const char* target = git_reference_symbolic_target(head_ref.get())) {
            std::string_view name = target;
            constexpr std::string_view prefix = "refs/heads/";
            if (name.substr(0, prefix.size()) == prefix)
                name.remove_prefix(prefix.size());
            info.branch = name;
        }
        return info;
    }
    git_reference* raw = nullptr;
    if (git_repository_head(&raw, repo) < 0)
        return fail(libgit2_error("reading HEAD"));
    ReferencePtr head_ref(raw);
    const git_oid* target = git_reference_target(head_ref.get());
    if (target == nullptr)
        return fail(ErrorCode::internal, "reading HEAD: it does not resolve to an object");
    info.commit = to_hex(target);
    int detached = git_repository_head_detached(repo);
    if (detached < 0)
        return fail(libgit2_error("reading HEAD"));
    if (detached == 0)
        info.branch = git_reference_shorthand(head_ref.get());
    return info;
}

Result<std::string> Repository::resolve_commit(const std::string& rev) const {
    auto commit = m_impl->lookup_commit(rev);
    if (!commit)
        return fail(std::move(commit).error());
    return to_hex(git_commit_id(commit->get()));
}

Result<std::optional<std::string>> Repository::read_file_at(const std::string& rev,
                                                            const std::string& path) const {
    auto tree = m_impl->commit_tree(rev);
    if (!tree)
        return fail(std::move(tree).error());
    git_tree_entry* raw = nullptr;
    if (int rc = git_tree_entry_bypath(&raw, tree->get(), path.c_str()); rc < 0) {
        if (rc == GIT_ENOTFOUND) {
            git_error_clear();
            return std::optional<std::string>();
        }
        return fail(libgit2_error("reading " + path + " at '" + rev + "'"));
    }
    TreeEntryPtr entry(raw);
    // A directory, symlink or submodule at `path` is not a file, so the file is absent.
    if (!is_regular_file(entry.get()))
        return std::optional<std::string>();
    auto content = m_impl->read_blob(git_tree_entry_id(entry.get()), path + " at '" + rev + "'");
    if (!content)
        return fail(std::move(content).error());
    return std::optional<std::string>(std::move(*content));
}

namespace {

// What the git_tree_walk callback collects. Blobs are read after the walk, not inside the callback,
// so that a read failure is reported through the normal path instead of across the C callback.
struct WalkState {
    const std::function<bool(const std::string&)>* want = nullptr;
    std::vector<std::pair<std::string, git_oid>> found;
    std::exception_ptr thrown; // from `want` or an allocation; rethrown as an Error after the walk
};

int collect_entry(const char* root, const git_tree_entry* entry, void* payload) noexcept {
    auto* state = static_cast<WalkState*>(payload);
    if (!is_regular_file(entry))
        return 0; // keep walking; directories are descended into by git_tree_walk itself
    try {
        std::string path = std::string(root) + git_tree_entry_name(entry);
        if ((*state->want)(path))
            state->found.emplace_back(std::move(path), *git_tree_entry_id(entry));
        return 0;
    } catch (...) {
        state->thrown = std::current_exception();
        return -1; // stops the walk
    }
}

std::string describe(const std::exception_ptr& thrown) {
    try {
        std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

} // namespace

Result<std::vector<TreeFile>>
Repository::files_at(const std::string& rev, const std::function<bool(const std::string&)>& want) const {
    auto tree = m_impl->commit_tree(rev);
    if (!tree)
        return fail(std::move(tree).error());
    WalkState state;
    state.want = &want;
    if (git_tree_walk(tree->get(), GIT_TREEWALK_PRE, collect_entry, &state) < 0) {
        if (state.thrown) {
            git_error_clear();
            return fail(ErrorCode::internal, "listing files at '" + rev + "': " + describe(state.thrown));
        }
        return fail(libgit2_error("listing files at '" + rev + "'"));
    }
    std::vector<TreeFile> files;
    files.reserve(state.found.size());
    for (auto& [path, id] : state.found) {
        auto content = m_impl->read_blob(&id, path + " at '" + rev + "'");
        if (!content)
            return fail(std::move(content).error());
        files.push_back(TreeFile{std::move(path), std::move(*content)});
    }
    return files;
}

Result<std::vector<std::string>> Repository::all_reachable_commits() const {
    git_repository* repo = m_impl->repo.get();
    git_revwalk* raw_walk = nullptr;
    if (git_revwalk_new(&raw_walk, repo) < 0)
        return fail(libgit2_error("walking commits"));
    RevwalkPtr walk(raw_walk);

    git_reference_iterator* raw_iter = nullptr;
    if (git_reference_iterator_new(&raw_iter, repo) < 0)
        return fail(libgit2_error("listing references"));
    ReferenceIteratorPtr iter(raw_iter);
    for (;;) {
        git_reference* raw_ref = nullptr;
        int rc = git_reference_next(&raw_ref, iter.get());
        if (rc == GIT_ITEROVER)
            break;
        if (rc < 0)
            return fail(libgit2_error("listing references"));
        ReferencePtr ref(raw_ref);
        const char* name = git_reference_name(ref.get());

        // A dangling symbolic ref (origin/HEAD after its branch was deleted) points at nothing; git
        // skips it too.
        git_reference* raw_resolved = nullptr;
        if (git_reference_resolve(&raw_resolved, ref.get()) < 0) {
            git_error_clear();
            continue;
        }
        ReferencePtr resolved(raw_resolved);
        git_object* raw_object = nullptr;
        if (git_object_lookup(&raw_object, repo, git_reference_target(resolved.get()), GIT_OBJECT_ANY) < 0)
            return fail(libgit2_error(std::string("reading the object of ") + name));
        ObjectPtr object(raw_object);

        // Tags may point at trees or blobs; those protect no commit. A missing object, by contrast, is
        // an error: skipping it could let gc delete something a commit still needs.
        git_object* raw_commit = nullptr;
        if (int peel_rc = git_object_peel(&raw_commit, object.get(), GIT_OBJECT_COMMIT); peel_rc < 0) {
            if (peel_rc == GIT_EPEEL || peel_rc == GIT_EINVALIDSPEC) {
                git_error_clear();
                continue;
            }
            return fail(libgit2_error(std::string("peeling ") + name));
        }
        ObjectPtr commit(raw_commit);
        if (git_revwalk_push(walk.get(), git_object_id(commit.get())) < 0)
            return fail(libgit2_error(std::string("walking commits from ") + name));
    }

    // A detached HEAD is reachable from no reference.
    int unborn = git_repository_head_unborn(repo);
    if (unborn < 0)
        return fail(libgit2_error("reading HEAD"));
    if (unborn == 0 && git_revwalk_push_head(walk.get()) < 0)
        return fail(libgit2_error("walking commits from HEAD"));

    std::vector<std::string> commits;
    git_oid id;
    for (;;) {
        int rc = git_revwalk_next(&id, walk.get());
        if (rc == GIT_ITEROVER)
            break;
        if (rc < 0)
            return fail(libgit2_error("walking commits"));
        commits.push_back(to_hex(&id));
    }
    return commits;
}

Result<bool> Repository::is_dirty() const {
    git_status_options options{};
    if (git_status_options_init(&options, GIT_STATUS_OPTIONS_VERSION) < 0)
        return fail(libgit2_error("reading the status of the work tree"));
    options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    // No INCLUDE_UNTRACKED / INCLUDE_IGNORED: new files the user has not added do not change a run.
    options.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    git_status_list* raw = nullptr;
    if (git_status_list_new(&raw, m_impl->repo.get(), &options) < 0)
        return fail(libgit2_error("reading the status of the work tree"));
    StatusListPtr list(raw);
    constexpr unsigned int ignored_bits = GIT_STATUS_WT_NEW | GIT_STATUS_IGNORED;
    std::size_t count = git_status_list_entrycount(list.get());
    for (std::size_t i = 0; i < count; ++i) {
        const git_status_entry* entry = git_status_byindex(list.get(), i);
        if (entry != nullptr && (static_cast<unsigned int>(entry->status) & ~ignored_bits) != 0)
            return true;
    }
    return false;
}

Result<std::string> Repository::diff_against_head(const std::vector<std::string>& exclude) const {
    TreePtr head_tree;
    if (git_repository_head_unborn(m_impl->repo.get()) != 1) {
        auto commit = m_impl->lookup_commit("HEAD");
        if (!commit)
            return fail(std::move(commit).error());
        git_tree* raw_tree = nullptr;
        if (git_commit_tree(&raw_tree, commit->get()) < 0)
            return fail(libgit2_error("reading the tree of HEAD"));
        head_tree.reset(raw_tree);
    }
    git_diff* raw = nullptr;
    if (git_diff_tree_to_workdir_with_index(&raw, m_impl->repo.get(), head_tree.get(), nullptr) < 0)
        return fail(libgit2_error("diffing the work tree against HEAD"));
    DiffPtr diff(raw);
    std::string text;
    size_t count = git_diff_num_deltas(diff.get());
    for (size_t i = 0; i < count; ++i) {
        const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
        const char* path = delta->new_file.path != nullptr ? delta->new_file.path : delta->old_file.path;
        if (path != nullptr && std::find(exclude.begin(), exclude.end(), path) != exclude.end())
            continue;
        git_patch* patch = nullptr;
        if (git_patch_from_diff(&patch, diff.get(), i) < 0)
            return fail(libgit2_error("formatting the work tree diff"));
        git_buf buffer = GIT_BUF_INIT;
        int rc = patch != nullptr ? git_patch_to_buf(&buffer, patch) : 0;
        git_patch_free(patch);
        if (rc < 0)
            return fail(libgit2_error("formatting the work tree diff"));
        text.append(buffer.ptr != nullptr ? buffer.ptr : "", buffer.size);
        git_buf_dispose(&buffer);
    }
    return text;
}

Result<std::vector<std::string>> Repository::changed_files(const std::string& old_commit,
                                                           const std::string& new_commit) const {
    std::vector<TreePtr> trees;
    for (const auto* rev : {&old_commit, &new_commit}) {
        auto commit = m_impl->lookup_commit(*rev);
        if (!commit)
            return fail(std::move(commit).error());
        git_tree* raw_tree = nullptr;
        if (git_commit_tree(&raw_tree, commit->get()) < 0)
            return fail(libgit2_error("reading the tree of " + *rev));
        trees.emplace_back(raw_tree);
    }
    git_diff* raw = nullptr;
    if (git_diff_tree_to_tree(&raw, m_impl->repo.get(), trees[0].get(), trees[1].get(), nullptr) < 0)
        return fail(libgit2_error("diffing " + old_commit + " and " + new_commit));
    DiffPtr diff(raw);
    std::vector<std::string> paths;
    size_t count = git_diff_num_deltas(diff.get());
    for (size_t i = 0; i < count; ++i) {
        const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
        paths.emplace_back(delta->new_file.path != nullptr ? delta->new_file.path : delta->old_file.path);
    }
    return paths;
}

Status Repository::export_tree(const std::string& rev, const fs::path& dest) const {
    auto commit = m_impl->lookup_commit(rev);
    if (!commit)
        return fail(std::move(commit).error());
    git_checkout_options options{};
    if (git_checkout_options_init(&options, GIT_CHECKOUT_OPTIONS_VERSION) < 0)
        return fail(libgit2_error("preparing a checkout"));
    // FORCE writes every file; target_directory keeps the repository's own work tree and index
    // untouched; DONT_UPDATE_INDEX because the index belongs to that work tree.
    options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
    std::string target = dest.string();
    options.target_directory = target.c_str();
    if (git_checkout_tree(m_impl->repo.get(), reinterpret_cast<const git_object*>(commit->get()), &options) <
        0)
        return fail(libgit2_error("writing the files of " + rev + " to " + target));
    return {};
}

} // namespace mlo::git
