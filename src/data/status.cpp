#include <algorithm>
#include <mlo/data/pointers.hpp>
#include <mlo/data/status.hpp>
#include <mlo/data/tree_reader.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/store/tree_scanner.hpp>

namespace mlo::data {

namespace fs = std::filesystem;

std::string to_string(DataState state) {
    switch (state) {
    case DataState::unchanged:
        return "unchanged";
    case DataState::modified:
        return "modified";
    case DataState::missing:
        return "missing";
    case DataState::not_in_store:
        return "not in store";
    }
    return "unchanged";
}

bool StatusReport::clean() const {
    for (const auto& entry : entries)
        if (entry.state != DataState::unchanged)
            return false;
    return true;
}

namespace {

// Lists what changed inside a modified directory, when its manifest is in the store.
std::vector<std::string> directory_details(const store::ObjectStore& objects, const hash::ObjectId& id,
                                           const store::ScannedTree& scan) {
    std::vector<std::string> details;
    auto stored = flatten_stored_tree(objects, id);
    if (!stored)
        return details;
    std::map<std::string, const store::ScannedFile*> current;
    for (const auto& file : scan.files)
        current[file.path] = &file;
    for (const auto& [path, entry] : stored->files) {
        auto it = current.find(path);
        if (it == current.end())
            details.push_back("deleted: " + path);
        else if (it->second->id != entry.id || it->second->executable != entry.executable)
            details.push_back("modified: " + path);
    }
    for (const auto& [path, file] : current)
        if (!stored->files.count(path))
            details.push_back("added: " + path);
    return details;
}

} // namespace

Result<StatusReport> status(core::Project& project, const std::vector<std::string>& paths,
                            util::ProgressSink* progress) {
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    auto all = find_workspace_pointers(project.root());
    if (!all)
        return fail(std::move(all).error());
    Result<std::vector<PointerRef>> chosen = std::vector<PointerRef>{};
    if (!paths.empty()) {
        chosen = select_pointers(*all, paths);
        if (!chosen)
            return fail(std::move(chosen).error());
    }
    const std::vector<PointerRef>& selected = paths.empty() ? *all : *chosen;
    auto cache = project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());

    StatusReport report;
    report.link_mode = to_string(project.config().link);
    report.effective_link_mode =
        store::describe_link_mode(project.config().link, project.objects().tmp_dir());
    for (const auto& ref : selected) {
        StatusEntry entry;
        entry.path = ref.data_path;
        bool is_dir = ref.pointer.kind == store::EntryKind::directory;
        entry.kind = is_dir ? "directory" : "file";
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(project.root() / ref.data_path, ec))) {
            entry.state = DataState::missing;
            report.entries.push_back(std::move(entry));
            continue;
        }
        store::ScanOptions options;
        options.progress = progress;
        auto scan = store::scan_tree(project.objects(), **cache, project.root(), ref.data_path, options);
        if (!scan)
            return fail(std::move(scan).error());
        bool same_kind = scan->root.kind == ref.pointer.kind;
        if (!same_kind || scan->root.id != ref.pointer.id ||
            (!is_dir && scan->root.executable != ref.pointer.executable)) {
            entry.state = DataState::modified;
            if (is_dir && same_kind)
                entry.details = directory_details(project.objects(), ref.pointer.id, *scan);
        } else {
            std::vector<hash::ObjectId> ids = {ref.pointer.id};
            for (const auto& file : scan->files)
                ids.push_back(file.id);
            auto present = project.objects().contains_all(ids);
            bool complete = std::all_of(present.begin(), present.end(), [](bool p) { return p; });
            if (!complete)
                entry.state = DataState::not_in_store;
        }
        report.entries.push_back(std::move(entry));
    }
    (void)(*cache)->flush();
    return report;
}

} // namespace mlo::data
