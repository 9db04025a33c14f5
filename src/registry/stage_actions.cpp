// promote, demote and deprecate: each checks the registry's current state, then creates one tag
// through create_registry_tag (signatures, access rules, audit event).

#include "tagging.hpp"

#include <mlo/registry/registry.hpp>

namespace mlo::registry {

namespace {

Result<git::Repository> open_repository(const Registry& registry) {
    return git::Repository::discover(registry.project().root());
}

Status refuse_deprecated(const ModelState& model) {
    if (model.deprecated != nullptr)
        return fail(ErrorCode::precondition,
                    "model '" + model.name + "' is deprecated (tag " + model.deprecated->tag.name + ")");
    return {};
}

} // namespace

Result<RegistryChange> promote(const Registry& registry, const ModelRef& ref, const std::string& stage,
                               const SignOptions& sign) {
    MLO_TRY(registry.check_stage(stage));
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    const ModelState& model = *registry.state().find(ref.model);
    MLO_TRY(refuse_deprecated(model));
    const VersionState& target = **version;
    std::string name = ref.model + "@" + target.version.str();
    if (target.deregistered != nullptr)
        return fail(ErrorCode::precondition,
                    name + " is deregistered (tag " + target.deregistered->tag.name + ")");
    // The manifest must be readable and consistent before anyone promotes it.
    auto manifest = registry.manifest(ref.model, target);
    if (!manifest)
        return fail(std::move(manifest).error());
    if (auto current = model.stages.find(stage);
        current != model.stages.end() && current->second->version == target.version.str())
        return fail(ErrorCode::input, name + " is already in stage '" + stage + "'");
    auto repo = open_repository(registry);
    if (!repo)
        return fail(std::move(repo).error());
    detail::TagRequest request;
    request.name.kind = TagKind::assign;
    request.name.model = ref.model;
    request.name.stage = stage;
    request.name.counter = model.max_counter + 1;
    request.commit = target.registered->tag.target_oid;
    request.fields = TagFields{"promote", ref.model, target.version.str(), stage, target.manifest};
    request.summary = "Promote " + name + " to " + stage;
    request.stage = stage;
    return detail::create_registry_tag(registry.project(), *repo, request, sign);
}

Result<RegistryChange> demote(const Registry& registry, const std::string& model_name,
                              const std::string& stage, const SignOptions& sign) {
    MLO_TRY(registry.check_stage(stage));
    ModelRef ref;
    ref.model = model_name;
    ref.stage = stage;
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    const ModelState& model = *registry.state().find(model_name);
    const VersionState& current = **version;
    auto repo = open_repository(registry);
    if (!repo)
        return fail(std::move(repo).error());
    detail::TagRequest request;
    request.name.kind = TagKind::unassign;
    request.name.model = model_name;
    request.name.stage = stage;
    request.name.counter = model.max_counter + 1;
    request.commit = current.registered->tag.target_oid;
    request.fields = TagFields{"demote", model_name, current.version.str(), stage, current.manifest};
    request.summary = "Demote " + model_name + "@" + current.version.str() + " from " + stage;
    request.stage = stage;
    return detail::create_registry_tag(registry.project(), *repo, request, sign);
}

Result<RegistryChange> deprecate(const Registry& registry, const ModelRef& ref, const SignOptions& sign) {
    if (!ref.stage.empty())
        return fail(ErrorCode::usage,
                    "deprecate takes MODEL@vX.Y.Z (one version) or MODEL (the whole model), not a stage",
                    "to take a version out of a stage use `mlo register demote " + ref.model + " --from " +
                        ref.stage + "`");
    detail::TagRequest request;
    request.name.model = ref.model;
    if (ref.version) {
        auto version = registry.resolve(ref);
        if (!version)
            return fail(std::move(version).error());
        const VersionState& target = **version;
        std::string name = ref.model + "@" + target.version.str();
        if (target.deregistered != nullptr)
            return fail(ErrorCode::input, name + " is already deregistered");
        const ModelState& model = *registry.state().find(ref.model);
        auto stages = model.stages_of(target.version.str());
        if (!stages.empty())
            return fail(ErrorCode::precondition, name + " is in stage '" + stages.front() + "'",
                        "demote it first: `mlo register demote " + ref.model + " --from " + stages.front() +
                            "`");
        request.name.kind = TagKind::deregister_version;
        request.name.version = target.version;
        request.commit = target.registered->tag.target_oid;
        request.fields = TagFields{"deprecate", ref.model, target.version.str(), "", target.manifest};
        request.summary = "Deregister " + name;
    } else {
        const ModelState* model = registry.state().find(ref.model);
        if (model == nullptr || model->versions.empty()) {
            auto unknown = registry.resolve(ref);
            return fail(std::move(unknown).error());
        }
        MLO_TRY(refuse_deprecated(*model));
        // GTO puts the deprecation tag on the latest version's commit.
        request.name.kind = TagKind::deprecate_model;
        request.commit = model->versions.back().registered->tag.target_oid;
        request.fields = TagFields{"deprecate", ref.model, "", "", ""};
        request.summary = "Deprecate " + ref.model;
    }
    auto repo = open_repository(registry);
    if (!repo)
        return fail(std::move(repo).error());
    return detail::create_registry_tag(registry.project(), *repo, request, sign);
}

} // namespace mlo::registry
