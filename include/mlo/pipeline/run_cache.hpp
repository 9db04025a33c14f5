#pragma once

#include <filesystem>
#include <map>
#include <mlo/hash/object_id.hpp>
#include <mlo/store/lock_file.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::pipeline {

using store::LockedPath;
using store::LockedStage;
using store::LockFile;

// The exact inputs of a stage execution: what the run cache is keyed on.
struct StageInputs {
    std::string cmd;
    std::vector<LockedPath> deps;
    std::map<std::string, std::string> params;
    std::vector<std::string> outs;    // paths
    std::vector<std::string> metrics; // paths
    hash::ObjectId key() const;       // sha256 of the canonical JSON of all the above
};

// Remembers, for each stage input key, the outs that execution produced, so that running the
// same stage on the same inputs again restores them from the store instead. Entries are small
// JSON files `.mlo/cache/runs/<2>/<62>` written atomically; losing them only costs re-running.
class RunCache {
  public:
    explicit RunCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}

    struct Entry {
        std::vector<LockedPath> outs;
        std::vector<LockedPath> metrics;
        std::optional<hash::ObjectId> step_metrics; // the MLO_METRICS lines the execution wrote
    };
    std::optional<Entry> find(const hash::ObjectId& key) const;
    Status save(const hash::ObjectId& key, const Entry& entry) const;

  private:
    std::filesystem::path path_of(const hash::ObjectId& key) const;
    std::filesystem::path m_dir;
};

} // namespace mlo::pipeline
