#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/util/file_io.hpp>
#include <sys/stat.h>

using namespace mlo::store;
namespace fs = std::filesystem;

namespace {
void write(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}
std::string big_content(size_t size) {
    std::string data(size, '\0');
    uint32_t x = 12345;
    for (auto& c : data) {
        x = x * 1664525 + 1013904223;
        c = static_cast<char>(x >> 24);
    }
    return data;
}
} // namespace

TEST_CASE("put_file stores content under its sha256 and read-only", "[store]") {
    mlo::test::TempDir dir;
    ObjectStore store(dir / ".mlo");
    REQUIRE(store.create());
    write(dir / "a.txt", "hello\n");
    auto stored = store.put_file(dir / "a.txt");
    REQUIRE(stored);
    CHECK(stored->id.hex() == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    CHECK(stored->size == 6);
    CHECK(stored->was_new);
    fs::path object = store.path_of(stored->id);
    CHECK(object ==
          dir / ".mlo/objects/sha256/58/91b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    struct stat st;
    REQUIRE(::stat(object.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0444);
    auto again = store.put_file(dir / "a.txt");
    REQUIRE(again);
    CHECK_FALSE(again->was_new); // never rewritten
    CHECK(fs::is_empty(store.tmp_dir()));
}

TEST_CASE("large files go through the pipelined copy and hash correctly", "[store]") {
    mlo::test::TempDir dir;
    ObjectStore store(dir / ".mlo");
    REQUIRE(store.create());
    std::string data = big_content(20 * 1024 * 1024 + 17); // above the pipeline threshold, odd size
    write(dir / "big.bin", data);
    auto stored = store.put_file(dir / "big.bin");
    REQUIRE(stored);
    CHECK(stored->id == mlo::hash::sha256_of(data));
    auto bytes = store.read_bytes(stored->id);
    REQUIRE(bytes);
    CHECK(*bytes == data);
}

TEST_CASE("put_bytes and read_bytes detect corruption and absence", "[store]") {
    mlo::test::TempDir dir;
    ObjectStore store(dir / ".mlo");
    REQUIRE(store.create());
    auto stored = store.put_bytes("manifest");
    REQUIRE(stored);
    CHECK(store.contains(stored->id));
    fs::path object = store.path_of(stored->id);
    fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
    write(object, "tampered");
    auto read = store.read_bytes(stored->id);
    REQUIRE_FALSE(read);
    CHECK(read.error().code == mlo::ErrorCode::failure);
    CHECK_THAT(read.error().message, Catch::Contains("corrupt object"));
    auto rehashed = store.rehash(stored->id);
    REQUIRE(rehashed);
    CHECK(*rehashed == mlo::hash::sha256_of("tampered"));

    auto missing = store.read_bytes(mlo::hash::sha256_of("never stored"));
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("missing object"));
}

TEST_CASE("for_each lists objects and reports strays", "[store]") {
    mlo::test::TempDir dir;
    ObjectStore store(dir / ".mlo");
    REQUIRE(store.create());
    REQUIRE(store.put_bytes("one"));
    REQUIRE(store.put_bytes("two"));
    fs::create_directories(dir / ".mlo/objects/sha256/zz");
    write(dir / ".mlo/objects/sha256/zz/junk", "x");
    std::vector<mlo::hash::ObjectId> seen;
    std::vector<fs::path> strays;
    REQUIRE(store.for_each([&](const mlo::hash::ObjectId& id, uint64_t) { seen.push_back(id); },
                           [&](const fs::path& p) { strays.push_back(p); }));
    CHECK(seen.size() == 2);
    CHECK(strays.size() == 1);
    REQUIRE(store.remove(seen[0]));
    CHECK_FALSE(store.contains(seen[0]));
}

TEST_CASE("the linker verifies while copying and refuses corrupt objects", "[store][linker]") {
    mlo::test::TempDir dir;
    ObjectStore store(dir / ".mlo");
    REQUIRE(store.create());
    auto stored = store.put_bytes("content\n");
    REQUIRE(stored);
    Linker copier(store, LinkMode::copy);
    REQUIRE(copier.place_file(stored->id, dir / "out.txt", true));
    CHECK(mlo::util::read_file(dir / "out.txt").value() == "content\n");
    CHECK((fs::status(dir / "out.txt").permissions() & fs::perms::owner_exec) != fs::perms::none);

    Linker hardlinker(store, LinkMode::hardlink);
    REQUIRE(hardlinker.place_file(stored->id, dir / "hard.txt", false));
    CHECK(fs::equivalent(dir / "hard.txt", store.path_of(stored->id)));

    Linker symlinker(store, LinkMode::symlink);
    REQUIRE(symlinker.place_file(stored->id, dir / "sym.txt", false));
    CHECK(fs::is_symlink(dir / "sym.txt"));

    fs::path object = store.path_of(stored->id);
    fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
    write(object, "corrupt\n");
    write(dir / "keep.txt", "old");
    for (auto mode : {LinkMode::auto_, LinkMode::copy, LinkMode::hardlink, LinkMode::symlink}) {
        Linker linker(store, mode);
        auto placed = linker.place_file(stored->id, dir / "keep.txt", false);
        REQUIRE_FALSE(placed);
        CHECK_THAT(placed.error().message, Catch::Contains("corrupt object"));
        CHECK(mlo::util::read_file(dir / "keep.txt").value() == "old"); // untouched
    }
    // No temp files left beside the destination.
    size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path()))
        ++files;
    CHECK(files == 5); // .mlo out.txt hard.txt sym.txt keep.txt
}
