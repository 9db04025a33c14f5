#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlo::registry {

// What a registry tag asserts, carried as `mlo-<field>: value` lines in its message. Empty fields
// are left out (a deregistration has no stage, a deprecation no version).
struct TagFields {
    std::string action; // register, deregister, promote, demote, deprecate
    std::string model;
    std::string version; // "v1.2.0"
    std::string stage;
    std::string manifest; // "sha256:..." of the version's model manifest
    bool operator==(const TagFields&) const = default;
};

// A signature over signing_payload(): the signer's id (a key of access.keys) and
// "ed25519:<base64>".
struct TagSignature {
    std::string signer;
    std::string signature;
    bool operator==(const TagSignature&) const = default;
};

struct TagMessage {
    std::string summary; // first line, for people and for GTO, which shows it
    TagFields fields;
    std::vector<TagSignature> signatures;
    std::vector<std::string> problems; // malformed or repeated mlo- lines, found while parsing
};

// The tag message: the summary, a blank line, then the fields in a fixed order and one
// `mlo-signature: SIGNER ed25519:...` line per signature.
std::string format_tag_message(const TagMessage& message);

// Reads a message written by format_tag_message, or any other message (a tag made by hand or by
// GTO has a summary and no fields). Never fails: problems are listed for `mlo audit verify`.
TagMessage parse_tag_message(std::string_view text);

// The exact bytes a signer signs for a tag: a versioned header, the tag name, the commit it points
// at and the fields, one `key: value` line each in a fixed order. The tag name (with its counter)
// and the commit are included so a signature cannot be replayed onto another tag or commit.
std::string signing_payload(const std::string& tag_name, const std::string& commit, const TagFields& fields);

} // namespace mlo::registry
