#include <catch2/catch.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/pointer_file.hpp>

using namespace mlo::store;

TEST_CASE("a pointer serialises deterministically and parses back", "[pointer]") {
    Pointer pointer;
    pointer.path = "raw data.csv";
    pointer.id = mlo::hash::sha256_of("hello\n");
    pointer.size = 6;
    std::string text = pointer.serialize();
    CHECK(text == "schema: mlo.pointer/1\npath: \"raw data.csv\"\nkind: file\nhash: sha256:"
                  "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\nsize: 6\n");
    auto parsed = Pointer::parse(text, "data/raw data.csv.mlo");
    REQUIRE(parsed);
    CHECK(parsed->serialize() == text);

    Pointer dir;
    dir.path = "images";
    dir.kind = EntryKind::directory;
    dir.id = mlo::hash::sha256_of("m");
    dir.size = 10;
    dir.files = 3;
    auto dir_parsed = Pointer::parse(dir.serialize(), "images.mlo");
    REQUIRE(dir_parsed);
    CHECK(dir_parsed->files == 3);
    CHECK(dir_parsed->kind == EntryKind::directory);
}

TEST_CASE("a pointer whose path is not its own name is refused", "[pointer]") {
    Pointer pointer;
    pointer.path = "../../etc/passwd";
    pointer.id = mlo::hash::sha256_of("x");
    auto parsed = Pointer::parse(pointer.serialize(), "data/raw.csv.mlo");
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Catch::Contains("does not match the pointer's name"));
    CHECK(parsed.error().code == mlo::ErrorCode::input);
}

TEST_CASE("malformed pointers are refused with the file and line", "[pointer]") {
    std::string good_hash = mlo::hash::sha256_of("x").str();
    auto error_of = [](const std::string& text) {
        auto parsed = Pointer::parse(text, "d/x.mlo");
        REQUIRE_FALSE(parsed);
        return parsed.error().message;
    };
    CHECK_THAT(error_of("schema: mlo.pointer/1\npath: x\nkind: file\nhash: sha256:zz\nsize: 1\n"),
               Catch::Contains("line 4"));
    CHECK_THAT(
        error_of("schema: mlo.pointer/1\npath: x\nkind: file\nhash: " + good_hash + "\nsize: 1\nsiez: 2\n"),
        Catch::Contains("did you mean 'size'"));
    CHECK_THAT(error_of("schema: mlo.pointer/2\npath: x\nkind: file\nhash: " + good_hash + "\nsize: 1\n"),
               Catch::Contains("schema"));
    CHECK_THAT(error_of("schema: mlo.pointer/1\npath: x\nkind: blob\nhash: " + good_hash + "\nsize: 1\n"),
               Catch::Contains("kind"));
    CHECK_THAT(error_of("[unclosed"), Catch::Contains("d/x.mlo"));
    CHECK_THAT(error_of("schema: mlo.pointer/1\npath: x\nkind: file\nhash: " + good_hash + "\nsize: -3\n"),
               Catch::Contains("d/x.mlo"));
}

TEST_CASE("pointer paths map to data paths", "[pointer]") {
    CHECK(pointer_path_for("data/raw.csv") == "data/raw.csv.mlo");
    CHECK(data_path_for("data/raw.csv.mlo") == "data/raw.csv");
    CHECK(is_pointer_path("a/b.mlo"));
    CHECK_FALSE(is_pointer_path("a/.mlo"));
    CHECK_FALSE(is_pointer_path("a/b.mlox"));
}
