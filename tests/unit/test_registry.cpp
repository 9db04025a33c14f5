// The registry's formats and rules without git: tag names, versions, messages, the signed
// payload, the model manifest, stage resolution and the access check.

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/registry/access.hpp>
#include <mlo/registry/keys.hpp>
#include <mlo/registry/model_manifest.hpp>
#include <mlo/registry/registry_state.hpp>
#include <mlo/registry/tag_message.hpp>
#include <mlo/registry/tag_name.hpp>

using namespace mlo::registry;

namespace {

const std::string k_commit_a(40, 'a');
const std::string k_commit_b(40, 'b');

mlo::git::TagInfo tag(const std::string& name, const std::string& target, const std::string& message) {
    mlo::git::TagInfo info;
    info.name = name;
    info.tag_oid = mlo::hash::sha256_of(name).hex().substr(0, 40);
    info.target_oid = target;
    info.annotated = true;
    info.tagger_name = "t";
    info.tagger_email = "t@example.com";
    info.message = message;
    return info;
}

std::string version_message(const std::string& model, const std::string& version) {
    return format_tag_message(TagMessage{
        "Register", TagFields{"register", model, version, "", "sha256:" + std::string(64, '1')}, {}, {}});
}

std::string stage_message(const std::string& action, const std::string& model, const std::string& version,
                          const std::string& stage) {
    return format_tag_message(TagMessage{
        "Stage", TagFields{action, model, version, stage, "sha256:" + std::string(64, '1')}, {}, {}});
}

} // namespace

TEST_CASE("registry tag names follow GTO's grammar", "[registry]") {
    struct Case {
        const char* name;
        TagKind kind;
        const char* model;
        const char* detail;
    };
    for (const auto& c : {Case{"churn-clf@v1.2.3", TagKind::register_version, "churn-clf", "v1.2.3"},
                          Case{"churn-clf@v1.2.3!", TagKind::deregister_version, "churn-clf", "v1.2.3"},
                          Case{"churn-clf#production#12", TagKind::assign, "churn-clf", "production"},
                          Case{"churn-clf#production!#13", TagKind::unassign, "churn-clf", "production"},
                          Case{"team/model_a@deprecated", TagKind::deprecate_model, "team/model_a", ""}}) {
        auto parsed = RegistryTag::parse(c.name);
        INFO(c.name);
        REQUIRE(parsed);
        CHECK(parsed->kind == c.kind);
        CHECK(parsed->model == c.model);
        if (c.kind == TagKind::assign || c.kind == TagKind::unassign)
            CHECK(parsed->stage == c.detail);
        if (c.kind == TagKind::register_version || c.kind == TagKind::deregister_version)
            CHECK(parsed->version.str() == c.detail);
        CHECK(parsed->str() == c.name); // round trip pins the format
    }
    CHECK(RegistryTag::parse("churn-clf#production#12")->counter == 12);
    for (const char* other :
         {"v1.0.0", "release-1", "-x@v1.0.0", "x-@v1.0.0", "x@1.0.0", "x@v1.0", "x@v01.0.0", "x#prod",
          "x#prod#", "x#prod#01", "x#-prod#1", "x@v1.0.0!!", "x@deprecated!", "@v1.0.0"})
        CHECK_FALSE(RegistryTag::parse(other));
    CHECK(valid_name("a"));
    CHECK(valid_name("team/churn_clf-2"));
    CHECK_FALSE(valid_name("a/"));
    CHECK_FALSE(valid_name("_a"));
    CHECK_FALSE(valid_name("a.b"));
}

TEST_CASE("semver parsing and bumps", "[registry]") {
    CHECK(SemVer::parse("v0.0.1")->str() == "v0.0.1");
    CHECK(SemVer::parse("v10.20.30")->minor == 20);
    for (const char* bad : {"1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.3-rc1", "v", "v-1.2.3", "v1..3"})
        CHECK_FALSE(SemVer::parse(bad));
    CHECK(*SemVer::parse("v1.10.0") > *SemVer::parse("v1.9.9"));
    CHECK(next_version(std::nullopt, Bump::patch).str() == "v0.0.1");
    CHECK(next_version(std::nullopt, Bump::minor).str() == "v0.1.0");
    CHECK(next_version(std::nullopt, Bump::major).str() == "v1.0.0");
    SemVer v{1, 4, 7};
    CHECK(next_version(v, Bump::patch).str() == "v1.4.8");
    CHECK(next_version(v, Bump::minor).str() == "v1.5.0");
    CHECK(next_version(v, Bump::major).str() == "v2.0.0");
}

TEST_CASE("model references", "[registry]") {
    CHECK(ModelRef::parse("clf")->latest());
    CHECK(ModelRef::parse("clf@latest")->latest());
    CHECK(ModelRef::parse("clf@v1.0.0")->version->str() == "v1.0.0");
    CHECK(ModelRef::parse("clf#production")->stage == "production");
    CHECK(ModelRef::parse("clf#production")->str() == "clf#production");
    for (const char* bad : {"", "@v1.0.0", "clf@", "clf@1.0", "clf#", "clf#prod#1", "c lf"}) {
        auto ref = ModelRef::parse(bad);
        REQUIRE_FALSE(ref);
        CHECK(ref.error().code == mlo::ErrorCode::usage);
    }
}

TEST_CASE("tag messages and the signed payload are pinned", "[registry]") {
    TagMessage message;
    message.summary = "Promote churn@v1.2.0 to production";
    message.fields = TagFields{"promote", "churn", "v1.2.0", "production", "sha256:" + std::string(64, 'e')};
    message.signatures = {TagSignature{"alice@example.com", "ed25519:QUJD"},
                          TagSignature{"bob", "ed25519:REVG"}};
    std::string text = format_tag_message(message);
    CHECK(text == "Promote churn@v1.2.0 to production\n\n"
                  "mlo-action: promote\n"
                  "mlo-model: churn\n"
                  "mlo-version: v1.2.0\n"
                  "mlo-stage: production\n"
                  "mlo-manifest: sha256:" +
                      std::string(64, 'e') +
                      "\n"
                      "mlo-signature: alice@example.com ed25519:QUJD\n"
                      "mlo-signature: bob ed25519:REVG\n");
    TagMessage parsed = parse_tag_message(text);
    CHECK(parsed.summary == message.summary);
    CHECK(parsed.fields == message.fields);
    CHECK(parsed.signatures == message.signatures);
    CHECK(parsed.problems.empty());

    CHECK(signing_payload("churn#production#3", k_commit_a, message.fields) == "mlo-tag-payload/1\n"
                                                                               "tag: churn#production#3\n"
                                                                               "commit: " +
                                                                                   k_commit_a +
                                                                                   "\n"
                                                                                   "action: promote\n"
                                                                                   "model: churn\n"
                                                                                   "version: v1.2.0\n"
                                                                                   "stage: production\n"
                                                                                   "manifest: sha256:" +
                                                                                   std::string(64, 'e') +
                                                                                   "\n");
    // Empty fields are left out of both.
    TagFields deprecate{"deprecate", "churn", "", "", ""};
    CHECK(signing_payload("churn@deprecated", k_commit_a, deprecate) ==
          "mlo-tag-payload/1\ntag: churn@deprecated\ncommit: " + k_commit_a +
              "\naction: deprecate\nmodel: churn\n");
}

TEST_CASE("messages from other tools or by hand parse with problems listed", "[registry]") {
    CHECK(parse_tag_message("Assigned with GTO\n").fields == TagFields{});
    TagMessage odd = parse_tag_message(
        "x\n\nmlo-model: a\nmlo-model: b\nmlo-colour: red\nmlo-signature: lonely\nmlo-nocolon\n");
    CHECK(odd.fields.model == "a");
    CHECK(odd.problems.size() == 4);
    CHECK(odd.signatures.empty());
}

TEST_CASE("the model manifest round-trips and rejects unsafe paths", "[registry]") {
    ModelManifest manifest;
    manifest.model = "clf";
    manifest.version = "v1.0.0";
    manifest.type = "sklearn";
    manifest.path = "models/clf";
    manifest.kind = "directory";
    manifest.root = mlo::hash::sha256_of("root");
    manifest.files = {ModelFile{"a/w.bin", mlo::hash::sha256_of("w"), 1, true},
                      ModelFile{"b.txt", mlo::hash::sha256_of("b"), 1, false}};
    manifest.signature = nlohmann::json{{"inputs", {{{"name", "x"}, {"type", "double"}}}}};
    manifest.lineage.run = "20261127-000000-abcd";
    manifest.lineage.commit = k_commit_a;
    manifest.lineage.data = {DataRef{"data/raw.csv", mlo::hash::sha256_of("raw")}};
    manifest.lineage.params = {{"lr", "0.1"}};
    manifest.lineage.metrics = {{"acc", 0.93}};
    manifest.author_name = "A";
    manifest.author_email = "a@example.com";
    manifest.created = utc_timestamp(0);
    CHECK(manifest.created == "1970-01-01T00:00:00Z");
    std::string text = manifest.canonical();
    CHECK(text.rfind(R"({"author":{"email":"a@example.com","name":"A"},"created":"1970-01-01T00:00:00Z",)",
                     0) == 0);
    auto parsed = ModelManifest::parse(text);
    REQUIRE(parsed);
    CHECK(parsed->canonical() == text);
    CHECK(parsed->total_size() == 2);

    auto with_path = [&](const std::string& path) {
        nlohmann::json json = nlohmann::json::parse(text);
        json["files"][0]["path"] = path;
        return ModelManifest::parse(json.dump());
    };
    for (const char* bad : {"../escape", "/etc/passwd", "a/../../x", "", "a//b", "./a"}) {
        auto result = with_path(bad);
        INFO(bad);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find("safe relative path") != std::string::npos);
    }
    CHECK_FALSE(ModelManifest::parse("{}"));
    CHECK_FALSE(ModelManifest::parse("not json"));
}

TEST_CASE("stage resolution: the highest counter wins, unassignments empty a stage", "[registry]") {
    std::vector<mlo::git::TagInfo> tags = {
        tag("m@v1.0.0", k_commit_a, version_message("m", "v1.0.0")),
        tag("m@v2.0.0", k_commit_b, version_message("m", "v2.0.0")),
        tag("m#prod#1", k_commit_a, stage_message("promote", "m", "v1.0.0", "prod")),
        tag("m#prod#2", k_commit_b, stage_message("promote", "m", "v2.0.0", "prod")),
        tag("m#staging#3", k_commit_b, stage_message("promote", "m", "v2.0.0", "staging")),
        tag("m#staging!#4", k_commit_b, stage_message("demote", "m", "v2.0.0", "staging")),
        tag("m#qa#5", k_commit_a, "made by GTO\n"), // no fields: the version on its commit
        tag("release-1", k_commit_a, "not a registry tag\n"),
        tag("m@v9.0.0", k_commit_a, ""), // lightweight: reported by audit, registers nothing
    };
    tags.back().annotated = false;
    // Tag time must not matter: make the lower counter the newest.
    tags[2].time = 2'000'000'000;
    RegistryState state(tags);
    CHECK(state.entries().size() == 8);
    const ModelState* model = state.find("m");
    REQUIRE(model);
    CHECK(model->max_counter == 5);
    CHECK(model->versions.size() == 2);
    CHECK(model->latest_version()->str() == "v2.0.0");
    CHECK(model->stages.at("prod")->version == "v2.0.0");
    CHECK(model->stages.count("staging") == 0);
    CHECK(model->stages.at("qa")->version == "v1.0.0");
    CHECK(model->stages_of("v1.0.0") == std::vector<std::string>{"qa"});

    auto prod = state.resolve(*ModelRef::parse("m#prod"));
    REQUIRE(prod);
    CHECK((*prod)->version.str() == "v2.0.0");
    auto staging = state.resolve(*ModelRef::parse("m#staging"));
    REQUIRE_FALSE(staging);
    CHECK(staging.error().message == "model 'm' has no version in stage 'staging'");
    CHECK((*state.resolve(*ModelRef::parse("m")))->version.str() == "v2.0.0");
    auto unknown = state.resolve(*ModelRef::parse("n"), {"m", "other"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message == "unknown model 'n' (did you mean 'm'?)");
    auto missing = state.resolve(*ModelRef::parse("m@v3.0.0"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("has no version v3.0.0") != std::string::npos);

    // Deregistering the latest version makes the previous one "latest".
    tags.push_back(tag("m@v2.0.0!", k_commit_b, stage_message("deprecate", "m", "v2.0.0", "")));
    RegistryState after(tags);
    CHECK((*after.resolve(*ModelRef::parse("m")))->version.str() == "v1.0.0");
    CHECK(after.find("m")->latest_version()->str() == "v2.0.0"); // numbers are never reused
}

TEST_CASE("the access check counts distinct listed signers whose signatures verify", "[registry][keys]") {
    mlo::test::TempDir dir;
    auto alice = generate_key(dir.path(), "alice");
    auto bob = generate_key(dir.path(), "bob");
    auto carol = generate_key(dir.path(), "carol");
    REQUIRE(alice);
    REQUIRE(bob);
    REQUIRE(carol);
    mlo::core::AccessConfig access;
    access.keys = {{"alice", alice->public_key}, {"bob", bob->public_key}};
    access.rules = {mlo::core::AccessRule{"promote", "production", {"alice", "bob"}, 2, 7}};
    std::string payload =
        signing_payload("m#production#1", k_commit_a, TagFields{"promote", "m", "v1.0.0", "production", ""});
    auto sign = [&](const SigningKey& key, const std::string& text) {
        return TagSignature{key.name, *sign_payload(key, text)};
    };

    CHECK(rules_for(access, "promote", "staging").empty());
    CHECK(rules_for(access, "promote", "production").size() == 1);
    AccessVerdict none = check_access(access, "promote", "production", payload, {});
    CHECK(none.guarded);
    REQUIRE(none.rule_problems.size() == 1);
    CHECK(none.rule_problems[0] ==
          "promote to production needs 2 valid signatures from [alice, bob], has 0 (mlo.yaml line 7)");

    AccessVerdict twice_alice = check_access(access, "promote", "production", payload,
                                             {sign(*alice, payload), sign(*alice, payload)});
    CHECK_FALSE(twice_alice.ok()); // one signer counts once

    AccessVerdict with_carol = check_access(access, "promote", "production", payload,
                                            {sign(*alice, payload), sign(*carol, payload)});
    CHECK(with_carol.signature_problems.size() == 1);
    CHECK_FALSE(with_carol.ok());

    std::string other =
        signing_payload("m#production#1", k_commit_b, TagFields{"promote", "m", "v1.0.0", "production", ""});
    AccessVerdict replayed =
        check_access(access, "promote", "production", payload, {sign(*alice, payload), sign(*bob, other)});
    REQUIRE(replayed.signature_problems.size() == 1);
    CHECK(replayed.signature_problems[0] ==
          "signature by 'bob' does not match the tag (forged, or the tag was altered)");

    AccessVerdict valid =
        check_access(access, "promote", "production", payload, {sign(*alice, payload), sign(*bob, payload)});
    CHECK(valid.ok());
    CHECK(valid.valid_signers == std::vector<std::string>{"alice", "bob"});

    // Unguarded actions pass unsigned, but a bad signature is still reported.
    CHECK(check_access(access, "promote", "staging", payload, {}).ok());
    CHECK_FALSE(check_access(access, "promote", "staging", payload, {sign(*bob, other)}).ok());
}
