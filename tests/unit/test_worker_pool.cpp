#include "temp_dir.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <future>
#include <memory>
#include <mlo/serve/worker_pool.hpp>
#include <mutex>
#include <pthread.h>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using mlo::serve::WorkerOptions;
using mlo::serve::WorkerPool;
using mlo::serve::WorkerResult;
using Json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto k_generous = 10s; // only ever reached when something is broken

// A worker speaking the raw protocol, so the tests control every line. Modes (argv[1]):
//   plain    answer each request in order
//   noise    print a non-JSON line before every answer
//   reverse  hold requests in pairs and answer each pair in reverse order (a lone request is answered
//            after 20 ms of quiet), so answers come back out of order
//   stubborn ignore SIGTERM and keep running after stdin closes
//   closer   close stdin before printing ready, then sleep: every write to it fails with EPIPE
// Inputs: {"x": [..]} -> {"y": [2x..], "pid": pid}; {"sleep": s} sleeps first; {"fail": "msg"} -> error.
const char* const k_worker_py = R"PY(
import json, os, select, signal, sys, time
mode = sys.argv[1] if len(sys.argv) > 1 else "plain"
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

def answer(request):
    inputs = request["inputs"]
    if "sleep" in inputs:
        time.sleep(inputs["sleep"])
    if "fail" in inputs:
        return {"id": request["id"], "error": inputs["fail"]}
    return {"id": request["id"], "outputs": {"y": [2 * v for v in inputs.get("x", [])], "pid": os.getpid()}}

def write(message, noise=True):
    if mode == "noise" and noise:
        sys.stdout.write("this is not json\n")
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()

print("worker starting", file=sys.stderr, flush=True)
if mode == "closer":
    os.close(0)
    write({"ready": True}, noise=False)
    time.sleep(60)
write({"ready": True}, noise=False)
if mode == "reverse":
    buffer, held = b"", []
    while True:
        readable, _, _ = select.select([0], [], [], 0.02 if held else None)
        if not readable:
            for request in held:
                write(answer(request))
            held = []
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            held.append(json.loads(line))
            if len(held) == 2:
                for request in reversed(held):
                    write(answer(request))
                held = []
    for request in held:
        write(answer(request))
else:
    for line in sys.stdin:
        write(answer(json.loads(line)))
    if mode == "stubborn":
        time.sleep(60)
)PY";

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

struct Recorder {
    std::mutex mutex;
    std::vector<std::string> events;
    std::vector<std::pair<unsigned, std::string>> stderr_lines;

    void attach(WorkerOptions& options) {
        options.on_event = [this](const std::string& event) {
            std::lock_guard lock(mutex);
            events.push_back(event);
        };
        options.on_stderr = [this](unsigned worker, const std::string& line) {
            std::lock_guard lock(mutex);
            stderr_lines.emplace_back(worker, line);
        };
    }
    bool has_event(const std::string& part) {
        std::lock_guard lock(mutex);
        for (const auto& event : events)
            if (event.find(part) != std::string::npos)
                return true;
        return false;
    }
    bool has_stderr(const std::string& line) {
        std::lock_guard lock(mutex);
        for (const auto& [worker, text] : stderr_lines)
            if (text == line)
                return true;
        return false;
    }
};

WorkerOptions python_worker(const mlo::test::TempDir& dir, const std::string& mode, unsigned workers = 1) {
    write_text(dir / "worker.py", k_worker_py);
    WorkerOptions options;
    options.command = "exec /usr/bin/python3 worker.py " + mode;
    options.cwd = dir.path();
    options.workers = workers;
    options.ready_timeout_seconds = 10;
    return options;
}

std::unique_ptr<WorkerPool> start(const WorkerOptions& options) {
    auto pool = WorkerPool::start(options);
    if (!pool)
        FAIL("start failed: " << pool.error().message);
    return std::move(*pool);
}

std::future<WorkerResult> submit(WorkerPool& pool, Json inputs, double timeout = 0) {
    auto promise = std::make_shared<std::promise<WorkerResult>>();
    auto future = promise->get_future();
    pool.submit(
        std::move(inputs), [promise](WorkerResult result) { promise->set_value(std::move(result)); },
        timeout);
    return future;
}

WorkerResult wait(std::future<WorkerResult>& future) {
    REQUIRE(future.wait_for(k_generous) == std::future_status::ready);
    return future.get();
}

WorkerResult call(WorkerPool& pool, Json inputs, double timeout = 0) {
    auto future = submit(pool, std::move(inputs), timeout);
    return wait(future);
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

// Gone once kill() fails, or once it is a zombie waiting for its (new) parent to reap it.
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0)
        return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    return close_paren == std::string::npos || line.substr(close_paren + 2, 1) == "Z";
}

pid_t worker_pid(WorkerPool& pool) {
    auto result = call(pool, {{"x", Json::array()}});
    REQUIRE(result.ok);
    return result.outputs.at("pid").get<pid_t>();
}

fs::path templates_serve_dir() {
    return fs::path(__FILE__).parent_path().parent_path().parent_path() / "templates" / "serve";
}

} // namespace

TEST_CASE("workers print ready, then answer requests", "[serve]") {
    mlo::test::TempDir dir;
    Recorder recorder;
    auto options = python_worker(dir, "plain", 2);
    recorder.attach(options);
    auto pool = start(options);
    CHECK(pool->live_workers() == 2);
    CHECK(pool->restarts() == 0);
    // stderr and stdout are separate pipes: the line may be read after the ready handshake.
    CHECK(eventually([&] { return recorder.has_stderr("worker starting"); }));

    auto result = call(*pool, {{"x", {1, 2, 3}}});
    REQUIRE(result.ok);
    CHECK(result.status == 200);
    CHECK(result.outputs.at("y") == Json({2, 4, 6}));
    CHECK(result.error.empty());
    CHECK(result.compute_seconds >= 0);
}

TEST_CASE("concurrent requests are matched by id across workers answering out of order", "[serve]") {
    mlo::test::TempDir dir;
    auto pool = start(python_worker(dir, "reverse", 2));

    constexpr int k_threads = 4;
    constexpr int k_per_thread = 50;
    constexpr int k_total = k_threads * k_per_thread;
    std::vector<std::atomic<int>> calls(k_total);
    std::vector<WorkerResult> results(k_total);
    std::atomic<int> finished{0};
    std::vector<std::thread> threads;
    threads.reserve(k_threads);
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            for (int k = 0; k < k_per_thread; ++k) {
                int i = t * k_per_thread + k;
                pool->submit({{"x", {i}}}, [&, i](WorkerResult result) {
                    results[static_cast<size_t>(i)] = std::move(result);
                    ++calls[static_cast<size_t>(i)];
                    ++finished;
                });
            }
        });
    for (auto& thread : threads)
        thread.join();
    REQUIRE(eventually([&] { return finished.load() == k_total; }));
    std::this_thread::sleep_for(50ms); // a second call of `done` would show up here

    std::set<pid_t> pids;
    for (int i = 0; i < k_total; ++i) {
        INFO("request " << i << ": " << results[static_cast<size_t>(i)].error);
        CHECK(calls[static_cast<size_t>(i)].load() == 1);
        REQUIRE(results[static_cast<size_t>(i)].ok);
        CHECK(results[static_cast<size_t>(i)].outputs.at("y") == Json({2 * i}));
        pids.insert(results[static_cast<size_t>(i)].outputs.at("pid").get<pid_t>());
    }
    CHECK(pids.size() == 2);
}

TEST_CASE("a worker's error answer is a 500 with its message", "[serve]") {
    mlo::test::TempDir dir;
    auto pool = start(python_worker(dir, "plain"));
    auto result = call(*pool, {{"fail", "ValueError: column tenure is negative"}});
    CHECK_FALSE(result.ok);
    CHECK(result.status == 500);
    CHECK(result.error == "ValueError: column tenure is negative");
    CHECK(call(*pool, {{"x", {1}}}).ok); // the worker lives on
}

TEST_CASE("a worker killed mid-request fails that request with 503 and is restarted", "[serve]") {
    mlo::test::TempDir dir;
    Recorder recorder;
    auto options = python_worker(dir, "plain");
    recorder.attach(options);
    auto pool = start(options);
    pid_t pid = worker_pid(*pool);

    // Submitting from `done` runs on the pool thread, before the restart can happen: no live worker.
    auto nested = std::make_shared<std::promise<WorkerResult>>();
    auto nested_future = nested->get_future();
    auto promise = std::make_shared<std::promise<WorkerResult>>();
    auto future = promise->get_future();
    WorkerPool& pool_ref = *pool;
    pool->submit({{"sleep", 30}}, [&pool_ref, promise, nested](WorkerResult result) {
        pool_ref.submit({{"x", {1}}}, [nested](WorkerResult again) { nested->set_value(std::move(again)); });
        promise->set_value(std::move(result));
    });
    REQUIRE(::kill(pid, SIGKILL) == 0);

    auto result = wait(future);
    CHECK_FALSE(result.ok);
    CHECK(result.status == 503);
    CHECK_THAT(result.error, Catch::Contains("worker 1") && Catch::Contains("signal 9"));
    CHECK(pool->restarts() == 1);
    auto unavailable = wait(nested_future);
    CHECK(unavailable.status == 503);
    CHECK_THAT(unavailable.error, Catch::Contains("no worker is ready"));
    CHECK(recorder.has_event("restarting it in 0.1 s"));

    REQUIRE(eventually([&] { return pool->live_workers() == 1; }));
    auto later = call(*pool, {{"x", {5}}});
    REQUIRE(later.ok);
    CHECK(later.outputs.at("y") == Json({10}));
    CHECK(later.outputs.at("pid").get<pid_t>() != pid);
    CHECK(pool->restarts() == 1);
    CHECK(recorder.has_event("restarted and ready"));
}

TEST_CASE("a request to a worker that closed its stdin fails with 503 from any thread", "[serve]") {
    mlo::test::TempDir dir;
    auto pool = start(python_worker(dir, "closer"));
    // This thread does not block SIGPIPE: the pool thread must do the write (a write here would
    // kill the test). A thread that blocks it writes into the pipe itself and must survive EPIPE.
    auto from_here = call(*pool, {{"x", {1}}});
    CHECK(from_here.status == 503);
    CHECK_THAT(from_here.error, Catch::Contains("closed its stdin"));
    REQUIRE(eventually([&] { return pool->live_workers() == 1; }));

    std::promise<WorkerResult> promise;
    auto future = promise.get_future();
    std::thread blocked([&] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        pool->submit({{"x", {2}}}, [&](WorkerResult result) { promise.set_value(std::move(result)); });
    });
    blocked.join();
    REQUIRE(future.wait_for(k_generous) == std::future_status::ready);
    auto from_blocked = future.get();
    CHECK(from_blocked.status == 503);
    CHECK_THAT(from_blocked.error, Catch::Contains("closed its stdin"));
    CHECK(pool->restarts() == 2);
}

TEST_CASE("a worker that never becomes ready fails start with its stderr", "[serve]") {
    mlo::test::TempDir dir;

    SECTION("it exits") {
        WorkerOptions options;
        options.command = "echo loading the model >&2; echo 'No module named sklearn' >&2; exit 3";
        auto pool = WorkerPool::start(options);
        REQUIRE_FALSE(pool);
        CHECK(pool.error().code == mlo::ErrorCode::failure);
        CHECK_THAT(pool.error().message,
                   Catch::Contains("worker 1 exited with status 3 before it was ready") &&
                       Catch::Contains("No module named sklearn"));
    }
    SECTION("it times out") {
        WorkerOptions options;
        options.command = "echo stuck loading >&2; exec sleep 30";
        options.ready_timeout_seconds = 0.2;
        auto pool = WorkerPool::start(options);
        REQUIRE_FALSE(pool);
        CHECK(pool.error().code == mlo::ErrorCode::failure);
        CHECK_THAT(pool.error().message,
                   Catch::Contains(R"(worker 1 did not print {"ready": true} within 0.2 s)") &&
                       Catch::Contains("stuck loading"));
    }
    SECTION("it prints something else first") {
        WorkerOptions options;
        options.workers = 2;
        options.command = "echo 'Loading weights'; exec sleep 30";
        auto pool = WorkerPool::start(options);
        REQUIRE_FALSE(pool);
        CHECK(pool.error().code == mlo::ErrorCode::failure);
        CHECK_THAT(pool.error().message, Catch::Contains("printed 'Loading weights' before"));
    }
    SECTION("bad options") {
        WorkerOptions options;
        options.command = "true";
        options.workers = 0;
        auto none = WorkerPool::start(options);
        REQUIRE_FALSE(none);
        CHECK(none.error().code == mlo::ErrorCode::input);
        options.workers = 1;
        options.cwd = dir / "missing";
        auto missing = WorkerPool::start(options);
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == mlo::ErrorCode::input);
    }
}

TEST_CASE("a stdout line that is not JSON is reported and ignored", "[serve]") {
    mlo::test::TempDir dir;
    Recorder recorder;
    auto options = python_worker(dir, "noise");
    recorder.attach(options);
    auto pool = start(options);
    auto result = call(*pool, {{"x", {4}}});
    REQUIRE(result.ok);
    CHECK(result.outputs.at("y") == Json({8}));
    CHECK(
        recorder.has_event("worker 1 printed a line that is not a JSON object; ignored: 'this is not json'"));
    CHECK(pool->restarts() == 0);
}

TEST_CASE("a request that takes too long gets 504 and its late answer is dropped", "[serve]") {
    mlo::test::TempDir dir;
    Recorder recorder;
    auto options = python_worker(dir, "plain");
    recorder.attach(options);
    auto pool = start(options);

    auto slow = call(*pool, {{"sleep", 0.3}}, 0.05);
    CHECK_FALSE(slow.ok);
    CHECK(slow.status == 504);
    CHECK_THAT(slow.error, Catch::Contains("did not answer within 0.05 s"));

    auto next = call(*pool, {{"x", {2}}}, 5); // answered after the late one, which is dropped
    REQUIRE(next.ok);
    CHECK(next.outputs.at("y") == Json({4}));
    CHECK(recorder.has_event("after it timed out; answer dropped"));
    CHECK(pool->restarts() == 0);
}

TEST_CASE("stop fails requests in flight and leaves no process behind", "[serve]") {
    mlo::test::TempDir dir;
    Recorder recorder;
    auto options = python_worker(dir, "stubborn", 2);
    // A background child in the worker's process group must go too.
    options.command = "sleep 60 & echo $! >> bg.pid; " + options.command;
    recorder.attach(options);
    auto pool = start(options);
    std::set<pid_t> pids;
    REQUIRE(eventually([&] {
        pids.insert(worker_pid(*pool));
        return pids.size() == 2;
    }));
    std::vector<pid_t> background;
    std::ifstream bg_file(dir / "bg.pid");
    for (pid_t pid; bg_file >> pid;)
        background.push_back(pid);
    REQUIRE(background.size() == 2);

    auto in_flight = submit(*pool, {{"sleep", 30}});
    pool->stop(0.2); // the stubborn workers ignore SIGTERM: SIGKILL after 0.2 s
    auto result = wait(in_flight);
    CHECK(result.status == 503);
    CHECK(result.error == "server shutting down");
    for (pid_t pid : pids)
        CHECK(process_gone(pid));
    for (pid_t pid : background)
        CHECK(eventually([&] { return process_gone(pid); }));
    CHECK(pool->live_workers() == 0);
    CHECK(recorder.has_event("did not stop within 0.2 s; killed"));

    pool->stop(); // idempotent
    auto after = call(*pool, {{"x", {1}}});
    CHECK(after.status == 503);
}

TEST_CASE("the Python helper mlo_worker serves a predict function", "[serve]") {
    mlo::test::TempDir dir;
    REQUIRE(fs::exists(templates_serve_dir() / "mlo_worker.py"));
    write_text(dir / "serve.py", R"PY(
import os
from mlo_worker import serve, rows
print("loading the model")  # must reach stderr, not the protocol
threshold = float(os.environ["THRESHOLD"])

def predict(inputs):
    print("scoring", len(inputs["tenure"]))
    if not inputs["tenure"]:
        raise ValueError("no rows")
    return {"churned": [int(tenure < threshold) for tenure, plan in rows(inputs, ["tenure", "plan"])]}

serve(predict)
)PY");
    Recorder recorder;
    WorkerOptions options;
    options.command = "exec /usr/bin/python3 serve.py";
    options.cwd = dir.path();
    options.env = {{"PYTHONPATH", templates_serve_dir().string()}, {"THRESHOLD", "10"}};
    options.ready_timeout_seconds = 10;
    recorder.attach(options);
    auto pool = start(options);

    auto result = call(*pool, {{"tenure", {3, 40}}, {"plan", {"a", "b"}}});
    INFO(result.error);
    REQUIRE(result.ok);
    CHECK(result.outputs == Json({{"churned", {1, 0}}}));

    auto error = call(*pool, {{"tenure", Json::array()}, {"plan", Json::array()}});
    CHECK(error.status == 500);
    CHECK(error.error == "ValueError: no rows");
    CHECK(call(*pool, {{"tenure", {12}}, {"plan", {"c"}}}).outputs == Json({{"churned", {0}}}));

    pool->stop(); // drains stderr: every line has been handed to on_stderr when it returns
    CHECK(recorder.has_stderr("loading the model"));
    CHECK(recorder.has_stderr("scoring 2"));
    CHECK(recorder.has_stderr("ValueError: no rows")); // the traceback's last line
    CHECK(pool->restarts() == 0);
    CHECK_FALSE(recorder.has_event("printed a line")); // nothing but answers on stdout
}
