#pragma once

#include <mlo/core/project.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::data {

struct DiffEntry {
    std::string path;   // project-relative file path (inside tracked directories: the file itself)
    std::string change; // "added", "modified", "deleted"
    std::optional<hash::ObjectId> old_id, new_id;
    uint64_t old_size = 0, new_size = 0;
};

struct DiffReport {
    std::string old_side, new_side; // "workspace" or a resolved commit id
    std::vector<DiffEntry> entries; // sorted by path
};

// Compares tracked data between two sides: `old_rev` (default HEAD) and `new_rev` (default the
// workspace data as it is on disk). Directories are compared file by file through their manifests;
// a side whose manifest is not in the store is compared as a whole directory.
Result<DiffReport> diff(core::Project& project, const std::optional<std::string>& old_rev,
                        const std::optional<std::string>& new_rev);

} // namespace mlo::data
