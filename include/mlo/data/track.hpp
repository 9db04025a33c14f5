#pragma once

#include <mlo/core/project.hpp>
#include <mlo/store/pointer_file.hpp>
#include <mlo/util/progress.hpp>
#include <string>
#include <vector>

namespace mlo::data {

struct TrackedItem {
    std::string path; // project-relative data path
    store::Pointer pointer;
    bool pointer_changed = false;
    uint64_t hashed_files = 0; // files actually read (the rest came from the stat cache)
};

struct TrackReport {
    std::vector<TrackedItem> items;
    std::vector<std::string> gitignores_changed; // project-relative .gitignore paths
};

// Tracks files or directories (project-relative paths): stores their content, writes `X.mlo`
// pointers atomically and git-ignores the data. Every path is checked before anything is stored
// (missing, inside the store, a pointer file, inside or containing tracked data): all problems are
// reported together and nothing changes. Holds the store's shared lock.
Result<TrackReport> track(core::Project& project, const std::vector<std::string>& paths,
                          util::ProgressSink* progress);

} // namespace mlo::data
