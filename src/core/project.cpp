#include <mlo/core/project.hpp>
#include <system_error>

namespace mlo::core {

Project::Project(fs::path root, Config config)
    : m_root(std::move(root)), m_config(std::move(config)), m_objects(m_root / k_store_dir) {}

Result<Project> Project::open(const fs::path& start) {
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(fs::absolute(start, ec), ec);
    for (fs::path probe = dir;; probe = probe.parent_path()) {
        if (fs::is_regular_file(probe / k_project_file, ec)) {
            auto config = load_config(probe / k_project_file);
            if (!config)
                return fail(std::move(config).error());
            return Project(probe, std::move(*config));
        }
        if (probe == probe.root_path() || probe.empty())
            break;
    }
    return fail(ErrorCode::precondition,
                "not an mlo project (no mlo.yaml in " + dir.string() + " or any parent)",
                "run 'mlo init' to create one");
}

Result<store::StatCache*> Project::stat_cache() {
    if (!m_stat_cache) {
        auto cache = store::StatCache::open(mlo_dir() / "cache" / "stat.db");
        if (!cache)
            return fail(std::move(cache).error());
        m_stat_cache = std::move(*cache);
    }
    return m_stat_cache.get();
}

Result<std::string> Project::relative_path(const fs::path& user_path, const fs::path& cwd) const {
    fs::path absolute = user_path.is_absolute() ? user_path : cwd / user_path;
    // Resolve symlinks in the existing part of the path (so a link to outside is caught), keep
    // the rest lexically normalised.
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(absolute, ec);
    if (ec)
        resolved = absolute.lexically_normal();
    // weakly_canonical follows a final symlink too; the pointer belongs to the link's own name.
    if (fs::is_symlink(absolute, ec))
        resolved = fs::weakly_canonical(absolute.parent_path(), ec) / absolute.filename();
    fs::path relative = resolved.lexically_relative(m_root);
    std::string text = relative.generic_string();
    while (!text.empty() && text.back() == '/')
        text.pop_back();
    if (relative.empty() || text == "." || text.rfind("..", 0) == 0)
        return fail(ErrorCode::input, "path outside the project: " + user_path.string(),
                    "the project root is " + m_root.string());
    if (text == k_store_dir || text.rfind(std::string(k_store_dir) + "/", 0) == 0 || text == ".git" ||
        text.rfind(".git/", 0) == 0)
        return fail(ErrorCode::input, "path inside mlo's or git's own directory: " + user_path.string());
    return text;
}

Result<util::FileLock> Project::lock_store(util::FileLock::Mode mode, bool wait) const {
    std::error_code ec;
    fs::create_directories(mlo_dir(), ec);
    return util::FileLock::acquire(mlo_dir() / "lock", mode, wait);
}

} // namespace mlo::core
