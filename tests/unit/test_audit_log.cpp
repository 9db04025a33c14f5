#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/hash/sha256.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/util/file_io.hpp>
#include <regex>
#include <thread>

using namespace mlo::registry;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines)
        text += line + "\n";
    REQUIRE(mlo::util::write_file_atomic(path, text));
}

void append_events(AuditLog& log, int count) {
    for (int i = 1; i <= count; ++i)
        REQUIRE(log.append("register", "alice@example.com",
                           {{"model", "churn"}, {"version", "v0.0." + std::to_string(i)}}));
}

// True if verify() reported a problem on `line` whose message contains `text`.
bool has_problem(const std::vector<AuditProblem>& problems, size_t line, const std::string& text) {
    for (const auto& problem : problems)
        if (problem.line == line && problem.message.find(text) != std::string::npos)
            return true;
    return false;
}

std::string describe(const std::vector<AuditProblem>& problems) {
    std::string out;
    for (const auto& problem : problems)
        out += "line " + std::to_string(problem.line) + ": " + problem.message + "\n";
    return out;
}

} // namespace

TEST_CASE("canonical event text: sorted keys, no whitespace, no hash", "[audit]") {
    AuditEvent event;
    event.seq = 1;
    event.time = "2026-11-27T06:28:17.123Z";
    event.actor = "alice@example.com";
    event.action = "promote";
    event.details = {{"stage", "production"}, {"model", "churn-clf"}};
    event.hash = "sha256:ignored";
    CHECK(
        canonical_event_text(event) ==
        R"({"action":"promote","actor":"alice@example.com","details":{"model":"churn-clf","stage":"production"},)"
        R"("prev":"","seq":1,"time":"2026-11-27T06:28:17.123Z"})");
}

TEST_CASE("append chains events that read() returns and verify() accepts", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp / ".mlo");
    CHECK(log.log_path() == tmp / ".mlo/audit/log.jsonl");
    CHECK(log.head_path() == tmp / ".mlo/audit/head");
    CHECK(log.read().value().empty()); // no log yet: empty and valid
    CHECK(log.verify().value().empty());
    CHECK_FALSE(fs::exists(tmp / ".mlo"));

    auto first = log.append("register", "alice@example.com", {{"model", "churn"}, {"version", "v1.0.0"}});
    REQUIRE(first);
    auto second = log.append("promote", "bob", {{"model", "churn"}, {"stage", "production"}});
    REQUIRE(second);
    auto third = log.append("deploy", "ci", nullptr); // null details become {}
    REQUIRE(third);

    CHECK(first->seq == 1);
    CHECK(first->prev.empty());
    CHECK(second->seq == 2);
    CHECK(second->prev == first->hash);
    CHECK(third->seq == 3);
    CHECK(third->prev == second->hash);
    CHECK(third->details == json::object());
    CHECK(first->hash == mlo::hash::sha256_of(canonical_event_text(*first)).str());
    CHECK(std::regex_match(first->time, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));

    auto lines = read_lines(log.log_path());
    REQUIRE(lines.size() == 3);
    CHECK(
        lines[1].rfind(
            R"({"action":"promote","actor":"bob","details":{"model":"churn","stage":"production"},"hash":")",
            0) == 0);
    CHECK(mlo::util::read_file(log.head_path()).value() == "3 " + third->hash + "\n");

    auto events = log.read();
    REQUIRE(events);
    REQUIRE(events->size() == 3);
    CHECK((*events)[1].actor == "bob");
    CHECK((*events)[1].details["stage"] == "production");
    CHECK((*events)[2].hash == third->hash);
    auto problems = log.verify();
    REQUIRE(problems);
    CHECK(problems->empty());
}

TEST_CASE("append rejects bad input without writing", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    auto empty = log.append("", "", json::array({1, 2}));
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == mlo::ErrorCode::input);
    CHECK_THAT(empty.error().message, Catch::Contains("action is empty") &&
                                          Catch::Contains("actor is empty") &&
                                          Catch::Contains("details must be a JSON object"));
    auto bad_utf8 = log.append("register", "alice", {{"model", std::string("\xff\xfe")}});
    REQUIRE_FALSE(bad_utf8);
    CHECK_THAT(bad_utf8.error().message, Catch::Contains("not valid UTF-8"));
    CHECK_FALSE(fs::exists(log.log_path()));
}

TEST_CASE("verify finds an edited line", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 3);
    auto lines = read_lines(log.log_path());
    auto original = lines;

    lines[1].replace(lines[1].find("alice@example.com"), 5, "eve@x"); // same length, other actor
    write_lines(log.log_path(), lines);
    auto problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 2, "hash mismatch"));
    CHECK(problems.size() == 1);

    // A forger who also recomputes the edited line's hash breaks the next line's prev instead.
    auto forged = log.read().value()[1];
    forged.hash = mlo::hash::sha256_of(canonical_event_text(forged)).str();
    lines[1] = json{{"action", forged.action}, {"actor", forged.actor}, {"details", forged.details},
                    {"hash", forged.hash},     {"prev", forged.prev},   {"seq", forged.seq},
                    {"time", forged.time}}
                   .dump();
    write_lines(log.log_path(), lines);
    problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 3, "prev does not match the hash of line 2"));
    CHECK_FALSE(has_problem(problems, 2, "hash mismatch"));

    // Reformatting a line (same content, other bytes) is an edit too.
    lines = original;
    lines[0] = json::parse(lines[0]).dump(1);
    lines[0].erase(std::remove(lines[0].begin(), lines[0].end(), '\n'), lines[0].end());
    write_lines(log.log_path(), lines);
    problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 1, "not in the form mlo writes"));

    // Editing the last line makes append refuse.
    lines = original;
    lines[2].replace(lines[2].find("v0.0.3"), 6, "v9.9.9");
    write_lines(log.log_path(), lines);
    auto refused = log.append("promote", "alice", json::object());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == mlo::ErrorCode::failure);
    CHECK(refused.error().hint == "run mlo audit verify");
    CHECK(read_lines(log.log_path()).size() == 3);
}

TEST_CASE("verify finds a deleted middle line", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 4);
    auto lines = read_lines(log.log_path());
    lines.erase(lines.begin() + 1);
    write_lines(log.log_path(), lines);
    auto problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 2, "prev does not match the hash of line 1"));
    CHECK(has_problem(problems, 2, "seq 3 where 2 was expected"));
    CHECK(problems.size() == 2); // the head (event 4, line 3) still matches
}

TEST_CASE("verify finds two swapped lines", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 4);
    auto lines = read_lines(log.log_path());
    std::swap(lines[1], lines[2]);
    write_lines(log.log_path(), lines);
    auto problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 2, "prev does not match"));
    CHECK(has_problem(problems, 2, "seq 3 where 2 was expected"));
    CHECK(has_problem(problems, 3, "prev does not match"));
    CHECK(has_problem(problems, 4, "prev does not match"));
    CHECK_FALSE(has_problem(problems, 1, ""));
}

TEST_CASE("the head catches a deleted last line", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 4);
    auto lines = read_lines(log.log_path());
    lines.pop_back();
    write_lines(log.log_path(), lines);
    auto problems = log.verify().value();
    INFO(describe(problems));
    REQUIRE(problems.size() == 1);
    CHECK(has_problem(problems, 0, "records event 4 but the log ends at event 3"));

    auto refused = log.append("promote", "alice", json::object());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == mlo::ErrorCode::failure);
    CHECK(refused.error().hint == "run mlo audit verify");
    CHECK(read_lines(log.log_path()).size() == 3);

    // Rewriting the last line with a consistent hash is caught by the head's hash.
    lines = read_lines(log.log_path());
    auto event = log.read().value().back();
    event.actor = "mallory";
    event.hash = mlo::hash::sha256_of(canonical_event_text(event)).str();
    std::string head = "3 " + log.read().value().back().hash + "\n";
    REQUIRE(mlo::util::write_file_atomic(log.head_path(), head));
    CHECK(log.verify().value().empty());
    lines.back() = json{{"action", event.action}, {"actor", event.actor}, {"details", event.details},
                        {"hash", event.hash},     {"prev", event.prev},   {"seq", event.seq},
                        {"time", event.time}}
                       .dump();
    write_lines(log.log_path(), lines);
    problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 3, "the log was rewritten"));
}

TEST_CASE("verify reports a deleted log whose head is left", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 2);
    fs::remove(log.log_path());
    auto problems = log.verify().value();
    INFO(describe(problems));
    REQUIRE(problems.size() == 1);
    CHECK(has_problem(problems, 0, "the log was deleted"));
    CHECK(log.read().value().empty());
    auto refused = log.append("promote", "alice", json::object());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == mlo::ErrorCode::failure);

    REQUIRE(mlo::util::write_file_atomic(log.head_path(), "two sha256:abc\n"));
    REQUIRE(mlo::util::write_file_atomic(log.log_path(), ""));
    problems = log.verify().value();
    CHECK(has_problem(problems, 0, "audit/head is malformed"));
}

TEST_CASE("a partial last line from a killed append is tolerated and repaired", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 3);
    std::string complete = mlo::util::read_file(log.log_path()).value();
    std::string half_line = R"({"action":"promote","actor":"alice@example.com","details":{"mod)";
    {
        std::ofstream out(log.log_path(), std::ios::app | std::ios::binary);
        out << half_line;
    }
    auto problems = log.verify().value();
    INFO(describe(problems));
    CHECK(problems.empty());
    CHECK(log.read().value().size() == 3);

    auto next = log.append("promote", "bob", {{"model", "churn"}});
    REQUIRE(next);
    CHECK(next->seq == 4);
    CHECK(next->prev == log.read().value()[2].hash);
    std::string after = mlo::util::read_file(log.log_path()).value();
    CHECK(after.rfind(complete, 0) == 0);
    CHECK(after.find(half_line) == std::string::npos);
    CHECK(read_lines(log.log_path()).size() == 4);
    CHECK(log.verify().value().empty());

    // A head that claims an unterminated line means the line was cut after it was complete.
    {
        std::ofstream out(log.log_path(), std::ios::app | std::ios::binary);
        out << half_line;
    }
    REQUIRE(mlo::util::write_file_atomic(log.head_path(), "5 " + next->hash + "\n"));
    problems = log.verify().value();
    INFO(describe(problems));
    CHECK(has_problem(problems, 5, "incomplete last line"));
    CHECK_FALSE(log.append("deploy", "ci", json::object()));
}

TEST_CASE("lines after the head that chain are fine (killed before the head update)", "[audit]") {
    mlo::test::TempDir tmp;
    AuditLog log(tmp.path());
    append_events(log, 3);
    auto events = log.read().value();
    REQUIRE(mlo::util::write_file_atomic(log.head_path(), "1 " + events[0].hash + "\n"));
    CHECK(log.verify().value().empty());
    auto next = log.append("promote", "alice", json::object());
    REQUIRE(next);
    CHECK(next->seq == 4);
    CHECK(mlo::util::read_file(log.head_path()).value() == "4 " + next->hash + "\n");
    CHECK(log.verify().value().empty());

    // No head at all: the first append was killed before writing it.
    fs::remove(log.head_path());
    CHECK(log.verify().value().empty());
    REQUIRE(log.append("deploy", "ci", json::object()));
    CHECK(log.verify().value().empty());
}

TEST_CASE("concurrent appends chain into one consecutive log", "[audit]") {
    mlo::test::TempDir tmp;
    std::vector<std::string> failures[2];
    auto writer = [&](int id) {
        AuditLog log(tmp.path());
        for (int i = 0; i < 50; ++i) {
            auto event = log.append("register", "writer" + std::to_string(id), {{"i", i}});
            if (!event)
                failures[id].push_back(event.error().message);
        }
    };
    std::thread first(writer, 0), second(writer, 1);
    first.join();
    second.join();
    CHECK(failures[0].empty());
    CHECK(failures[1].empty());

    AuditLog log(tmp.path());
    auto events = log.read();
    REQUIRE(events);
    REQUIRE(events->size() == 100);
    for (size_t i = 0; i < events->size(); ++i)
        CHECK((*events)[i].seq == static_cast<int64_t>(i + 1));
    auto problems = log.verify().value();
    INFO(describe(problems));
    CHECK(problems.empty());
}
