#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <sys/stat.h>

using namespace mlo::util;
namespace fs = std::filesystem;

TEST_CASE("write_file_atomic replaces content and leaves no temp files", "[util]") {
    mlo::test::TempDir dir;
    REQUIRE(write_file_atomic(dir / "f.txt", "one"));
    REQUIRE(write_file_atomic(dir / "f.txt", "two", 0600));
    CHECK(read_file(dir / "f.txt").value() == "two");
    CHECK((fs::status(dir / "f.txt").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path()))
        ++entries;
    CHECK(entries == 1);
    auto missing_dir = write_file_atomic(dir / "no/such/dir/f", "x");
    CHECK_FALSE(missing_dir);
}

TEST_CASE("read_file and MappedFile give a file's exact bytes, whatever its size", "[util]") {
    mlo::test::TempDir dir;
    // Empty, one byte, either side of a page boundary, and many pages, with every byte value.
    for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{300001}}) {
        std::string bytes(size, '\0');
        for (size_t i = 0; i < size; ++i)
            bytes[i] = static_cast<char>((i * 131 + size) & 0xff);
        REQUIRE(write_file_atomic(dir / "f.bin", bytes));
        CHECK(read_file(dir / "f.bin").value() == bytes);
        auto mapped = MappedFile::open(dir / "f.bin");
        REQUIRE(mapped);
        CHECK(mapped->bytes() == bytes);
        // The mapping outlives a rename over the file (how a newer summary replaces an older one).
        REQUIRE(write_file_atomic(dir / "f.bin", "replaced"));
        CHECK(mapped->bytes() == bytes);
    }
    auto missing = MappedFile::open(dir / "none.bin");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("none.bin") != std::string::npos);
    CHECK_FALSE(read_file(dir / "none.bin"));
}

TEST_CASE("a lock file is exclusive and commits by rename", "[util]") {
    mlo::test::TempDir dir;
    {
        auto lock = LockFile::acquire(dir / "ref");
        REQUIRE(lock);
        auto second = LockFile::acquire(dir / "ref");
        REQUIRE_FALSE(second);
        CHECK(second.error().code == mlo::ErrorCode::precondition);
        REQUIRE(lock->write("value\n"));
        REQUIRE(lock->commit());
    }
    CHECK(read_file(dir / "ref").value() == "value\n");
    CHECK_FALSE(fs::exists(dir / "ref.lock"));
    {
        auto abandoned = LockFile::acquire(dir / "ref");
        REQUIRE(abandoned);
        REQUIRE(abandoned->write("half"));
    } // destroyed without commit: the old value stays, the lock goes
    CHECK(read_file(dir / "ref").value() == "value\n");
    CHECK_FALSE(fs::exists(dir / "ref.lock"));
}

TEST_CASE("an exclusive store lock excludes shared holders", "[util]") {
    mlo::test::TempDir dir;
    auto shared1 = FileLock::acquire(dir / "lock", FileLock::Mode::shared, false);
    REQUIRE(shared1);
    auto shared2 = FileLock::acquire(dir / "lock", FileLock::Mode::shared, false);
    REQUIRE(shared2);
    auto exclusive = FileLock::acquire(dir / "lock", FileLock::Mode::exclusive, false);
    REQUIRE_FALSE(exclusive);
    CHECK(exclusive.error().code == mlo::ErrorCode::precondition);
}

TEST_CASE("did you mean suggests close names only", "[util]") {
    std::vector<std::string> commands = {"init", "track", "status", "checkout"};
    CHECK(closest_match("tarck", commands) == "track");
    CHECK(closest_match("stauts", commands) == "status");
    CHECK(closest_match("deploy", commands).empty());
    CHECK(did_you_mean("chekout", commands) == " (did you mean 'checkout'?)");
    CHECK(edit_distance("abc", "abc") == 0);
    CHECK(edit_distance("ab", "ba") == 1);
}
