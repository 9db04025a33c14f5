#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unordered_map>
#include <vector>

namespace mlo::store {

namespace fs = std::filesystem;

// What the stat cache compares to decide a file is unchanged.
struct FileStat {
    uint64_t device = 0;
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool executable = false;

    bool operator==(const FileStat&) const = default;
};

// lstat() as a FileStat; errors name the path.
Result<FileStat> stat_file(const fs::path& path);
// The FileStat of a `struct stat` already obtained (the scanner lstat()s each entry once).
FileStat file_stat_from(const struct stat& st);

// Remembers the id of every file mlo hashed, keyed by its project-relative path, so that a file
// whose stat data is unchanged is never hashed again. Stored in SQLite at `.mlo/cache/stat.db`;
// deleting it only costs re-hashing. Entries are loaded whole on first use (a hash map beats a
// query per file) and new ones are written back in one transaction by flush().
// Thread-safe.
class StatCache {
  public:
    // Opens (creating if needed) the cache; a damaged cache file is discarded and recreated.
    static Result<std::unique_ptr<StatCache>> open(const fs::path& db_path);
    ~StatCache();

    // The cached id if `stat` matches the entry and the entry is not racy.
    std::optional<hash::ObjectId> lookup(const std::string& rel_path, const FileStat& stat);
    // Records a freshly hashed file (kept in memory until flush()).
    void record(const std::string& rel_path, const FileStat& stat, const hash::ObjectId& id);
    // Writes recorded entries. Failure to write the cache is never fatal to the caller's work.
    Status flush();

    // Racy-git rule: a file modified within this window before its entry was recorded could be
    // modified again without its mtime changing (coarse timestamps), so it is re-hashed.
    static constexpr int64_t k_racy_window_ns = 2'000'000'000;

  private:
    struct Entry {
        FileStat stat;
        hash::ObjectId id;
        int64_t recorded_ns = 0;
    };
    struct Db;
    StatCache(std::unique_ptr<Db> db);
    Status load_locked();

    std::unique_ptr<Db> m_db;
    std::mutex m_mutex; // guards m_pending
    std::once_flag m_load_once;
    std::unordered_map<std::string, Entry> m_entries;
    std::vector<std::pair<std::string, Entry>> m_pending;
};

} // namespace mlo::store
