// The stat cache, and why it is safe.
//
// A file's id is trusted from the cache only if (device, inode, size, mtime in ns, ctime in ns,
// executable bit) are all equal to what was recorded. ctime catches changes that restore an old
// mtime (touch -d, tar extraction) and inode catches replacement by rename; size catches most
// edits even on filesystems with coarse timestamps.
//
// The remaining hole is git's "racy" case: a file written, recorded, and written again within one
// timestamp tick keeps the same mtime. So each entry remembers when it was recorded, and an entry
// whose mtime is within k_racy_window_ns of that moment is never trusted; the file is re-hashed
// and recorded again, by which time it is old enough to be trusted. The window is 2 s so that
// filesystems with 1–2 s timestamps (FAT, some network mounts) are safe too.
#include <array>
#include <chrono>
#include <cstring>
#include <mlo/store/stat_cache.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/sqlite_db.hpp>
#include <sqlite3.h>
#include <sys/stat.h>

namespace mlo::store {

Result<FileStat> stat_file(const fs::path& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0)
        return fail(system_error("cannot stat " + path.string(), errno));
    return file_stat_from(st);
}

FileStat file_stat_from(const struct stat& st) {
    FileStat out;
    out.device = st.st_dev;
    out.inode = st.st_ino;
    out.size = static_cast<uint64_t>(st.st_size);
    out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    out.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
    out.executable = (st.st_mode & S_IXUSR) != 0;
    return out;
}

struct StatCache::Db {
    sqlite3* handle = nullptr;
    fs::path path;
    ~Db() { sqlite3_close(handle); }
};

Result<std::unique_ptr<StatCache>> StatCache::open(const fs::path& db_path) {
    static const std::string k_schema = "PRAGMA journal_mode=WAL;"
                                        "PRAGMA synchronous=NORMAL;"
                                        "CREATE TABLE IF NOT EXISTS stat_cache ("
                                        " path TEXT PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER,"
                                        " mtime_ns INTEGER, ctime_ns INTEGER, executable INTEGER, id BLOB,"
                                        " recorded_ns INTEGER) WITHOUT ROWID;";
    auto handle = util::open_derived_database(db_path, k_schema, "the stat cache");
    if (!handle)
        return fail(std::move(handle).error());
    auto db = std::make_unique<Db>();
    db->handle = *handle;
    db->path = db_path;
    return std::unique_ptr<StatCache>(new StatCache(std::move(db)));
}

StatCache::StatCache(std::unique_ptr<Db> db) : m_db(std::move(db)) {}
StatCache::~StatCache() = default;

Status StatCache::load_locked() {
    sqlite3_stmt* stmt = nullptr;
    const char* sql = "SELECT path, device, inode, size, mtime_ns, ctime_ns, executable, id, recorded_ns "
                      "FROM stat_cache";
    if (sqlite3_prepare_v2(m_db->handle, sql, -1, &stmt, nullptr) != SQLITE_OK)
        return fail(ErrorCode::internal,
                    std::string("reading the stat cache: ") + sqlite3_errmsg(m_db->handle));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const void* blob = sqlite3_column_blob(stmt, 7);
        if (blob == nullptr || sqlite3_column_bytes(stmt, 7) != static_cast<int>(hash::ObjectId::k_size))
            continue;
        std::array<uint8_t, hash::ObjectId::k_size> bytes{};
        std::memcpy(bytes.data(), blob, bytes.size());
        Entry entry;
        entry.stat.device = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
        entry.stat.inode = static_cast<uint64_t>(sqlite3_column_int64(stmt, 2));
        entry.stat.size = static_cast<uint64_t>(sqlite3_column_int64(stmt, 3));
        entry.stat.mtime_ns = sqlite3_column_int64(stmt, 4);
        entry.stat.ctime_ns = sqlite3_column_int64(stmt, 5);
        entry.stat.executable = sqlite3_column_int(stmt, 6) != 0;
        entry.id = hash::ObjectId(bytes);
        entry.recorded_ns = sqlite3_column_int64(stmt, 8);
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        m_entries.emplace(std::string(text ? text : ""), entry);
    }
    sqlite3_finalize(stmt);
    return {};
}

std::optional<hash::ObjectId> StatCache::lookup(const std::string& rel_path, const FileStat& stat) {
    // Loaded once; afterwards the map is only read (flush() writes the database, not the map), so
    // the hashing threads look entries up without taking a lock.
    std::call_once(m_load_once, [this] { (void)load_locked(); }); // unreadable: behaves as empty
    auto it = m_entries.find(rel_path);
    if (it == m_entries.end() || !(it->second.stat == stat))
        return std::nullopt;
    if (stat.mtime_ns + k_racy_window_ns >= it->second.recorded_ns)
        return std::nullopt;
    return it->second.id;
}

void StatCache::record(const std::string& rel_path, const FileStat& stat, const hash::ObjectId& id) {
    std::lock_guard lock(m_mutex);
    Entry entry{stat, id, 0};
    m_pending.emplace_back(rel_path, entry);
}

Status StatCache::flush() {
    std::lock_guard lock(m_mutex);
    if (m_pending.empty())
        return {};
    // Recorded at flush time, which is after every recorded file was read: the later the stamp,
    // the more entries count as racy, never fewer.
    int64_t recorded = util::unix_time_ns();
    sqlite3* db = m_db->handle;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return fail(ErrorCode::internal, std::string("writing the stat cache: ") + sqlite3_errmsg(db));
    sqlite3_stmt* stmt = nullptr;
    const char* sql = "INSERT OR REPLACE INTO stat_cache VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return fail(ErrorCode::internal, std::string("writing the stat cache: ") + sqlite3_errmsg(db));
    }
    for (auto& [path, entry] : m_pending) {
        entry.recorded_ns = recorded;
        sqlite3_bind_text(stmt, 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(entry.stat.device));
        sqlite3_bind_int64(stmt, 3, static_cast<sqlite3_int64>(entry.stat.inode));
        sqlite3_bind_int64(stmt, 4, static_cast<sqlite3_int64>(entry.stat.size));
        sqlite3_bind_int64(stmt, 5, entry.stat.mtime_ns);
        sqlite3_bind_int64(stmt, 6, entry.stat.ctime_ns);
        sqlite3_bind_int(stmt, 7, entry.stat.executable ? 1 : 0);
        sqlite3_bind_blob(stmt, 8, entry.id.bytes().data(), static_cast<int>(hash::ObjectId::k_size),
                          SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 9, recorded);
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    m_pending.clear();
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return fail(ErrorCode::internal, std::string("writing the stat cache: ") + sqlite3_errmsg(db));
    }
    return {};
}

} // namespace mlo::store
