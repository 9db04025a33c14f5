// mlo register: a new immutable version of a model.
//
// The files come from one of two places. With --from RUN they are the run's recorded out (already
// in the store, so the version is exactly what the run produced, whatever the workspace holds now).
// Without it they are the workspace path, hashed and stored like `mlo track`; the run that
// produced those exact bytes, if one was recorded, is then looked up so the version still gets
// its lineage. The manifest is stored before the tag is created, so a tag never names a missing
// object; a failure before the tag leaves only unreferenced objects, which gc removes.

#include "tagging.hpp"

#include <mlo/data/tree_reader.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/runs/run_store.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <set>

namespace mlo::registry {

namespace fs = std::filesystem;

namespace {

// The model's files and root, wherever they came from.
struct ModelFiles {
    std::string kind;
    hash::ObjectId root;
    std::vector<ModelFile> files;
};

nlohmann::json yaml_to_json(const YAML::Node& node) {
    if (node.IsMap()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& item : node)
            out[item.first.Scalar()] = yaml_to_json(item.second);
        return out;
    }
    if (node.IsSequence()) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node)
            out.push_back(yaml_to_json(item));
        return out;
    }
    if (node.IsScalar()) {
        const std::string& text = node.Scalar();
        if (text == "true" || text == "false")
            return text == "true";
        return text;
    }
    return nullptr;
}

std::string base_name(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<ModelFiles> files_from_tree(const store::ObjectStore& objects, const hash::ObjectId& tree) {
    auto flat = data::flatten_stored_tree(objects, tree);
    if (!flat)
        return fail(std::move(flat).error());
    ModelFiles out{"directory", tree, {}};
    for (const auto& [path, entry] : flat->files) {
        if (entry.kind == store::EntryKind::symlink)
            return fail(ErrorCode::input, "the model contains the symlink " + path,
                        "a registered model holds regular files only");
        out.files.push_back(ModelFile{path, entry.id, entry.size, entry.executable});
    }
    return out;
}

// The entry at `sub` ('/'-separated) below the stored tree `tree`, read level by level.
Result<store::TreeEntry> entry_below(const store::ObjectStore& objects, const hash::ObjectId& tree,
                                     const std::string& sub) {
    hash::ObjectId current = tree;
    store::TreeEntry found;
    size_t start = 0;
    while (start <= sub.size()) {
        size_t end = std::min(sub.find('/', start), sub.size());
        std::string name = sub.substr(start, end - start);
        auto bytes = objects.read_bytes(current);
        if (!bytes)
            return fail(std::move(bytes).error());
        auto manifest = store::TreeManifest::parse(*bytes);
        if (!manifest)
            return fail(std::move(manifest).error());
        auto it = std::find_if(manifest->entries.begin(), manifest->entries.end(),
                               [&](const store::TreeEntry& entry) { return entry.name == name; });
        if (it == manifest->entries.end())
            return fail(ErrorCode::input, "'" + sub + "' is not in the out");
        found = *it;
        if (end < sub.size() && found.kind != store::EntryKind::directory)
            return fail(ErrorCode::input, "'" + sub + "' is not in the out");
        current = found.id;
        start = end + 1;
    }
    return found;
}

// The model path inside a run's outs: the out itself, or a file or directory below an out directory.
Result<std::optional<ModelFiles>> files_from_run(const store::ObjectStore& objects,
                                                 const runs::RunRecord& run, const std::string& path) {
    for (const auto& stage : run.stages) {
        for (const auto& out : stage.outs) {
            std::optional<store::TreeEntry> entry;
            if (out.path == path) {
                entry = store::TreeEntry{};
                entry->kind = out.kind == "directory" ? store::EntryKind::directory : store::EntryKind::file;
                entry->id = out.id;
                entry->size = out.size;
            } else if (out.kind == "directory" && path.rfind(out.path + "/", 0) == 0) {
                auto below = entry_below(objects, out.id, path.substr(out.path.size() + 1));
                if (!below)
                    return fail(std::move(below).error().context("run " + run.id + ", out " + out.path));
                entry = *below;
            }
            if (!entry)
                continue;
            if (entry->kind == store::EntryKind::directory) {
                auto files = files_from_tree(objects, entry->id);
                if (!files)
                    return fail(std::move(files).error().context("run " + run.id));
                return std::optional<ModelFiles>(std::move(*files));
            }
            if (entry->kind == store::EntryKind::symlink)
                return fail(ErrorCode::input, "the model path " + path + " is a symlink in run " + run.id);
            if (!objects.contains(entry->id))
                return fail(ErrorCode::input,
                            "the out " + path + " of run " + run.id + " is not in the store",
                            "fetch it with `mlo pull`, or register from the workspace without --from");
            return std::optional<ModelFiles>(
                ModelFiles{"file", entry->id, {ModelFile{base_name(path), entry->id, entry->size, false}}});
        }
    }
    return std::optional<ModelFiles>();
}

Result<ModelFiles> files_from_workspace(core::Project& project, const std::string& path,
                                        util::ProgressSink* progress) {
    std::error_code ec;
    if (!fs::exists(project.root() / path, ec))
        return fail(
            ErrorCode::input, "the model path " + path + " does not exist",
            "train the pipeline first (`mlo train`), or register a recorded run's out with --from RUN");
    auto cache = project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());
    store::ScanOptions options;
    options.store = true;
    options.progress = progress;
    auto scanned = store::scan_tree(project.objects(), **cache, project.root(), path, options);
    if (!scanned)
        return fail(std::move(scanned).error());
    (void)(*cache)->flush(); // only a cache: losing it costs a re-hash
    ModelFiles out;
    out.root = scanned->root.id;
    if (scanned->root.kind == store::EntryKind::file) {
        out.kind = "file";
        out.files.push_back(
            ModelFile{base_name(path), scanned->root.id, scanned->root.size, scanned->root.executable});
        return out;
    }
    out.kind = "directory";
    for (const auto& file : scanned->files) {
        if (file.kind != store::EntryKind::file)
            return fail(ErrorCode::input, "the model contains the symlink " + path + "/" + file.path,
                        "a registered model holds regular files only");
        out.files.push_back(ModelFile{file.path, file.id, file.size, file.executable});
    }
    std::sort(out.files.begin(), out.files.end(),
              [](const ModelFile& a, const ModelFile& b) { return a.path < b.path; });
    return out;
}

void fill_lineage_from_run(Lineage& lineage, const runs::RunRecord& run) {
    lineage.run = run.id;
    lineage.commit = run.git_commit;
    lineage.branch = run.git_branch;
    lineage.dirty = run.git_dirty;
    lineage.params = run.params;
    lineage.metrics = run.metrics;
    // Inputs of the run from outside it: deps that no stage of the run produced.
    std::set<std::string> produced;
    for (const auto& stage : run.stages)
        for (const auto& out : stage.outs)
            produced.insert(out.path);
    std::map<std::string, hash::ObjectId> data;
    for (const auto& stage : run.stages)
        for (const auto& dep : stage.deps)
            if (produced.count(dep.path) == 0)
                data.emplace(dep.path, dep.id);
    for (const auto& [path, id] : data)
        lineage.data.push_back(DataRef{path, id});
}

// The commit that holds the code a run ran. The run recorded its HEAD and, when the tree was
// dirty, the hash of the uncommitted diff. Usually the user commits after training (the lock, the
// metrics, the edited params): the newest commit on HEAD's first-parent line whose diff from the
// run's commit is exactly that recorded diff (empty for a clean run), leaving out what the run
// itself wrote (mlo.lock, outs, their .gitignore entries, metrics files), holds the same code plus the run's
// results, so the version's tag goes there and a dirty run counts as clean. Otherwise the run's own commit
// and dirty flag stand.
Status locate_code_commit(git::Repository& repo, const runs::RunRecord& run, const core::Config& config,
                          Lineage& lineage) {
    constexpr size_t k_searched_commits = 100;
    if (run.git_commit.empty())
        return {};
    auto history = repo.first_parent_history(k_searched_commits);
    if (!history)
        return fail(std::move(history).error());
    std::vector<std::string> written = {"mlo.lock"};
    for (const auto& stage : run.stages)
        for (const auto& out : stage.outs) {
            written.push_back(out.path);
            // train git-ignores each out in the .gitignore beside it
            size_t slash = out.path.rfind('/');
            written.push_back(slash == std::string::npos ? ".gitignore"
                                                         : out.path.substr(0, slash) + "/.gitignore");
        }
    for (const auto& stage : config.pipeline)
        written.insert(written.end(), stage.metrics.begin(), stage.metrics.end());
    for (const auto& commit : *history) {
        if (commit == run.git_commit)
            break; // older commits cannot hold what the run added
        auto diff = repo.diff_commits(run.git_commit, commit, written);
        if (!diff)
            return {}; // e.g. the run's commit is not in this clone: the run's state stands
        bool same =
            run.git_diff_hash.empty() ? diff->empty() : hash::sha256_of(*diff).str() == run.git_diff_hash;
        if (same) {
            lineage.commit = commit;
            lineage.dirty = false;
            return {};
        }
    }
    return {};
}

// The newest recorded run whose outs hold exactly these bytes at this path; runs are searched
// newest first, up to a bound, so registering stays fast in a project with many runs.
Result<std::optional<runs::RunRecord>> producing_run(runs::RunStore& store, const store::ObjectStore& objects,
                                                     const std::string& path, const hash::ObjectId& root) {
    constexpr size_t k_searched_runs = 200;
    runs::RunQuery query;
    query.limit = k_searched_runs;
    auto recent = store.query(query);
    if (!recent)
        return fail(std::move(recent).error());
    for (const auto& summary : *recent) {
        if (summary.status != "FINISHED")
            continue;
        auto run = store.load(summary.id);
        if (!run)
            continue;
        auto files = files_from_run(objects, *run, path);
        if (files && *files && (*files)->root == root)
            return std::optional<runs::RunRecord>(std::move(*run));
    }
    return std::optional<runs::RunRecord>();
}

} // namespace

Result<RegisterResult> register_model(core::Project& project, const RegisterOptions& options,
                                      util::ProgressSink* progress) {
    const auto& models = project.config().models;
    auto model_config = models.find(options.model);
    if (model_config == models.end()) {
        std::vector<std::string> names;
        for (const auto& [name, model] : models)
            names.push_back(name);
        return fail(
            ErrorCode::input,
            "unknown model '" + options.model + "'" + util::did_you_mean(options.model, names),
            names.empty() ? "declare it under `models:` in mlo.yaml with its path"
                          : "models in mlo.yaml: " + [&] {
                                std::string text;
                                for (const auto& name : names)
                                    text += (text.empty() ? "" : ", ") + name;
                                return text;
                            }());
    }
    const core::ModelConfig& config = model_config->second;
    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    auto repo = git::Repository::discover(project.root());
    if (!repo)
        return fail(std::move(repo).error().context("the model registry lives in git tags"));
    auto identity = repo->identity();
    if (!identity)
        return fail(std::move(identity).error());
    auto registry = Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());

    // The version number first: a clash is reported before anything is hashed.
    const ModelState* state = registry->state().find(options.model);
    if (state != nullptr && state->deprecated != nullptr)
        return fail(ErrorCode::precondition,
                    "model '" + options.model + "' is deprecated (tag " + state->deprecated->tag.name + ")");
    std::optional<SemVer> latest = state ? state->latest_version() : std::nullopt;
    SemVer version = options.version ? *options.version : next_version(latest, options.bump);
    if (state != nullptr && state->find_version(version) != nullptr)
        return fail(ErrorCode::input, options.model + "@" + version.str() + " is already registered",
                    "versions are immutable; the next free one is " +
                        next_version(latest, Bump::patch).str());

    auto runs = runs::RunStore::open(project.objects(), project.mlo_dir());
    if (!runs)
        return fail(std::move(runs).error());
    ModelFiles files;
    Lineage lineage;
    if (!options.from_run.empty()) {
        auto id = (*runs)->resolve(options.from_run);
        if (!id)
            return fail(std::move(id).error());
        auto run = (*runs)->load(*id);
        if (!run)
            return fail(std::move(run).error());
        if (run->status != "FINISHED")
            return fail(ErrorCode::precondition, "run " + run->id + " did not finish (" + run->status + ")",
                        "register a run that finished");
        auto found = files_from_run(project.objects(), *run, config.path);
        if (!found)
            return fail(std::move(found).error());
        if (!*found)
            return fail(ErrorCode::input,
                        "run " + run->id + " has no out " + config.path + " (the path of model '" +
                            options.model + "')",
                        "check models." + options.model + ".path against the stages' outs");
        files = std::move(**found);
        fill_lineage_from_run(lineage, *run);
        MLO_TRY(locate_code_commit(*repo, *run, project.config(), lineage));
    } else {
        auto found = files_from_workspace(project, config.path, progress);
        if (!found)
            return fail(std::move(found).error());
        files = std::move(*found);
        auto run = producing_run(**runs, project.objects(), config.path, files.root);
        if (!run)
            return fail(std::move(run).error());
        if (*run) {
            fill_lineage_from_run(lineage, **run);
            MLO_TRY(locate_code_commit(*repo, **run, project.config(), lineage));
        } else {
            auto head = repo->head();
            if (!head)
                return fail(std::move(head).error());
            lineage.commit = head->commit;
            lineage.branch = head->branch;
            auto diff = repo->diff_against_head({"mlo.lock"});
            if (!diff)
                return fail(std::move(diff).error());
            lineage.dirty = !diff->empty();
        }
    }
    if (lineage.commit.empty())
        return fail(ErrorCode::precondition, "the repository has no commit for the version's tag to point at",
                    "commit your code first");
    if (lineage.dirty && !options.allow_dirty)
        return fail(ErrorCode::precondition,
                    lineage.run.empty() ? "the work tree has uncommitted changes"
                                        : "run " + lineage.run + " was made from uncommitted changes",
                    "commit first so the version points at the code that made it, or pass --allow-dirty "
                    "(recorded in the version)");
    lineage.allow_dirty = lineage.dirty && options.allow_dirty;

    RegisterResult result;
    ModelManifest& manifest = result.manifest;
    manifest.model = options.model;
    manifest.version = version.str();
    manifest.type = config.type;
    manifest.path = config.path;
    manifest.kind = files.kind;
    manifest.root = files.root;
    manifest.files = std::move(files.files);
    manifest.signature = config.signature.IsDefined() && !config.signature.IsNull()
                             ? yaml_to_json(config.signature)
                             : nlohmann::json();
    manifest.lineage = std::move(lineage);
    manifest.author_name = identity->name;
    manifest.author_email = identity->email;
    manifest.created = utc_timestamp(util::unix_time_ns() / 1'000'000'000);
    manifest.description = options.description.empty() ? config.description : options.description;
    auto stored = project.objects().put_bytes(manifest.canonical());
    if (!stored)
        return fail(std::move(stored).error());
    result.manifest_id = stored->id;

    // Only the latest version is compared: reading every earlier manifest would make each
    // registration slower as versions accumulate, and re-registering the last model is the slip
    // worth a warning.
    if (state != nullptr && !state->versions.empty()) {
        const VersionState& latest_state = state->versions.back();
        if (auto previous = registry->manifest(options.model, latest_state);
            previous && previous->root == manifest.root)
            result.same_files_as = latest_state.version.str();
    }

    detail::TagRequest request;
    request.name.kind = TagKind::register_version;
    request.name.model = options.model;
    request.name.version = version;
    request.commit = manifest.lineage.commit;
    request.fields = TagFields{"register", options.model, version.str(), "", stored->id.str()};
    request.summary = "Register " + options.model + "@" + version.str();
    auto change = detail::create_registry_tag(project, *repo, request, options.sign);
    if (!change)
        return fail(std::move(change).error());
    result.change = std::move(*change);
    return result;
}

} // namespace mlo::registry
