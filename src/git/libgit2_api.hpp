#pragma once

// libgit2 is loaded with dlopen() on first use instead of being linked: it and the libraries it
// needs (krb5, mbedtls, libssh2, pcre2...) cost the dynamic loader about 2.5 ms at every start,
// and most mlo commands never touch git. Every libgit2 function mlo calls is listed here once;
// repository.cpp calls them through the table, so a function missing from the list is a
// compile error, never a run-time surprise. git_libgit2_opts is called only by the unit tests, to point
// libgit2's global and system config lookup at a test directory (libgit2 reads HOME once, at init).

#include <git2.h>
#include <mlo/util/error.hpp>

namespace mlo::git::detail {

// clang-format off
#define MLO_LIBGIT2_FUNCTIONS(X) \
    X(git_blob_free) \
    X(git_blob_lookup) \
    X(git_blob_rawcontent) \
    X(git_blob_rawsize) \
    X(git_buf_dispose) \
    X(git_checkout_options_init) \
    X(git_checkout_tree) \
    X(git_commit_free) \
    X(git_commit_id) \
    X(git_commit_tree) \
    X(git_config_free) \
    X(git_config_get_string) \
    X(git_diff_free) \
    X(git_diff_get_delta) \
    X(git_diff_num_deltas) \
    X(git_diff_tree_to_tree) \
    X(git_diff_tree_to_workdir_with_index) \
    X(git_error_clear) \
    X(git_error_last) \
    X(git_libgit2_init) \
    X(git_libgit2_opts) \
    X(git_object_free) \
    X(git_object_id) \
    X(git_object_lookup) \
    X(git_object_peel) \
    X(git_object_type) \
    X(git_oid_fromstr) \
    X(git_oid_tostr) \
    X(git_patch_free) \
    X(git_patch_from_diff) \
    X(git_patch_to_buf) \
    X(git_reference_free) \
    X(git_reference_iterator_free) \
    X(git_reference_iterator_glob_new) \
    X(git_reference_iterator_new) \
    X(git_reference_lookup) \
    X(git_reference_name) \
    X(git_reference_next) \
    X(git_reference_resolve) \
    X(git_reference_shorthand) \
    X(git_reference_symbolic_target) \
    X(git_reference_target) \
    X(git_repository_commondir) \
    X(git_repository_config_snapshot) \
    X(git_repository_discover) \
    X(git_repository_free) \
    X(git_repository_head) \
    X(git_repository_head_detached) \
    X(git_repository_head_unborn) \
    X(git_repository_init_ext) \
    X(git_repository_init_options_init) \
    X(git_repository_is_bare) \
    X(git_repository_open) \
    X(git_repository_workdir) \
    X(git_revparse_single) \
    X(git_revwalk_free) \
    X(git_revwalk_new) \
    X(git_revwalk_next) \
    X(git_revwalk_push) \
    X(git_revwalk_push_head) \
    X(git_revwalk_simplify_first_parent) \
    X(git_signature_free) \
    X(git_signature_new) \
    X(git_signature_now) \
    X(git_status_byindex) \
    X(git_status_list_entrycount) \
    X(git_status_list_free) \
    X(git_status_list_new) \
    X(git_status_options_init) \
    X(git_tag_create) \
    X(git_tag_message) \
    X(git_tag_name_is_valid) \
    X(git_tag_tagger) \
    X(git_tree_entry_bypath) \
    X(git_tree_entry_filemode) \
    X(git_tree_entry_free) \
    X(git_tree_entry_id) \
    X(git_tree_entry_name) \
    X(git_tree_free) \
    X(git_tree_walk)
// clang-format on

struct Libgit2Api {
#define MLO_LIBGIT2_MEMBER(name) decltype(&::name) name = nullptr;
    MLO_LIBGIT2_FUNCTIONS(MLO_LIBGIT2_MEMBER)
#undef MLO_LIBGIT2_MEMBER
};

// Loads libgit2 and initialises it (once per process). Fails with ErrorCode::internal naming the
// library when it is not installed.
Result<const Libgit2Api*> load_libgit2();

// The loaded table; only valid after load_libgit2() succeeded (every Repository was made by it).
const Libgit2Api& libgit2();

} // namespace mlo::git::detail
