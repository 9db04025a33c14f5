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

Error sqlite_error(sqlite3* db, const std::string& what) {
    return Error{ErrorCode::internal, what + ": " + sqlite3_errmsg(db), {}};
}

Status sqlite_exec(sqlite3* db, const std::string& sql, const std::string& what) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        return fail(ErrorCode::internal, what + ": " + message);
    }
    return {};
}

Statement::Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &m_stmt, nullptr) != SQLITE_OK)
        m_stmt = nullptr;
}

Statement::~Statement() {
    sqlite3_finalize(m_stmt);
}

void Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void Statement::bind(int index, double value) {
    sqlite3_bind_double(m_stmt, index, value);
}

void Statement::bind(int index, int64_t value) {
    sqlite3_bind_int64(m_stmt, index, value);
}

void Statement::bind_null(int index) {
    sqlite3_bind_null(m_stmt, index);
}

bool Statement::step_row() {
    return sqlite3_step(m_stmt) == SQLITE_ROW;
}

int Statement::step() {
    return sqlite3_step(m_stmt);
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::string Statement::text(int column) const {
    const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
    return value ? std::string(value, static_cast<size_t>(sqlite3_column_bytes(m_stmt, column)))
                 : std::string();
}

int64_t Statement::integer(int column) const {
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::real(int column) const {
    return sqlite3_column_double(m_stmt, column);
}

} // namespace mlo::util
