#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <mlo/serve/metrics.hpp>
#include <mlo/serve/request_log.hpp>
#include <mlo/util/file_io.hpp>
#include <regex>
#include <set>
#include <sys/stat.h>
#include <thread>

using namespace mlo::serve;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The exposition text for a tiny scenario, written out by hand (values are powers of two so that
// the sums print exactly).
constexpr const char* k_golden =
    R"golden(# HELP mlo_batch_requests Client requests merged into one batch sent to a worker.
# TYPE mlo_batch_requests histogram
# HELP mlo_batch_size_rows Rows in one batch sent to a worker.
# TYPE mlo_batch_size_rows histogram
# HELP mlo_build_info The mlo version serving; always 1.
# TYPE mlo_build_info gauge
mlo_build_info{version="1.2.3"} 1
# HELP mlo_request_compute_seconds Time the worker spent on a request's batch.
# TYPE mlo_request_compute_seconds histogram
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.0005"} 0
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.001"} 0
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.0025"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.005"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.01"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.025"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.05"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.1"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.25"} 1
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="0.5"} 2
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="1"} 2
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="2.5"} 2
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="5"} 2
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="10"} 2
mlo_request_compute_seconds_bucket{model="churn",version="v1",le="+Inf"} 2
mlo_request_compute_seconds_sum{model="churn",version="v1"} 0.501953125
mlo_request_compute_seconds_count{model="churn",version="v1"} 2
# HELP mlo_request_duration_seconds Time from receiving a request to sending its response.
# TYPE mlo_request_duration_seconds histogram
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.0005"} 0
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.001"} 0
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.0025"} 0
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.005"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.01"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.025"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.05"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.1"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.25"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="0.5"} 1
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="1"} 2
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="2.5"} 2
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="5"} 2
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="10"} 2
mlo_request_duration_seconds_bucket{model="churn",version="v1",le="+Inf"} 2
mlo_request_duration_seconds_sum{model="churn",version="v1"} 0.75390625
mlo_request_duration_seconds_count{model="churn",version="v1"} 2
# HELP mlo_request_errors_total Requests answered with a 4xx or 5xx status.
# TYPE mlo_request_errors_total counter
mlo_request_errors_total{model="churn",version="v1",protocol="mlflow"} 1
# HELP mlo_request_queue_seconds Time a request waited for a batch and a worker.
# TYPE mlo_request_queue_seconds histogram
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.0005"} 1
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.001"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.0025"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.005"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.01"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.025"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.05"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.1"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.25"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="0.5"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="1"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="2.5"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="5"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="10"} 2
mlo_request_queue_seconds_bucket{model="churn",version="v1",le="+Inf"} 2
mlo_request_queue_seconds_sum{model="churn",version="v1"} 0.0009765625
mlo_request_queue_seconds_count{model="churn",version="v1"} 2
# HELP mlo_requests_in_flight Requests received and not yet answered.
# TYPE mlo_requests_in_flight gauge
mlo_requests_in_flight 1
# HELP mlo_requests_total Requests answered, by protocol and HTTP status.
# TYPE mlo_requests_total counter
mlo_requests_total{model="churn",version="v1",protocol="mlflow",code="503"} 1
mlo_requests_total{model="churn",version="v1",protocol="v2",code="200"} 1
# HELP mlo_worker_restarts_total Worker processes restarted after dying.
# TYPE mlo_worker_restarts_total counter
mlo_worker_restarts_total{model="churn",version="v1"} 1
# HELP mlo_workers Worker processes alive.
# TYPE mlo_workers gauge
mlo_workers{model="churn",version="v1"} 2
)golden";

std::vector<std::string> read_lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::string slurp(const fs::path& path) {
    auto text = mlo::util::read_file(path);
    REQUIRE(text);
    return *text;
}

// The value of the sample line that starts with `series` followed by a space.
std::string sample(const std::string& text, const std::string& series) {
    size_t at = text.find("\n" + series + " ");
    REQUIRE(at != std::string::npos);
    at += series.size() + 2;
    return text.substr(at, text.find('\n', at) - at);
}

unsigned mode_of(const fs::path& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

const std::string k_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// (Designated initializers would leave fields out, which g++ 12's -Wextra reports.)
RequestLogOptions log_options(const fs::path& path, std::set<std::string> pii_fields = {},
                              std::string pii_key = {}) {
    RequestLogOptions options;
    options.path = path;
    options.pii_fields = std::move(pii_fields);
    options.pii_key = std::move(pii_key);
    return options;
}

RequestRecord sample_record(const std::string& id) {
    RequestRecord record;
    record.request_id = id;
    record.time_ns = 1714566896789123456; // 2024-05-01T12:34:56.789123456Z
    record.model = "churn";
    record.version = "v1.0.0";
    record.protocol = "v2";
    record.status = 200;
    record.latency_seconds = 0.0125;
    record.inputs = {{"tenure", {3, 40}}, {"plan", {"a", "b"}}};
    record.outputs = {{"churn", {1, 0}}};
    return record;
}

} // namespace

// --- metrics ---

TEST_CASE("render: golden text for a tiny scenario", "[serve]") {
    ServerMetrics metrics("1.2.3");
    metrics.observe_request("churn", "v1", "v2", 200, 0.0009765625, 0.001953125, 0.00390625);
    metrics.observe_request("churn", "v1", "mlflow", 503, 0, 0.5, 0.75);
    metrics.worker_restarted("churn", "v1");
    metrics.set_workers("churn", "v1", 2);
    metrics.set_in_flight(+1);
    CHECK(metrics.render() == k_golden);
}

TEST_CASE("render: an empty server lists every family with HELP and TYPE", "[serve]") {
    ServerMetrics metrics("0.1.0");
    std::string text = metrics.render();
    std::vector<std::string> families;
    std::regex type_line("^# TYPE (\\S+) (counter|gauge|histogram)$");
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::smatch match;
        if (std::regex_match(line, match, type_line))
            families.push_back(match[1]);
    }
    CHECK(families == std::vector<std::string>{"mlo_batch_requests", "mlo_batch_size_rows", "mlo_build_info",
                                               "mlo_request_compute_seconds", "mlo_request_duration_seconds",
                                               "mlo_request_errors_total", "mlo_request_queue_seconds",
                                               "mlo_requests_in_flight", "mlo_requests_total",
                                               "mlo_worker_restarts_total", "mlo_workers"});
    CHECK(std::is_sorted(families.begin(), families.end()));
    CHECK(text.find("mlo_requests_in_flight 0\n") != std::string::npos);
}

TEST_CASE("render: label values are escaped", "[serve]") {
    ServerMetrics metrics("1.0 \"beta\"");
    metrics.worker_restarted("a\"b\\c\nd", "v\\1");
    std::string text = metrics.render();
    CHECK(text.find("mlo_worker_restarts_total{model=\"a\\\"b\\\\c\\nd\",version=\"v\\\\1\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("mlo_build_info{version=\"1.0 \\\"beta\\\"\"} 1\n") != std::string::npos);
    // No raw newline inside a sample line: every line is a comment or `name{...} value`.
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        CHECK((line.rfind("# ", 0) == 0 || std::regex_match(line, std::regex("^mlo_\\w+(\\{.*\\})? \\S+$"))));
}

TEST_CASE("histogram buckets are cumulative, with _sum and _count", "[serve]") {
    ServerMetrics metrics("x");
    for (size_t rows : {1, 1, 3, 4, 5, 200, 300})
        metrics.observe_batch("m", "1", rows, 2);
    std::string text = metrics.render();
    auto bucket = [&](const std::string& le) {
        return sample(text, "mlo_batch_size_rows_bucket{model=\"m\",version=\"1\",le=\"" + le + "\"}");
    };
    CHECK(bucket("1") == "2");
    CHECK(bucket("2") == "2");
    CHECK(bucket("4") == "4"); // 3 and 4: the bound itself belongs to the bucket ("le")
    CHECK(bucket("8") == "5");
    CHECK(bucket("128") == "5");
    CHECK(bucket("256") == "6");
    CHECK(bucket("+Inf") == "7");
    CHECK(sample(text, "mlo_batch_size_rows_sum{model=\"m\",version=\"1\"}") == "514");
    CHECK(sample(text, "mlo_batch_size_rows_count{model=\"m\",version=\"1\"}") == "7");
    CHECK(sample(text, "mlo_batch_requests_bucket{model=\"m\",version=\"1\",le=\"1\"}") == "0");
    CHECK(sample(text, "mlo_batch_requests_bucket{model=\"m\",version=\"1\",le=\"2\"}") == "7");
    CHECK(sample(text, "mlo_batch_requests_sum{model=\"m\",version=\"1\"}") == "14");
}

TEST_CASE("p99 follows Prometheus' histogram_quantile", "[serve]") {
    std::span<const double> bounds(k_latency_buckets);

    SECTION("a uniform distribution on (0, 1) gives its true quantiles") {
        // 10000 points at (i + 0.5) / 10000: 5000 in (0.25, 0.5]... no, 2500 there and 5000 in (0.5, 1].
        ServerMetrics metrics("x");
        for (int i = 0; i < 10000; ++i)
            metrics.observe_request("m", "1", "v2", 200, 0, 0, (i + 0.5) / 10000);
        // rank 9900 of 10000 lies in (0.5, 1] holding ranks 5001..10000: 0.5 + 0.5 * 4900 / 5000.
        CHECK(metrics.stats("m", "1").p99_seconds == Approx(0.99).epsilon(1e-12));
    }
    SECTION("a two-valued distribution, worked by hand") {
        // 90 requests at 3 ms (bucket 0.005), 10 at 300 ms (bucket 0.5).
        std::vector<uint64_t> cumulative(bounds.size() + 1, 0);
        for (size_t i = 0; i < bounds.size(); ++i)
            cumulative[i] = (bounds[i] >= 0.005 ? 90 : 0) + (bounds[i] >= 0.5 ? 10 : 0);
        cumulative.back() = 100;
        // p99: rank 99, 9 of the 10 in (0.25, 0.5] -> 0.25 + 0.25 * 0.9
        CHECK(ServerMetrics::histogram_quantile(0.99, bounds, cumulative) == Approx(0.475));
        // p50: rank 50, 50 of the 90 in (0.0025, 0.005]
        CHECK(ServerMetrics::histogram_quantile(0.5, bounds, cumulative) ==
              Approx(0.0025 + 0.0025 * 50 / 90));

        ServerMetrics metrics("x");
        for (int i = 0; i < 90; ++i)
            metrics.observe_request("m", "1", "v2", 200, 0, 0, 0.003);
        for (int i = 0; i < 10; ++i)
            metrics.observe_request("m", "1", "v2", 200, 0, 0, 0.3);
        CHECK(metrics.stats("m", "1").p99_seconds == Approx(0.475));
    }
    SECTION("a rank in +Inf gives the highest finite bound; empty gives NaN") {
        std::vector<uint64_t> cumulative(bounds.size() + 1, 98);
        cumulative.back() = 100;
        CHECK(ServerMetrics::histogram_quantile(0.99, bounds, cumulative) == 10);
        std::vector<uint64_t> empty(bounds.size() + 1, 0);
        CHECK(std::isnan(ServerMetrics::histogram_quantile(0.99, bounds, empty)));
    }
}

TEST_CASE("stats: requests, 5xx errors, per model and version", "[serve]") {
    ServerMetrics metrics("x");
    metrics.observe_request("m", "1", "v2", 200, 0, 0, 0.01);
    metrics.observe_request("m", "1", "mlflow", 200, 0, 0, 0.01);
    metrics.observe_request("m", "1", "v2", 400, 0, 0, 0.01);
    metrics.observe_request("m", "1", "v2", 503, 0, 0, 0.01);
    metrics.observe_request("m", "1", "mlflow", 500, 0, 0, 0.01);
    metrics.observe_request("m", "10", "v2", 500, 0, 0, 0.01); // a version sharing the prefix "1"
    metrics.observe_request("mm", "1", "v2", 500, 0, 0, 0.01);

    auto stats = metrics.stats("m", "1");
    CHECK(stats.requests == 5);
    CHECK(stats.errors == 2); // 400 is the client's fault and does not fail a canary
    CHECK(stats.p99_seconds > 0.005);
    CHECK(stats.p99_seconds <= 0.01);
    CHECK(metrics.stats("m", "10").requests == 1);
    auto none = metrics.stats("m", "2");
    CHECK(none.requests == 0);
    CHECK(none.errors == 0);
    CHECK(none.p99_seconds == 0);
    // ... while the errors family counts 4xx too.
    std::string text = metrics.render();
    CHECK(sample(text, "mlo_request_errors_total{model=\"m\",version=\"1\",protocol=\"v2\"}") == "2");
    CHECK(sample(text, "mlo_request_errors_total{model=\"m\",version=\"1\",protocol=\"mlflow\"}") == "1");
}

TEST_CASE("concurrent observations are all counted", "[serve]") {
    ServerMetrics metrics("x");
    constexpr int k_threads = 8;
    constexpr int k_per_thread = 10000;
    constexpr uint64_t k_total = uint64_t{k_threads} * k_per_thread;
    std::vector<std::thread> threads;
    threads.reserve(k_threads);
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&metrics, t] {
            for (int i = 0; i < k_per_thread; ++i) {
                metrics.set_in_flight(+1);
                // Series appear while other threads use the family: each thread also has its own.
                metrics.observe_request("m", "1", i % 2 == 0 ? "v2" : "mlflow", i % 10 == 0 ? 503 : 200, 0.25,
                                        0.25, 0.25);
                metrics.observe_request("t" + std::to_string(t), "1", "v2", 200, 0.5, 0.5, 0.5);
                metrics.observe_batch("m", "1", 4, 2);
                if (i % 1000 == 0)
                    metrics.worker_restarted("m", "1");
                metrics.set_in_flight(-1);
                if (i % 997 == 0)
                    (void)metrics.render(); // scrapes race with the observations
            }
        });
    for (auto& thread : threads)
        thread.join();

    auto stats = metrics.stats("m", "1");
    CHECK(stats.requests == k_total);
    CHECK(stats.errors == k_total / 10);
    std::string text = metrics.render();
    std::string total = std::to_string(k_total);
    CHECK(sample(text, "mlo_request_duration_seconds_count{model=\"m\",version=\"1\"}") == total);
    // 0.25 is a power of two, so the sum is exact whatever the order of the additions.
    CHECK(sample(text, "mlo_request_duration_seconds_sum{model=\"m\",version=\"1\"}") == "20000");
    CHECK(sample(text, "mlo_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"0.1\"}") == "0");
    CHECK(sample(text, "mlo_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"0.25\"}") ==
          total);
    CHECK(sample(text, "mlo_request_queue_seconds_count{model=\"m\",version=\"1\"}") == total);
    CHECK(sample(text, "mlo_batch_size_rows_sum{model=\"m\",version=\"1\"}") == std::to_string(4 * k_total));
    CHECK(sample(text, "mlo_requests_total{model=\"m\",version=\"1\",protocol=\"v2\",code=\"503\"}") ==
          "8000");
    CHECK(sample(text, "mlo_requests_total{model=\"m\",version=\"1\",protocol=\"v2\",code=\"200\"}") ==
          "32000");
    CHECK(sample(text, "mlo_requests_total{model=\"m\",version=\"1\",protocol=\"mlflow\",code=\"200\"}") ==
          "40000");
    CHECK(sample(text, "mlo_worker_restarts_total{model=\"m\",version=\"1\"}") == "80");
    CHECK(sample(text, "mlo_requests_in_flight") == "0");
    for (int t = 0; t < k_threads; ++t)
        CHECK(metrics.stats("t" + std::to_string(t), "1").requests == k_per_thread);
}

// --- PII key and hashes ---

TEST_CASE("pii_hash: HMAC-SHA256 known answers", "[serve]") {
    // From `printf %s VALUE | openssl dgst -sha256 -hmac KEY` and Python's hmac module.
    CHECK(pii_hash(k_key, json("alice@example.com")) ==
          "hmac-sha256:6fcd8fdf66866acf016a7ffd78fd07bb3749f888998ef51fe91f77dc005c6690");
    CHECK(pii_hash(k_key, json(42)) ==
          "hmac-sha256:5203556f2f35a0650d5a37c8c42f0a1284170efea5f4920951c41c28b0ca47fb");
    CHECK(pii_hash(k_key, json("42")) == pii_hash(k_key, json(42))); // canonical text: "42" both times
    CHECK(pii_hash(k_key, json(3.5)) ==
          "hmac-sha256:c1c28ab4f45361fe0bf7822678b5f3b33ce60000cef9812ffe11f1be09eb745f");
    CHECK(pii_hash(k_key, json(true)) ==
          "hmac-sha256:5be4d917c0815f3242005bdbaa07ac3bd18c20261df30932a6cc85cb94fff146");
    CHECK(pii_hash(k_key, json{{"a", 1}}) ==
          "hmac-sha256:589a60deec2fc76f6f88219333240e55af762bdf12f58327b37d5b6bec15f76f");
    // RFC 4231 test case 2.
    CHECK(pii_hash("Jefe", json("what do ya want for nothing?")) ==
          "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Another key, another hash: without the key a dictionary of likely values is useless.
    CHECK(pii_hash(std::string(64, 'f'), json("alice@example.com")) !=
          pii_hash(k_key, json("alice@example.com")));
}

TEST_CASE("load_or_create_pii_key: 0600 in a 0700 directory, stable across calls", "[serve]") {
    mlo::test::TempDir dir;
    fs::path mlo_dir = dir / ".mlo";
    fs::create_directory(mlo_dir);
    auto key = load_or_create_pii_key(mlo_dir);
    REQUIRE(key);
    CHECK(std::regex_match(*key, std::regex("[0-9a-f]{64}")));
    fs::path path = mlo_dir / "secrets" / "pii.key";
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(mlo_dir / "secrets") == 0700);
    CHECK(slurp(path) == *key + "\n");

    auto again = load_or_create_pii_key(mlo_dir);
    REQUIRE(again);
    CHECK(*again == *key);
    // No temp file is left beside it.
    CHECK(std::distance(fs::directory_iterator(mlo_dir / "secrets"), fs::directory_iterator()) == 1);

    mlo::test::TempDir other;
    auto other_key = load_or_create_pii_key(other.path());
    REQUIRE(other_key);
    CHECK(*other_key != *key);

    SECTION("a key others may read is refused") {
        fs::permissions(path, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
        auto refused = load_or_create_pii_key(mlo_dir);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == mlo::ErrorCode::precondition);
        CHECK(refused.error().message.find("0644") != std::string::npos);
        CHECK(refused.error().message.find(*key) == std::string::npos);
    }
    SECTION("a malformed key is refused without quoting it") {
        REQUIRE(mlo::util::write_file_atomic(path, "not-a-key-but-a-secret\n", 0600));
        auto refused = load_or_create_pii_key(mlo_dir);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == mlo::ErrorCode::input);
        CHECK(refused.error().message.find("not-a-key") == std::string::npos);
    }
    SECTION("concurrent first calls agree on one key") {
        mlo::test::TempDir fresh;
        std::vector<std::string> keys(8);
        std::vector<std::thread> threads;
        for (size_t i = 0; i < keys.size(); ++i)
            threads.emplace_back([&, i] {
                auto k = load_or_create_pii_key(fresh.path());
                keys[i] = k ? *k : "error: " + k.error().message;
            });
        for (auto& thread : threads)
            thread.join();
        for (const auto& k : keys)
            CHECK(k == keys[0]);
        CHECK(std::regex_match(keys[0], std::regex("[0-9a-f]{64}")));
    }
}

// --- the request log ---

TEST_CASE("request log: each line is a JSON object with the documented fields", "[serve]") {
    mlo::test::TempDir dir;
    fs::path path = dir / "serve" / "churn" / "requests.jsonl";
    auto log = RequestLog::open(log_options(path));
    REQUIRE(log);
    REQUIRE((*log)->write(sample_record("r1")));
    RequestRecord failed = sample_record("r2");
    failed.status = 400;
    failed.outputs = nullptr;
    failed.error = "field 'tenure' is missing";
    REQUIRE((*log)->write(failed));
    REQUIRE((*log)->flush());

    auto lines = read_lines(path);
    REQUIRE(lines.size() == 2);
    json first = json::parse(lines[0]);
    CHECK(first["request_id"] == "r1");
    CHECK(first["time"] == "2024-05-01T12:34:56.789Z");
    CHECK(first["time_ns"] == 1714566896789123456);
    CHECK(first["model"] == "churn");
    CHECK(first["version"] == "v1.0.0");
    CHECK(first["protocol"] == "v2");
    CHECK(first["status"] == 200);
    CHECK(first["latency_ms"].get<double>() == Approx(12.5));
    CHECK(first["inputs"] == json{{"tenure", {3, 40}}, {"plan", {"a", "b"}}});
    CHECK(first["outputs"] == json{{"churn", {1, 0}}});
    CHECK_FALSE(first.contains("error"));
    // Fields in the documented order, so `tail -f` reads naturally.
    CHECK(lines[0].rfind("{\"request_id\":\"r1\",\"time\":", 0) == 0);

    json second = json::parse(lines[1]);
    CHECK(second["status"] == 400);
    CHECK(second["outputs"].is_null());
    CHECK(second["error"] == "field 'tenure' is missing");

    auto contents = read_request_log(path);
    REQUIRE(contents);
    REQUIRE(contents->records.size() == 2);
    CHECK(contents->records[1].error == "field 'tenure' is missing");
    CHECK(contents->records[0].latency_seconds == Approx(0.0125));
    CHECK(contents->records[0].time_ns == 1714566896789123456);

    SECTION("time 0 means now") {
        RequestRecord now = sample_record("r3");
        now.time_ns = 0;
        REQUIRE((*log)->write(now));
        auto all = read_request_log(path);
        REQUIRE(all);
        CHECK(all->records.back().time_ns > 1714566896789123456);
    }
}

TEST_CASE("request log: PII fields are hashed value by value", "[serve]") {
    mlo::test::TempDir dir;
    REQUIRE(fs::create_directory(dir / ".mlo"));
    auto key = load_or_create_pii_key(dir / ".mlo");
    REQUIRE(key);
    fs::path path = dir / "requests.jsonl";
    auto log = RequestLog::open(log_options(path, {"email", "phone"}, *key));
    REQUIRE(log);

    RequestRecord record = sample_record("r1");
    record.inputs = {{"email", {"alice@example.com", "bob@example.com", "alice@example.com", nullptr}},
                     {"phone", {{"+1 555 0100"}, {"+1 555 0199"}}},
                     {"tenure", {3, 40, 5, 7}}};
    record.outputs = {{"churn", {1, 0, 1, 0}}, {"email", {"alice@example.com"}}};
    REQUIRE((*log)->write(record));
    RequestRecord failed = sample_record("r2");
    failed.status = 500;
    failed.inputs = {{"email", {"carol@example.com"}}};
    failed.outputs = nullptr;
    // A worker that quotes the input in its message: the safety net hashes it.
    failed.error = "worker: could not parse 'carol@example.com'";
    REQUIRE((*log)->write(failed));

    std::string text = slurp(path);
    for (const char* clear : {"alice@example.com", "bob@example.com", "carol@example.com", "555 01"})
        CHECK(text.find(clear) == std::string::npos);

    auto lines = read_lines(path);
    REQUIRE(lines.size() == 2);
    json first = json::parse(lines[0]);
    const json& email = first["inputs"]["email"];
    REQUIRE(email.size() == 4);
    CHECK(email[0] == pii_hash(*key, json("alice@example.com")));
    CHECK(email[0] == email[2]);
    CHECK(email[0] != email[1]);
    CHECK(email[3].is_null());
    CHECK(first["inputs"]["phone"][1][0] == pii_hash(*key, json("+1 555 0199"))); // shape kept
    CHECK(first["inputs"]["tenure"] == json{3, 40, 5, 7});
    CHECK(first["outputs"]["email"][0] == email[0]);
    CHECK(first["outputs"]["churn"] == json{1, 0, 1, 0});

    json second = json::parse(lines[1]);
    CHECK(second["error"] == "worker: could not parse '" + pii_hash(*key, json("carol@example.com")) + "'");

    SECTION("a log with PII fields needs a key") {
        auto refused = RequestLog::open(log_options(dir / "other.jsonl", {"email"}));
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == mlo::ErrorCode::usage);
    }
}

TEST_CASE("request log: rotation keeps N files, newest data in requests.jsonl", "[serve]") {
    mlo::test::TempDir dir;
    fs::path path = dir / "requests.jsonl";
    size_t line_size = request_record_json(sample_record("r00")).size() + 1;
    // Three lines per file.
    RequestLogOptions options = log_options(path);
    options.max_bytes = 3 * line_size;
    options.keep_files = 2;
    auto log = RequestLog::open(options);
    REQUIRE(log);
    for (int i = 0; i < 20; ++i) {
        char id[8];
        std::snprintf(id, sizeof id, "r%02d", i);
        REQUIRE((*log)->write(sample_record(id)));
    }
    CHECK(fs::exists(dir / "requests.jsonl.1"));
    CHECK(fs::exists(dir / "requests.jsonl.2"));
    CHECK_FALSE(fs::exists(dir / "requests.jsonl.3"));
    for (const char* name : {"requests.jsonl", "requests.jsonl.1", "requests.jsonl.2"})
        CHECK(fs::file_size(dir / name) <= 3 * line_size);
    // 20 lines in files of 3: r18 r19 live, r15-r17 in .1, r12-r14 in .2; older ones dropped.
    auto live = read_lines(path);
    REQUIRE(live.size() == 2);
    CHECK(json::parse(live.back())["request_id"] == "r19");
    CHECK(json::parse(read_lines(dir / "requests.jsonl.1").front())["request_id"] == "r15");

    auto contents = read_request_log(path);
    REQUIRE(contents);
    std::vector<std::string> ids;
    for (const auto& record : contents->records)
        ids.push_back(record.request_id);
    CHECK(ids == std::vector<std::string>{"r12", "r13", "r14", "r15", "r16", "r17", "r18", "r19"});
    auto live_only = read_request_log(path, false);
    REQUIRE(live_only);
    CHECK(live_only->records.size() == 2);
}

TEST_CASE("request log: concurrent writers produce whole lines", "[serve]") {
    mlo::test::TempDir dir;
    fs::path path = dir / "requests.jsonl";
    auto log = RequestLog::open(log_options(path));
    REQUIRE(log);
    constexpr int k_threads = 4;
    constexpr int k_lines = 1000;
    constexpr size_t k_total = size_t{k_threads} * k_lines;
    std::vector<std::thread> threads;
    threads.reserve(k_threads);
    std::atomic<int> failures{0};
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < k_lines; ++i) {
                RequestRecord record = sample_record(std::to_string(t) + "-" + std::to_string(i));
                // Lines of different lengths make an interleaving visible.
                record.inputs["plan"] = json::array({std::string(static_cast<size_t>(i % 300), 'x')});
                if (!(*log)->write(record))
                    ++failures;
            }
        });
    for (auto& thread : threads)
        thread.join();
    CHECK(failures == 0);

    auto lines = read_lines(path);
    REQUIRE(lines.size() == k_total);
    std::set<std::string> ids;
    for (const auto& line : lines) {
        json value = json::parse(line, nullptr, false);
        REQUIRE_FALSE(value.is_discarded());
        ids.insert(value["request_id"].get<std::string>());
    }
    CHECK(ids.size() == k_total);
    CHECK(slurp(path).back() == '\n');
}

TEST_CASE("request log: a partial last line is skipped and then terminated", "[serve]") {
    mlo::test::TempDir dir;
    fs::path path = dir / "requests.jsonl";
    std::string whole = request_record_json(sample_record("r1")) + "\n";
    std::string cut = request_record_json(sample_record("r2")).substr(0, 40); // killed mid-write
    REQUIRE(mlo::util::write_file_atomic(path, whole + cut));

    auto contents = read_request_log(path);
    REQUIRE(contents);
    CHECK(contents->records.size() == 1);
    CHECK(contents->partial_lines == 1);
    CHECK(contents->bad_lines == 0);

    auto log = RequestLog::open(log_options(path));
    REQUIRE(log);
    REQUIRE((*log)->write(sample_record("r3")));
    contents = read_request_log(path);
    REQUIRE(contents);
    REQUIRE(contents->records.size() == 2);
    CHECK(contents->records[1].request_id == "r3"); // not glued to the cut line
    CHECK(contents->partial_lines == 0);
    CHECK(contents->bad_lines == 1);
}
