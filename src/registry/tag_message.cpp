#include <array>
#include <mlo/registry/tag_message.hpp>
#include <utility>

namespace mlo::registry {

namespace {

using FieldPointer = std::string TagFields::*;

// Field order is part of the format (golden tests pin it); never reorder.
const std::array<std::pair<const char*, FieldPointer>, 5> k_fields = {{
    {"action", &TagFields::action},
    {"model", &TagFields::model},
    {"version", &TagFields::version},
    {"stage", &TagFields::stage},
    {"manifest", &TagFields::manifest},
}};

constexpr std::string_view k_prefix = "mlo-";
constexpr std::string_view k_signature_key = "signature";

} // namespace

std::string format_tag_message(const TagMessage& message) {
    std::string out = message.summary + "\n\n";
    for (const auto& [key, member] : k_fields)
        if (!(message.fields.*member).empty())
            out += std::string(k_prefix) + key + ": " + message.fields.*member + "\n";
    for (const auto& signature : message.signatures)
        out += std::string(k_prefix) + std::string(k_signature_key) + ": " + signature.signer + " " +
               signature.signature + "\n";
    return out;
}

TagMessage parse_tag_message(std::string_view text) {
    TagMessage message;
    size_t first_end = std::min(text.find('\n'), text.size());
    message.summary = std::string(text.substr(0, first_end));
    size_t position = first_end;
    while (position < text.size()) {
        size_t end = std::min(text.find('\n', position + 1), text.size());
        std::string_view line = text.substr(position + 1, end - position - 1);
        position = end;
        if (line.substr(0, k_prefix.size()) != k_prefix)
            continue;
        size_t colon = line.find(": ");
        if (colon == std::string_view::npos) {
            message.problems.push_back("malformed line '" + std::string(line) + "'");
            continue;
        }
        std::string_view key = line.substr(k_prefix.size(), colon - k_prefix.size());
        std::string_view value = line.substr(colon + 2);
        if (key == k_signature_key) {
            size_t space = value.find(' ');
            if (space == std::string_view::npos || space == 0 || space + 1 == value.size())
                message.problems.push_back("malformed signature line '" + std::string(line) + "'");
            else
                message.signatures.push_back(
                    TagSignature{std::string(value.substr(0, space)), std::string(value.substr(space + 1))});
            continue;
        }
        bool known = false;
        for (const auto& [name, member] : k_fields) {
            if (key != name)
                continue;
            known = true;
            if (!(message.fields.*member).empty())
                message.problems.push_back("field mlo-" + std::string(key) + " appears twice");
            else
                message.fields.*member = std::string(value);
        }
        if (!known)
            message.problems.push_back("unknown field mlo-" + std::string(key));
    }
    return message;
}

std::string signing_payload(const std::string& tag_name, const std::string& commit, const TagFields& fields) {
    std::string out = "mlo-tag-payload/1\ntag: " + tag_name + "\ncommit: " + commit + "\n";
    for (const auto& [key, member] : k_fields)
        if (!(fields.*member).empty())
            out += std::string(key) + ": " + fields.*member + "\n";
    return out;
}

} // namespace mlo::registry
