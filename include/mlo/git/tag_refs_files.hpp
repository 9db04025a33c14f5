#pragma once

// Tag refs read straight from the files of a git directory, without loading libgit2 (which costs about
// 15 ms): the hot path that decides whether a cached index of tags is still current.

#include <filesystem>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::git {

namespace fs = std::filesystem;

// A tag ref: its name without "refs/tags/" (may contain '/', '@', '#', '!'), and the object id it points
// at (the tag object for annotated tags, the commit for lightweight ones), 40 lowercase hex.
struct TagRef {
    std::string name;
    std::string oid;
    bool operator==(const TagRef&) const = default;
};

// The common git directory (canonical) of the repository whose work tree contains `path`: walks up from
// `path` to the first `.git` holding a HEAD, stopping at a filesystem boundary as Repository::discover
// does. A directory is the git dir; a file `gitdir: X` (worktrees, submodules) points at it (relative to
// the file's directory), and a `commondir` file inside it points at the common dir. nullopt when there is
// no repository; a `.git` file that is malformed or points nowhere is ErrorCode::input naming it.
// Does not use libgit2.
Result<std::optional<fs::path>> find_common_dir(const fs::path& path);

// Every tag ref in the files backend of `common_dir`: loose refs under refs/tags (recursively, names with
// '/'; `*.lock` files skipped) and packed-refs (lines "<oid> refs/tags/<name>", skipping '#' comments and
// '^' peel lines). A loose ref overrides a packed one; symbolic refs ("ref: ...") are skipped and hide a
// packed ref of the same name. Sorted by name (bytewise). The same result as Repository::tag_refs() for a
// files-backend repository. A malformed line or loose ref file is ErrorCode::input naming the file.
// One directory walk, one read per loose file.
Result<std::vector<TagRef>> read_tag_refs_files(const fs::path& common_dir);

} // namespace mlo::git
