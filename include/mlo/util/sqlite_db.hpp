#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>

struct sqlite3;

namespace mlo::util {

// Opens (creating if needed) a SQLite database holding derived, rebuildable data (the stat cache,
// the run index) and runs `schema`. Several mlo processes may open the same file at once: busy
// and transient I/O errors while another connection creates the WAL files are retried for a few
// seconds. Only a file that is not a database or is corrupt is deleted and created afresh —
// deleting on any error would pull the files from under another process.
// `what` names the database in errors ("the stat cache").
Result<sqlite3*> open_derived_database(const std::filesystem::path& path, const std::string& schema,
                                       const std::string& what);

} // namespace mlo::util
