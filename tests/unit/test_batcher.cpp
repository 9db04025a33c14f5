// The Batcher's dispatch rules, by behaviour: a request that finds a worker idle is sent at once;
// requests that arrive while every worker is busy are grouped into the next batch; max_delay_ms
// and max_size bound that wait; each request gets its own rows back; queued requests are answered
// when the Batcher goes. The worker holds a batch until the test opens a gate (a file), so "busy"
// lasts exactly as long as the test wants and nothing depends on timing.
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mlo/serve/batcher.hpp>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

using mlo::serve::BatchAnswer;
using mlo::serve::Batcher;
using mlo::serve::BatchOptions;
using mlo::serve::Columns;
using mlo::serve::WorkerOptions;
using mlo::serve::WorkerPool;
using Json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto k_generous = 20s; // only ever reached when something is broken

// Columns x (numbers) and gate (null, or a file name to wait for). Answers y = 2x and, for every
// row, the rows of the call it came in; x = -1 kills the worker.
const char* const k_worker_py = R"PY(
import json, os, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    inputs = request["inputs"]
    xs = inputs["x"]
    if -1 in xs:
        os._exit(3)
    for gate in inputs.get("gate", []):
        while gate is not None and not os.path.exists(gate):
            time.sleep(0.005)
    answer = {"id": request["id"], "outputs": {"y": [2 * x for x in xs], "rows": [len(xs)] * len(xs)}}
    print(json.dumps(answer), flush=True)
)PY";

struct Fixture {
    mlo::test::TempDir dir;
    std::unique_ptr<WorkerPool> pool;
    std::mutex mutex;
    std::vector<std::pair<size_t, size_t>> batches; // (rows, requests) of every worker call

    explicit Fixture(unsigned workers = 1) {
        std::ofstream(dir / "worker.py") << k_worker_py;
        WorkerOptions options;
        options.command = "exec /usr/bin/python3 worker.py";
        options.cwd = dir.path();
        options.workers = workers;
        options.ready_timeout_seconds = 10;
        auto started = WorkerPool::start(options);
        if (!started)
            FAIL("start failed: " << started.error().message);
        pool = std::move(*started);
    }

    BatchOptions options(size_t max_size, double max_delay_ms) {
        BatchOptions batch;
        batch.max_size = max_size;
        batch.max_delay_ms = max_delay_ms;
        batch.timeout_seconds = 60;
        batch.on_batch = [this](size_t rows, size_t requests) {
            std::lock_guard lock(mutex);
            batches.emplace_back(rows, requests);
        };
        return batch;
    }

    size_t calls() {
        std::lock_guard lock(mutex);
        return batches.size();
    }

    std::string gate(const std::string& name) const { return (dir / name).string(); }
    void open(const std::string& name) const { std::ofstream(dir / name) << "open"; }
};

// Rows of x, each with the same gate (null: none).
Columns rows(std::vector<double> xs, const nlohmann::ordered_json& gate = nullptr) {
    Columns columns;
    columns.rows = xs.size();
    columns.columns["x"] = xs;
    columns.columns["gate"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < xs.size(); ++i)
        columns.columns["gate"].push_back(gate);
    return columns;
}

std::future<BatchAnswer> submit(Batcher& batcher, Columns columns) {
    auto promise = std::make_shared<std::promise<BatchAnswer>>();
    auto future = promise->get_future();
    batcher.submit(std::move(columns),
                   [promise](BatchAnswer answer) { promise->set_value(std::move(answer)); });
    return future;
}

BatchAnswer wait(std::future<BatchAnswer>& future) {
    REQUIRE(future.wait_for(k_generous) == std::future_status::ready);
    return future.get();
}

template <typename Condition> bool eventually(Condition condition) {
    auto until = Clock::now() + k_generous;
    while (Clock::now() < until) {
        if (condition())
            return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

} // namespace

TEST_CASE("a lone request on an idle worker is sent at once, not after max_delay_ms", "[serve][batch]") {
    Fixture fixture;
    // A delay far beyond the wait below: waiting for company would fail the test, not slow it.
    Batcher batcher(*fixture.pool, fixture.options(16, 600'000));
    for (double x : {1.0, 2.0, 3.0}) { // one after another: each finds the worker idle again
        auto future = submit(batcher, rows({x}));
        auto answer = wait(future);
        REQUIRE(answer.result.ok);
        CHECK(answer.result.outputs.at("y") == Json({2 * x}));
        CHECK(answer.result.outputs.at("rows") == Json({1}));
    }
    CHECK(fixture.batches == std::vector<std::pair<size_t, size_t>>{{1, 1}, {1, 1}, {1, 1}});
}

TEST_CASE("requests arriving while every worker is busy go together as the next batch", "[serve][batch]") {
    Fixture fixture(2);
    Batcher batcher(*fixture.pool, fixture.options(16, 600'000));
    // Both workers held: the requests after them have no idle worker and queue.
    auto held1 = submit(batcher, rows({1}, fixture.gate("gate")));
    auto held2 = submit(batcher, rows({2}, fixture.gate("gate")));
    REQUIRE(eventually([&] { return fixture.calls() == 2; }));
    auto a = submit(batcher, rows({10, 11}));
    auto b = submit(batcher, rows({20}));
    auto c = submit(batcher, rows({30, 31, 32}));
    CHECK(fixture.calls() == 2); // queued, not sent
    fixture.open("gate");

    for (auto* held : {&held1, &held2})
        CHECK(wait(*held).result.ok);
    auto answer_a = wait(a), answer_b = wait(b), answer_c = wait(c);
    REQUIRE(answer_a.result.ok);
    REQUIRE(answer_b.result.ok);
    REQUIRE(answer_c.result.ok);
    // One call of six rows, split back by row ranges.
    CHECK(answer_a.result.outputs == Json({{"y", {20, 22}}, {"rows", {6, 6}}}));
    CHECK(answer_b.result.outputs == Json({{"y", {40}}, {"rows", {6}}}));
    CHECK(answer_c.result.outputs == Json({{"y", {60, 62, 64}}, {"rows", {6, 6, 6}}}));
    REQUIRE(fixture.calls() == 3);
    CHECK(fixture.batches[2] == std::pair<size_t, size_t>{6, 3});
}

TEST_CASE("max_delay_ms bounds the wait for a worker that stays busy", "[serve][batch]") {
    Fixture fixture;
    Batcher batcher(*fixture.pool, fixture.options(16, 20));
    auto held = submit(batcher, rows({1}, fixture.gate("gate")));
    auto queued = submit(batcher, rows({2}));
    // Sent (pipelined behind the held batch) although the only worker never became free.
    CHECK(eventually([&] { return fixture.calls() == 2; }));
    fixture.open("gate");
    CHECK(wait(held).result.ok);
    auto answer = wait(queued);
    REQUIRE(answer.result.ok);
    CHECK(answer.result.outputs.at("rows") == Json({1}));
}

TEST_CASE("a queue holding max_size rows is sent without waiting for a worker", "[serve][batch]") {
    Fixture fixture;
    Batcher batcher(*fixture.pool, fixture.options(3, 600'000));
    auto held = submit(batcher, rows({1}, fixture.gate("gate")));
    auto a = submit(batcher, rows({2, 3}));
    auto b = submit(batcher, rows({4}));
    CHECK(eventually([&] { return fixture.calls() == 2; })); // 3 rows: full, it cannot grow
    fixture.open("gate");
    CHECK(wait(held).result.ok);
    CHECK(wait(a).result.outputs.at("rows") == Json({3, 3}));
    CHECK(wait(b).result.outputs.at("rows") == Json({3}));
}

TEST_CASE("a batch whose worker dies gets 503 and the requests queued behind it are still served",
          "[serve][batch]") {
    Fixture fixture;
    Batcher batcher(*fixture.pool, fixture.options(16, 600'000));
    auto crash = submit(batcher, rows({-1}));
    auto after = submit(batcher, rows({5}));
    auto crashed = wait(crash);
    CHECK(crashed.result.status == 503);
    CHECK_THAT(crashed.result.error, Catch::Contains("worker 1"));
    // Sent when the crashed batch was answered: to no worker (503 at once) or to the restarted one.
    auto answer = wait(after);
    CHECK((answer.result.ok || answer.result.status == 503));
    REQUIRE(eventually([&] { return fixture.pool->live_workers() == 1; }));
    auto later = submit(batcher, rows({7}));
    auto served = wait(later);
    REQUIRE(served.result.ok);
    CHECK(served.result.outputs.at("y") == Json({14}));
}

TEST_CASE("destroying the Batcher answers queued requests with 503 and batches in flight still finish",
          "[serve][batch]") {
    Fixture fixture;
    auto batcher = std::make_unique<Batcher>(*fixture.pool, fixture.options(16, 600'000));
    auto held = submit(*batcher, rows({1}, fixture.gate("gate")));
    auto queued = submit(*batcher, rows({2}));
    batcher.reset();
    auto refused = wait(queued);
    CHECK(refused.result.status == 503);
    CHECK(refused.result.error == "server shutting down");
    fixture.open("gate"); // the held batch's answer arrives after its Batcher is gone
    auto answer = wait(held);
    REQUIRE(answer.result.ok);
    CHECK(answer.result.outputs.at("y") == Json({2}));
}

TEST_CASE("with max_size 1 every request goes alone", "[serve][batch]") {
    Fixture fixture;
    Batcher batcher(*fixture.pool, fixture.options(1, 600'000));
    auto held = submit(batcher, rows({1}, fixture.gate("gate")));
    auto a = submit(batcher, rows({2}));
    auto b = submit(batcher, rows({3}));
    CHECK(eventually([&] { return fixture.calls() == 3; }));
    fixture.open("gate");
    CHECK(wait(held).result.ok);
    CHECK(wait(a).result.outputs.at("rows") == Json({1}));
    CHECK(wait(b).result.outputs.at("rows") == Json({1}));
}
