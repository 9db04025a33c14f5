#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::store {

namespace fs = std::filesystem;
using hash::ObjectId;

// An object something outside the workspace and git refers to (a run record, a log, a run's outs, a
// registered model): gc keeps it, and everything below it when it is a directory manifest (`tree`).
struct ObjectRoot {
    ObjectId id;
    bool tree = false;
};

struct StoredObject {
    ObjectId id;
    uint64_t size = 0;
    bool was_new = false; // false when an identical object was already present
};

// The content-addressed object store under `.mlo/objects/sha256/<2 hex>/<62 hex>`.
//
// Objects are immutable and read-only (mode 0444). New content is written to an anonymous file
// (O_TMPFILE) while it is hashed and linked into place under its id only when complete, so a
// process killed at any instant leaves no partial object visible and no garbage behind; where the
// filesystem has no O_TMPFILE a named temp file under `.mlo/tmp/` is used instead. An object that
// already exists is never rewritten. Thread-safe: every method may be called concurrently.
class IncomingObject;

class ObjectStore {
  public:
    explicit ObjectStore(fs::path mlo_dir);
    ~ObjectStore();
    ObjectStore(ObjectStore&& other) noexcept;
    ObjectStore& operator=(ObjectStore&&) = delete;
    ObjectStore(const ObjectStore&) = delete;

    // Creates the directory layout (idempotent).
    Status create() const;

    fs::path path_of(const ObjectId& id) const;
    bool contains(const ObjectId& id) const;
    // For each id, whether it is present (same order). Many ids are answered by listing the
    // object directories they fall in, when that is cheaper than one lookup each (the store's size
    // is estimated from the first directory listed); a no-op status of a large tree needs this.
    std::vector<bool> contains_all(const std::vector<ObjectId>& ids) const;

    // Hashes `source` and stores it in one read pass. Large files are read, hashed and written
    // in a pipeline on two threads. Fails if `source` changes size while being read.
    Result<StoredObject> put_file(const fs::path& source) const;

    // Stores bytes held in memory (manifests, records).
    Result<StoredObject> put_bytes(std::string_view bytes) const;

    // Starts receiving an object whose bytes arrive in pieces (a download) and must hash to
    // `expected`; see IncomingObject. Nothing is visible in the store until commit() succeeds.
    Result<std::unique_ptr<IncomingObject>> receive(const ObjectId& expected) const;

    // Reads an object and checks its hash; a mismatch is ErrorCode::failure "corrupt object".
    // A missing object is ErrorCode::input "missing object".
    Result<std::string> read_bytes(const ObjectId& id) const;

    // Re-hashes an object file; returns the id its bytes actually have.
    Result<ObjectId> rehash(const ObjectId& id) const;

    // Calls `visit` for every object file present (ids parsed from the paths). Stray files that
    // are not valid object names are reported through `stray` (may be null).
    Status for_each(const std::function<void(const ObjectId&, uint64_t size)>& visit,
                    const std::function<void(const fs::path&)>& stray = nullptr) const;

    // Deletes an object (gc only; the caller holds the store's exclusive lock).
    Status remove(const ObjectId& id) const;

    const fs::path& root() const { return m_mlo_dir; }
    fs::path tmp_dir() const { return m_mlo_dir / "tmp"; }

  private:
    // An open descriptor of `objects/sha256/<prefix>` (opened on first use, -1 if absent), so that
    // contains() looks up one name instead of resolving the whole path: status checks every file.
    int prefix_dir(uint8_t prefix) const;

    fs::path m_mlo_dir;
    fs::path m_objects_dir;
    mutable std::array<std::atomic<int>, 256> m_prefix_fds;
};

// An object being received: bytes are written to an anonymous temp file and hashed on the way.
// commit() gives it its name only when the bytes hash to the expected id; otherwise nothing is
// stored and the error (ErrorCode::failure) names both ids. reset() starts over (a retried
// download). Destroying an uncommitted IncomingObject discards it. Not thread-safe (one per
// transfer).
class IncomingObject {
  public:
    virtual ~IncomingObject() = default;
    virtual Status write(std::string_view bytes) = 0;
    virtual Status reset() = 0;
    virtual Result<StoredObject> commit() = 0;
};

} // namespace mlo::store
