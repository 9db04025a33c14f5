#pragma once

#include <filesystem>
#include <mlo/git/repository.hpp>
#include <mlo/util/error.hpp>
#include <vector>

namespace mlo::registry {

// Every registry tag of the repository whose work tree holds `project_root`, read through the
// local index (`mlo_dir/index.db`, table registry_tags) so that a warm read never loads libgit2.
//
// The index is derived: each call lists the tag refs with plain file reads (loose refs and
// packed-refs), compares names and object ids with the indexed rows, and reads through libgit2
// only tags that are new or moved, deleting rows of tags that are gone. So a tag fetched from
// another clone shows at once, and a deleted index costs one full read.
// Tags whose names are not registry tags (see tag_name.hpp) are ignored. Not a git repository is
// ErrorCode::precondition.
Result<std::vector<git::TagInfo>> load_registry_tags(const std::filesystem::path& project_root,
                                                     const std::filesystem::path& mlo_dir);

} // namespace mlo::registry
