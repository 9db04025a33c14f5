#include <algorithm>
#include <mlo/data/pointers.hpp>
#include <set>

namespace mlo::data {

namespace fs = std::filesystem;

std::vector<PointerRef> lock_refs(const store::LockFile& lock) {
    std::vector<PointerRef> out;
    for (const auto& [stage, locked] : lock.stages)
        for (const auto* list : {&locked.outs, &locked.metrics})
            for (const auto& item : *list) {
                store::Pointer pointer;
                pointer.path = fs::path(item.path).filename().string();
                pointer.kind =
                    item.kind == "directory" ? store::EntryKind::directory : store::EntryKind::file;
                pointer.id = item.id;
                pointer.size = item.size;
                pointer.files = item.files;
                out.push_back({item.path, std::move(pointer)});
            }
    return out;
}

namespace {
Status walk(const fs::path& root, const fs::path& dir, const std::set<std::string>& skip,
            std::vector<PointerRef>& out) {
    std::error_code ec;
    std::vector<fs::directory_entry> entries;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        entries.push_back(*it);
    if (ec)
        return fail(ErrorCode::input, "cannot read directory " + dir.string() + ": " + ec.message());
    std::set<std::string> tracked; // data names that have a pointer beside them
    for (const auto& entry : entries) {
        if (store::is_pointer_path(entry.path()) && entry.is_regular_file(ec)) {
            auto pointer = store::Pointer::load(entry.path());
            if (!pointer)
                return fail(std::move(pointer).error());
            tracked.insert(store::data_path_for(entry.path().filename()).string());
            out.push_back({store::data_path_for(entry.path()).lexically_relative(root).generic_string(),
                           std::move(*pointer)});
        }
    }
    for (const auto& entry : entries) {
        std::string name = entry.path().filename().string();
        if (name == ".git" || name == ".mlo" || tracked.count(name) ||
            skip.count(entry.path().lexically_relative(root).generic_string()))
            continue;
        if (entry.is_directory(ec) && !entry.is_symlink(ec))
            MLO_TRY(walk(root, entry.path(), skip, out));
    }
    return {};
}
} // namespace

Result<std::vector<PointerRef>> find_workspace_pointers(const fs::path& root) {
    auto lock = store::LockFile::load(root / k_lock_file);
    if (!lock)
        return fail(std::move(lock).error());
    std::vector<PointerRef> from_lock = lock_refs(*lock);
    std::set<std::string> lock_paths;
    for (const auto& ref : from_lock)
        lock_paths.insert(ref.data_path);
    std::vector<PointerRef> out;
    MLO_TRY(walk(root, root, lock_paths, out));
    std::set<std::string> seen;
    for (const auto& ref : out)
        seen.insert(ref.data_path);
    for (auto& ref : from_lock)
        if (seen.insert(ref.data_path).second) // a pointer file beside a lock out wins
            out.push_back(std::move(ref));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.data_path < b.data_path; });
    return out;
}

Result<std::vector<PointerRef>> select_pointers(const std::vector<PointerRef>& all,
                                                const std::vector<std::string>& paths) {
    if (paths.empty())
        return all;
    std::vector<PointerRef> out;
    for (const auto& path : paths) {
        bool matched = false;
        for (const auto& ref : all) {
            if (ref.data_path == path || ref.data_path.rfind(path + "/", 0) == 0) {
                matched = true;
                if (std::none_of(out.begin(), out.end(),
                                 [&](const auto& o) { return o.data_path == ref.data_path; }))
                    out.push_back(ref);
            }
        }
        if (!matched)
            return fail(ErrorCode::input, "not tracked: " + path,
                        "track it first with 'mlo track " + path + "'");
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.data_path < b.data_path; });
    return out;
}

} // namespace mlo::data
