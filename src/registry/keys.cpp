// Ed25519 signing keys on OpenSSL's EVP interface.
//
// A private key lives in one PEM file (PKCS#8, unencrypted, like `openssl genpkey -algorithm ed25519`
// writes) in a per-user directory, mode 0600 in a 0700 directory. Keys are stored as files rather than
// in memory or a database because the user must be able to back them up, move them between machines
// and inspect them with openssl(1). Three rules keep the private half private:
//   - the file is created 0600 from its first byte (O_CREAT's mode can only be narrowed by the umask),
//     written and fsynced under a temp name, then hard-linked into place: link() fails when the target
//     exists, so a key is never overwritten, not even by two `generate` calls racing;
//   - a key file that group or others may access is refused on use, as ssh does, so a key that was
//     exposed by a careless copy is noticed instead of silently trusted;
//   - the PEM text is read into one fixed buffer that is wiped (OPENSSL_cleanse) before it is freed,
//     and no error message ever quotes it.
//
// Public keys and signatures travel as text, "ed25519:<base64>", in mlo.yaml and tag messages. Their
// base64 is checked strictly (canonical, padded, nothing else) because EVP_DecodeBlock is lenient: it
// skips surrounding whitespace and decodes '=' padding as zero bytes, so its length must be corrected.
//
// OpenSSL reports details through a thread-local error queue. Every failure path drains it into the
// message (openssl_errors()), and a signature that merely fails to verify clears it, so a stale entry
// never shows up in an unrelated later error.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <mlo/registry/keys.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::registry {

namespace {

constexpr std::string_view k_key_prefix = "ed25519:";
constexpr size_t k_public_key_size = 32;
constexpr size_t k_signature_size = 64;
constexpr size_t k_max_name_size = 128;
// An Ed25519 PKCS#8 PEM file is 119 bytes; anything near this size is not one.
constexpr size_t k_max_key_file_size = size_t{16} * 1024;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Private key bytes in a buffer that is allocated once (never reallocated, so never copied behind
// our back) and wiped before it is freed.
class SecretBuffer {
  public:
    explicit SecretBuffer(size_t capacity) : m_bytes(capacity, '\0') {}
    SecretBuffer(const SecretBuffer&) = delete;
    SecretBuffer& operator=(const SecretBuffer&) = delete;
    ~SecretBuffer() { OPENSSL_cleanse(m_bytes.data(), m_bytes.size()); }

    char* data() { return m_bytes.data(); }
    size_t capacity() const { return m_bytes.size(); }

  private:
    std::string m_bytes;
};

// Drains OpenSSL's (thread-local) error queue into one line of text.
std::string openssl_errors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty())
            text += "; ";
        text += buffer;
    }
    ERR_clear_error();
    return text.empty() ? "no detail from OpenSSL" : text;
}

Error openssl_error(ErrorCode code, const std::string& what) {
    return Error{code, what + " (" + openssl_errors() + ")", {}};
}

// A user's text for an error message, cut short so a pasted blob does not flood the terminal.
std::string quote_text(std::string_view text) {
    constexpr size_t k_max = 100;
    if (text.size() > k_max)
        return "'" + std::string(text.substr(0, k_max)) + "...'";
    return "'" + std::string(text) + "'";
}

// A non-null pointer for OpenSSL even when the view is empty (Ed25519 signs the empty message too).
const unsigned char* bytes_of(std::string_view text) {
    static const unsigned char k_empty = 0;
    return text.empty() ? &k_empty : reinterpret_cast<const unsigned char*>(text.data());
}

std::string base64_encode(const unsigned char* bytes, size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0'); // EVP_EncodeBlock writes a trailing NUL
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
    out.resize(static_cast<size_t>(length));
    return out;
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Decodes canonical padded base64 (RFC 4648 section 4); the problem in words if it is not.
tl::expected<std::vector<unsigned char>, std::string> base64_decode(std::string_view text) {
    if (text.empty())
        return tl::unexpected<std::string>("the base64 part is empty");
    if (text.size() % 4 != 0)
        return tl::unexpected<std::string>("the base64 part's length is not a multiple of 4");
    size_t padding = text.size() - text.find_last_not_of('=') - 1;
    if (padding > 2)
        return tl::unexpected<std::string>("the base64 part has too much '=' padding");
    for (char c : text.substr(0, text.size() - padding))
        if (!is_base64_char(c))
            return tl::unexpected<std::string>("the base64 part contains a character that is not base64");
    std::vector<unsigned char> out(text.size() / 4 * 3);
    int length = EVP_DecodeBlock(out.data(), bytes_of(text), static_cast<int>(text.size()));
    if (length < 0) {
        ERR_clear_error();
        return tl::unexpected<std::string>("the base64 part does not decode");
    }
    // EVP_DecodeBlock decodes each '=' as a zero byte: the real length is shorter by the padding.
    out.resize(static_cast<size_t>(length) - padding);
    // Re-encoding rejects texts with non-zero unused bits, so each key has exactly one spelling.
    if (base64_encode(out.data(), out.size()) != text)
        return tl::unexpected<std::string>("the base64 part is not in canonical form");
    return out;
}

// Parses "ed25519:<base64 of `size` bytes>"; `what` names the text in errors.
Result<std::vector<unsigned char>> parse_key_text(std::string_view text, size_t size,
                                                  const std::string& what) {
    auto problem = [&](const std::string& message) {
        return fail(ErrorCode::input, "bad " + what + " " + quote_text(text) + ": " + message);
    };
    if (text.substr(0, k_key_prefix.size()) != k_key_prefix)
        return problem("expected ed25519:<base64>");
    auto bytes = base64_decode(text.substr(k_key_prefix.size()));
    if (!bytes)
        return problem(bytes.error());
    if (bytes->size() != size)
        return problem("it decodes to " + std::to_string(bytes->size()) + " bytes, an Ed25519 " + what +
                       " has " + std::to_string(size));
    return std::move(*bytes);
}

// Refuses to prompt on the terminal for the passphrase of an encrypted key: such a key is an error.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

Result<std::string> public_key_text(EVP_PKEY* key) {
    std::array<unsigned char, k_public_key_size> raw{};
    size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size())
        return fail(openssl_error(ErrorCode::internal, "cannot extract the Ed25519 public key"));
    return std::string(k_key_prefix) + base64_encode(raw.data(), raw.size());
}

// Reads and parses a private key file. With `check_mode`, a file that group or others can access is
// refused the way ssh refuses one.
Result<PkeyPtr> read_private_key(const fs::path& path, bool check_mode) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return fail(system_error("cannot read private key " + path.string(), errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return fail(system_error("cannot stat private key " + path.string(), errno));
    if (!S_ISREG(info.st_mode))
        return fail(ErrorCode::input, "private key " + path.string() + " is not a regular file");
    if (check_mode && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        return fail(ErrorCode::precondition,
                    "private key " + path.string() + " is accessible by group or others (mode " + mode +
                        "); refusing to use it",
                    "chmod 600 " + path.string());
    }

    SecretBuffer buffer(k_max_key_file_size);
    size_t size = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data() + size, buffer.capacity() - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot read private key " + path.string(), errno));
        }
        if (n == 0)
            break;
        size += static_cast<size_t>(n);
        if (size == buffer.capacity())
            return fail(ErrorCode::input,
                        "private key " + path.string() + " is too large to be an Ed25519 key");
    }

    BioPtr bio(BIO_new_mem_buf(buffer.data(), static_cast<int>(size)));
    if (!bio)
        return fail(openssl_error(ErrorCode::internal, "cannot read private key " + path.string()));
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        return fail(openssl_error(ErrorCode::input,
                                  "private key " + path.string() + " is not an unencrypted PEM private key"));
    if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
        return fail(ErrorCode::input, "private key " + path.string() + " is not an Ed25519 key");
    return key;
}

// Creates `dir` and any missing parent with mode 0700 (exactly: the umask could narrow it further).
Status make_private_directory(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec))
        return {};
    fs::path parent = dir.parent_path();
    if (!parent.empty() && parent != dir)
        MLO_TRY(make_private_directory(parent));
    if (::mkdir(dir.c_str(), 0700) != 0) {
        int error = errno;
        if (error == EEXIST && fs::is_directory(dir, ec))
            return {};
        return fail(system_error("cannot create key directory " + dir.string(), error));
    }
    if (::chmod(dir.c_str(), 0700) != 0)
        return fail(system_error("cannot chmod key directory " + dir.string(), errno));
    return {};
}

Error key_exists_error(const fs::path& path, const std::string& name) {
    return Error{ErrorCode::precondition, "a key named '" + name + "' already exists: " + path.string(),
                 "keys are never overwritten; choose another name"};
}

// The key file, 0600 from its creation and complete before it has its name; an existing key is
// ErrorCode::precondition and stays as it was.
Status write_new_private_file(const fs::path& path, std::string_view bytes, const std::string& name) {
    auto created = util::write_new_private_file(path, bytes);
    if (!created)
        return fail(std::move(created).error());
    if (!*created)
        return fail(key_exists_error(path, name));
    return {};
}

fs::path key_path(const fs::path& dir, const std::string& name) {
    return dir / (name + ".pem");
}

// The names of the *.pem files in `dir`, sorted, without reading them (for listings and hints).
Result<std::vector<std::string>> key_file_names(const fs::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (ec)
            return fail(system_error("cannot read key directory " + dir.string(), ec.value()));
        return names;
    }
    if (!fs::is_directory(dir, ec))
        return fail(ErrorCode::input, "key directory " + dir.string() + " is not a directory");
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::string file = it->path().filename().string();
        // Dot files are skipped: generate_key's temp files start with '.', and no key name does.
        if (file.empty() || file[0] == '.' || it->path().extension() != ".pem")
            continue;
        names.push_back(it->path().stem().string());
    }
    if (ec)
        return fail(system_error("cannot read key directory " + dir.string(), ec.value()));
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

Result<fs::path> keys_directory() {
    auto env = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value == nullptr ? std::string() : std::string(value);
    };
    if (std::string dir = env("MLO_KEYS_DIR"); !dir.empty())
        return fs::path(dir);
    if (std::string config = env("XDG_CONFIG_HOME"); !config.empty() && fs::path(config).is_absolute())
        return fs::path(config) / "mlo" / "keys";
    if (std::string home = env("HOME"); !home.empty())
        return fs::path(home) / ".config" / "mlo" / "keys";
    return fail(ErrorCode::precondition,
                "cannot tell where signing keys live: none of MLO_KEYS_DIR, XDG_CONFIG_HOME or HOME is set",
                "set MLO_KEYS_DIR to the directory that holds your keys");
}

Status validate_key_name(const std::string& name) {
    auto problem = [&](const std::string& message) {
        return fail(ErrorCode::input, "bad key name " + quote_text(name) + ": " + message);
    };
    if (name.empty())
        return problem("it is empty");
    if (name.size() > k_max_name_size)
        return problem("it is longer than " + std::to_string(k_max_name_size) + " characters");
    if (name[0] == '.' || name[0] == '-')
        return problem("it must not start with '" + std::string(1, name[0]) + "'");
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '@' || c == '+' || c == '-';
        if (!ok)
            return problem("only letters, digits and . _ @ + - are allowed");
    }
    return {};
}

Result<SigningKey> generate_key(const fs::path& dir, const std::string& name) {
    MLO_TRY(validate_key_name(name));
    fs::path path = key_path(dir, name);
    std::error_code ec;
    if (fs::symlink_status(path, ec).type() != fs::file_type::not_found && !ec)
        return fail(key_exists_error(path, name)); // checked early for a clear error; link() decides
    MLO_TRY(make_private_directory(dir));

    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
    EVP_PKEY* raw_key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw_key) != 1)
        return fail(openssl_error(ErrorCode::internal, "cannot generate an Ed25519 key"));
    PkeyPtr key(raw_key);

    auto public_key = public_key_text(key.get());
    if (!public_key)
        return fail(std::move(public_key).error());

    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return fail(openssl_error(ErrorCode::internal, "cannot encode the private key as PEM"));
    BUF_MEM* pem = nullptr;
    BIO_get_mem_ptr(bio.get(), &pem);
    Status written = write_new_private_file(path, std::string_view(pem->data, pem->length), name);
    OPENSSL_cleanse(pem->data, pem->max);
    if (!written)
        return fail(std::move(written).error());
    return SigningKey{name, std::move(*public_key), path};
}

Result<std::vector<SigningKey>> list_keys(const fs::path& dir) {
    auto names = key_file_names(dir);
    if (!names)
        return fail(std::move(names).error());
    std::vector<SigningKey> keys;
    std::vector<std::string> problems;
    for (const auto& name : *names) {
        fs::path path = key_path(dir, name);
        if (auto valid = validate_key_name(name); !valid) {
            problems.push_back(path.string() + ": " + valid.error().message);
            continue;
        }
        auto key = read_private_key(path, false);
        if (!key) {
            problems.push_back(key.error().message);
            continue;
        }
        auto public_key = public_key_text(key->get());
        if (!public_key)
            return fail(std::move(public_key).error());
        keys.push_back(SigningKey{name, std::move(*public_key), path});
    }
    if (problems.size() == 1)
        return fail(ErrorCode::input, problems[0]);
    if (!problems.empty()) {
        std::string message =
            std::to_string(problems.size()) + " key files in " + dir.string() + " are unusable";
        for (const auto& problem : problems)
            message += "\n  " + problem;
        return fail(ErrorCode::input, message);
    }
    return keys;
}

Result<SigningKey> load_key(const fs::path& dir, const std::string& name) {
    MLO_TRY(validate_key_name(name));
    fs::path path = key_path(dir, name);
    std::error_code ec;
    if (fs::symlink_status(path, ec).type() == fs::file_type::not_found) {
        auto names = key_file_names(dir);
        std::vector<std::string> known = names ? *names : std::vector<std::string>();
        return fail(ErrorCode::input,
                    "no signing key named '" + name + "' in " + dir.string() +
                        util::did_you_mean(name, known),
                    "create one with 'mlo keys generate " + name + "'");
    }
    auto key = read_private_key(path, true);
    if (!key)
        return fail(std::move(key).error());
    auto public_key = public_key_text(key->get());
    if (!public_key)
        return fail(std::move(public_key).error());
    return SigningKey{name, std::move(*public_key), path};
}

Result<std::string> sign_payload(const SigningKey& key, std::string_view payload) {
    MLO_TRY_CTX(validate_public_key(key.public_key), "signing with key '" + key.name + "'");
    auto private_key = read_private_key(key.private_key_path, true);
    if (!private_key)
        return fail(std::move(private_key).error().context("signing with key '" + key.name + "'"));
    auto public_key = public_key_text(private_key->get());
    if (!public_key)
        return fail(std::move(public_key).error());
    if (*public_key != key.public_key)
        return fail(ErrorCode::precondition, "private key " + key.private_key_path.string() +
                                                 " does not match the public key of '" + key.name + "' (" +
                                                 key.public_key + "): the key file was replaced");

    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::array<unsigned char, k_signature_size> signature{};
    size_t length = signature.size();
    // Ed25519 hashes the message itself (PureEdDSA): no digest is named, and it signs in one shot.
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, private_key->get()) != 1 ||
        EVP_DigestSign(ctx.get(), signature.data(), &length, bytes_of(payload), payload.size()) != 1 ||
        length != signature.size())
        return fail(openssl_error(ErrorCode::internal, "cannot sign with key '" + key.name + "'"));
    return std::string(k_key_prefix) + base64_encode(signature.data(), signature.size());
}

Status validate_public_key(std::string_view public_key) {
    auto bytes = parse_key_text(public_key, k_public_key_size, "public key");
    if (!bytes)
        return fail(std::move(bytes).error());
    return {};
}

Result<bool> verify_payload(std::string_view public_key, std::string_view payload,
                            std::string_view signature) {
    auto key_bytes = parse_key_text(public_key, k_public_key_size, "public key");
    auto signature_bytes = parse_key_text(signature, k_signature_size, "signature");
    if (!key_bytes && !signature_bytes)
        return fail(ErrorCode::input, key_bytes.error().message + "; " + signature_bytes.error().message);
    if (!key_bytes)
        return fail(std::move(key_bytes).error());
    if (!signature_bytes)
        return fail(std::move(signature_bytes).error());

    PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key_bytes->data(), key_bytes->size()));
    if (!key)
        return fail(openssl_error(ErrorCode::input, "bad public key " + quote_text(public_key)));
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
        return fail(openssl_error(ErrorCode::internal, "cannot set up Ed25519 verification"));
    int verified = EVP_DigestVerify(ctx.get(), signature_bytes->data(), signature_bytes->size(),
                                    bytes_of(payload), payload.size());
    if (verified == 1)
        return true;
    if (verified == 0) {
        ERR_clear_error(); // a signature that does not verify is an answer, not an error
        return false;
    }
    return fail(openssl_error(ErrorCode::internal, "cannot verify an Ed25519 signature"));
}

} // namespace mlo::registry
