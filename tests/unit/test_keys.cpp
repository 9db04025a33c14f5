#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <mlo/registry/keys.hpp>
#include <mlo/util/file_io.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <optional>
#include <sys/stat.h>

using namespace mlo::registry;
namespace fs = std::filesystem;

namespace {

fs::perms mode_of(const fs::path& path) {
    return fs::status(path).permissions() & fs::perms::all;
}

constexpr fs::perms k_owner_rw = fs::perms::owner_read | fs::perms::owner_write;

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::optional<std::string>& value) : m_name(name) {
        if (const char* old = std::getenv(name))
            m_old = old;
        set(value);
    }
    ~ScopedEnv() { set(m_old); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    void set(const std::optional<std::string>& value) {
        if (value)
            ::setenv(m_name.c_str(), value->c_str(), 1);
        else
            ::unsetenv(m_name.c_str());
    }
    std::string m_name;
    std::optional<std::string> m_old;
};

std::vector<unsigned char> from_hex(std::string_view hex) {
    std::vector<unsigned char> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<unsigned char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

// Writes a raw Ed25519 secret key as the PKCS#8 PEM file that `openssl genpkey` would write.
void write_raw_private_key(const fs::path& path, const std::vector<unsigned char>& secret) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, secret.data(), secret.size()), EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    REQUIRE(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    REQUIRE(mlo::util::write_file_atomic(path, std::string_view(data, static_cast<size_t>(size)), 0600));
}

size_t entries_in(const fs::path& dir) {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir))
        ++count;
    return count;
}

} // namespace

TEST_CASE("keys_directory follows MLO_KEYS_DIR, then XDG_CONFIG_HOME, then HOME", "[keys]") {
    ScopedEnv keys_dir("MLO_KEYS_DIR", "/k");
    ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg");
    ScopedEnv home("HOME", "/home/u");
    CHECK(keys_directory().value() == fs::path("/k"));
    {
        ScopedEnv no_keys_dir("MLO_KEYS_DIR", std::nullopt);
        CHECK(keys_directory().value() == fs::path("/xdg/mlo/keys"));
        {
            ScopedEnv relative_xdg("XDG_CONFIG_HOME", "relative"); // the XDG spec says: ignore it
            CHECK(keys_directory().value() == fs::path("/home/u/.config/mlo/keys"));
        }
        ScopedEnv no_xdg("XDG_CONFIG_HOME", std::nullopt);
        CHECK(keys_directory().value() == fs::path("/home/u/.config/mlo/keys"));
        ScopedEnv no_home("HOME", std::nullopt);
        auto none = keys_directory();
        REQUIRE_FALSE(none);
        CHECK(none.error().code == mlo::ErrorCode::precondition);
    }
}

TEST_CASE("key names are checked", "[keys]") {
    for (const std::string& good :
         std::vector<std::string>{"alice@example.com", "a", "ci-bot_2+release", "A.b", std::string(128, 'x')})
        CHECK(validate_key_name(good));
    for (const std::string& bad :
         std::vector<std::string>{"", ".hidden", "-flag", "a b", "a/b", "../x", "é", std::string(129, 'x')}) {
        auto result = validate_key_name(bad);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == mlo::ErrorCode::input);
        CHECK_THAT(result.error().message, Catch::Contains("bad key name"));
    }
}

TEST_CASE("generate_key writes a 0600 key into a 0700 directory; list and load read it back", "[keys]") {
    mlo::test::TempDir tmp;
    fs::path dir = tmp / "config/mlo/keys";
    mode_t old_umask = ::umask(0); // even with no umask the key must never be readable by others
    auto alice = generate_key(dir, "alice@example.com");
    ::umask(old_umask);
    REQUIRE(alice);
    CHECK(alice->name == "alice@example.com");
    CHECK(alice->private_key_path == dir / "alice@example.com.pem");
    CHECK(alice->public_key.rfind("ed25519:", 0) == 0);
    CHECK(alice->public_key.size() == 8 + 44);
    CHECK(validate_public_key(alice->public_key));
    CHECK(mode_of(alice->private_key_path) == k_owner_rw);
    CHECK(mode_of(dir) == fs::perms::owner_all);
    CHECK(mode_of(tmp / "config/mlo") == fs::perms::owner_all);
    auto pem = mlo::util::read_file(alice->private_key_path).value();
    CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);

    auto bob = generate_key(dir, "bob");
    REQUIRE(bob);
    CHECK(bob->public_key != alice->public_key);
    CHECK(entries_in(dir) == 2); // no temp files left behind

    auto listed = list_keys(dir);
    REQUIRE(listed);
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0].name == "alice@example.com");
    CHECK((*listed)[0].public_key == alice->public_key);
    CHECK((*listed)[1].name == "bob");
    CHECK((*listed)[1].public_key == bob->public_key);
    CHECK((*listed)[1].private_key_path == bob->private_key_path);

    auto loaded = load_key(dir, "bob");
    REQUIRE(loaded);
    CHECK(loaded->public_key == bob->public_key);
    CHECK(loaded->private_key_path == bob->private_key_path);
}

TEST_CASE("generate_key never overwrites an existing key", "[keys]") {
    mlo::test::TempDir tmp;
    auto first = generate_key(tmp.path(), "alice");
    REQUIRE(first);
    auto before = mlo::util::read_file(first->private_key_path).value();
    auto second = generate_key(tmp.path(), "alice");
    REQUIRE_FALSE(second);
    CHECK(second.error().code == mlo::ErrorCode::precondition);
    CHECK_THAT(second.error().message, Catch::Contains("already exists"));
    CHECK(mlo::util::read_file(first->private_key_path).value() == before);
    CHECK(entries_in(tmp.path()) == 1);
    auto bad_name = generate_key(tmp.path(), "../escape");
    REQUIRE_FALSE(bad_name);
    CHECK(bad_name.error().code == mlo::ErrorCode::input);
}

TEST_CASE("list_keys: a missing directory is empty, a malformed key file is named", "[keys]") {
    mlo::test::TempDir tmp;
    auto none = list_keys(tmp / "missing");
    REQUIRE(none);
    CHECK(none->empty());

    REQUIRE(generate_key(tmp.path(), "good"));
    REQUIRE(mlo::util::write_file_atomic(tmp / "notes.txt", "not a key", 0600)); // ignored: not *.pem
    REQUIRE(mlo::util::write_file_atomic(tmp / "broken.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0600));
    auto listed = list_keys(tmp.path());
    REQUIRE_FALSE(listed);
    CHECK(listed.error().code == mlo::ErrorCode::input);
    CHECK_THAT(listed.error().message, Catch::Contains("broken.pem"));
    CHECK_THAT(listed.error().message, !Catch::Contains("good.pem"));

    auto broken = load_key(tmp.path(), "broken");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().code == mlo::ErrorCode::input);
    CHECK_THAT(broken.error().message, Catch::Contains("broken.pem"));
}

TEST_CASE("load_key: an unknown name gets a did-you-mean", "[keys]") {
    mlo::test::TempDir tmp;
    REQUIRE(generate_key(tmp.path(), "alice@example.com"));
    auto missing = load_key(tmp.path(), "alice@exmple.com");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == mlo::ErrorCode::input);
    CHECK_THAT(missing.error().message, Catch::Contains("did you mean 'alice@example.com'"));
    auto far = load_key(tmp.path(), "zed");
    REQUIRE_FALSE(far);
    CHECK_THAT(far.error().message, !Catch::Contains("did you mean"));
    auto no_dir = load_key(tmp / "nowhere", "alice");
    REQUIRE_FALSE(no_dir);
    CHECK(no_dir.error().code == mlo::ErrorCode::input);
}

TEST_CASE("a private key readable by group or others is refused", "[keys]") {
    mlo::test::TempDir tmp;
    auto key = generate_key(tmp.path(), "alice");
    REQUIRE(key);
    fs::permissions(key->private_key_path, fs::perms::group_read, fs::perm_options::add);
    auto loaded = load_key(tmp.path(), "alice");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == mlo::ErrorCode::precondition);
    CHECK_THAT(loaded.error().message, Catch::Contains("0640"));
    CHECK(loaded.error().hint == "chmod 600 " + key->private_key_path.string());
    auto signed_anyway = sign_payload(*key, "payload");
    REQUIRE_FALSE(signed_anyway);
    CHECK(signed_anyway.error().code == mlo::ErrorCode::precondition);
    CHECK(list_keys(tmp.path())); // listing shows public keys only: no refusal

    fs::permissions(key->private_key_path, k_owner_rw, fs::perm_options::replace);
    CHECK(load_key(tmp.path(), "alice"));
}

TEST_CASE("sign and verify round trip; tampering and other keys do not verify", "[keys]") {
    mlo::test::TempDir tmp;
    auto alice = generate_key(tmp.path(), "alice");
    auto bob = generate_key(tmp.path(), "bob");
    REQUIRE(alice);
    REQUIRE(bob);
    std::string payload = "object 1a2b\ntype commit\ntag churn-clf#production#3\n";

    auto signature = sign_payload(*alice, payload);
    REQUIRE(signature);
    CHECK(signature->rfind("ed25519:", 0) == 0);
    CHECK(signature->size() == 8 + 88);
    CHECK(sign_payload(*alice, payload).value() == *signature); // Ed25519 is deterministic

    CHECK(verify_payload(alice->public_key, payload, *signature).value() == true);
    std::string tampered = payload;
    tampered[7] ^= 1;
    CHECK(verify_payload(alice->public_key, tampered, *signature).value() == false);
    CHECK(verify_payload(bob->public_key, payload, *signature).value() == false);

    auto by_bob = sign_payload(*bob, payload);
    REQUIRE(by_bob);
    CHECK(verify_payload(alice->public_key, payload, *by_bob).value() == false);
    CHECK(verify_payload(bob->public_key, payload, *by_bob).value() == true);

    CHECK(verify_payload(alice->public_key, "", sign_payload(*alice, "").value()).value() == true);
}

TEST_CASE("sign_payload refuses a key file that no longer matches its public key", "[keys]") {
    mlo::test::TempDir tmp;
    auto alice = generate_key(tmp.path(), "alice");
    auto bob = generate_key(tmp.path(), "bob");
    REQUIRE(alice);
    REQUIRE(bob);
    SigningKey swapped{alice->name, alice->public_key, bob->private_key_path};
    auto signature = sign_payload(swapped, "payload");
    REQUIRE_FALSE(signature);
    CHECK(signature.error().code == mlo::ErrorCode::precondition);
}

TEST_CASE("malformed public keys and signatures are input errors", "[keys]") {
    const std::string good_key = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const std::string good_signature =
        "ed25519:5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv"
        "18FlbviRlUUFDjnoQCw==";
    CHECK(validate_public_key(good_key));
    struct Case {
        std::string text;
        std::string says;
    };
    std::vector<Case> bad_keys = {
        {"", "expected ed25519:<base64>"},
        {"ed25519:", "empty"},
        {"rsa:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "expected ed25519:<base64>"},
        {"ED25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "expected ed25519:<base64>"},
        {"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", "multiple of 4"},
        {"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHU!o=", "not base64"},
        {"ed25519: 1qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "not base64"},
        {"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=", "canonical"}, // non-zero unused bits
        {"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH====", "padding"},
        {"ed25519:AAAA", "decodes to 3 bytes"},
        {"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==", "decodes to 31 bytes"},
        {good_signature, "decodes to 64 bytes"},
    };
    for (const auto& bad : bad_keys) {
        INFO(bad.text);
        auto result = validate_public_key(bad.text);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == mlo::ErrorCode::input);
        CHECK_THAT(result.error().message, Catch::Contains("bad public key") && Catch::Contains(bad.says));
        auto verified = verify_payload(bad.text, "", good_signature);
        REQUIRE_FALSE(verified);
        CHECK(verified.error().code == mlo::ErrorCode::input);
    }
    for (const std::string& bad :
         std::vector<std::string>{"ed25519:", good_key, good_signature.substr(0, good_signature.size() - 4),
                                  "sig:" + good_signature.substr(8)}) {
        INFO(bad);
        auto verified = verify_payload(good_key, "", bad);
        REQUIRE_FALSE(verified);
        CHECK(verified.error().code == mlo::ErrorCode::input);
        CHECK_THAT(verified.error().message, Catch::Contains("bad signature"));
    }
    auto both = verify_payload("x", "", "y");
    REQUIRE_FALSE(both);
    CHECK_THAT(both.error().message, Catch::Contains("bad public key") && Catch::Contains("bad signature"));
}

TEST_CASE("RFC 8032 test vector 1 (known answer)", "[keys]") {
    // RFC 8032 section 7.1, TEST 1: the empty message. Base64 of the public key and signature computed
    // independently (Python's base64 module).
    const std::string public_key = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const std::string signature =
        "ed25519:5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18Flb"
        "viRlUUFDjnoQCw==";
    CHECK(verify_payload(public_key, "", signature).value() == true);
    CHECK(verify_payload(public_key, "x", signature).value() == false);

    mlo::test::TempDir tmp;
    write_raw_private_key(tmp / "rfc8032.pem",
                          from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    auto key = load_key(tmp.path(), "rfc8032");
    REQUIRE(key);
    CHECK(key->public_key == public_key);
    CHECK(sign_payload(*key, "").value() == signature);
}
