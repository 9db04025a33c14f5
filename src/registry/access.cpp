#include <algorithm>
#include <mlo/registry/access.hpp>
#include <mlo/registry/keys.hpp>
#include <set>

namespace mlo::registry {

std::vector<const core::AccessRule*> rules_for(const core::AccessConfig& access, const std::string& action,
                                               const std::string& stage) {
    std::vector<const core::AccessRule*> out;
    for (const auto& rule : access.rules)
        if (rule.action == action && (rule.stage.empty() || rule.stage == "*" || rule.stage == stage))
            out.push_back(&rule);
    return out;
}

std::string describe_action(const std::string& action, const std::string& stage) {
    if (stage.empty())
        return action;
    if (action == "promote" || action == "deploy")
        return action + " to " + stage;
    return action + " from " + stage;
}

AccessVerdict check_access(const core::AccessConfig& access, const std::string& action,
                           const std::string& stage, const std::string& payload,
                           const std::vector<TagSignature>& signatures) {
    AccessVerdict verdict;
    std::set<std::string> valid;
    for (const auto& signature : signatures) {
        auto key = access.keys.find(signature.signer);
        if (key == access.keys.end()) {
            verdict.signature_problems.push_back("signature by '" + signature.signer +
                                                 "', who has no key in access.keys");
            continue;
        }
        auto verified = verify_payload(key->second, payload, signature.signature);
        if (!verified)
            verdict.signature_problems.push_back("signature by '" + signature.signer +
                                                 "': " + verified.error().message);
        else if (!*verified)
            verdict.signature_problems.push_back("signature by '" + signature.signer +
                                                 "' does not match the tag (forged, or the tag was altered)");
        else
            valid.insert(signature.signer);
    }
    verdict.valid_signers.assign(valid.begin(), valid.end());
    for (const core::AccessRule* rule : rules_for(access, action, stage)) {
        verdict.guarded = true;
        std::vector<std::string> allowed = rule->signers;
        if (allowed.empty())
            for (const auto& [signer, key] : access.keys)
                allowed.push_back(signer);
        auto count = std::count_if(valid.begin(), valid.end(), [&](const std::string& signer) {
            return std::find(allowed.begin(), allowed.end(), signer) != allowed.end();
        });
        if (count >= rule->min)
            continue;
        std::string who;
        for (const auto& signer : allowed)
            who += (who.empty() ? "" : ", ") + signer;
        verdict.rule_problems.push_back(
            describe_action(action, stage) + " needs " + std::to_string(rule->min) + " valid signature" +
            (rule->min == 1 ? "" : "s") + " from [" + who + "], has " + std::to_string(count) +
            " (mlo.yaml line " + std::to_string(rule->line) + ")");
    }
    return verdict;
}

} // namespace mlo::registry
