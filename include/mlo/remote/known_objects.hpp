#pragma once

#include <filesystem>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <unordered_set>

namespace mlo::remote {

// What a remote is known to hold: ids confirmed there by a listing, a lookup or a completed
// upload, kept in `.mlo/remotes/<name>/known` so that a push with nothing new asks the remote
// nothing (a no-op push of 20,000 files reads this file instead of making 20,000 requests).
//
// Safe because remote objects are immutable and mlo never deletes any: an id seen there stays
// there. The record is tied to the remote's location (url and endpoint): a remote renamed or
// pointed elsewhere starts from nothing. Something else deleting objects from the remote is the
// one thing it cannot see; `mlo push --rescan` ignores the record and lists the remote again.
class KnownObjects {
  public:
    // Reads the record of `remote_name` (empty when absent, unreadable or for another location).
    static KnownObjects load(const std::filesystem::path& mlo_dir, const std::string& remote_name,
                             const std::string& location);

    bool contains(const hash::ObjectId& id) const { return m_ids.count(id) != 0; }
    void add(const hash::ObjectId& id) { m_changed |= m_ids.insert(id).second; }
    size_t size() const { return m_ids.size(); }
    void clear() {
        m_changed |= !m_ids.empty();
        m_ids.clear();
    }

    // Writes the record atomically, when it changed since load() (a no-op push writes nothing).
    Status save();

  private:
    std::filesystem::path m_path;
    std::string m_location;
    std::unordered_set<hash::ObjectId> m_ids;
    bool m_changed = false;
};

} // namespace mlo::remote
