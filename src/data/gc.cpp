#include <mlo/data/checkout.hpp>
#include <mlo/data/gc.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/data/tree_reader.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/util/parallel.hpp>
#include <set>

namespace mlo::data {

namespace fs = std::filesystem;

namespace {

// Adds a pointer's objects (and, for directories, the whole tree) to `keep`.
Status keep_pointer(const store::ObjectStore& objects, const PointerRef& ref,
                    std::unordered_set<hash::ObjectId>& keep, std::vector<std::string>* missing) {
    if (ref.pointer.kind == store::EntryKind::file) {
        keep.insert(ref.pointer.id);
        if (missing && !objects.contains(ref.pointer.id))
            missing->push_back(ref.data_path + " " + ref.pointer.id.str());
        return {};
    }
    if (keep.count(ref.pointer.id))
        return {}; // this tree was expanded already (same directory in another commit)
    return visit_tree_objects(
        objects, ref.pointer.id,
        [&](const hash::ObjectId& id) {
            keep.insert(id);
            if (missing && !objects.contains(id))
                missing->push_back(ref.data_path + " " + id.str());
        },
        [&](const hash::ObjectId&) {});
}

} // namespace

Result<std::unordered_set<hash::ObjectId>> reachable_objects(core::Project& project,
                                                             const std::vector<ExtraRoot>& extra_roots,
                                                             std::vector<std::string>* missing) {
    std::unordered_set<hash::ObjectId> keep;
    for (const auto& root : extra_roots) {
        if (!root.tree) {
            keep.insert(root.id);
            continue;
        }
        if (keep.count(root.id))
            continue;
        MLO_TRY(visit_tree_objects(
            project.objects(), root.id, [&](const hash::ObjectId& id) { keep.insert(id); },
            [&](const hash::ObjectId&) {}));
    }
    auto workspace = find_workspace_pointers(project.root());
    if (!workspace)
        return fail(std::move(workspace).error());
    for (const auto& ref : *workspace)
        MLO_TRY(keep_pointer(project.objects(), ref, keep, missing));

    auto repo = git::Repository::discover(project.root());
    if (!repo) {
        if (repo.error().code == ErrorCode::precondition)
            return keep; // no git repository: only the workspace counts
        return fail(std::move(repo).error());
    }
    auto commits = repo->all_reachable_commits();
    if (!commits)
        return fail(std::move(commits).error().context("listing git history for gc"));
    // Pointer files rarely change between commits; remember the ones seen by content.
    std::set<std::string> seen_pointer_texts;
    for (const auto& commit : *commits) {
        auto pointers = pointers_at_revision(*repo, commit);
        if (!pointers) {
            // A malformed pointer in an old commit must not make gc delete what it names; refuse.
            return fail(std::move(pointers).error().context("reading history for gc"));
        }
        for (const auto& ref : *pointers) {
            std::string key = ref.data_path + "\n" + ref.pointer.id.str();
            if (!seen_pointer_texts.insert(key).second)
                continue;
            // Objects of history that are missing locally are normal (never pulled): not reported.
            MLO_TRY(keep_pointer(project.objects(), ref, keep, nullptr));
        }
    }
    return keep;
}

Result<GcReport> gc(core::Project& project, const std::vector<ExtraRoot>& extra_roots, bool dry_run) {
    auto lock = project.lock_store(util::FileLock::Mode::exclusive);
    if (!lock)
        return fail(std::move(lock).error());
    auto keep = reachable_objects(project, extra_roots);
    if (!keep)
        return fail(std::move(keep).error());
    GcReport report;
    report.dry_run = dry_run;
    std::vector<std::pair<hash::ObjectId, uint64_t>> doomed;
    MLO_TRY(project.objects().for_each([&](const hash::ObjectId& id, uint64_t size) {
        if (keep->count(id))
            ++report.kept_objects;
        else
            doomed.emplace_back(id, size);
    }));
    for (const auto& [id, size] : doomed) {
        if (!dry_run)
            MLO_TRY(project.objects().remove(id));
        ++report.removed_objects;
        report.removed_bytes += size;
        report.removed.push_back(id.str());
    }
    // Named temp files exist only on filesystems without O_TMPFILE, after a crash. Nobody is
    // writing now (exclusive lock), so all of them are garbage.
    std::error_code ec;
    for (auto it = fs::directory_iterator(project.objects().tmp_dir(), ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        ++report.removed_temp_files;
        if (!dry_run)
            fs::remove(it->path(), ec);
    }
    return report;
}

Result<FsckReport> fsck(core::Project& project, const std::vector<ExtraRoot>& extra_roots,
                        util::ProgressSink* progress) {
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    FsckReport report;
    std::vector<std::pair<hash::ObjectId, uint64_t>> objects;
    std::vector<std::string> strays;
    MLO_TRY(project.objects().for_each(
        [&](const hash::ObjectId& id, uint64_t size) { objects.emplace_back(id, size); },
        [&](const fs::path& path) { strays.push_back(path.string()); }));
    for (const auto& stray : strays)
        report.problems.push_back({"stray file", stray, "not an object name"});

    uint64_t total_bytes = 0;
    for (const auto& object : objects)
        total_bytes += object.second;
    if (progress)
        progress->begin("verifying", objects.size(), total_bytes);
    std::vector<std::optional<hash::ObjectId>> actual(objects.size());
    std::vector<std::string> read_errors(objects.size());
    MLO_TRY(util::parallel_for(objects.size(), 0, [&](size_t i) -> Status {
        auto id = project.objects().rehash(objects[i].first);
        if (id)
            actual[i] = *id;
        else
            read_errors[i] = id.error().message;
        if (progress)
            progress->advance(1, objects[i].second);
        return {};
    }));
    if (progress)
        progress->end();
    for (size_t i = 0; i < objects.size(); ++i) {
        ++report.checked_objects;
        report.checked_bytes += objects[i].second;
        if (!actual[i])
            report.problems.push_back({"unreadable", objects[i].first.str(), read_errors[i]});
        else if (*actual[i] != objects[i].first)
            report.problems.push_back({"corrupt", objects[i].first.str(),
                                       "content hashes to " + actual[i]->str() + " (" +
                                           project.objects().path_of(objects[i].first).string() + ")"});
    }

    std::vector<std::string> missing;
    auto reachable = reachable_objects(project, extra_roots, &missing);
    if (!reachable)
        report.problems.push_back({"malformed manifest", "", reachable.error().message});
    for (const auto& item : missing) {
        auto space = item.rfind(' ');
        report.problems.push_back(
            {"missing", item.substr(space + 1), "referenced by " + item.substr(0, space)});
    }
    return report;
}

} // namespace mlo::data
