#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/stat_cache.hpp>
#include <sys/stat.h>
#include <utime.h>

using namespace mlo::store;
namespace fs = std::filesystem;

namespace {
// Sets a file's mtime far in the past so the racy-git window does not apply.
void age(const fs::path& path) {
    struct utimbuf times {
        1'600'000'000, 1'600'000'000
    };
    REQUIRE(::utime(path.c_str(), &times) == 0);
}
} // namespace

TEST_CASE("a recorded file is found again while unchanged", "[statcache]") {
    mlo::test::TempDir dir;
    std::ofstream(dir / "a.csv") << "1,2\n";
    age(dir / "a.csv");
    auto stat = stat_file(dir / "a.csv");
    REQUIRE(stat);
    auto id = mlo::hash::sha256_of("1,2\n");
    {
        auto cache = StatCache::open(dir / "cache/stat.db");
        REQUIRE(cache);
        CHECK_FALSE((*cache)->lookup("a.csv", *stat));
        (*cache)->record("a.csv", *stat, id);
        REQUIRE((*cache)->flush());
    }
    auto reopened = StatCache::open(dir / "cache/stat.db"); // persisted
    REQUIRE(reopened);
    auto hit = (*reopened)->lookup("a.csv", *stat);
    REQUIRE(hit);
    CHECK(*hit == id);
    CHECK_FALSE((*reopened)->lookup("other.csv", *stat));
}

TEST_CASE("any change of stat data misses", "[statcache]") {
    mlo::test::TempDir dir;
    std::ofstream(dir / "a.csv") << "1,2\n";
    age(dir / "a.csv");
    auto stat = stat_file(dir / "a.csv");
    REQUIRE(stat);
    auto cache = StatCache::open(dir / "stat.db");
    REQUIRE(cache);
    (*cache)->record("a.csv", *stat, mlo::hash::sha256_of("1,2\n"));
    REQUIRE((*cache)->flush());
    auto changed = *stat;
    changed.size += 1;
    CHECK_FALSE((*cache)->lookup("a.csv", changed));
    changed = *stat;
    changed.mtime_ns += 1;
    CHECK_FALSE((*cache)->lookup("a.csv", changed));
    changed = *stat;
    changed.ctime_ns += 1;
    CHECK_FALSE((*cache)->lookup("a.csv", changed));
    changed = *stat;
    changed.inode += 1;
    CHECK_FALSE((*cache)->lookup("a.csv", changed));
    changed = *stat;
    changed.executable = !changed.executable;
    CHECK_FALSE((*cache)->lookup("a.csv", changed));
}

TEST_CASE("a file modified just before it was recorded is racy and re-hashed", "[statcache]") {
    mlo::test::TempDir dir;
    std::ofstream(dir / "fresh.csv") << "x";
    auto stat = stat_file(dir / "fresh.csv"); // mtime is now: within the racy window
    REQUIRE(stat);
    auto cache = StatCache::open(dir / "stat.db");
    REQUIRE(cache);
    (*cache)->record("fresh.csv", *stat, mlo::hash::sha256_of("x"));
    REQUIRE((*cache)->flush());
    CHECK_FALSE((*cache)->lookup("fresh.csv", *stat));
}

TEST_CASE("a damaged cache file is replaced, not fatal", "[statcache]") {
    mlo::test::TempDir dir;
    std::ofstream(dir / "stat.db") << "this is not a sqlite database, just garbage bytes to be replaced";
    auto cache = StatCache::open(dir / "stat.db");
    REQUIRE(cache);
    std::ofstream(dir / "a") << "a";
    age(dir / "a");
    auto stat = stat_file(dir / "a");
    REQUIRE(stat);
    (*cache)->record("a", *stat, mlo::hash::sha256_of("a"));
    REQUIRE((*cache)->flush());
    CHECK((*cache)->lookup("a", *stat));
}
