#include "tagging.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <mlo/registry/access.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/registry/keys.hpp>

namespace mlo::registry::detail {

namespace {

// The user's key when none was named: the one named after their git email, else the only one.
Result<std::string> default_key_name(const fs::path& dir, const git::Repository& repo) {
    auto keys = list_keys(dir);
    if (!keys)
        return fail(std::move(keys).error());
    if (keys->empty())
        return fail(ErrorCode::precondition, "no signing key in " + dir.string(),
                    "create one with `mlo keys generate` and add its public key line to access.keys");
    if (auto identity = repo.identity()) {
        for (const auto& key : *keys)
            if (key.name == identity->email)
                return key.name;
    }
    if (keys->size() == 1)
        return keys->front().name;
    std::string names;
    for (const auto& key : *keys)
        names += (names.empty() ? "" : ", ") + key.name;
    return fail(ErrorCode::usage, "several signing keys and none named after your git user.email",
                "choose one with --key (keys: " + names + ")");
}

Result<std::vector<TagSignature>> own_signatures(const core::Project& project, git::Repository& repo,
                                                 const SignOptions& sign, const std::string& payload) {
    std::vector<TagSignature> out;
    if (!sign.sign && sign.keys.empty())
        return out;
    auto dir = keys_directory();
    if (!dir)
        return fail(std::move(dir).error());
    std::vector<std::string> names = sign.keys;
    if (names.empty()) {
        auto name = default_key_name(*dir, repo);
        if (!name)
            return fail(std::move(name).error());
        names.push_back(*name);
    }
    for (const auto& name : names) {
        auto key = load_key(*dir, name);
        if (!key)
            return fail(std::move(key).error());
        const auto& listed = project.config().access.keys;
        auto entry = listed.find(key->name);
        if (entry != listed.end() && entry->second != key->public_key)
            return fail(ErrorCode::precondition,
                        "key '" + key->name + "' is not the public key access.keys lists for that signer",
                        "the key in mlo.yaml must be the line `mlo keys list` prints for it");
        auto signature = sign_payload(*key, payload);
        if (!signature)
            return fail(std::move(signature).error());
        out.push_back(TagSignature{key->name, *signature});
    }
    return out;
}

} // namespace

std::string action_of(TagKind kind) {
    switch (kind) {
    case TagKind::register_version:
        return "register";
    case TagKind::assign:
        return "promote";
    case TagKind::unassign:
        return "demote";
    case TagKind::deregister_version:
    case TagKind::deprecate_model:
        break;
    }
    return "deprecate";
}

Result<RegistryChange> create_registry_tag(const core::Project& project, git::Repository& repo,
                                           const TagRequest& request, const SignOptions& sign) {
    RegistryChange change;
    change.tag = request.name.str();
    change.commit = request.commit;
    change.fields = request.fields;
    change.payload = signing_payload(change.tag, request.commit, request.fields);
    auto own = own_signatures(project, repo, sign, change.payload);
    if (!own)
        return fail(std::move(own).error());
    if (sign.sign_only) {
        change.signatures = std::move(*own);
        return change;
    }
    change.signatures = sign.signatures;
    for (auto& signature : *own) {
        // One signature per signer: a given one is replaced by a fresh one of the same signer.
        std::erase_if(change.signatures, [&](const TagSignature& s) { return s.signer == signature.signer; });
        change.signatures.push_back(std::move(signature));
    }
    std::string action = action_of(request.name.kind);
    AccessVerdict verdict =
        check_access(project.config().access, action, request.stage, change.payload, change.signatures);
    if (!verdict.ok()) {
        std::vector<std::string> problems = verdict.signature_problems;
        problems.insert(problems.end(), verdict.rule_problems.begin(), verdict.rule_problems.end());
        return fail(ErrorCode::precondition,
                    "refusing to create " + change.tag + " (" + describe_action(action, request.stage) +
                        "): " + fmt::format("{}", fmt::join(problems, "; ")),
                    "sign with --sign (see `mlo keys list`), or collect a listed signer's signature with "
                    "--sign-only and pass it with --signature");
    }
    auto identity = repo.identity();
    if (!identity)
        return fail(std::move(identity).error());
    TagMessage message{request.summary, request.fields, change.signatures, {}};
    auto tag_oid = repo.create_tag(change.tag, request.commit, format_tag_message(message), *identity);
    if (!tag_oid)
        return fail(std::move(tag_oid).error().context("creating tag " + change.tag));
    change.tag_oid = *tag_oid;

    nlohmann::json details = {{"tag", change.tag},
                              {"tag_oid", change.tag_oid},
                              {"commit", change.commit},
                              {"model", request.fields.model}};
    for (const auto& [key, value] :
         {std::pair{"version", request.fields.version}, std::pair{"stage", request.fields.stage},
          std::pair{"manifest", request.fields.manifest}})
        if (!value.empty())
            details[key] = value;
    std::vector<std::string> signers;
    for (const auto& signature : change.signatures)
        signers.push_back(signature.signer);
    details["signers"] = signers;
    AuditLog log(project.mlo_dir());
    auto event = log.append(action, identity->email, details);
    if (!event)
        return fail(std::move(event).error().context("tag " + change.tag +
                                                     " was created, but recording it in the "
                                                     "audit log failed"));
    return change;
}

} // namespace mlo::registry::detail
