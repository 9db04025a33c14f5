#pragma once

#include <filesystem>
#include <memory>
#include <mlo/core/config.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/store/stat_cache.hpp>
#include <mlo/util/error.hpp>
#include <mlo/util/file_io.hpp>
#include <optional>
#include <string>

namespace mlo::core {

namespace fs = std::filesystem;

inline constexpr const char* k_project_file = "mlo.yaml";
inline constexpr const char* k_store_dir = ".mlo";

// An mlo project: the directory holding `mlo.yaml`, its `.mlo/` store and the parsed config.
// Opened once per command by the CLI's setup and handed to the operation.
class Project {
  public:
    // Finds the project containing `start` (searching upwards for mlo.yaml) and parses its
    // config. No project is ErrorCode::precondition with a hint to run `mlo init`.
    static Result<Project> open(const fs::path& start);

    const fs::path& root() const { return m_root; }
    fs::path mlo_dir() const { return m_root / k_store_dir; }
    const Config& config() const { return m_config; }
    const store::ObjectStore& objects() const { return m_objects; }
    // The stat cache, opened on first use.
    Result<store::StatCache*> stat_cache();

    // Turns a path given by the user (absolute or relative to `cwd`) into a normalised,
    // '/'-separated path relative to the project root. A path outside the project, or inside
    // `.mlo/` or `.git/`, is ErrorCode::input naming it. Does not require the path to exist.
    Result<std::string> relative_path(const fs::path& user_path, const fs::path& cwd) const;

    // Takes the store-wide lock: shared for ordinary commands, exclusive for gc. Blocks while the
    // other kind is held (a waiting message is the caller's to print).
    Result<util::FileLock> lock_store(util::FileLock::Mode mode, bool wait = true) const;

  private:
    Project(fs::path root, Config config);
    fs::path m_root;
    Config m_config;
    store::ObjectStore m_objects;
    std::unique_ptr<store::StatCache> m_stat_cache;
};

} // namespace mlo::core
