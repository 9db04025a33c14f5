#include <catch2/catch.hpp>
#include <mlo/remote/retry_policy.hpp>

using namespace mlo::remote;
using std::chrono::milliseconds;

TEST_CASE("transient HTTP answers are retried, client errors are not", "[remote]") {
    CHECK(classify_http_status(200) == Outcome::success);
    CHECK(classify_http_status(204) == Outcome::success);
    for (long status : {0L, 408L, 429L, 500L, 502L, 503L, 504L})
        CHECK(classify_http_status(status) == Outcome::retry);
    for (long status : {301L, 400L, 403L, 404L, 409L})
        CHECK(classify_http_status(status) == Outcome::give_up);
}

TEST_CASE("backoff doubles from the base delay up to the cap", "[remote]") {
    RetryPolicy policy;
    policy.base_delay = milliseconds(100);
    policy.max_delay = milliseconds(1000);
    CHECK(policy.ceiling(0) == milliseconds(100));
    CHECK(policy.ceiling(1) == milliseconds(200));
    CHECK(policy.ceiling(3) == milliseconds(800));
    CHECK(policy.ceiling(4) == milliseconds(1000));
    CHECK(policy.ceiling(40) == milliseconds(1000)); // no overflow
    // Full jitter: anywhere between nothing and the ceiling.
    CHECK(policy.delay(2, 0.0) == milliseconds(0));
    CHECK(policy.delay(2, 0.5) == milliseconds(200));
    CHECK(policy.delay(2, 0.999) <= milliseconds(400));
    CHECK(policy.delay(2, 7.0) == milliseconds(400)); // clamped
}

TEST_CASE("only retryable outcomes are retried, and only max_attempts times", "[remote]") {
    RetryPolicy policy;
    policy.max_attempts = 3;
    CHECK(policy.should_retry(1, Outcome::retry));
    CHECK(policy.should_retry(2, Outcome::retry));
    CHECK_FALSE(policy.should_retry(3, Outcome::retry));
    CHECK_FALSE(policy.should_retry(1, Outcome::give_up));
    CHECK_FALSE(policy.should_retry(1, Outcome::success));
}
