#pragma once

#include <cstdint>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::store {

enum class EntryKind { file, directory, symlink };
std::string to_string(EntryKind kind);

// One entry of a directory level. For a directory, `id` is its own manifest's id and `size` the
// total bytes of the files below it. For a symlink, `target` is the link text and `id` its hash.
struct TreeEntry {
    std::string name;
    EntryKind kind = EntryKind::file;
    bool executable = false;
    uint64_t size = 0;
    hash::ObjectId id;
    std::string target; // symlinks only
    uint64_t files = 0; // directories: number of files below (not serialised; derived)
};

// A directory level of a Merkle tree: entries sorted by name (bytewise). The canonical form is
// compact JSON with sorted keys, so the same directory always gives the same bytes and id:
//   {"entries":[{"exec":false,"id":"sha256:..","kind":"file","name":"a.csv","size":12}],
//    "schema":"mlo.tree/1"}
struct TreeManifest {
    std::vector<TreeEntry> entries;

    // Sorts the entries; rejects duplicate names and names that are not valid single path
    // components ("", ".", "..", containing '/' or NUL) or not valid UTF-8.
    Status normalize();
    std::string canonical() const;
    // Parses and validates a manifest read from the store (names checked as in normalize(), so a
    // hand-made manifest cannot name "../x").
    static Result<TreeManifest> parse(std::string_view bytes);
};

// Whether `name` is acceptable as one path component in a manifest.
bool is_safe_component(std::string_view name);

} // namespace mlo::store
