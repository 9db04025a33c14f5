#include <catch2/catch.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <nlohmann/json.hpp>

using namespace mlo::store;

namespace {
TreeEntry file_entry(const std::string& name, const std::string& content, bool exec = false) {
    TreeEntry entry;
    entry.name = name;
    entry.kind = EntryKind::file;
    entry.executable = exec;
    entry.size = content.size();
    entry.id = mlo::hash::sha256_of(content);
    return entry;
}
} // namespace

TEST_CASE("a manifest's canonical bytes do not depend on entry order", "[manifest]") {
    TreeManifest a, b;
    a.entries = {file_entry("b.csv", "2"), file_entry("a.csv", "1")};
    b.entries = {file_entry("a.csv", "1"), file_entry("b.csv", "2")};
    REQUIRE(a.normalize());
    REQUIRE(b.normalize());
    CHECK(a.canonical() == b.canonical());
}

TEST_CASE("the canonical form is pinned", "[manifest]") {
    // Pinned bytes: changing the format changes every directory id, which must be deliberate.
    TreeManifest manifest;
    manifest.entries = {file_entry("run.sh", "echo\n", true)};
    REQUIRE(manifest.normalize());
    CHECK(manifest.canonical() == R"({"entries":[{"exec":true,"id":"sha256:)" +
                                      mlo::hash::sha256_of("echo\n").hex() +
                                      R"(","kind":"file","name":"run.sh","size":5}],"schema":"mlo.tree/1"})");
}

TEST_CASE("a manifest round-trips through parse", "[manifest]") {
    TreeManifest manifest;
    TreeEntry link;
    link.name = "latest";
    link.kind = EntryKind::symlink;
    link.target = "v2/model.pkl";
    link.id = mlo::hash::sha256_of(link.target);
    TreeEntry dir = file_entry("sub dir", "");
    dir.kind = EntryKind::directory;
    manifest.entries = {file_entry("ü.txt", "x"), link, dir};
    REQUIRE(manifest.normalize());
    auto parsed = TreeManifest::parse(manifest.canonical());
    REQUIRE(parsed);
    CHECK(parsed->canonical() == manifest.canonical());
    REQUIRE(parsed->entries.size() == 3);
    CHECK(parsed->entries[0].name == "latest");
    CHECK(parsed->entries[0].target == "v2/model.pkl");
    CHECK(parsed->entries[1].kind == EntryKind::directory);
}

TEST_CASE("unsafe or duplicate names are rejected", "[manifest]") {
    for (const char* name : {"", ".", "..", "a/b", "../etc"}) {
        TreeManifest manifest;
        manifest.entries = {file_entry(name, "x")};
        CHECK_FALSE(manifest.normalize());
    }
    TreeManifest duplicate;
    duplicate.entries = {file_entry("a", "1"), file_entry("a", "2")};
    CHECK_FALSE(duplicate.normalize());
    CHECK_FALSE(is_safe_component(std::string("bad\xff", 4)));
    CHECK_FALSE(is_safe_component(std::string("trunc\xc3", 6)));
    CHECK(is_safe_component("名前 with spaces.csv"));
}

TEST_CASE("a hand-made manifest naming ../ is refused when parsed", "[manifest]") {
    std::string id = mlo::hash::sha256_of("x").str();
    auto parsed =
        TreeManifest::parse(R"({"entries":[{"exec":false,"id":")" + id +
                            R"(","kind":"file","name":"../../etc/passwd","size":1}],"schema":"mlo.tree/1"})");
    CHECK_FALSE(parsed);
    CHECK_FALSE(TreeManifest::parse("not json"));
    CHECK_FALSE(TreeManifest::parse(R"({"entries":[],"schema":"other"})"));
}

TEST_CASE("the hand-written canonical form equals nlohmann's serialisation", "[manifest]") {
    // The canonical bytes were first produced with nlohmann::json::dump(); ids must not change.
    std::vector<std::string> names = {"plain.csv", "quote\"d",     "back\\slash",
                                      "tab\there", "new\nline",    std::string("ctl\x01\x1f", 5),
                                      "del\x7f",   "ünïcødé 名前", "cr\rlf"};
    TreeManifest manifest;
    for (const auto& name : names)
        manifest.entries.push_back(file_entry(name, name));
    TreeEntry link;
    link.name = "link";
    link.kind = EntryKind::symlink;
    link.target = "../a \"b\"\n";
    link.id = mlo::hash::sha256_of(link.target);
    manifest.entries.push_back(link);
    REQUIRE(manifest.normalize());

    nlohmann::json list = nlohmann::json::array();
    for (const auto& entry : manifest.entries) {
        nlohmann::json item = {{"exec", entry.executable},
                               {"id", entry.id.str()},
                               {"kind", to_string(entry.kind)},
                               {"name", entry.name},
                               {"size", entry.size}};
        if (entry.kind == EntryKind::symlink)
            item["target"] = entry.target;
        list.push_back(item);
    }
    nlohmann::json doc = {{"entries", list}, {"schema", "mlo.tree/1"}};
    CHECK(manifest.canonical() == doc.dump());
}
