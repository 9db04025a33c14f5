#include <chrono>
#include <mlo/util/sqlite_db.hpp>
#include <sqlite3.h>
#include <thread>

namespace mlo::util {

namespace {

enum class Outcome { ok, retry, damaged, failed };

Outcome classify(int rc) {
    switch (rc & 0xff) { // primary result code
    case SQLITE_OK:
        return Outcome::ok;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
        return Outcome::retry;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return Outcome::damaged;
    default:
        return Outcome::failed;
    }
}

// One attempt: open and apply the schema. Returns the handle, or the result code of the failure.
int try_open(const std::filesystem::path& path, const std::string& schema, sqlite3** out,
             std::string& message) {
    sqlite3* handle = nullptr;
    int rc = sqlite3_open(path.c_str(), &handle);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(handle, 10'000);
        char* error = nullptr;
        rc = sqlite3_exec(handle, schema.c_str(), nullptr, nullptr, &error);
        if (rc != SQLITE_OK)
            message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
    } else {
        message = handle ? sqlite3_errmsg(handle) : "out of memory";
    }
    if (rc != SQLITE_OK) {
        sqlite3_close(handle);
        return rc;
    }
    *out = handle;
    return SQLITE_OK;
}

} // namespace

Result<sqlite3*> open_derived_database(const std::filesystem::path& path, const std::string& schema,
                                       const std::string& what) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    bool recreated = false;
    std::string message;
    for (int attempt = 0; attempt < 250; ++attempt) {
        sqlite3* handle = nullptr;
        int rc = try_open(path, schema, &handle, message);
        switch (classify(rc)) {
        case Outcome::ok:
            return handle;
        case Outcome::retry:
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        case Outcome::damaged:
            if (recreated)
                break;
            // Derived data: a damaged file is thrown away and rebuilt, not reported.
            for (const char* suffix : {"", "-wal", "-shm"})
                std::filesystem::remove(std::filesystem::path(path.string() + suffix), ec);
            recreated = true;
            continue;
        case Outcome::failed:
            break;
        }
        break;
    }
    return fail(ErrorCode::internal, "cannot open " + what + " " + path.string() + ": " + message);
}

} // namespace mlo::util
