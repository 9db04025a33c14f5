#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::store {

// One dep or out of a stage as recorded in mlo.lock.
struct LockedPath {
    std::string path;
    std::string kind; // "file" or "directory"
    hash::ObjectId id;
    uint64_t size = 0;
    uint64_t files = 0; // directories
};

struct LockedStage {
    std::string cmd;                           // the resolved command (templates expanded)
    std::vector<LockedPath> deps;              // sorted by path
    std::map<std::string, std::string> params; // dotted key -> canonical value
    std::vector<LockedPath> outs;              // sorted by path
    std::vector<LockedPath> metrics;           // metric files (also outs of the run)
};

// `mlo.lock`, committed to git: for each stage, what it last ran successfully with. Serialised as
// YAML with a fixed key order and sorted entries so the same state gives the same bytes:
//
//   schema: mlo.lock/1
//   stages:
//     prepare:
//       cmd: python3 src/prepare.py --split 0.2
//       deps:
//         - path: data/raw.csv
//           kind: file
//           hash: sha256:...
//           size: 1234
//       params:
//         prepare.split: "0.2"
//       outs:
//         - path: data/prepared
//           kind: directory
//           hash: sha256:...
//           size: 99
//           files: 3
//
// Stages are sorted by name, deps/outs/metrics by path, params by key; params values are always
// double-quoted; empty lists are left out; `files` is written for directories only. Parsing
// serialize()'s output and serialising again gives the same bytes.
// Paths are validated like pointer paths: relative, no "..", so a hand-edited lock cannot make
// checkout write outside the project.
struct LockFile {
    std::map<std::string, LockedStage> stages;

    std::string serialize() const;
    // A missing file is an empty lock. A malformed one is ErrorCode::input listing every problem
    // with its line (unknown keys with did-you-mean, bad ids and paths, wrong types).
    static Result<LockFile> load(const std::filesystem::path& path);
    static Result<LockFile> parse(const std::string& text, const std::string& source);
};

} // namespace mlo::store
