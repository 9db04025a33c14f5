#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::registry {

namespace fs = std::filesystem;

// An Ed25519 signing key. Only the public half is held in memory; the private half stays in its
// file and is read (and wiped from memory) for each signature.
struct SigningKey {
    std::string name;          // signer id, e.g. "alice@example.com"
    std::string public_key;    // "ed25519:<base64 of the 32 raw public key bytes>"
    fs::path private_key_path; // <dir>/<name>.pem
};

// Where private keys live: $MLO_KEYS_DIR if set, else $XDG_CONFIG_HOME/mlo/keys, else
// $HOME/.config/mlo/keys (a relative XDG_CONFIG_HOME is ignored, as the XDG spec asks).
// ErrorCode::precondition when none of HOME/XDG_CONFIG_HOME/MLO_KEYS_DIR is set.
Result<fs::path> keys_directory();

// Checks a signer id: 1-128 chars of [A-Za-z0-9._@+-], not starting with '.' or '-'.
// ErrorCode::input naming the id and what is wrong with it.
Status validate_key_name(const std::string& name);

// Creates an Ed25519 key pair: `dir` (and missing parents) is created with mode 0700; the private key
// is written as PEM (PKCS#8) with mode 0600 from its first byte, then linked into place, so an existing
// key of that name is ErrorCode::precondition and is never overwritten, even by a concurrent call.
Result<SigningKey> generate_key(const fs::path& dir, const std::string& name);

// Every key in `dir` (files *.pem), sorted by name; a missing dir is an empty list. Unreadable or
// malformed key files are one ErrorCode::input naming each of them. File modes are not checked here.
Result<std::vector<SigningKey>> list_keys(const fs::path& dir);

// One key by name. Unknown → ErrorCode::input with a did-you-mean hint over the names present. A private
// key file accessible by group or others → ErrorCode::precondition with hint "chmod 600 <path>" (like ssh).
Result<SigningKey> load_key(const fs::path& dir, const std::string& name);

// Signs `payload` with the key's private key (re-read from its file, mode checked as in load_key).
// Returns "ed25519:<base64 of the 64-byte signature>". ErrorCode::precondition if the file no longer
// holds the private half of `key.public_key`.
Result<std::string> sign_payload(const SigningKey& key, std::string_view payload);

// Checks `public_key` text ("ed25519:<base64 32 bytes>"): ErrorCode::input naming what is wrong.
Status validate_public_key(std::string_view public_key);

// true if `signature` ("ed25519:<base64 64 bytes>") is a valid signature of `payload` by `public_key`;
// false if it is well-formed but does not verify; ErrorCode::input if either text is malformed.
Result<bool> verify_payload(std::string_view public_key, std::string_view payload,
                            std::string_view signature);

} // namespace mlo::registry
