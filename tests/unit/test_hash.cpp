#include <catch2/catch.hpp>
#include <mlo/hash/sha256.hpp>

using mlo::hash::ObjectId;
using mlo::hash::Sha256;

TEST_CASE("SHA-256 matches known answers", "[hash]") {
    // Values from `printf '...' | sha256sum`.
    CHECK(mlo::hash::sha256_of("").hex() ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(mlo::hash::sha256_of("abc").hex() ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(mlo::hash::sha256_of("hello\n").hex() ==
          "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
}

TEST_CASE("incremental hashing equals one-shot hashing", "[hash]") {
    std::string data(1'000'003, 'x');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>((i * 7919) % 251);
    Sha256 hasher;
    for (size_t offset = 0; offset < data.size(); offset += 4099)
        hasher.update(std::string_view(data).substr(offset, 4099));
    CHECK(hasher.finish() == mlo::hash::sha256_of(data));
}

TEST_CASE("object ids parse and print as sha256:<hex>", "[hash]") {
    auto id = mlo::hash::sha256_of("abc");
    CHECK(id.str() == "sha256:" + id.hex());
    auto parsed = ObjectId::parse(id.str());
    REQUIRE(parsed);
    CHECK(*parsed == id);
    CHECK_FALSE(ObjectId::parse(id.hex()));                       // prefix required
    CHECK_FALSE(ObjectId::parse("sha256:" + id.hex().substr(1))); // too short
    CHECK_FALSE(ObjectId::parse("sha256:" + id.hex() + "0"));     // too long
    std::string upper = id.hex();
    upper[0] = 'B';
    CHECK_FALSE(ObjectId::parse("sha256:" + upper)); // only lowercase is canonical
    CHECK_FALSE(ObjectId::parse("md5:" + id.hex()));
    CHECK(ObjectId().is_zero());
    CHECK_FALSE(id.is_zero());
}
