#include <mlo/data/gitignore.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/data/track.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::data {

namespace fs = std::filesystem;

namespace {

// Problems that make a path untrackable, collected for all paths before any work.
std::vector<std::string> check_path(const core::Project& project, const std::string& path,
                                    const std::vector<PointerRef>& tracked) {
    std::vector<std::string> problems;
    fs::path abs = project.root() / path;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(abs, ec)))
        problems.push_back("path does not exist: " + path);
    if (store::is_pointer_path(path))
        problems.push_back("cannot track a pointer file: " + path);
    if (path == core::k_project_file)
        problems.push_back("cannot track the project file " + path + " (git versions it)");
    for (const auto& ref : tracked) {
        if (ref.data_path == path)
            continue;
        if (path.rfind(ref.data_path + "/", 0) == 0)
            problems.push_back(path + " is inside tracked directory " + ref.data_path +
                               " (track or re-track " + ref.data_path + " instead)");
        if (ref.data_path.rfind(path + "/", 0) == 0)
            problems.push_back(path + " contains tracked data " + ref.data_path +
                               " (nested tracking is not supported; remove " + ref.data_path + ".mlo first)");
    }
    return problems;
}

} // namespace

Result<TrackReport> track(core::Project& project, const std::vector<std::string>& paths,
                          util::ProgressSink* progress) {
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    auto tracked = find_workspace_pointers(project.root());
    if (!tracked)
        return fail(std::move(tracked).error());

    std::vector<std::string> problems;
    for (const auto& path : paths)
        for (auto& problem : check_path(project, path, *tracked))
            problems.push_back(std::move(problem));
    if (!problems.empty()) {
        std::string message =
            problems.size() == 1 ? problems[0] : std::to_string(problems.size()) + " problems:";
        if (problems.size() > 1)
            for (const auto& problem : problems)
                message += "\n  " + problem;
        return fail(ErrorCode::input, "cannot track: " + message);
    }

    auto cache = project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());
    MLO_TRY(project.objects().create());
    store::Linker linker(project.objects(), project.config().link);

    // Hash and store everything first; pointers and .gitignore entries are written only after all
    // data is safely in the store, so a failure leaves the workspace as it was.
    std::vector<store::ScannedTree> scans;
    for (const auto& path : paths) {
        store::ScanOptions options;
        options.store = true;
        options.progress = progress;
        auto scan = store::scan_tree(project.objects(), **cache, project.root(), path, options);
        if (!scan)
            return fail(std::move(scan).error());
        for (const auto& file : scan->files)
            if (store::is_pointer_path(file.path))
                return fail(ErrorCode::input, "cannot track " + path + ": it contains the pointer file " +
                                                  path + "/" + file.path);
        scans.push_back(std::move(*scan));
    }
    (void)(*cache)->flush(); // the cache is an optimisation: failing to save it is not an error

    TrackReport report;
    for (size_t i = 0; i < paths.size(); ++i) {
        const auto& path = paths[i];
        const auto& scan = scans[i];
        store::Pointer pointer;
        pointer.path = fs::path(path).filename().string();
        pointer.kind = scan.root.kind;
        pointer.id = scan.root.id;
        pointer.size = scan.root.size;
        pointer.files = scan.root.kind == store::EntryKind::directory ? scan.root.files : 0;
        pointer.executable = scan.root.kind == store::EntryKind::file && scan.root.executable;

        fs::path pointer_file = store::pointer_path_for(project.root() / path);
        std::string text = pointer.serialize();
        auto old_text = util::read_file(pointer_file);
        bool changed = !old_text || *old_text != text;
        if (changed)
            MLO_TRY(util::write_file_atomic(pointer_file, text));

        fs::path parent = fs::path(path).parent_path();
        auto ignored = ensure_ignored(project.root() / parent, pointer.path);
        if (!ignored)
            return fail(std::move(ignored).error());
        if (*ignored)
            report.gitignores_changed.push_back((parent / ".gitignore").generic_string());

        if (scan.root.kind == store::EntryKind::file) {
            MLO_TRY(linker.link_tracked_file(scan.root.id, project.root() / path));
        } else {
            for (const auto& file : scan.files)
                if (file.kind == store::EntryKind::file)
                    MLO_TRY(linker.link_tracked_file(file.id, project.root() / path / file.path));
        }
        report.items.push_back({path, pointer, changed, scan.hashed_files});
    }
    return report;
}

} // namespace mlo::data
