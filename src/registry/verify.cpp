// Verification reads the registry the way an auditor would: nothing a tag says is trusted until
// it agrees with the object it names and with the keys in mlo.yaml. Each tag is checked on its
// own (name, message, manifest, signatures) and then against the others (a stage tag must name a
// registered version and that version's manifest).

#include "tagging.hpp"

#include <mlo/registry/access.hpp>
#include <mlo/registry/verify.hpp>

namespace mlo::registry {

namespace {

class Checker {
  public:
    explicit Checker(const Registry& registry) : m_registry(registry) {}

    void check(const RegistryEntry& entry, bool current_assignment) {
        const git::TagInfo& tag = entry.tag;
        if (!tag.annotated) {
            problem(
                tag.name,
                "is a lightweight tag: it records no author or message, so nothing about it can be verified");
            return;
        }
        for (const auto& text : entry.message.problems)
            problem(tag.name, "message: " + text);
        const TagFields& fields = entry.message.fields;
        std::string action = detail::action_of(entry.name.kind);
        if (fields.action.empty() && fields.model.empty()) {
            problem(tag.name, "carries no mlo fields (made by hand or by another tool)");
            return;
        }
        expect(tag.name, "action", fields.action, action);
        expect(tag.name, "model", fields.model, entry.name.model);
        switch (entry.name.kind) {
        case TagKind::register_version:
        case TagKind::deregister_version:
            expect(tag.name, "version", fields.version, entry.name.version.str());
            break;
        case TagKind::assign:
        case TagKind::unassign:
            expect(tag.name, "stage", fields.stage, entry.name.stage);
            break;
        case TagKind::deprecate_model:
            break;
        }
        if (entry.name.kind == TagKind::register_version)
            check_manifest(entry);
        if (entry.name.kind == TagKind::assign || entry.name.kind == TagKind::unassign ||
            entry.name.kind == TagKind::deregister_version)
            check_names_version(entry);
        check_signatures(entry, action, current_assignment);
    }

    std::vector<TagProblem> take() { return std::move(m_problems); }

  private:
    void problem(const std::string& tag, std::string message, bool warning = false) {
        m_problems.push_back(TagProblem{tag, std::move(message), warning});
    }

    void expect(const std::string& tag, const char* field, const std::string& found,
                const std::string& wanted) {
        if (found != wanted)
            problem(tag, std::string("field mlo-") + field + " is '" + found + "' but the tag name says '" +
                             wanted + "'");
    }

    void check_manifest(const RegistryEntry& entry) {
        const ModelState* model = m_registry.state().find(entry.name.model);
        const VersionState* version = model ? model->find_version(entry.name.version) : nullptr;
        if (version == nullptr)
            return;
        auto manifest = m_registry.manifest(entry.name.model, *version);
        if (!manifest) {
            problem(entry.tag.name, manifest.error().message);
            return;
        }
        if (!manifest->lineage.commit.empty() && manifest->lineage.commit != entry.tag.target_oid)
            problem(entry.tag.name, "points at commit " + entry.tag.target_oid.substr(0, 12) +
                                        " but its manifest was made from " +
                                        manifest->lineage.commit.substr(0, 12));
    }

    // A stage or deregistration tag must name a registered version, its manifest and its commit.
    void check_names_version(const RegistryEntry& entry) {
        const TagFields& fields = entry.message.fields;
        if (fields.version.empty()) {
            problem(entry.tag.name, "names no version (field mlo-version)");
            return;
        }
        const ModelState* model = m_registry.state().find(entry.name.model);
        auto version = SemVer::parse(fields.version);
        const VersionState* registered = model && version ? model->find_version(*version) : nullptr;
        if (registered == nullptr) {
            problem(entry.tag.name,
                    "names " + entry.name.model + "@" + fields.version + ", which is not registered");
            return;
        }
        if (fields.manifest != registered->manifest)
            problem(entry.tag.name, "names manifest " + fields.manifest + " but " + entry.name.model + "@" +
                                        fields.version + " has " + registered->manifest);
        if (entry.tag.target_oid != registered->registered->tag.target_oid)
            problem(entry.tag.name,
                    "points at a different commit than " + entry.name.model + "@" + fields.version);
    }

    void check_signatures(const RegistryEntry& entry, const std::string& action, bool current_assignment) {
        std::string stage = entry.name.kind == TagKind::assign || entry.name.kind == TagKind::unassign
                                ? entry.name.stage
                                : std::string();
        std::string payload = signing_payload(entry.tag.name, entry.tag.target_oid, entry.message.fields);
        AccessVerdict verdict = check_access(m_registry.project().config().access, action, stage, payload,
                                             entry.message.signatures);
        for (const auto& text : verdict.signature_problems)
            problem(entry.tag.name, text);
        // Rules bind what is in force: versions, and the assignments stages hold now. An assignment
        // that was superseded may predate the rule, so it is only a warning.
        bool superseded = entry.name.kind == TagKind::assign && !current_assignment;
        bool historic_stage_event = superseded || entry.name.kind == TagKind::unassign;
        for (const auto& text : verdict.rule_problems)
            problem(entry.tag.name, text, historic_stage_event);
    }

    const Registry& m_registry;
    std::vector<TagProblem> m_problems;
};

bool is_current_assignment(const Registry& registry, const RegistryEntry& entry) {
    if (entry.name.kind != TagKind::assign)
        return false;
    const ModelState* model = registry.state().find(entry.name.model);
    if (model == nullptr)
        return false;
    auto it = model->stages.find(entry.name.stage);
    return it != model->stages.end() && it->second->entry == &entry;
}

} // namespace

std::vector<TagProblem> verify_registry(const Registry& registry) {
    Checker checker(registry);
    for (const auto& entry : registry.state().entries())
        checker.check(entry, is_current_assignment(registry, entry));
    return checker.take();
}

Result<StageVerification> verify_stage(const Registry& registry, const std::string& model_name,
                                       const std::string& stage) {
    ModelRef ref;
    ref.model = model_name;
    ref.stage = stage;
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    const ModelState& model = *registry.state().find(model_name);
    const StageEvent& assignment = *model.stages.at(stage);
    StageVerification out;
    out.version = (*version)->version.str();
    out.assignment_tag = assignment.entry->tag.name;
    Checker checker(registry);
    checker.check(*assignment.entry, true);
    checker.check(*(*version)->registered, false);
    out.problems = checker.take();
    auto add = [&](const std::string& tag, std::string message) {
        out.problems.push_back(TagProblem{tag, std::move(message), false});
    };
    if ((*version)->deregistered != nullptr)
        add((*version)->deregistered->tag.name, model_name + "@" + out.version + " is deregistered");
    if (model.deprecated != nullptr)
        add(model.deprecated->tag.name, "model '" + model_name + "' is deprecated");
    if (auto manifest = registry.manifest(model_name, **version)) {
        for (const auto& file : manifest->files)
            if (!registry.project().objects().contains(file.id))
                add((*version)->registered->tag.name,
                    "file " + file.path + " (" + file.id.str() + ") is not in the store");
    }
    // Warnings are for history; what is deployed now must pass in full.
    for (auto& problem : out.problems)
        problem.warning = false;
    return out;
}

Result<StageVerification> verify_deployment(const Registry& registry, const ModelRef& ref,
                                            bool check_deploy_rules) {
    const core::AccessConfig& access = registry.project().config().access;
    if (!ref.stage.empty()) {
        auto out = verify_stage(registry, ref.model, ref.stage);
        if (!out)
            return out;
        const ModelState& model = *registry.state().find(ref.model);
        const RegistryEntry& assignment = *model.stages.at(ref.stage)->entry;
        std::string payload =
            signing_payload(assignment.tag.name, assignment.tag.target_oid, assignment.message.fields);
        AccessVerdict verdict =
            check_access(access, "deploy", ref.stage, payload, assignment.message.signatures);
        for (const auto& text : verdict.rule_problems)
            out->problems.push_back(TagProblem{assignment.tag.name, text, false});
        return out;
    }
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    StageVerification out;
    out.version = (*version)->version.str();
    Checker checker(registry);
    checker.check(*(*version)->registered, false);
    out.problems = checker.take();
    const std::string& tag = (*version)->registered->tag.name;
    auto add = [&](std::string message) {
        out.problems.push_back(TagProblem{tag, std::move(message), false});
    };
    if ((*version)->deregistered != nullptr)
        add(ref.model + "@" + out.version + " is deregistered");
    if (const ModelState* model = registry.state().find(ref.model); model && model->deprecated != nullptr)
        add("model '" + ref.model + "' is deprecated");
    if (auto manifest = registry.manifest(ref.model, **version)) {
        for (const auto& file : manifest->files)
            if (!registry.project().objects().contains(file.id))
                add("file " + file.path + " (" + file.id.str() + ") is not in the store");
    }
    for (const core::AccessRule* rule :
         check_deploy_rules ? rules_for(access, "deploy", "") : std::vector<const core::AccessRule*>{})
        add("deploying needs a promotion signed under the rule of mlo.yaml line " +
            std::to_string(rule->line) + "; a version named by number carries none (deploy MODEL#STAGE)");
    for (auto& problem : out.problems)
        problem.warning = false;
    return out;
}

} // namespace mlo::registry
