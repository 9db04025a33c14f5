#pragma once

#include <functional>
#include <map>
#include <mlo/store/object_store.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <mlo/util/error.hpp>
#include <set>
#include <string>

namespace mlo::data {

// One file of a flattened tree: the leaf entry of its manifest.
struct FlatEntry {
    store::EntryKind kind = store::EntryKind::file;
    bool executable = false;
    uint64_t size = 0;
    hash::ObjectId id;
    std::string target; // symlinks
};

// A directory as a flat map from '/'-separated relative path to file, plus its directories.
struct FlatTree {
    std::map<std::string, FlatEntry> files;
    std::set<std::string> dirs; // every directory below the root, empty ones included
};

// Reads the manifest `id` and everything below it from the store.
// A missing or malformed manifest is an error naming it.
Result<FlatTree> flatten_stored_tree(const store::ObjectStore& store, const hash::ObjectId& id);

// Calls `visit` for the manifest `id` and every object below it (manifests and file contents).
// Missing manifests are reported through `missing` and their subtrees skipped.
Status visit_tree_objects(const store::ObjectStore& store, const hash::ObjectId& id,
                          const std::function<void(const hash::ObjectId&)>& visit,
                          const std::function<void(const hash::ObjectId&)>& missing);

} // namespace mlo::data
