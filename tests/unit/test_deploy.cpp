#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/deploy/history.hpp>
#include <mlo/deploy/target.hpp>
#include <mlo/serve/deployment_files.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/serve/served_version.hpp>
#include <vector>

using mlo::deploy::DeployEvent;
using mlo::deploy::DeployHistory;
using mlo::serve::TrafficSnapshot;
using mlo::serve::VersionTraffic;
using mlo::serve::weighted_pick;

namespace {

std::vector<size_t> counts(const std::vector<unsigned>& weights, uint64_t first, uint64_t tickets) {
    std::vector<size_t> out(weights.size() + 1, 0);
    for (uint64_t t = first; t < first + tickets; ++t)
        ++out[weighted_pick(weights, t)];
    return out;
}

mlo::core::Config config_with(const std::string& yaml) {
    mlo::core::Config config;
    config.deploy = YAML::Load(yaml)["deploy"];
    return config;
}

DeployEvent event(const std::string& action, const std::string& version, bool full) {
    DeployEvent e;
    e.action = action;
    e.model = "m";
    e.version = version;
    e.full_traffic = full;
    return e;
}

} // namespace

TEST_CASE("weighted_pick gives each version exactly its weight over every window") {
    for (const auto& weights :
         std::vector<std::vector<unsigned>>{{90, 10}, {50, 50}, {1, 99}, {100}, {33, 33, 34}}) {
        for (uint64_t first : {uint64_t{0}, uint64_t{17}, uint64_t{1} << 40}) {
            auto got = counts(weights, first, 100);
            for (size_t i = 0; i < weights.size(); ++i)
                CHECK(got[i] == weights[i]);
        }
    }
}

TEST_CASE("weighted_pick interleaves: a 10% canary is picked within the first ten requests") {
    std::vector<unsigned> weights = {90, 10};
    auto got = counts(weights, 0, 10);
    CHECK(got[1] >= 1);
    // and never two windows' worth in a row
    size_t longest = 0, run = 0;
    for (uint64_t t = 0; t < 1000; ++t) {
        run = weighted_pick(weights, t) == 1 ? run + 1 : 0;
        longest = std::max(longest, run);
    }
    CHECK(longest <= 2);
}

TEST_CASE("weighted_pick with zero weights picks nothing; a weight of 0 is never picked") {
    CHECK(weighted_pick(std::vector<unsigned>{0, 0}, 5) == 2);
    CHECK(weighted_pick(std::vector<unsigned>{}, 5) == 0);
    auto got = counts({0, 100}, 0, 200);
    CHECK(got[0] == 0);
    CHECK(got[1] == 200);
}

TEST_CASE("traffic_between takes the requests, errors and p99 of one interval") {
    const size_t buckets = mlo::serve::k_latency_buckets.size() + 1;
    TrafficSnapshot before, after;
    before.time_ns = 1;
    after.time_ns = 2;
    // Before: 100 fast requests (<= 1 ms). After: 100 more, all between 50 and 100 ms, 7 of them 5xx.
    std::vector<uint64_t> fast(buckets, 100);
    std::vector<uint64_t> later(buckets, 100);
    for (size_t i = 0; i < buckets; ++i)
        if (i >= 7) // bucket 7 is the 0.1 s bound
            later[i] += 100;
    before.versions.push_back(VersionTraffic{"v2", 10, 100, 0, fast});
    after.versions.push_back(VersionTraffic{"v2", 10, 200, 7, later});
    auto window = mlo::serve::traffic_between(before, after, "v2");
    CHECK(window.requests == 100);
    CHECK(window.errors == 7);
    CHECK(window.error_rate() == Approx(0.07));
    // All 100 requests of the window are in the (0.05, 0.1] bucket: p99 interpolates to 0.0995.
    CHECK(window.p99_seconds == Approx(0.05 + 0.05 * 0.99));

    // A version not in `before` counts from zero; one not in `after` served nothing.
    TrafficSnapshot empty;
    CHECK(mlo::serve::traffic_between(empty, after, "v2").requests == 200);
    CHECK(mlo::serve::traffic_between(before, after, "v9").requests == 0);
    CHECK(mlo::serve::traffic_between(before, after, "v9").error_rate() == 0);
}

TEST_CASE("deployment files round-trip, and a malformed one is an input error naming it") {
    mlo::test::TempDir dir;
    auto file = dir.path() / "desired.json";
    mlo::serve::DesiredState desired{7, "churn", {{"v1.0.0", 90}, {"v1.1.0", 10}}};
    REQUIRE(mlo::serve::write_desired_state(file, desired));
    auto read = mlo::serve::read_desired_state(file);
    REQUIRE(read);
    CHECK(read->generation == 7);
    CHECK(read->model == "churn");
    REQUIRE(read->routes.size() == 2);
    CHECK(read->routes[1].version == "v1.1.0");
    CHECK(read->routes[1].weight == 10);

    std::ofstream(dir.path() / "applied.json") << R"({"generation": 3, "ok": "yes", "routes": []})";
    auto bad = mlo::serve::read_applied_state(dir.path() / "applied.json");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == mlo::ErrorCode::input);
    CHECK_THAT(bad.error().message, Catch::Contains("applied.json is malformed"));
}

TEST_CASE("rollback returns to the version that held full traffic before the current one") {
    std::vector<DeployEvent> events = {event("deploy", "v1", true), event("deploy", "v2", true),
                                       event("deploy", "v3", false) /* a rolled-back canary */};
    CHECK(mlo::deploy::rollback_version(events) == "v1");
    CHECK(mlo::deploy::current_full_traffic(events) == "v2");
    events.push_back(event("rollback", "v1", true));
    CHECK(mlo::deploy::rollback_version(events) == "v2"); // a second rollback returns again
    events.push_back(event("stop", "v1", false));
    CHECK_FALSE(mlo::deploy::current_full_traffic(events));
    CHECK(mlo::deploy::rollback_version({event("deploy", "v1", true)}) == std::nullopt);
    CHECK(mlo::deploy::rollback_version({event("deploy", "v1", true), event("deploy", "v1", true)}) ==
          std::nullopt);
}

TEST_CASE("the history skips a line cut by a killed append and names a malformed one") {
    mlo::test::TempDir dir;
    DeployHistory history(dir.path() / "t" / "history.jsonl");
    REQUIRE(history.read()->empty());
    REQUIRE(history.append(event("deploy", "v1", true)));
    REQUIRE(history.append(event("deploy", "v2", true)));
    std::ofstream(dir.path() / "t" / "history.jsonl", std::ios::app) << R"({"action": "deploy", "vers)";
    auto events = history.read();
    REQUIRE(events);
    REQUIRE(events->size() == 2);
    CHECK((*events)[1].version == "v2");
    CHECK((*events)[1].full_traffic);

    std::ofstream(dir.path() / "t" / "history.jsonl", std::ios::app) << "\nnot json\n";
    auto bad = history.read();
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("line 3"));
}

TEST_CASE("local targets: settings, every problem with its line, unknown targets named") {
    auto config = config_with(R"(
deploy:
  local: {type: local, port: 0, workers: 3, token_file: secrets/token, drain_seconds: 2}
  prod: {type: kubernetes, image: registry.example/x:1}
)");
    auto target = mlo::deploy::find_target(config, "local", "/p");
    REQUIRE(target);
    CHECK(target->type == mlo::deploy::Target::Type::local);
    CHECK(target->local.port == 0);
    CHECK(target->local.workers == 3u);
    CHECK(target->local.token_file == "/p/secrets/token");
    CHECK(target->local.drain_seconds == 2);
    CHECK(target->local.host == "127.0.0.1");
    auto prod = mlo::deploy::find_target(config, "prod", "/p");
    REQUIRE(prod);
    CHECK(prod->type == mlo::deploy::Target::Type::kubernetes);
    CHECK(prod->kubernetes.image == "registry.example/x:1");

    auto unknown = mlo::deploy::find_target(config, "lokal", "/p");
    REQUIRE_FALSE(unknown);
    CHECK_THAT(unknown.error().message, Catch::Contains("did you mean 'local'"));

    auto bad = mlo::deploy::find_target(config_with(R"(
deploy:
  local:
    type: local
    port: 70000
    hots: 0.0.0.0
    tls_cert: cert.pem
)"),
                                        "local", "/p");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == mlo::ErrorCode::input);
    CHECK_THAT(bad.error().message,
               Catch::Contains("line 5: deploy.local.port: must be a whole number from 0 to 65535"));
    CHECK_THAT(bad.error().message,
               Catch::Contains("line 6: deploy.local: unknown setting 'hots' (did you mean 'host'?)"));
    CHECK_THAT(bad.error().message, Catch::Contains("tls_cert and tls_key go together"));

    auto untyped = mlo::deploy::find_target(config_with("deploy: {x: {port: 1}}"), "x", "/p");
    REQUIRE_FALSE(untyped);
    CHECK_THAT(untyped.error().message, Catch::Contains("must be 'local' or 'kubernetes', not missing"));
}
