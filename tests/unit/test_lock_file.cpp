#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/store/lock_file.hpp>

using mlo::ErrorCode;
using mlo::store::LockedPath;
using mlo::store::LockedStage;
using mlo::store::LockFile;

namespace {

const std::string k_hash_a = "sha256:" + std::string(64, 'a');
const std::string k_hash_b = "sha256:" + std::string(64, 'b');
const std::string k_hash_c = "sha256:" + std::string(64, 'c');

LockedPath locked(const std::string& path, const std::string& kind, const std::string& hash, uint64_t size,
                  uint64_t files = 0) {
    auto id = mlo::hash::ObjectId::parse(hash);
    REQUIRE(id);
    return LockedPath{path, kind, *id, size, files};
}

LockFile sample() {
    LockFile lock;
    LockedStage prepare;
    prepare.cmd = "python3 src/prepare.py --split 0.2";
    prepare.deps = {locked("src/prepare.py", "file", k_hash_b, 310),
                    locked("data/raw.csv", "file", k_hash_a, 1234)};
    prepare.params = {{"prepare.split", "0.2"}, {"prepare.seed", "42"}};
    prepare.outs = {locked("data/prepared", "directory", k_hash_c, 99, 3)};
    lock.stages["prepare"] = prepare;

    LockedStage train;
    train.cmd = "python3 src/train.py --conf 'a: b' # not a comment";
    train.deps = {locked("data/prepared", "directory", k_hash_c, 99, 3)};
    train.params = {{"train", R"({"depth":3,"lr":0.10})"}, {"train.lr", "0.10"}, {"empty", ""}};
    train.outs = {locked("models/churn.pkl", "file", k_hash_a, 5)};
    train.metrics = {locked("metrics/train.json", "file", k_hash_b, 40)};
    lock.stages["train"] = train;
    return lock;
}

std::string parse_error(const std::string& text) {
    auto lock = LockFile::parse(text, "mlo.lock");
    REQUIRE_FALSE(lock);
    CHECK(lock.error().code == ErrorCode::input);
    return lock.error().message;
}

// A valid lock with one stage whose deps entry is `entry` (already indented as a list item).
std::string with_dep(const std::string& entry) {
    return "schema: mlo.lock/1\nstages:\n  s:\n    cmd: run\n    deps:\n" + entry;
}

} // namespace

TEST_CASE("the lock file is written in one fixed form", "[lockfile]") {
    std::string expected = "schema: mlo.lock/1\n"
                           "stages:\n"
                           "  prepare:\n"
                           "    cmd: python3 src/prepare.py --split 0.2\n"
                           "    deps:\n"
                           "      - path: data/raw.csv\n"
                           "        kind: file\n"
                           "        hash: " +
                           k_hash_a +
                           "\n"
                           "        size: 1234\n"
                           "      - path: src/prepare.py\n"
                           "        kind: file\n"
                           "        hash: " +
                           k_hash_b +
                           "\n"
                           "        size: 310\n"
                           "    params:\n"
                           "      prepare.seed: \"42\"\n"
                           "      prepare.split: \"0.2\"\n"
                           "    outs:\n"
                           "      - path: data/prepared\n"
                           "        kind: directory\n"
                           "        hash: " +
                           k_hash_c +
                           "\n"
                           "        size: 99\n"
                           "        files: 3\n"
                           "  train:\n"
                           "    cmd: \"python3 src/train.py --conf 'a: b' # not a comment\"\n"
                           "    deps:\n"
                           "      - path: data/prepared\n"
                           "        kind: directory\n"
                           "        hash: " +
                           k_hash_c +
                           "\n"
                           "        size: 99\n"
                           "        files: 3\n"
                           "    params:\n"
                           "      empty: \"\"\n"
                           "      train: \"{\\\"depth\\\":3,\\\"lr\\\":0.10}\"\n"
                           "      train.lr: \"0.10\"\n"
                           "    outs:\n"
                           "      - path: models/churn.pkl\n"
                           "        kind: file\n"
                           "        hash: " +
                           k_hash_a +
                           "\n"
                           "        size: 5\n"
                           "    metrics:\n"
                           "      - path: metrics/train.json\n"
                           "        kind: file\n"
                           "        hash: " +
                           k_hash_b +
                           "\n"
                           "        size: 40\n";
    CHECK(sample().serialize() == expected);
    CHECK(LockFile{}.serialize() == "schema: mlo.lock/1\nstages: {}\n");

    // Empty lists are left out.
    LockFile bare;
    bare.stages["only"].cmd = "true";
    CHECK(bare.serialize() == "schema: mlo.lock/1\nstages:\n  only:\n    cmd: true\n");
}

TEST_CASE("a lock file reads back to the same bytes", "[lockfile]") {
    std::string text = sample().serialize();
    auto parsed = LockFile::parse(text, "mlo.lock");
    REQUIRE(parsed);
    CHECK(parsed->serialize() == text);
    const auto& train = parsed->stages.at("train");
    CHECK(train.cmd == "python3 src/train.py --conf 'a: b' # not a comment");
    CHECK(train.params.at("train.lr") == "0.10");
    CHECK(train.params.at("empty") == "");
    CHECK(train.metrics.at(0).size == 40);
    const auto& prepare = parsed->stages.at("prepare");
    REQUIRE(prepare.deps.size() == 2);
    CHECK(prepare.deps[0].path == "data/raw.csv"); // sorted
    CHECK(prepare.outs.at(0).files == 3);
    CHECK(prepare.outs.at(0).kind == "directory");

    auto empty = LockFile::parse(LockFile{}.serialize(), "mlo.lock");
    REQUIRE(empty);
    CHECK(empty->stages.empty());

    // Commands that YAML would misread unquoted survive the round trip.
    for (std::string cmd : {"true",        "123",    "null",   "- x",     "[a]",  "{b}",
                            "a\nb",        " lead",  "trail ", "x: y",    "#c",   "echo \"q\" 'q' \\",
                            "caf\xc3\xa9", "",       "*alias", "&anchor", "!tag", "%dir",
                            "@at",         "`tick`", "| pipe", "> fold",  "? q",  "a\tb"}) {
        LockFile lock;
        lock.stages["s"].cmd = cmd;
        lock.stages["s"].params["p"] = cmd;
        std::string serialized = lock.serialize();
        auto back = LockFile::parse(serialized, "mlo.lock");
        REQUIRE(back);
        CHECK(back->stages.at("s").cmd == cmd);
        CHECK(back->stages.at("s").params.at("p") == cmd);
        CHECK(back->serialize() == serialized);
    }
}

TEST_CASE("a missing lock file is an empty lock", "[lockfile]") {
    mlo::test::TempDir dir;
    auto missing = LockFile::load(dir / "mlo.lock");
    REQUIRE(missing);
    CHECK(missing->stages.empty());

    { std::ofstream(dir / "mlo.lock") << sample().serialize(); }
    auto loaded = LockFile::load(dir / "mlo.lock");
    REQUIRE(loaded);
    CHECK(loaded->stages.size() == 2);

    { std::ofstream(dir / "mlo.lock") << "schema: mlo.lock/1\nstagse: {}\n"; }
    auto bad = LockFile::load(dir / "mlo.lock");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::StartsWith((dir / "mlo.lock").string() + ": line 2: "));
}

TEST_CASE("malformed lock files are refused with the line", "[lockfile]") {
    std::string good =
        "      - path: data/raw.csv\n        kind: file\n        hash: " + k_hash_a + "\n        size: 3\n";
    REQUIRE(LockFile::parse(with_dep(good), "mlo.lock"));

    CHECK(parse_error(with_dep("      - path: data/raw.csv\n        kind: file\n        hash: sha256:zz\n"
                               "        size: 3\n")) ==
          "mlo.lock: line 8: stages.s.deps.hash: bad object id 'zz': expected 64 hex digits");
    CHECK(parse_error(with_dep("      - path: ../x\n        kind: file\n        hash: " + k_hash_a +
                               "\n        size: 3\n")) ==
          "mlo.lock: line 6: stages.s.deps.path: '../x' leaves the project ('..')");
    CHECK(parse_error(with_dep("      - path: /etc/passwd\n        kind: file\n        hash: " + k_hash_a +
                               "\n        size: 3\n")) ==
          "mlo.lock: line 6: stages.s.deps.path: '/etc/passwd' is an absolute path; lock paths are relative "
          "to the project");
    CHECK_THAT(parse_error(with_dep("      - path: data//x\n        kind: file\n        hash: " + k_hash_a +
                                    "\n        size: 3\n")),
               Catch::StartsWith("mlo.lock: line 6: stages.s.deps.path: 'data//x' is not a normalised path"));
    CHECK_THAT(parse_error(with_dep("      - path: ./x\n        kind: file\n        hash: " + k_hash_a +
                                    "\n        size: 3\n")),
               Catch::Contains("is not a normalised path"));
    CHECK(parse_error(with_dep(good + "        sise: 4\n")) ==
          "mlo.lock: line 10: stages.s.deps: unknown key 'sise' (did you mean 'size'?)");
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    cmd: run\n    outz: []\n") ==
          "mlo.lock: line 5: stages.s: unknown key 'outz' (did you mean 'outs'?)");
    CHECK(parse_error("schema: mlo.lock/1\nstagse: {}\n") ==
          "mlo.lock: line 2: unknown key 'stagse' (did you mean 'stages'?)");
    // Wrong types.
    CHECK(parse_error(with_dep("      - path: x\n        kind: file\n        hash: " + k_hash_a +
                               "\n        size: -3\n")) ==
          "mlo.lock: line 9: stages.s.deps.size: must be a non-negative integer, not '-3'");
    CHECK(parse_error(with_dep("      - path: x\n        kind: blob\n        hash: " + k_hash_a +
                               "\n        size: 3\n")) ==
          "mlo.lock: line 7: stages.s.deps.kind: must be file or directory, not 'blob'");
    CHECK(parse_error(with_dep("      - path: [x]\n        kind: file\n        hash: " + k_hash_a +
                               "\n        size: 3\n")) ==
          "mlo.lock: line 6: stages.s.deps.path: must be a non-empty string, not a list");
    CHECK(parse_error(with_dep(good + "        files: 2\n")) ==
          "mlo.lock: line 10: stages.s.deps.files: only directories have 'files'");
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    cmd: run\n    deps: data/raw.csv\n") ==
          "mlo.lock: line 5: stages.s.deps: must be a list, not 'data/raw.csv'");
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    cmd: run\n    params:\n      a: [1, 2]\n") ==
          "mlo.lock: line 6: stages.s.params.a: must be a string, not a list");
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    cmd: [a]\n") ==
          "mlo.lock: line 4: stages.s.cmd: must be a string, not a list");
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    deps: []\n") ==
          "mlo.lock: line 3: stages.s: missing 'cmd'");
    CHECK(parse_error("schema: mlo.lock/1\nstages: [a]\n") ==
          "mlo.lock: line 2: stages: must be a map of stage names, not a list");
    CHECK(parse_error(with_dep("      - path: x\n        kind: file\n")) ==
          "mlo.lock: 2 problems:\n  line 6: stages.s.deps: missing 'hash'\n  line 6: stages.s.deps: missing "
          "'size'");
    CHECK(parse_error(with_dep(good + good)) ==
          "mlo.lock: line 10: stages.s.deps: 'data/raw.csv' is listed twice");
    // Schema.
    CHECK(parse_error("schema: mlo.lock/2\nstages: {}\n") ==
          "mlo.lock: line 1: schema: expected 'mlo.lock/1', not 'mlo.lock/2' (written by a newer mlo?)");
    CHECK(parse_error("stages: {}\n") == "mlo.lock: line 1: missing 'schema: mlo.lock/1'");
    CHECK(parse_error("") == "mlo.lock: the file is empty; expected 'schema: mlo.lock/1'");
    CHECK(parse_error("- a\n") == "mlo.lock: line 1: the top level must be a map, not a list");
    CHECK_THAT(parse_error("schema: mlo.lock/1\nstages: {a: [\n"), Catch::StartsWith("mlo.lock: line 3: "));
    // Several problems at once, sorted by line.
    CHECK(parse_error("schema: mlo.lock/1\nstages:\n  s:\n    cmd: run\n    depz: []\n  t:\n    cmd: run\n"
                      "    outs:\n      - {path: ../y, kind: file, hash: " +
                      k_hash_a + ", size: 1}\n") ==
          "mlo.lock: 2 problems:\n  line 5: stages.s: unknown key 'depz' (did you mean 'deps'?)\n"
          "  line 9: stages.t.outs.path: '../y' leaves the project ('..')");
    auto with_hint = LockFile::parse("schema: 3\n", "mlo.lock");
    REQUIRE_FALSE(with_hint);
    CHECK_THAT(with_hint.error().hint, Catch::Contains("git checkout -- mlo.lock"));
}
