#pragma once

#include <mlo/registry/registry.hpp>
#include <string>
#include <vector>

namespace mlo::registry {

// Something `audit verify` or `register verify` found wrong with a tag. Warnings do not fail a
// verification: a superseded stage assignment made before a rule required signatures.
struct TagProblem {
    std::string tag;
    std::string message;
    bool warning = false;
};

// Checks every registry tag: annotated, a well-formed message whose fields agree with the tag's
// name, a manifest that exists, parses and names the same model, version and commit; stage tags
// that name a registered version and its manifest; every signature against access.keys; and the
// access rules (failures for current stage assignments and for versions, warnings for superseded
// assignments, which the rules of today may postdate).
std::vector<TagProblem> verify_registry(const Registry& registry);

// Checks what deploying MODEL#STAGE relies on: the stage's current assignment and the version it
// names (the tags, the manifest and its files in the store, signatures and the promote rules),
// and that neither the version nor the model is withdrawn. Returns the version checked and the
// problems (none = safe to deploy).
struct StageVerification {
    std::string version;
    std::string assignment_tag;
    std::vector<TagProblem> problems;
};
Result<StageVerification> verify_stage(const Registry& registry, const std::string& model,
                                       const std::string& stage);

// Checks what deploying `ref` relies on, for `mlo deploy`. MODEL#STAGE: verify_stage, plus the
// `deploy` access rules of STAGE against the signatures of the stage's assignment tag. MODEL@vX.Y.Z
// or MODEL (its latest version): the version's tag, manifest and files, and that neither it nor
// the model is withdrawn; a `deploy` rule without a stage applies to every deployment, and a
// version deployed by number carries no promotion signature, so such a rule refuses it. A
// rollback passes check_deploy_rules = false: the version it returns to was deployed under them.
Result<StageVerification> verify_deployment(const Registry& registry, const ModelRef& ref,
                                            bool check_deploy_rules = true);

} // namespace mlo::registry
