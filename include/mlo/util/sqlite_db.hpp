#pragma once

#include <cstdint>
#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace mlo::util {

// Opens (creating if needed) a SQLite database holding derived, rebuildable data (the stat cache,
// the run index) and runs `schema`. Several mlo processes may open the same file at once: busy
// and transient I/O errors while another connection creates the WAL files are retried for a few
// seconds. Only a file that is not a database or is corrupt is deleted and created afresh —
// deleting on any error would pull the files from under another process.
// `what` names the database in errors ("the stat cache").
Result<sqlite3*> open_derived_database(const std::filesystem::path& path, const std::string& schema,
                                       const std::string& what);

// An ErrorCode::internal error "<what>: <sqlite's message>".
Error sqlite_error(sqlite3* db, const std::string& what);

// Runs SQL without results (BEGIN, COMMIT, DELETE ...); errors are "<what>: <sqlite's message>".
Status sqlite_exec(sqlite3* db, const std::string& sql, const std::string& what);

// A prepared statement that finalizes itself. A statement that failed to prepare is false; the
// reason is sqlite_error(db, ...).
class Statement {
  public:
    Statement(sqlite3* db, const std::string& sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    explicit operator bool() const { return m_stmt != nullptr; }
    sqlite3_stmt* get() const { return m_stmt; }

    void bind(int index, std::string_view text);
    void bind(int index, double value);
    void bind(int index, int64_t value);
    void bind_null(int index);
    bool step_row();
    int step(); // the sqlite result code
    void reset();
    std::string text(int column) const;
    int64_t integer(int column) const;
    double real(int column) const;

  private:
    sqlite3_stmt* m_stmt = nullptr;
};

} // namespace mlo::util
