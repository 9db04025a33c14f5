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
#define git_config_free (::mlo::git::detail::libgit2().git_config_free)
#define git_config_get_string (::mlo::git::detail::libgit2().git_config_get_string)
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
#define git_object_type (::mlo::git::detail::libgit2().git_object_type)
#define git_oid_fromstr (::mlo::git::detail::libgit2().git_oid_fromstr)
#define git_oid_tostr (::mlo::git::detail::libgit2().git_oid_tostr)
#define git_patch_free (::mlo::git::detail::libgit2().git_patch_free)
#define git_patch_from_diff (::mlo::git::detail::libgit2().git_patch_from_diff)
#define git_patch_to_buf (::mlo::git::detail::libgit2().git_patch_to_buf)
#define git_reference_free (::mlo::git::detail::libgit2().git_reference_free)
#define git_reference_iterator_free (::mlo::git::detail::libgit2().git_reference_iterator_free)
#define git_reference_iterator_glob_new (::mlo::git::detail::libgit2().git_reference_iterator_glob_new)
#define git_reference_iterator_new (::mlo::git::detail::libgit2().git_reference_iterator_new)
#define git_reference_lookup (::mlo::git::detail::libgit2().git_reference_lookup)
#define git_reference_name (::mlo::git::detail::libgit2().git_reference_name)
#define git_reference_next (::mlo::git::detail::libgit2().git_reference_next)
#define git_reference_resolve (::mlo::git::detail::libgit2().git_reference_resolve)
#define git_reference_shorthand (::mlo::git::detail::libgit2().git_reference_shorthand)
#define git_reference_symbolic_target (::mlo::git::detail::libgit2().git_reference_symbolic_target)
#define git_reference_target (::mlo::git::detail::libgit2().git_reference_target)
#define git_repository_commondir (::mlo::git::detail::libgit2().git_repository_commondir)
#define git_repository_config_snapshot (::mlo::git::detail::libgit2().git_repository_config_snapshot)
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
#define git_revwalk_simplify_first_parent (::mlo::git::detail::libgit2().git_revwalk_simplify_first_parent)
#define git_signature_free (::mlo::git::detail::libgit2().git_signature_free)
#define git_signature_new (::mlo::git::detail::libgit2().git_signature_new)
#define git_signature_now (::mlo::git::detail::libgit2().git_signature_now)
#define git_status_byindex (::mlo::git::detail::libgit2().git_status_byindex)
#define git_status_list_entrycount (::mlo::git::detail::libgit2().git_status_list_entrycount)
#define git_status_list_free (::mlo::git::detail::libgit2().git_status_list_free)
#define git_status_list_new (::mlo::git::detail::libgit2().git_status_list_new)
#define git_status_options_init (::mlo::git::detail::libgit2().git_status_options_init)
#define git_tag_create (::mlo::git::detail::libgit2().git_tag_create)
#define git_tag_message (::mlo::git::detail::libgit2().git_tag_message)
#define git_tag_name_is_valid (::mlo::git::detail::libgit2().git_tag_name_is_valid)
#define git_tag_tagger (::mlo::git::detail::libgit2().git_tag_tagger)
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
    void operator()(git_signature* object) const noexcept { git_signature_free(object); }
    void operator()(git_config* object) const noexcept { git_config_free(object); }
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
using SignaturePtr = std::unique_ptr<git_signature, Deleter>;
using ConfigPtr = std::unique_ptr<git_config, Deleter>;

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

    // The diff between the trees of two commits.
    Result<DiffPtr> diff_trees(const std::string& old_commit, const std::string& new_commit) const {
        auto old_tree = commit_tree(old_commit);
        if (!old_tree)
            return fail(std::move(old_tree).error());
        auto new_tree = commit_tree(new_commit);
        if (!new_tree)
            return fail(std::move(new_tree).error());
        git_diff* raw = nullptr;
        if (git_diff_tree_to_tree(&raw, repo.get(), old_tree->get(), new_tree->get(), nullptr) < 0)
            return fail(libgit2_error("diffing " + old_commit + " and " + new_commit));
        return DiffPtr(raw);
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

Result<std::vector<std::string>> Repository::first_parent_history(size_t limit) const {
    std::vector<std::string> commits;
    if (git_repository_head_unborn(m_impl->repo.get()) == 1)
        return commits;
    git_revwalk* raw_walk = nullptr;
    if (git_revwalk_new(&raw_walk, m_impl->repo.get()) < 0)
        return fail(libgit2_error("walking commits"));
    RevwalkPtr walk(raw_walk);
    if (git_revwalk_push_head(walk.get()) < 0 || git_revwalk_simplify_first_parent(walk.get()) < 0)
        return fail(libgit2_error("walking the history of HEAD"));
    git_oid oid;
    while (commits.size() < limit && git_revwalk_next(&oid, walk.get()) == 0) {
        char hex[GIT_OID_HEXSZ + 1];
        git_oid_tostr(hex, sizeof hex, &oid);
        commits.emplace_back(hex);
    }
    git_error_clear();
    return commits;
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

// The patch text of every delta of `diff` whose path is not in `exclude`, in libgit2's format
// (the same for a work-tree and a tree-to-tree diff of the same change, so their hashes compare).
static Result<std::string> patch_text(git_diff* diff, const std::vector<std::string>& exclude) {
    std::string text;
    size_t count = git_diff_num_deltas(diff);
    for (size_t i = 0; i < count; ++i) {
        const git_diff_delta* delta = git_diff_get_delta(diff, i);
        const char* path = delta->new_file.path != nullptr ? delta->new_file.path : delta->old_file.path;
        if (path != nullptr && std::find(exclude.begin(), exclude.end(), path) != exclude.end())
            continue;
        git_patch* patch = nullptr;
        if (git_patch_from_diff(&patch, diff, i) < 0)
            return fail(libgit2_error("formatting a diff"));
        git_buf buffer = GIT_BUF_INIT;
        int rc = patch != nullptr ? git_patch_to_buf(&buffer, patch) : 0;
        git_patch_free(patch);
        if (rc < 0)
            return fail(libgit2_error("formatting a diff"));
        text.append(buffer.ptr != nullptr ? buffer.ptr : "", buffer.size);
        git_buf_dispose(&buffer);
    }
    return text;
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
    return patch_text(diff.get(), exclude);
}

Result<std::string> Repository::diff_commits(const std::string& old_commit, const std::string& new_commit,
                                             const std::vector<std::string>& exclude) const {
    auto diff = m_impl->diff_trees(old_commit, new_commit);
    if (!diff)
        return fail(std::move(diff).error());
    return patch_text(diff->get(), exclude);
}

Result<std::vector<std::string>> Repository::changed_files(const std::string& old_commit,
                                                           const std::string& new_commit) const {
    auto diff = m_impl->diff_trees(old_commit, new_commit);
    if (!diff)
        return fail(std::move(diff).error());
    std::vector<std::string> paths;
    size_t count = git_diff_num_deltas(diff->get());
    for (size_t i = 0; i < count; ++i) {
        const git_diff_delta* delta = git_diff_get_delta(diff->get(), i);
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

// ---- Tags ----
//
// The model registry stores versions as annotated tags (GTO's convention: "churn-clf@v1.2.0",
// "churn-clf#production#3"), so tags are created here and never moved: git_tag_create with force = 0
// takes the ref's lock file exclusively and refuses an existing name, so two processes tagging the same
// name at once cannot both win.

namespace {

constexpr std::string_view k_tags_prefix = "refs/tags/";
constexpr const char* k_tag_name_hint = "tag names follow git's ref name rules (see git check-ref-format)";

} // namespace

fs::path Repository::common_dir() const {
    // libgit2 returns the directory with a trailing '/', as for the work tree.
    std::string dir = git_repository_commondir(m_impl->repo.get());
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    return fs::path(dir);
}

Result<std::vector<TagRef>> Repository::tag_refs() const {
    git_reference_iterator* raw_iter = nullptr;
    // libgit2 matches the glob without treating '/' specially, so "refs/tags/*" also lists "refs/tags/a/b".
    if (git_reference_iterator_glob_new(&raw_iter, m_impl->repo.get(), "refs/tags/*") < 0)
        return fail(libgit2_error("listing tags"));
    ReferenceIteratorPtr iter(raw_iter);
    std::vector<TagRef> tags;
    for (;;) {
        git_reference* raw_ref = nullptr;
        int rc = git_reference_next(&raw_ref, iter.get());
        if (rc == GIT_ITEROVER)
            break;
        if (rc < 0)
            return fail(libgit2_error("listing tags"));
        ReferencePtr ref(raw_ref);
        const git_oid* target = git_reference_target(ref.get());
        if (target == nullptr)
            continue; // a symbolic ref under refs/tags is not a tag
        std::string_view name = git_reference_name(ref.get());
        name.remove_prefix(std::min(name.size(), k_tags_prefix.size()));
        tags.push_back(TagRef{std::string(name), to_hex(target)});
    }
    std::sort(tags.begin(), tags.end(), [](const TagRef& a, const TagRef& b) { return a.name < b.name; });
    return tags;
}

Result<TagInfo> Repository::read_tag(const std::string& name) const {
    std::string ref_name = std::string(k_tags_prefix) + name;
    git_reference* raw = nullptr;
    if (int rc = git_reference_lookup(&raw, m_impl->repo.get(), ref_name.c_str()); rc < 0) {
        if (rc == GIT_ENOTFOUND) {
            git_error_clear();
            return fail(ErrorCode::input, "no tag '" + name + "'");
        }
        if (rc == GIT_EINVALIDSPEC) {
            git_error_clear();
            return fail(ErrorCode::input, "invalid tag name '" + name + "'", k_tag_name_hint);
        }
        return fail(libgit2_error("reading tag '" + name + "'"));
    }
    ReferencePtr ref(raw);
    git_reference* raw_resolved = nullptr;
    if (git_reference_resolve(&raw_resolved, ref.get()) < 0)
        return fail(libgit2_error("reading tag '" + name + "'", ErrorCode::input));
    ReferencePtr resolved(raw_resolved);
    return read_tag(TagRef{name, to_hex(git_reference_target(resolved.get()))});
}

Result<TagInfo> Repository::read_tag(const TagRef& ref) const {
    git_oid id{};
    if (ref.oid.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, ref.oid.c_str()) < 0) {
        git_error_clear();
        return fail(ErrorCode::input, "tag '" + ref.name + "': malformed object id '" + ref.oid + "'");
    }
    git_object* raw = nullptr;
    if (int rc = git_object_lookup(&raw, m_impl->repo.get(), &id, GIT_OBJECT_ANY); rc < 0) {
        auto code = rc == GIT_ENOTFOUND ? ErrorCode::input : ErrorCode::internal;
        return fail(libgit2_error("reading tag '" + ref.name + "'", code));
    }
    ObjectPtr object(raw);

    TagInfo info;
    info.name = ref.name;
    info.tag_oid = to_hex(git_object_id(object.get()));
    if (git_object_type(object.get()) == GIT_OBJECT_TAG) {
        // A git_object of type tag is a git_tag (libgit2's objects share one header).
        const auto* tag = reinterpret_cast<const git_tag*>(object.get());
        info.annotated = true;
        // Very old tag objects have no tagger line.
        if (const git_signature* tagger = git_tag_tagger(tag); tagger != nullptr) {
            info.tagger_name = tagger->name != nullptr ? tagger->name : "";
            info.tagger_email = tagger->email != nullptr ? tagger->email : "";
            info.time = static_cast<int64_t>(tagger->when.time);
            info.offset_minutes = tagger->when.offset;
        }
        if (const char* message = git_tag_message(tag); message != nullptr)
            info.message = message;
    }

    git_object* raw_commit = nullptr;
    if (int rc = git_object_peel(&raw_commit, object.get(), GIT_OBJECT_COMMIT); rc < 0) {
        if (rc == GIT_EPEEL || rc == GIT_EINVALIDSPEC) {
            git_error_clear();
            return fail(ErrorCode::input, "tag '" + ref.name + "' does not point at a commit");
        }
        auto code = rc == GIT_ENOTFOUND ? ErrorCode::input : ErrorCode::internal;
        return fail(libgit2_error("reading the commit of tag '" + ref.name + "'", code));
    }
    ObjectPtr commit(raw_commit);
    info.target_oid = to_hex(git_object_id(commit.get()));
    return info;
}

namespace {

// An existing tag that keeps `name` from being created because one is a directory of the other in
// refs/tags ("a" blocks "a/b" and the other way round); nullopt when there is none.
std::optional<std::string> colliding_tag(git_repository* repo, const std::string& name) {
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
        std::string prefix = name.substr(0, slash);
        std::string ref_name = std::string(k_tags_prefix) + prefix;
        git_reference* raw = nullptr;
        if (git_reference_lookup(&raw, repo, ref_name.c_str()) == 0) {
            ReferencePtr found(raw);
            return prefix;
        }
        git_error_clear();
    }
    // Tag names cannot contain glob characters ('*', '?', '[', '\\'), so the name is a literal here.
    std::string glob = std::string(k_tags_prefix) + name + "/*";
    git_reference_iterator* raw_iter = nullptr;
    if (git_reference_iterator_glob_new(&raw_iter, repo, glob.c_str()) < 0) {
        git_error_clear();
        return std::nullopt;
    }
    ReferenceIteratorPtr iter(raw_iter);
    git_reference* raw_ref = nullptr;
    if (git_reference_next(&raw_ref, iter.get()) != 0) {
        git_error_clear();
        return std::nullopt;
    }
    ReferencePtr ref(raw_ref);
    std::string_view found = git_reference_name(ref.get());
    found.remove_prefix(std::min(found.size(), k_tags_prefix.size()));
    return std::string(found);
}

} // namespace

Result<std::string> Repository::create_tag(const std::string& name, const std::string& target_commit,
                                           const std::string& message, const Identity& tagger, int64_t time) {
    git_repository* repo = m_impl->repo.get();
    // Checked before anything is written: libgit2 writes the tag object before it tries the ref.
    int valid = 0;
    if (git_tag_name_is_valid(&valid, name.c_str()) < 0)
        return fail(libgit2_error("checking the tag name '" + name + "'"));
    if (valid == 0 || name.find('\0') != std::string::npos)
        return fail(ErrorCode::input, "invalid tag name '" + name + "'", k_tag_name_hint);
    // libgit2 takes C strings: an embedded NUL would silently cut the message short.
    if (message.find('\0') != std::string::npos)
        return fail(ErrorCode::input, "the message of tag '" + name + "' contains a NUL byte");
    if (tagger.name.find('\0') != std::string::npos || tagger.email.find('\0') != std::string::npos)
        return fail(ErrorCode::input, "the tagger of tag '" + name + "' contains a NUL byte");

    auto commit = m_impl->lookup_commit(target_commit);
    if (!commit)
        return fail(std::move(commit).error().context("creating tag '" + name + "'"));

    git_signature* raw_signature = nullptr;
    int rc = time != 0 ? git_signature_new(&raw_signature, tagger.name.c_str(), tagger.email.c_str(),
                                           static_cast<git_time_t>(time), 0)
                       : git_signature_now(&raw_signature, tagger.name.c_str(), tagger.email.c_str());
    if (rc < 0)
        return fail(libgit2_error("creating tag '" + name + "': invalid tagger '" + tagger.name + " <" +
                                      tagger.email + ">'",
                                  ErrorCode::input));
    SignaturePtr signature(raw_signature);

    git_oid tag_id{};
    rc = git_tag_create(&tag_id, repo, name.c_str(), reinterpret_cast<const git_object*>(commit->get()),
                        signature.get(), message.c_str(), /*force=*/0);
    if (rc == GIT_EEXISTS) {
        git_error_clear();
        return fail(ErrorCode::precondition, "tag '" + name + "' already exists");
    }
    if (rc == GIT_EINVALIDSPEC)
        return fail(libgit2_error("invalid tag name '" + name + "'", ErrorCode::input));
    if (rc == GIT_ELOCKED) {
        // Another process holds the ref's lock file: it is creating the same tag right now.
        git_error_clear();
        return fail(ErrorCode::precondition,
                    "tag '" + name + "' already exists or is being created by another process");
    }
    if (rc < 0) {
        Error error = libgit2_error("creating tag '" + name + "'");
        if (auto other = colliding_tag(repo, name))
            return fail(ErrorCode::precondition, "tag '" + name + "' collides with the existing tag '" +
                                                     *other +
                                                     "' (a tag name cannot also be a directory of tags)");
        return fail(std::move(error));
    }
    return to_hex(&tag_id);
}

Result<Identity> Repository::identity() const {
    git_config* raw = nullptr;
    // A snapshot re-reads the config files that changed, so each call sees the current settings.
    if (git_repository_config_snapshot(&raw, m_impl->repo.get()) < 0)
        return fail(libgit2_error("reading the git config"));
    ConfigPtr config(raw);
    auto get = [&](const char* key) -> Result<std::string> {
        const char* value = nullptr;
        int rc = git_config_get_string(&value, config.get(), key);
        if (rc == GIT_ENOTFOUND) {
            git_error_clear();
            return std::string();
        }
        if (rc < 0)
            return fail(libgit2_error(std::string("reading ") + key + " from the git config"));
        return std::string(value != nullptr ? value : "");
    };
    auto name = get("user.name");
    if (!name)
        return fail(std::move(name).error());
    auto email = get("user.email");
    if (!email)
        return fail(std::move(email).error());
    if (name->empty() && email->empty())
        return fail(ErrorCode::precondition, "git user.name and user.email are not set",
                    "git config user.name 'Your Name' && git config user.email you@example.com");
    if (name->empty())
        return fail(ErrorCode::precondition, "git user.name is not set", "git config user.name 'Your Name'");
    if (email->empty())
        return fail(ErrorCode::precondition, "git user.email is not set",
                    "git config user.email you@example.com");
    return Identity{std::move(*name), std::move(*email)};
}

} // namespace mlo::git
