#pragma once

#include <filesystem>
#include <mlo/store/object_store.hpp>
#include <mlo/store/stat_cache.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <mlo/util/progress.hpp>
#include <string>
#include <vector>

namespace mlo::store {

// A file (or symlink) found below a scanned root; `path` is relative to the root, '/'-separated.
struct ScannedFile {
    std::string path;
    EntryKind kind = EntryKind::file;
    bool executable = false;
    uint64_t size = 0;
    hash::ObjectId id;
    std::string target; // symlinks: the link text
};

// The result of hashing a file or a directory tree as it is in the workspace.
struct ScannedTree {
    TreeEntry root;                      // kind file or directory; id, size, files
    std::vector<std::string> manifests;  // canonical bytes of every directory level, children first
    std::vector<ScannedFile> files;      // every file and symlink below the root (empty for a file)
    std::vector<std::string> empty_dirs; // directories with no entries, relative to the root
    uint64_t hashed_files = 0;           // files that were actually read (stat cache misses)
};

struct ScanOptions {
    bool store = false;   // also put every file and manifest into the store
    unsigned threads = 0; // 0 = one per core
    util::ProgressSink* progress = nullptr;
};

// Hashes `project_root / rel_path` (a regular file or a directory). Directory files are hashed in
// parallel; each file id comes from the stat cache when its stat data is unchanged, else the file
// is read once (and stored in the same pass when options.store). Symlinks below a directory are
// recorded as symlinks (their target text, not followed); special files (sockets, FIFOs,
// devices) and names that are not valid UTF-8 are errors naming the path.
// Stat cache keys are project-relative paths.
Result<ScannedTree> scan_tree(const ObjectStore& store, StatCache& cache, const fs::path& project_root,
                              const std::string& rel_path, const ScanOptions& options);

} // namespace mlo::store
