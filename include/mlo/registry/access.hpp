#pragma once

#include <mlo/core/config.hpp>
#include <mlo/registry/tag_message.hpp>
#include <string>
#include <vector>

namespace mlo::registry {

// The verdict of the access rules on one signed (or unsigned) registry action.
struct AccessVerdict {
    std::vector<std::string> valid_signers;      // distinct signers whose signature verifies
    std::vector<std::string> signature_problems; // a signature that is forged, altered or by an unknown key
    std::vector<std::string> rule_problems;      // a rule that is not met
    bool guarded = false;                        // at least one rule applies

    bool ok() const { return signature_problems.empty() && rule_problems.empty(); }
};

// The rules that apply to `action` on `stage` ("" for actions without one): a rule with no stage
// (or "*") applies to every stage.
std::vector<const core::AccessRule*> rules_for(const core::AccessConfig& access, const std::string& action,
                                               const std::string& stage);

// Checks every signature over `payload` against the keys of `access` and every applicable rule
// against the signers whose signature verifies. A bad signature is a problem even where no rule
// asks for one: it means the tag was tampered with.
AccessVerdict check_access(const core::AccessConfig& access, const std::string& action,
                           const std::string& stage, const std::string& payload,
                           const std::vector<TagSignature>& signatures);

// "promote to production", "register" — for messages.
std::string describe_action(const std::string& action, const std::string& stage);

} // namespace mlo::registry
