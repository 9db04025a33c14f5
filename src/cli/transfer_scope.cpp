#include "transfer_scope.hpp"

#include <mlo/data/checkout.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/registry/tag_name.hpp>
#include <mlo/runs/run_store.hpp>
#include <set>

namespace mlo::cli {

namespace {

void add_pointer(Scope& scope, const data::PointerRef& ref) {
    scope.plan.data.push_back({ref.pointer.id, ref.pointer.kind == store::EntryKind::directory});
}

// A run travels with its record (metadata, sent after what it refers to) and its ref.
Status add_run(Scope& scope, runs::RunStore& store, const std::string& id) {
    auto record = store.record_of(id);
    if (!record)
        return fail(std::move(record).error().context("run " + id));
    scope.plan.metadata.push_back(*record);
    scope.plan.refs.emplace_back("runs/" + id, record->str() + "\n");
    auto run = store.load(id);
    if (!run)
        return {}; // a record missing locally is reported by the push (missing locally)
    if (run->params_file)
        scope.plan.data.push_back({*run->params_file, false});
    for (const auto& stage : run->stages) {
        for (const auto& log : {stage.stdout_log, stage.stderr_log})
            if (log)
                scope.plan.data.push_back({*log, false});
        for (const auto* list : {&stage.outs, &stage.deps})
            for (const auto& item : *list)
                scope.plan.data.push_back({item.id, item.kind == "directory"});
    }
    return {};
}

Status add_runs(core::Project& project, Scope& scope, const ScopeRequest& request) {
    auto store = runs::RunStore::open(project.objects(), project.mlo_dir());
    if (!store)
        return fail(std::move(store).error());
    std::vector<std::string> ids;
    if (request.everything()) {
        auto all = (*store)->all_ids();
        if (!all)
            return fail(std::move(all).error());
        ids = std::move(*all);
    } else {
        for (const auto& name : request.runs) {
            auto id = (*store)->resolve(name);
            if (!id)
                return fail(std::move(id).error());
            ids.push_back(*id);
        }
    }
    for (const auto& id : ids)
        MLO_TRY(add_run(scope, **store, id));
    return {};
}

void add_version(Scope& scope, const registry::Registry& registry, const std::string& model,
                 const registry::VersionState& version) {
    auto id = hash::ObjectId::parse(version.manifest);
    if (!id)
        return; // a tag without a manifest refers to nothing in the store
    scope.plan.metadata.push_back(*id);
    auto manifest = registry.manifest(model, version);
    if (!manifest)
        return; // missing locally: the push reports the manifest as missing
    scope.plan.data.push_back({manifest->root, manifest->kind == "directory"});
    for (const auto& file : manifest->files)
        scope.plan.data.push_back({file.id, false});
}

Status add_models(core::Project& project, Scope& scope, const ScopeRequest& request) {
    auto registry = registry::Registry::open(project);
    if (!registry) {
        if (registry.error().code == ErrorCode::precondition && request.models.empty())
            return {}; // no git repository: no registry
        return fail(std::move(registry).error());
    }
    if (request.everything()) {
        for (const auto& [name, model] : registry->state().models())
            for (const auto& version : model.versions)
                add_version(scope, *registry, name, version);
        return {};
    }
    for (const auto& text : request.models) {
        auto ref = registry::ModelRef::parse(text);
        if (!ref)
            return fail(std::move(ref).error());
        auto version = registry->resolve(*ref);
        if (!version)
            return fail(std::move(version).error());
        add_version(scope, *registry, ref->model, **version);
    }
    return {};
}

Status add_history(core::Project& project, Scope& scope) {
    auto repo = git::Repository::discover(project.root());
    if (!repo)
        return fail(std::move(repo).error().context("--all-commits"));
    auto commits = repo->all_reachable_commits();
    if (!commits)
        return fail(std::move(commits).error().context("listing git history"));
    std::set<std::pair<std::string, bool>> seen;
    for (const auto& commit : *commits) {
        auto pointers = data::pointers_at_revision(*repo, commit);
        if (!pointers)
            return fail(std::move(pointers).error().context("commit " + commit.substr(0, 12)));
        for (const auto& ref : *pointers) {
            bool tree = ref.pointer.kind == store::EntryKind::directory;
            if (seen.emplace(ref.pointer.id.str(), tree).second)
                scope.plan.data.push_back({ref.pointer.id, tree});
        }
    }
    return {};
}

} // namespace

Result<Scope> local_scope(core::Project& project, const ScopeRequest& request) {
    Scope scope;
    if (request.everything() || !request.paths.empty()) {
        auto workspace = data::find_workspace_pointers(project.root());
        if (!workspace)
            return fail(std::move(workspace).error());
        if (!request.paths.empty()) {
            auto selected = data::select_pointers(*workspace, request.paths);
            if (!selected)
                return fail(std::move(selected).error());
            scope.workspace = std::move(*selected);
        } else {
            scope.workspace = std::move(*workspace);
        }
        for (const auto& ref : scope.workspace)
            add_pointer(scope, ref);
    }
    if (request.everything() || !request.runs.empty())
        MLO_TRY(add_runs(project, scope, request));
    if (request.everything() || !request.models.empty())
        MLO_TRY(add_models(project, scope, request));
    if (request.all_commits)
        MLO_TRY(add_history(project, scope));
    return scope;
}

void split_targets(const core::Project& project, const std::vector<std::string>& targets,
                   std::vector<std::string>& paths, std::vector<std::string>& models) {
    for (const auto& target : targets) {
        size_t mark = target.find_first_of("@#");
        if (mark != std::string::npos && project.config().models.count(target.substr(0, mark)) != 0)
            models.push_back(target);
        else
            paths.push_back(target);
    }
}

} // namespace mlo::cli
