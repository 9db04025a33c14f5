#pragma once

#include <atomic>
#include <filesystem>
#include <mlo/store/link_mode.hpp>
#include <mlo/store/object_store.hpp>
#include <string>

namespace mlo::store {

// What `mode` means on the filesystem holding `dir`: "auto (reflink)" or "auto (copy)" for auto,
// found by trying to reflink a scratch file there; other modes are reported as they are.
std::string describe_link_mode(LinkMode mode, const fs::path& dir);

// Places objects in the workspace according to a link mode. Every placement is atomic (a temp
// name beside the destination, then rename), and the bytes are verified against the id on the
// way: a corrupt object is refused (ErrorCode::failure) and the destination is left untouched.
class Linker {
  public:
    Linker(const ObjectStore& store, LinkMode mode) : m_store(store), m_mode(mode) {}

    // Writes object `id` at `dest` (replacing what is there). `executable` applies to copies;
    // linked files are read-only objects and keep the object's mode.
    Status place_file(const hash::ObjectId& id, const fs::path& dest, bool executable) const;
    // Creates a symlink `dest` -> `target` (symlinks recorded inside tracked directories).
    Status place_symlink(const std::string& target, const fs::path& dest) const;

    // Replaces a just-tracked workspace file by a link to its object (hardlink/symlink modes);
    // does nothing for copy-like modes.
    Status link_tracked_file(const hash::ObjectId& id, const fs::path& dest) const;

    // The mode actually used for copies: auto resolves to reflink or copy on first use.
    std::string effective_mode() const;

  private:
    Status copy_verified(const hash::ObjectId& id, const fs::path& temp, bool executable) const;
    const ObjectStore& m_store;
    LinkMode m_mode;
    Status link_object(const hash::ObjectId& id, const fs::path& dest) const;
    mutable std::atomic<int> m_reflink_works{-1}; // -1 unknown, 0 no, 1 yes (probed on first copy)
};

} // namespace mlo::store
