#pragma once

#include <cstdint>
#include <filesystem>
#include <mlo/hash/object_id.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <mlo/util/error.hpp>
#include <string>

namespace mlo::store {

namespace fs = std::filesystem;

// A pointer file `X.mlo`, committed to git beside the git-ignored data `X`:
//
//   schema: mlo.pointer/1
//   path: X             # the data's name, always the pointer's own name without ".mlo"
//   kind: file          # file | directory
//   hash: sha256:<hex>  # the file's id, or the directory's top manifest id
//   size: 1234          # bytes (all files, for a directory)
//   files: 20           # directories only
//   executable: true    # files only, and only when set
//
// Keys are written in this order, so the same data always gives the same bytes.
struct Pointer {
    std::string path;
    EntryKind kind = EntryKind::file;
    hash::ObjectId id;
    uint64_t size = 0;
    uint64_t files = 0;
    bool executable = false;

    std::string serialize() const;
    // Parses a pointer and checks it strictly: unknown keys, a wrong schema, a bad id, and a
    // `path` other than the pointer's own name (which would let a hand-edited pointer write
    // outside its directory) are errors naming the pointer and the line.
    static Result<Pointer> parse(const std::string& text, const fs::path& pointer_path);
    static Result<Pointer> load(const fs::path& pointer_path);
};

inline constexpr const char* k_pointer_suffix = ".mlo";

// `data/raw.csv` -> `data/raw.csv.mlo`
fs::path pointer_path_for(const fs::path& data_path);
// `data/raw.csv.mlo` -> `data/raw.csv`
fs::path data_path_for(const fs::path& pointer_path);
bool is_pointer_path(const fs::path& path);

} // namespace mlo::store
