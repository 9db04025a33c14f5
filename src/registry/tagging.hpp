#pragma once

// Shared by every registry action that creates a tag: signing, the access check, the tag itself
// and its audit event, in that order, so no action can skip a step.

#include <mlo/core/project.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/registry/registry.hpp>

namespace mlo::registry::detail {

struct TagRequest {
    RegistryTag name;
    std::string commit; // what the tag points at
    TagFields fields;
    std::string summary; // the message's first line
    std::string stage;   // the stage the access rules are checked for, "" for none
};

// The access-rule action of a tag kind: register, deprecate, promote, demote.
std::string action_of(TagKind kind);

// Signs (own keys and given signatures), checks the access rules for the request's action, then
// creates the tag and appends the audit event. With sign.sign_only, returns the signatures and
// creates nothing.
Result<RegistryChange> create_registry_tag(const core::Project& project, git::Repository& repo,
                                           const TagRequest& request, const SignOptions& sign);

} // namespace mlo::registry::detail
