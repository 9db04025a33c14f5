#include "temp_dir.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mlo/pipeline/stage_process.hpp>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using mlo::pipeline::ProcessOptions;
using mlo::pipeline::ProcessResult;
using mlo::pipeline::run_stage_process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

ProcessResult run(const std::string& command) {
    ProcessOptions options;
    options.command = command;
    auto result = run_stage_process(options);
    REQUIRE(result);
    return std::move(*result);
}

size_t open_fd_count() {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd"))
        ++count;
    return count;
}

// A process is gone once kill() fails, or once it is a zombie waiting for init to reap it.
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0)
        return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    return close_paren == std::string::npos || line.substr(close_paren + 2, 1) == "Z";
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
        if (process_gone(pid))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return process_gone(pid);
}

// Sets `flag` after `delay` from another thread, the way mlo's SIGINT handling does.
class StopLater {
  public:
    StopLater(std::atomic<bool>& flag, std::chrono::milliseconds delay)
        : m_thread([&flag, delay] {
              std::this_thread::sleep_for(delay);
              flag = true;
          }) {}
    ~StopLater() { m_thread.join(); }
    StopLater(const StopLater&) = delete;
    StopLater& operator=(const StopLater&) = delete;

  private:
    std::thread m_thread;
};

} // namespace

TEST_CASE("the exit code of the command is reported", "[process]") {
    auto ok = run("true");
    CHECK(ok.exit_code == 0);
    CHECK(ok.signal == 0);
    CHECK_FALSE(ok.interrupted);
    CHECK(ok.wall_seconds >= 0);

    auto three = run("exit 3");
    CHECK(three.exit_code == 3);
    CHECK(three.signal == 0);
}

TEST_CASE("a command killed by a signal has exit code -1 and the signal", "[process]") {
    auto killed = run("kill -9 $$");
    CHECK(killed.exit_code == -1);
    CHECK(killed.signal == SIGKILL);
    CHECK_FALSE(killed.interrupted);
}

TEST_CASE("stdout and stderr are captured apart and streamed line by line", "[process]") {
    std::vector<std::pair<std::string, bool>> lines;
    ProcessOptions options;
    options.command = "echo out1; echo err1 >&2; echo out2; printf 'err2\\n\\nerr3' >&2; printf 'tail'";
    options.on_line = [&](const std::string& line, bool is_stderr) { lines.emplace_back(line, is_stderr); };
    auto result = run_stage_process(options);
    REQUIRE(result);
    CHECK(result->exit_code == 0);
    CHECK(result->stdout_text == "out1\nout2\ntail");
    CHECK(result->stderr_text == "err1\nerr2\n\nerr3");

    std::vector<std::string> out;
    std::vector<std::string> err;
    for (const auto& [line, is_stderr] : lines)
        (is_stderr ? err : out).push_back(line);
    CHECK(out == std::vector<std::string>{"out1", "out2", "tail"});
    CHECK(err == std::vector<std::string>{"err1", "err2", "", "err3"});
}

TEST_CASE("large output on both streams is captured whole", "[process]") {
    size_t line_count = 0;
    size_t bad_lines = 0;
    ProcessOptions options;
    // ~2 MB on each stream at once: the reader must drain both pipes or the command would block.
    options.command =
        "l=$(printf '%096d' 0); i=0; while [ $i -lt 20000 ]; do echo $l; echo $l >&2; i=$((i+1)); done";
    options.on_line = [&](const std::string& line, bool) {
        ++line_count;
        if (line != std::string(96, '0'))
            ++bad_lines;
    };
    auto result = run_stage_process(options);
    REQUIRE(result);
    CHECK(result->stdout_text.size() == 20000 * 97);
    CHECK(result->stderr_text.size() == 20000 * 97);
    CHECK(line_count == 40000);
    CHECK(bad_lines == 0);
}

TEST_CASE("extra_env is added to the inherited environment and overrides it", "[process]") {
    REQUIRE(::setenv("MLO_TEST_INHERITED", "parent", 1) == 0);
    REQUIRE(::setenv("MLO_TEST_OVERRIDDEN", "parent", 1) == 0);
    ProcessOptions options;
    options.command =
        "echo \"$MLO_STAGE|$MLO_TEST_INHERITED|$MLO_TEST_OVERRIDDEN\"; env | grep -c '^MLO_TEST_OVERRIDDEN='";
    options.extra_env = {{"MLO_STAGE", "train"}, {"MLO_TEST_OVERRIDDEN", "stage value"}};
    auto result = run_stage_process(options);
    ::unsetenv("MLO_TEST_INHERITED");
    ::unsetenv("MLO_TEST_OVERRIDDEN");
    REQUIRE(result);
    CHECK(result->stdout_text == "train|parent|stage value\n1\n");

    options.extra_env = {{"BAD=NAME", "x"}};
    auto bad = run_stage_process(options);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == mlo::ErrorCode::input);
}

TEST_CASE("the command runs in the working directory", "[process]") {
    mlo::test::TempDir dir;
    ProcessOptions options;
    options.command = "pwd -P; echo made > created.txt";
    options.working_directory = dir.path();
    auto result = run_stage_process(options);
    REQUIRE(result);
    CHECK(result->exit_code == 0);
    CHECK(result->stdout_text == fs::canonical(dir.path()).string() + "\n");
    CHECK(fs::exists(dir / "created.txt"));
    CHECK(fs::current_path() != fs::canonical(dir.path())); // mlo's own directory is untouched
}

TEST_CASE("a missing working directory is an error, not a failed command", "[process]") {
    mlo::test::TempDir dir;
    size_t before = open_fd_count();
    ProcessOptions options;
    options.command = "true";
    options.working_directory = dir / "no-such-dir";
    auto missing = run_stage_process(options);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == mlo::ErrorCode::input);
    CHECK(missing.error().message.find("no-such-dir") != std::string::npos);

    std::ofstream(dir / "file") << "x";
    options.working_directory = dir / "file";
    auto not_dir = run_stage_process(options);
    REQUIRE_FALSE(not_dir);
    CHECK(not_dir.error().code == mlo::ErrorCode::input);
    CHECK(open_fd_count() == before);
}

TEST_CASE("stdin is /dev/null", "[process]") {
    auto result = run("cat; echo done");
    CHECK(result.stdout_text == "done\n");
}

TEST_CASE("cpu time and peak memory are measured", "[process]") {
    auto busy = run("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
    CHECK(busy.exit_code == 0);
    CHECK(busy.cpu_seconds > 0.05);
    CHECK(busy.cpu_seconds <= busy.wall_seconds * 1.1 + 0.05);

    // awk doubles a string until it holds 256 MiB: more than this test process's own high-water RSS
    // (over 120 MB under AddressSanitizer), which a child inherits at exec.
    auto big = run("awk 'BEGIN { s = \"x\"; while (length(s) < 200000000) s = s s; print length(s) }'");
    CHECK(big.exit_code == 0);
    CHECK(big.stdout_text == "268435456\n");
    CHECK(big.peak_rss_bytes >= 250'000'000);

    // Not `small < 50 MB`: the child inherits this process's high-water RSS at exec (see the header),
    // which is above 50 MB under AddressSanitizer.
    auto small = run("true");
    CHECK(small.peak_rss_bytes > 0);
    CHECK(small.peak_rss_bytes < big.peak_rss_bytes);
}

TEST_CASE("a stop request terminates the command", "[process]") {
    std::atomic<bool> stop{false};
    ProcessOptions options;
    options.command = "sleep 30";
    options.stop_requested = &stop;
    auto start = Clock::now();
    StopLater stopper(stop, std::chrono::milliseconds(200));
    auto result = run_stage_process(options);
    auto elapsed = Clock::now() - start;
    REQUIRE(result);
    CHECK(result->interrupted);
    CHECK(result->exit_code == -1);
    CHECK(result->signal == SIGTERM);
    CHECK(elapsed < std::chrono::seconds(2)); // it ended on SIGTERM, without waiting for the grace period
}

TEST_CASE("a command ignoring SIGTERM is killed after the grace period", "[process]") {
    std::atomic<bool> stop{false};
    ProcessOptions options;
    options.command = "trap '' TERM; echo started; sleep 30; echo not reached";
    options.stop_requested = &stop;
    options.kill_grace_ms = 300;
    auto start = Clock::now();
    StopLater stopper(stop, std::chrono::milliseconds(200));
    auto result = run_stage_process(options);
    auto elapsed = Clock::now() - start;
    REQUIRE(result);
    CHECK(result->interrupted);
    CHECK(result->signal == SIGKILL);
    CHECK(result->stdout_text == "started\n");
    CHECK(elapsed >= std::chrono::milliseconds(480));
    CHECK(elapsed < std::chrono::seconds(4));
}

TEST_CASE("a stop request kills the command's whole process group", "[process]") {
    std::atomic<bool> stop{false};
    std::vector<pid_t> pids;
    ProcessOptions options;
    // The background sleep inherits the ignored SIGTERM, so only the group SIGKILL ends it.
    options.command = "trap '' TERM; sleep 30 & echo $!; sleep 30 & echo $!; wait";
    options.stop_requested = &stop;
    options.kill_grace_ms = 300;
    options.on_line = [&](const std::string& line, bool is_stderr) {
        if (!is_stderr)
            pids.push_back(static_cast<pid_t>(std::stol(line)));
    };
    auto start = Clock::now();
    StopLater stopper(stop, std::chrono::milliseconds(200));
    auto result = run_stage_process(options);
    auto elapsed = Clock::now() - start;
    REQUIRE(result);
    CHECK(result->interrupted);
    CHECK(elapsed < std::chrono::seconds(4));
    REQUIRE(pids.size() == 2);
    for (pid_t pid : pids)
        CHECK(gone_within(pid, std::chrono::seconds(2)));
}

TEST_CASE("a background process that keeps the output open is waited for", "[process]") {
    auto result = run("(sleep 0.3; echo late) & echo early");
    CHECK(result.exit_code == 0);
    CHECK(result.stdout_text == "early\nlate\n");
    CHECK(result.wall_seconds >= 0.25);
}

TEST_CASE("a process left behind without its output is killed when the shell exits", "[process]") {
    auto result = run("sleep 30 >/dev/null 2>&1 & echo $!");
    CHECK(result.exit_code == 0);
    CHECK(result.wall_seconds < 5);
    pid_t leftover = static_cast<pid_t>(std::stol(result.stdout_text));
    CHECK(gone_within(leftover, std::chrono::seconds(2)));
}

TEST_CASE("a shell that closes its output is still waited for and can be stopped", "[process]") {
    auto waited = run("exec >/dev/null 2>&1; sleep 0.3; exit 4");
    CHECK(waited.exit_code == 4);
    CHECK(waited.wall_seconds >= 0.25);

    std::atomic<bool> stop{false};
    ProcessOptions options;
    options.command = "exec >/dev/null 2>&1; sleep 30";
    options.stop_requested = &stop;
    auto start = Clock::now();
    StopLater stopper(stop, std::chrono::milliseconds(200));
    auto result = run_stage_process(options);
    REQUIRE(result);
    CHECK(result->interrupted);
    CHECK(Clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE("a stop requested before the start runs nothing", "[process]") {
    mlo::test::TempDir dir;
    std::atomic<bool> stop{true};
    ProcessOptions options;
    options.command = "touch ran";
    options.working_directory = dir.path();
    options.stop_requested = &stop;
    auto result = run_stage_process(options);
    REQUIRE(result);
    CHECK(result->interrupted);
    CHECK_FALSE(fs::exists(dir / "ran"));
}

TEST_CASE("the child gets default signal handling even if mlo ignores SIGPIPE", "[process]") {
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    REQUIRE(::sigaction(SIGPIPE, &ignore, &previous) == 0);
    // With SIGPIPE ignored, `yes` would get EPIPE and report an error instead of dying quietly.
    auto result = run("yes | head -n 2");
    ::sigaction(SIGPIPE, &previous, nullptr);
    CHECK(result.stdout_text == "y\ny\n");
    CHECK(result.stderr_text.empty());
}

TEST_CASE("running commands leaks no file descriptors", "[process]") {
    size_t before = open_fd_count();
    for (int i = 0; i < 5; ++i) {
        auto result = run("echo out; echo err >&2; exit 1");
        CHECK(result.exit_code == 1);
    }
    std::atomic<bool> stop{false};
    ProcessOptions options;
    options.command = "sleep 30";
    options.stop_requested = &stop;
    {
        StopLater stopper(stop, std::chrono::milliseconds(100));
        REQUIRE(run_stage_process(options));
    }
    options.stop_requested = nullptr;
    options.on_line = [](const std::string&, bool) { throw std::runtime_error("callback failed"); };
    options.command = "echo hi; sleep 30";
    auto start = Clock::now();
    CHECK_THROWS_AS(run_stage_process(options), std::runtime_error);
    CHECK(Clock::now() - start < std::chrono::seconds(4)); // the child was killed, not waited for
    CHECK(open_fd_count() == before);
}

TEST_CASE("concurrent commands from several threads each get their own output", "[process]") {
    constexpr int k_threads = 4;
    size_t before = open_fd_count();
    std::vector<std::string> outputs(k_threads);
    std::vector<std::vector<std::string>> lines(k_threads);
    std::vector<int> exit_codes(k_threads, -2);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([t, &outputs, &lines, &exit_codes] {
            ProcessOptions options;
            options.command =
                "i=0; while [ $i -lt 200 ]; do echo \"$MLO_STAGE $i\"; i=$((i+1)); done; exit " +
                std::to_string(t);
            options.extra_env = {{"MLO_STAGE", "stage" + std::to_string(t)}};
            options.on_line = [&lines, t](const std::string& line, bool) { lines[t].push_back(line); };
            auto result = run_stage_process(options);
            if (result) {
                outputs[t] = result->stdout_text;
                exit_codes[t] = result->exit_code;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int t = 0; t < k_threads; ++t) {
        std::string expected;
        for (int i = 0; i < 200; ++i)
            expected += "stage" + std::to_string(t) + " " + std::to_string(i) + "\n";
        CHECK(exit_codes[t] == t);
        CHECK(outputs[t] == expected);
        CHECK(lines[t].size() == 200);
    }
    CHECK(open_fd_count() == before);
}
