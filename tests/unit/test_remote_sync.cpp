#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/hash/sha256.hpp>
#include <mlo/remote/directory_remote.hpp>
#include <mlo/remote/sync.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <sys/stat.h>

using namespace mlo;
using namespace mlo::remote;
namespace fs = std::filesystem;

namespace {

// A store holding a directory tree: top/{a, sub/{b, c}}; returns the top manifest's id.
hash::ObjectId make_tree(const store::ObjectStore& objects, std::vector<hash::ObjectId>& files) {
    auto put = [&](const std::string& bytes) { return objects.put_bytes(bytes)->id; };
    files = {put("file a\n"), put("file b\n"), put("file c\n")};
    store::TreeManifest sub;
    sub.entries.push_back({"b", store::EntryKind::file, false, 7, files[1], {}, 0});
    sub.entries.push_back({"c", store::EntryKind::file, false, 7, files[2], {}, 0});
    REQUIRE(sub.normalize());
    auto sub_id = put(sub.canonical());
    store::TreeManifest top;
    top.entries.push_back({"a", store::EntryKind::file, false, 7, files[0], {}, 0});
    top.entries.push_back({"sub", store::EntryKind::directory, false, 14, sub_id, {}, 0});
    REQUIRE(top.normalize());
    return put(top.canonical());
}

fs::path remote_object(const fs::path& root, const hash::ObjectId& id) {
    return root / "objects" / "sha256" / id.hex().substr(0, 2) / id.hex().substr(2);
}

} // namespace

TEST_CASE("push then fetch a tree through a directory remote", "[remote]") {
    test::TempDir dir;
    store::ObjectStore local(dir / "local");
    REQUIRE(local.create());
    std::vector<hash::ObjectId> files;
    auto top = make_tree(local, files);
    DirectoryRemote remote("nas", dir / "remote", 4);

    PushPlan plan;
    plan.data.push_back({top, true});
    plan.refs.emplace_back("runs/r1", "sha256:" + files[0].hex() + "\n");
    auto known = KnownObjects::load(dir / "local", "nas", remote.location());
    auto report = push(remote, local, known, plan, {});
    REQUIRE(report);
    CHECK(report->objects == 5);
    CHECK(report->uploaded == 5);
    CHECK(report->refs == 1);
    CHECK(fs::exists(remote_object(dir / "remote", top)));
    CHECK(remote.get_ref("runs/r1").value().value() == "sha256:" + files[0].hex() + "\n");

    // Answered from the record: nothing asked, nothing sent.
    auto reloaded = KnownObjects::load(dir / "local", "nas", remote.location());
    CHECK(reloaded.size() == 5);
    auto again = push(remote, local, reloaded, plan, {});
    REQUIRE(again);
    CHECK(again->uploaded == 0);
    CHECK(again->refs == 0);
    // A record made for another location is not trusted.
    CHECK(KnownObjects::load(dir / "local", "nas", "/elsewhere").size() == 0);

    store::ObjectStore other(dir / "other");
    REQUIRE(other.create());
    auto fetched = fetch(remote, other, {{top, true}}, nullptr);
    REQUIRE(fetched);
    CHECK(fetched->downloaded == 5);
    CHECK(fetched->missing_on_remote.empty());
    for (const auto& id : files)
        CHECK(other.read_bytes(id));
    CHECK(other.read_bytes(top));
}

TEST_CASE("a manifest is not pushed while a file below it is missing locally", "[remote]") {
    test::TempDir dir;
    store::ObjectStore local(dir / "local");
    REQUIRE(local.create());
    std::vector<hash::ObjectId> files;
    auto top = make_tree(local, files);
    REQUIRE(local.remove(files[2])); // sub/c
    DirectoryRemote remote("nas", dir / "remote", 2);
    auto known = KnownObjects::load(dir / "local", "nas", remote.location());
    auto report = push(remote, local, known, PushPlan{{{top, true}}, {}, {}}, {});
    REQUIRE(report);
    REQUIRE(report->missing_locally == std::vector<std::string>{files[2].str()});
    CHECK(fs::exists(remote_object(dir / "remote", files[0])));
    CHECK(fs::exists(remote_object(dir / "remote", files[1])));
    // Neither sub's manifest nor the top one above it went up.
    CHECK_FALSE(fs::exists(remote_object(dir / "remote", top)));
    CHECK(report->uploaded == 2);
}

TEST_CASE("a damaged local object is never published under its id", "[remote]") {
    test::TempDir dir;
    store::ObjectStore local(dir / "local");
    REQUIRE(local.create());
    auto id = local.put_bytes("good bytes\n")->id;
    ::chmod(local.path_of(id).c_str(), 0644);
    std::ofstream(local.path_of(id), std::ios::trunc) << "bad bytes!\n";
    DirectoryRemote remote("nas", dir / "remote", 1);
    auto put = remote.put_object(id, local.path_of(id), 11);
    REQUIRE_FALSE(put);
    CHECK_THAT(put.error().message, Catch::Contains("corrupt"));
    CHECK_FALSE(fs::exists(remote_object(dir / "remote", id)));
}

TEST_CASE("fetch verifies every object and stores nothing that does not match", "[remote]") {
    test::TempDir dir;
    store::ObjectStore local(dir / "local");
    REQUIRE(local.create());
    std::vector<hash::ObjectId> files;
    auto top = make_tree(local, files);
    DirectoryRemote remote("nas", dir / "remote", 3);
    auto known = KnownObjects::load(dir / "local", "nas", remote.location());
    REQUIRE(push(remote, local, known, PushPlan{{{top, true}}, {}, {}}, {}));
    // Damage b on the remote and lose c.
    auto b = remote_object(dir / "remote", files[1]);
    ::chmod(b.c_str(), 0644);
    std::ofstream(b, std::ios::trunc) << "tampered\n";
    fs::remove(remote_object(dir / "remote", files[2]));

    store::ObjectStore other(dir / "other");
    REQUIRE(other.create());
    auto fetched = fetch(remote, other, {{top, true}}, nullptr);
    REQUIRE(fetched);
    CHECK(fetched->missing_on_remote == std::vector<std::string>{files[2].str()});
    REQUIRE(fetched->corrupt.size() == 1);
    CHECK_THAT(fetched->corrupt[0], Catch::StartsWith(files[1].str()));
    CHECK(other.contains(files[0]));
    CHECK_FALSE(other.contains(files[1]));
    CHECK_FALSE(other.contains(files[2]));
    // The manifests above the failures stay out, so the store never holds a tree it cannot check out.
    CHECK_FALSE(other.contains(top));
    CHECK(fs::is_empty(dir / "other" / "tmp"));
}

TEST_CASE("remote listings ignore names that are not objects", "[remote]") {
    test::TempDir dir;
    DirectoryRemote remote("nas", dir / "remote", 1);
    fs::create_directories(dir / "remote" / "objects" / "sha256" / "ab");
    std::ofstream(dir / "remote" / "objects" / "sha256" / "ab" / "not-an-id") << "x";
    std::ofstream(dir / "remote" / "objects" / "sha256" / "ab" / std::string(62, 'c')) << "x";
    auto ids = remote.list_objects();
    REQUIRE(ids);
    REQUIRE(ids->size() == 1);
    CHECK(ids->front().hex() == "ab" + std::string(62, 'c'));
    CHECK_FALSE(remote.get_ref("../../etc/passwd"));
    CHECK_FALSE(remote.put_ref("runs/../../x", "y"));
}
