// Checkout: make workspace data match a pointer.
//
// For each selected pointer the workspace is scanned (stat cache, so unchanged files cost a stat)
// and compared with the stored tree. Only differences are written. The plan is computed and
// checked for everything before the first write:
//   - every object needed must be present (a missing one names the path and the id);
//   - every workspace file that would be replaced or removed must either match the pointer or
//     have its content in the store, so that nothing unsaved is lost (else: refuse, unless force).
// Then every file to write is staged in `.mlo/tmp/` (in parallel, its hash verified on the way),
// so a corrupt object stops the checkout before the workspace changes (see stage/commit below).
// Then, per pointer: removals first (a workspace symlink where a directory must go could otherwise
// redirect writes outside the project), then directories, then the staged files renamed into
// place, so an interrupted checkout leaves every file either old or new, never torn.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <mlo/data/checkout.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/data/tree_reader.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/parallel.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::data {

namespace fs = std::filesystem;

Result<std::vector<PointerRef>> pointers_at_revision(const git::Repository& repo, const std::string& commit) {
    auto files = repo.files_at(commit, [](const std::string& path) { return store::is_pointer_path(path); });
    if (!files)
        return fail(std::move(files).error());
    std::vector<PointerRef> out;
    for (const auto& file : *files) {
        auto pointer = store::Pointer::parse(file.content, file.path);
        if (!pointer)
            return fail(std::move(pointer).error().context("at revision " + commit.substr(0, 12)));
        out.push_back({store::data_path_for(file.path).generic_string(), std::move(*pointer)});
    }
    auto lock_text = repo.read_file_at(commit, k_lock_file);
    if (!lock_text)
        return fail(std::move(lock_text).error());
    if (*lock_text) {
        auto lock = store::LockFile::parse(**lock_text, k_lock_file);
        if (!lock)
            return fail(std::move(lock).error().context("at revision " + commit.substr(0, 12)));
        std::set<std::string> seen;
        for (const auto& ref : out)
            seen.insert(ref.data_path);
        for (auto& ref : lock_refs(*lock))
            if (seen.insert(ref.data_path).second)
                out.push_back(std::move(ref));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.data_path < b.data_path; });
    return out;
}

namespace {

struct Plan {
    const PointerRef* ref = nullptr;
    FlatTree target;                 // for directories
    std::vector<std::string> remove; // relative to the data path ("" = the path itself)
    std::vector<std::string> write;  // files/symlinks to (re)write, relative
    bool create_root_dir = false;
    bool unchanged = false;
};

bool same_entry(const store::ScannedFile& have, const FlatEntry& want) {
    return have.kind == want.kind && have.id == want.id &&
           (want.kind != store::EntryKind::file || have.executable == want.executable);
}

Result<Plan> plan_one(core::Project& project, store::StatCache& cache, const PointerRef& ref, bool force,
                      std::vector<std::string>& conflicts, std::vector<std::string>& missing_objects) {
    Plan plan;
    plan.ref = &ref;
    const auto& objects = project.objects();
    fs::path abs = project.root() / ref.data_path;
    std::error_code ec;
    // Checkout must never write outside the project: not through a path with ".." (a crafted git
    // tree), nor through a symlinked parent directory (a pointer read with --rev whose directory
    // is now a link elsewhere was written there). Like git, refuse to write beyond a symlink.
    fs::path parent = project.root();
    fs::path data_path(ref.data_path);
    for (auto it = data_path.begin(); it != data_path.end(); ++it) {
        if (ref.data_path.empty() || data_path.is_absolute() || !store::is_safe_component(it->string()))
            return fail(ErrorCode::input,
                        "cannot check out '" + ref.data_path + "': not a plain relative path");
        parent /= *it;
        if (std::next(it) != data_path.end() && fs::is_symlink(parent, ec))
            return fail(ErrorCode::input,
                        "cannot check out " + ref.data_path + ": " +
                            parent.lexically_relative(project.root()).generic_string() +
                            " is a symbolic link",
                        "mlo does not write through symbolic links; remove the link or check out elsewhere");
    }
    bool exists = fs::exists(fs::symlink_status(abs, ec));
    std::optional<store::ScannedTree> have;
    if (exists) {
        auto scan = store::scan_tree(objects, cache, project.root(), ref.data_path, {});
        if (!scan)
            return fail(std::move(scan).error());
        have = std::move(*scan);
    }
    auto guard = [&](const std::string& rel, const hash::ObjectId& id, store::EntryKind kind) {
        // Replacing or deleting this workspace file loses nothing if its bytes are in the store.
        if (!force && kind == store::EntryKind::file && !objects.contains(id))
            conflicts.push_back(rel.empty() ? ref.data_path : ref.data_path + "/" + rel);
    };

    // Data that already matches needs nothing from the store, even if its objects are gone.
    if (have && have->root.kind == ref.pointer.kind && have->root.id == ref.pointer.id &&
        (ref.pointer.kind != store::EntryKind::file || have->root.executable == ref.pointer.executable)) {
        plan.unchanged = true;
        return plan;
    }
    if (ref.pointer.kind == store::EntryKind::file) {
        if (!objects.contains(ref.pointer.id))
            missing_objects.push_back(ref.data_path + " (" + ref.pointer.id.str() + ")");
        if (have) {
            if (have->root.kind == store::EntryKind::directory) {
                for (const auto& file : have->files)
                    guard(file.path, file.id, file.kind);
                plan.remove.push_back("");
            } else if (have->root.id != ref.pointer.id) {
                guard("", have->root.id, have->root.kind);
            }
        }
        plan.write.push_back("");
        return plan;
    }

    auto target = flatten_stored_tree(objects, ref.pointer.id);
    if (!target) {
        missing_objects.push_back(ref.data_path + " (" + target.error().message + ")");
        return plan;
    }
    plan.target = std::move(*target);
    for (const auto& [rel, entry] : plan.target.files)
        if (entry.kind == store::EntryKind::file && !objects.contains(entry.id))
            missing_objects.push_back(ref.data_path + "/" + rel + " (" + entry.id.str() + ")");
    if (!have) {
        plan.create_root_dir = true;
        for (const auto& [rel, entry] : plan.target.files)
            plan.write.push_back(rel);
        return plan;
    }
    if (have->root.kind != store::EntryKind::directory) {
        guard("", have->root.id, have->root.kind);
        plan.remove.push_back("");
        plan.create_root_dir = true;
        for (const auto& [rel, entry] : plan.target.files)
            plan.write.push_back(rel);
        return plan;
    }
    if (have->root.id == ref.pointer.id) {
        plan.unchanged = true;
        return plan;
    }
    std::map<std::string, const store::ScannedFile*> current;
    for (const auto& file : have->files)
        current[file.path] = &file;
    for (const auto& [rel, file] : current) {
        auto it = plan.target.files.find(rel);
        if (it == plan.target.files.end()) {
            guard(rel, file->id, file->kind);
            plan.remove.push_back(rel);
        } else if (!same_entry(*file, it->second)) {
            if (file->id != it->second.id)
                guard(rel, file->id, file->kind);
            plan.write.push_back(rel);
        }
    }
    for (const auto& [rel, entry] : plan.target.files)
        if (!current.count(rel))
            plan.write.push_back(rel);
    // A workspace directory where the target has a file (or vice versa) is handled by removal:
    // a file "a" in the workspace blocks target "a/x", and is already listed for removal above.
    for (const auto& dir : have->empty_dirs)
        if (!plan.target.dirs.count(dir))
            plan.remove.push_back(dir);
    return plan;
}

Status remove_path(const fs::path& path) {
    std::error_code ec;
    // Tracked files may be read-only (hardlink/symlink modes); removal needs only the directory.
    fs::remove_all(path, ec);
    if (ec)
        return fail(ErrorCode::internal, "cannot remove " + path.string() + ": " + ec.message());
    return {};
}

// Removes directories left empty by removals, deepest first, that the target does not have.
void prune_empty_dirs(const fs::path& root, const FlatTree& target) {
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec))
            dirs.push_back(it->path());
    std::sort(dirs.rbegin(), dirs.rend());
    for (const auto& dir : dirs) {
        std::string rel = dir.lexically_relative(root).generic_string();
        if (!target.dirs.count(rel) && fs::is_empty(dir, ec))
            fs::remove(dir, ec);
    }
}

// Plans are applied in two phases so that a corrupt or missing object, found only while its
// bytes are copied and verified, leaves the workspace exactly as it was (SPEC.md section 3;
// writing in place used to leave a directory half restored):
//   1. stage: every file of every plan is placed (and verified) under a temp name in `.mlo/tmp/`;
//      nothing in the workspace changes. On failure all staged files are deleted.
//   2. commit: per plan, removals, directories, then each staged file renamed into place.
// A crash between the phases leaves only staged files in `.mlo/tmp/`, which `mlo gc` removes.
struct Staged {
    const Plan* plan = nullptr;
    std::vector<fs::path> files; // parallel to plan->write; cleared once renamed into place
};

// What to place for one entry of plan.write: for a file pointer, the pointer itself.
FlatEntry entry_for(const Plan& plan, const std::string& rel) {
    const auto& pointer = plan.ref->pointer;
    if (pointer.kind == store::EntryKind::file)
        return FlatEntry{store::EntryKind::file, pointer.executable, pointer.size, pointer.id, {}};
    return plan.target.files.at(rel);
}

void discard(std::vector<Staged>& staged) {
    for (auto& item : staged)
        for (auto& path : item.files)
            if (!path.empty()) {
                ::unlink(path.c_str());
                path.clear();
            }
}

Status stage(core::Project& project, const store::Linker& linker, const Plan& plan, Staged& out,
             util::ProgressSink* progress) {
    out.plan = &plan;
    out.files.assign(plan.write.size(), {});
    fs::path stage_base = project.objects().tmp_dir() / "checkout";
    if (progress)
        progress->begin("checking out " + plan.ref->data_path, plan.write.size(), 0);
    auto status = util::parallel_for(plan.write.size(), 0, [&](size_t i) -> Status {
        FlatEntry entry = entry_for(plan, plan.write[i]);
        fs::path path = util::temp_path_beside(stage_base);
        if (entry.kind == store::EntryKind::symlink)
            MLO_TRY(linker.place_symlink(entry.target, path));
        else
            MLO_TRY(linker.place_file(entry.id, path, entry.executable));
        out.files[i] = path;
        if (progress)
            progress->advance(1, entry.size);
        return {};
    });
    if (progress)
        progress->end();
    return status;
}

Status commit(core::Project& project, const store::Linker& linker, store::StatCache& cache, Staged& staged) {
    const Plan& plan = *staged.plan;
    const PointerRef& ref = *plan.ref;
    fs::path abs = project.root() / ref.data_path;
    bool is_file = ref.pointer.kind == store::EntryKind::file;
    for (const auto& rel : plan.remove)
        MLO_TRY(remove_path(rel.empty() ? abs : abs / rel));
    std::error_code ec;
    fs::create_directories(abs.parent_path(), ec);
    if (!is_file) {
        if (plan.create_root_dir)
            fs::create_directories(abs, ec);
        for (const auto& dir : plan.target.dirs) {
            fs::path dir_path = abs / dir;
            if (fs::is_symlink(dir_path, ec) || (fs::exists(dir_path, ec) && !fs::is_directory(dir_path, ec)))
                MLO_TRY(remove_path(dir_path));
            fs::create_directories(dir_path, ec);
            if (ec)
                return fail(ErrorCode::internal, "cannot create " + dir_path.string() + ": " + ec.message());
        }
    }
    for (size_t i = 0; i < plan.write.size(); ++i) {
        const std::string& rel = plan.write[i];
        FlatEntry entry = entry_for(plan, rel);
        fs::path dest = rel.empty() ? abs : abs / rel;
        if (::rename(staged.files[i].c_str(), dest.c_str()) != 0) {
            int err = errno;
            if (err != EXDEV) // EXDEV: the data is on another filesystem than .mlo; place it directly
                return fail(system_error("cannot write " + dest.string(), err));
            ::unlink(staged.files[i].c_str());
            if (entry.kind == store::EntryKind::symlink)
                MLO_TRY(linker.place_symlink(entry.target, dest));
            else
                MLO_TRY(linker.place_file(entry.id, dest, entry.executable));
        }
        staged.files[i].clear();
        if (entry.kind == store::EntryKind::file)
            if (auto st = store::stat_file(dest))
                cache.record(rel.empty() ? ref.data_path : ref.data_path + "/" + rel, *st, entry.id);
    }
    if (!is_file && !plan.remove.empty())
        prune_empty_dirs(abs, plan.target);
    return {};
}

} // namespace

Result<CheckoutReport> checkout(core::Project& project, const std::vector<std::string>& paths,
                                const CheckoutOptions& options) {
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    CheckoutReport report;
    std::vector<PointerRef> all;
    if (options.rev) {
        auto repo = git::Repository::discover(project.root());
        if (!repo)
            return fail(std::move(repo).error());
        auto commit = repo->resolve_commit(*options.rev);
        if (!commit)
            return fail(std::move(commit).error());
        report.rev_commit = *commit;
        auto pointers = pointers_at_revision(*repo, *commit);
        if (!pointers)
            return fail(std::move(pointers).error());
        all = std::move(*pointers);
    } else {
        auto pointers = find_workspace_pointers(project.root());
        if (!pointers)
            return fail(std::move(pointers).error());
        all = std::move(*pointers);
    }
    auto selected = select_pointers(all, paths);
    if (!selected)
        return fail(std::move(selected).error());
    auto result = checkout_refs(project, *selected, options);
    if (result)
        result->rev_commit = report.rev_commit;
    return result;
}

Result<CheckoutReport> checkout_refs(core::Project& project, const std::vector<PointerRef>& refs,
                                     const CheckoutOptions& options) {
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    CheckoutReport report;
    const std::vector<PointerRef>* selected = &refs;
    auto cache = project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());

    std::vector<Plan> plans;
    std::vector<std::string> conflicts, missing_objects;
    for (const auto& ref : *selected) {
        auto plan = plan_one(project, **cache, ref, options.force, conflicts, missing_objects);
        if (!plan)
            return fail(std::move(plan).error());
        plans.push_back(std::move(*plan));
    }
    auto list = [](const std::vector<std::string>& items) {
        std::string text;
        for (size_t i = 0; i < items.size() && i < 20; ++i)
            text += "\n  " + items[i];
        if (items.size() > 20)
            text += "\n  ... and " + std::to_string(items.size() - 20) + " more";
        return text;
    };
    if (!missing_objects.empty())
        return fail(ErrorCode::input,
                    "cannot check out: objects missing from the store:" + list(missing_objects),
                    "fetch them with 'mlo pull', or re-track the data if you still have it");
    if (!conflicts.empty())
        return fail(
            ErrorCode::precondition,
            "cannot check out: these workspace files have changes that are not in the store and would be "
            "lost:" +
                list(conflicts),
            "save them with 'mlo track', or pass --force to discard them");

    store::Linker linker(project.objects(), project.config().link);
    std::vector<Staged> staged;
    staged.reserve(plans.size());
    for (const auto& plan : plans) {
        if (plan.unchanged)
            continue;
        staged.emplace_back();
        if (auto ok = stage(project, linker, plan, staged.back(), options.progress); !ok) {
            discard(staged);
            return fail(std::move(ok).error());
        }
    }
    for (const auto& plan : plans) {
        CheckoutItem item{plan.ref->data_path, "unchanged", 0, 0};
        if (!plan.unchanged) {
            std::error_code ec;
            bool existed = fs::exists(fs::symlink_status(project.root() / plan.ref->data_path, ec));
            auto it =
                std::find_if(staged.begin(), staged.end(), [&](const Staged& s) { return s.plan == &plan; });
            if (auto ok = commit(project, linker, **cache, *it); !ok) {
                discard(staged);
                return fail(std::move(ok).error());
            }
            item.action = existed ? "updated" : "created";
            item.files_written = plan.write.size();
            item.files_removed = plan.remove.size();
        }
        report.items.push_back(std::move(item));
    }
    (void)(*cache)->flush();
    report.link_mode = linker.effective_mode();
    return report;
}

} // namespace mlo::data
