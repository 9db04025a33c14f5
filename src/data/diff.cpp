#include <map>
#include <mlo/data/checkout.hpp>
#include <mlo/data/diff.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/data/tree_reader.hpp>
#include <mlo/store/tree_scanner.hpp>

namespace mlo::data {

namespace fs = std::filesystem;

namespace {

struct SideFile {
    hash::ObjectId id;
    uint64_t size = 0;
    bool executable = false;
};
using Side = std::map<std::string, SideFile>;

// Flattens the pointers of a revision through the store's manifests.
void add_stored(const store::ObjectStore& objects, const PointerRef& ref, Side& side) {
    if (ref.pointer.kind == store::EntryKind::file) {
        side[ref.data_path] = {ref.pointer.id, ref.pointer.size, ref.pointer.executable};
        return;
    }
    auto tree = flatten_stored_tree(objects, ref.pointer.id);
    if (!tree) { // not in the store: compare the directory as one unit
        side[ref.data_path + "/"] = {ref.pointer.id, ref.pointer.size, false};
        return;
    }
    for (const auto& [rel, entry] : tree->files)
        side[ref.data_path + "/" + rel] = {entry.id, entry.size, entry.executable};
}

Result<Side> revision_side(core::Project& project, const git::Repository& repo, const std::string& rev,
                           std::string& label) {
    auto commit = repo.resolve_commit(rev);
    if (!commit)
        return fail(std::move(commit).error());
    label = *commit;
    auto pointers = pointers_at_revision(repo, *commit);
    if (!pointers)
        return fail(std::move(pointers).error());
    Side side;
    for (const auto& ref : *pointers)
        add_stored(project.objects(), ref, side);
    return side;
}

Result<Side> workspace_side(core::Project& project) {
    auto pointers = find_workspace_pointers(project.root());
    if (!pointers)
        return fail(std::move(pointers).error());
    auto cache = project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());
    Side side;
    for (const auto& ref : *pointers) {
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(project.root() / ref.data_path, ec)))
            continue; // deleted from the workspace
        auto scan = store::scan_tree(project.objects(), **cache, project.root(), ref.data_path, {});
        if (!scan)
            return fail(std::move(scan).error());
        if (scan->root.kind == store::EntryKind::file)
            side[ref.data_path] = {scan->root.id, scan->root.size, scan->root.executable};
        else
            for (const auto& file : scan->files)
                side[ref.data_path + "/" + file.path] = {file.id, file.size, file.executable};
        if (scan->root.kind == store::EntryKind::directory && scan->files.empty())
            side[ref.data_path + "/"] = {scan->root.id, 0, false};
    }
    (void)(*cache)->flush();
    return side;
}

} // namespace

Result<DiffReport> diff(core::Project& project, const std::optional<std::string>& old_rev,
                        const std::optional<std::string>& new_rev) {
    auto repo = git::Repository::discover(project.root());
    if (!repo)
        return fail(std::move(repo).error());
    // Manifests are read from the store while gc could be deleting: hold the shared lock.
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    DiffReport report;
    // Before the first commit, the default old side is empty: everything tracked is "added".
    auto head = repo->head();
    bool unborn = !old_rev && head && head->unborn;
    Result<Side> old_side = unborn ? Result<Side>(Side{})
                                   : revision_side(project, *repo, old_rev.value_or("HEAD"), report.old_side);
    if (unborn)
        report.old_side = "(no commits)";
    if (!old_side)
        return fail(std::move(old_side).error());
    Result<Side> new_side =
        new_rev ? revision_side(project, *repo, *new_rev, report.new_side) : workspace_side(project);
    if (!new_side)
        return fail(std::move(new_side).error());
    if (!new_rev)
        report.new_side = "workspace";

    for (const auto& [path, file] : *old_side) {
        auto it = new_side->find(path);
        if (it == new_side->end())
            report.entries.push_back({path, "deleted", file.id, std::nullopt, file.size, 0});
        else if (it->second.id != file.id || it->second.executable != file.executable)
            report.entries.push_back({path, "modified", file.id, it->second.id, file.size, it->second.size});
    }
    for (const auto& [path, file] : *new_side)
        if (!old_side->count(path))
            report.entries.push_back({path, "added", std::nullopt, file.id, 0, file.size});
    std::sort(report.entries.begin(), report.entries.end(),
              [](const DiffEntry& a, const DiffEntry& b) { return a.path < b.path; });
    return report;
}

} // namespace mlo::data
