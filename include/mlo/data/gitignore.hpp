#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>

namespace mlo::data {

// Makes sure `<dir>/.gitignore` holds the anchored entry `/<name>` so git ignores tracked data
// while its pointer is committed. Idempotent; rewrites the file atomically and only if needed.
// Returns true if the file changed.
Result<bool> ensure_ignored(const std::filesystem::path& dir, const std::string& name);

// Escapes a file name for a .gitignore pattern (leading '#'/'!', wildcards, trailing spaces).
std::string gitignore_escape(const std::string& name);

} // namespace mlo::data
