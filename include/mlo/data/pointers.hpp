#pragma once

#include <filesystem>
#include <mlo/store/lock_file.hpp>
#include <mlo/store/pointer_file.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::data {

// A pointer found in the workspace or in a git revision.
struct PointerRef {
    std::string data_path; // project-relative path of the data, e.g. "data/raw.csv"
    store::Pointer pointer;
};

// Everything the workspace tracks, sorted by path: every pointer file below `root` and every out
// and metrics file recorded in `root/mlo.lock` (pipeline products are tracked through the lock).
// Skips `.git`, `.mlo` and the contents of tracked directories. A malformed pointer or lock file
// is an error naming it.
Result<std::vector<PointerRef>> find_workspace_pointers(const std::filesystem::path& root);

// The outs and metrics files of a lock file, as pointer refs.
std::vector<PointerRef> lock_refs(const store::LockFile& lock);

inline constexpr const char* k_lock_file = "mlo.lock";

// Keeps the pointers whose data path equals one of `paths` or lies below one of them.
// A path that selects nothing is ErrorCode::input naming it.
Result<std::vector<PointerRef>> select_pointers(const std::vector<PointerRef>& all,
                                                const std::vector<std::string>& paths);

} // namespace mlo::data
