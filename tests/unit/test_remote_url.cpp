#include <catch2/catch.hpp>
#include <mlo/remote/directory_remote.hpp>
#include <mlo/remote/remote_url.hpp>
#include <mlo/remote/s3_remote.hpp>

using namespace mlo::remote;

TEST_CASE("s3 urls split into bucket and prefix", "[remote]") {
    auto plain = parse_s3_url("s3://ml-bucket");
    REQUIRE(plain);
    CHECK(plain->bucket == "ml-bucket");
    CHECK(plain->prefix.empty());
    auto nested = parse_s3_url("s3://ml.bucket-1/team/churn/");
    REQUIRE(nested);
    CHECK(nested->bucket == "ml.bucket-1");
    CHECK(nested->prefix == "team/churn");
    CHECK(is_s3_url("s3://x"));
    CHECK_FALSE(is_s3_url("/mnt/nas"));
}

TEST_CASE("bad s3 urls are input errors naming the url", "[remote]") {
    for (const char* bad : {"s3://", "s3://ab", "s3://Upper", "s3://-bucket", "s3://a..b", "s3://bucket/../x",
                            "s3://bucket/a//b", "s3://bucket/a/./b", "s3://bucket/sp ace",
                            "s3://bucket/q?x=1", "s3://bucket/%2e%2e", "http://bucket"}) {
        INFO(bad);
        auto location = parse_s3_url(bad);
        REQUIRE_FALSE(location);
        CHECK(location.error().code == mlo::ErrorCode::input);
        CHECK_THAT(location.error().message, Catch::Contains(bad));
    }
}

TEST_CASE("endpoints are a scheme, a host and a port, nothing else", "[remote]") {
    auto endpoint = parse_endpoint("http://127.0.0.1:9000/");
    REQUIRE(endpoint);
    CHECK(endpoint->base() == "http://127.0.0.1:9000");
    REQUIRE(parse_endpoint("https://minio.example"));
    for (const char* bad : {"127.0.0.1:9000", "ftp://x", "http://", "http://user:pw@host", "http://host/path",
                            "http://host?x"}) {
        INFO(bad);
        CHECK_FALSE(parse_endpoint(bad));
    }
}

TEST_CASE("uri_encode keeps unreserved characters and encodes the rest in upper-case hex", "[remote]") {
    CHECK(uri_encode("a-Z_0.~", false) == "a-Z_0.~");
    CHECK(uri_encode("p/objects/sha256/", false) == "p%2Fobjects%2Fsha256%2F");
    CHECK(uri_encode("p/objects/sha256/", true) == "p/objects/sha256/");
    CHECK(uri_encode("a+b=c d", false) == "a%2Bb%3Dc%20d");
}

TEST_CASE("ref paths from a remote must be plain relative names", "[remote]") {
    CHECK(is_safe_ref_path("runs/20261127-101010-abcd"));
    for (const char* bad : {"", "/runs", "runs/", "runs/../x", "..", "runs//x", "runs/a b", "runs/\n"})
        CHECK_FALSE(is_safe_ref_path(bad));
}

TEST_CASE("S3 XML answers are read element by element with entities decoded", "[remote]") {
    const char* listing = "<ListBucketResult><IsTruncated>true</IsTruncated>"
                          "<Contents><Key>p/objects/sha256/ab/cd</Key></Contents>"
                          "<Contents><Key>p/a&amp;b</Key></Contents>"
                          "<NextContinuationToken>x+y/z=&amp;</NextContinuationToken></ListBucketResult>";
    auto keys = xml_elements(listing, "Key");
    REQUIRE(keys.size() == 2);
    CHECK(keys[0] == "p/objects/sha256/ab/cd");
    CHECK(keys[1] == "p/a&b");
    CHECK(xml_element(listing, "IsTruncated") == "true");
    CHECK(xml_element(listing, "NextContinuationToken") == "x+y/z=&");
    CHECK(xml_element(listing, "Missing").empty());
    CHECK(xml_element("<Error><Code>NoSuchBucket</Code>", "Code") == "NoSuchBucket");
}
