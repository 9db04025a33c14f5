#pragma once

#include <mlo/core/project.hpp>
#include <mlo/util/progress.hpp>
#include <string>
#include <vector>

namespace mlo::data {

// How tracked data differs from its pointer.
enum class DataState {
    unchanged,
    modified,     // the workspace content differs from the pointer
    missing,      // the data is absent from the workspace
    not_in_store, // the pointer's objects are not (all) in the store: checkout would fail
};
std::string to_string(DataState state);

struct StatusEntry {
    std::string path;
    DataState state = DataState::unchanged;
    std::string kind;                 // "file" or "directory"
    std::vector<std::string> details; // for directories: "modified: a/b.csv", "added: ...", ...
};

struct StatusReport {
    std::vector<StatusEntry> entries; // every tracked path, sorted
    std::string link_mode;            // as configured
    std::string effective_link_mode;  // what it means here, e.g. "auto (copy: ...no reflinks)"
    bool clean() const;
};

// Compares every pointer in the workspace (or those selected by `paths`) with the data and the
// store. Uses the stat cache, so unchanged files are not read. Writes nothing but the cache.
Result<StatusReport> status(core::Project& project, const std::vector<std::string>& paths,
                            util::ProgressSink* progress);

} // namespace mlo::data
