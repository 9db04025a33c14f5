// The audit log: a local, append-only, hash-chained record of who did what to the registry.
//
// Why a hash chain. Each event stores the SHA-256 of its own canonical text ("hash") and the hash of
// the event before it ("prev"), and events are numbered 1, 2, 3 ... ("seq"). Editing a line changes
// what it hashes to, so its recorded hash no longer matches; an editor who also recomputes that hash
// breaks the next line's prev. Deleting, inserting or reordering lines in the middle breaks prev and
// seq at the seam. So any change to the history before the last event is detected by re-reading the
// file alone, without trusting anything but SHA-256. (The canonical text is JSON with sorted keys and
// no whitespace, so it is the same bytes whichever program re-serialises the event.)
//
// Why a head file. A chain cannot see its own end being cut off: dropping the last k lines leaves a
// shorter chain that is perfectly consistent. audit/head records "<seq> <hash>" of the last event
// appended, replaced atomically after the line is fsynced, so a log that ends before the head's seq, or
// whose line at that seq has another hash, was truncated or rewritten. The order (line first, head
// second) means a crash can only leave lines *after* the head, never a head ahead of the log; verify()
// therefore accepts lines beyond the head as long as they chain. A kill in the middle of write() can
// leave a final line without its '\n'; the head never names such a line, so it is not an event:
// readers skip it and the next append() truncates it away before writing.
//
// The limit. Someone who can write both files can rewrite the log and the head together consistently,
// for example drop the tail events and point the head at the new last one. Local files cannot prevent
// that. What anchors the history is outside this directory: registry events are also annotated git tags,
// whose objects are pushed and signed, and `mlo audit verify` checks the tags against the log, so a
// dropped promote is noticed because its tag still exists.
//
// Concurrency. Writers serialise on an exclusive flock of audit/lock, held from reading the tail to
// writing the head, so two processes (or threads: each acquire opens its own file description) can
// never chain to the same predecessor. Readers take no lock: lines are only ever appended, the head is
// replaced by rename, and verify() tolerates a line written just before its head.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <fmt/core.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/util/file_io.hpp>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::registry {

using nlohmann::json;

namespace {

// Every field of an event; a line with any other key is malformed (it would not be covered by the hash).
constexpr const char* k_fields[] = {"action", "actor", "details", "hash", "prev", "seq", "time"};

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json event_json(const AuditEvent& event, bool with_hash) {
    json out = json::object();
    out["action"] = event.action;
    out["actor"] = event.actor;
    out["details"] = event.details;
    if (with_hash)
        out["hash"] = event.hash;
    out["prev"] = event.prev;
    out["seq"] = event.seq;
    out["time"] = event.time;
    return out;
}

std::string event_hash(const AuditEvent& event) {
    return hash::sha256_of(canonical_event_text(event)).str();
}

// The exact bytes append() writes for an event, without the '\n'.
std::string event_line(const AuditEvent& event) {
    return dump(event_json(event, true));
}

std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is what a user needs.
std::string json_message(const json::exception& error) {
    std::string text = error.what();
    size_t end = text.find("] ");
    return end == std::string::npos ? text : text.substr(end + 2);
}

// Parses one log line; the problem in words if it is not an event.
tl::expected<AuditEvent, std::string> parse_event(std::string_view line) {
    using Problem = tl::unexpected<std::string>;
    json value;
    try {
        value = json::parse(line);
    } catch (const json::exception& error) {
        return Problem("not JSON: " + json_message(error));
    }
    if (!value.is_object())
        return Problem("not a JSON object");
    for (const auto& item : value.items())
        if (std::find(std::begin(k_fields), std::end(k_fields), item.key()) == std::end(k_fields))
            return Problem("unknown field '" + item.key() + "'");
    for (const char* field : k_fields)
        if (!value.contains(field))
            return Problem(std::string("missing field '") + field + "'");

    AuditEvent event;
    const json& seq = value["seq"];
    if (!seq.is_number_integer() || (seq.is_number_unsigned() && seq.get<uint64_t>() > INT64_MAX) ||
        seq.get<int64_t>() < 1)
        return Problem("'seq' is not a positive integer");
    event.seq = seq.get<int64_t>();
    for (const char* field : {"time", "actor", "action", "prev", "hash"})
        if (!value[field].is_string())
            return Problem(std::string("'") + field + "' is not a string");
    if (!value["details"].is_object())
        return Problem("'details' is not an object");
    event.time = value["time"].get<std::string>();
    event.actor = value["actor"].get<std::string>();
    event.action = value["action"].get<std::string>();
    event.details = value["details"];
    event.prev = value["prev"].get<std::string>();
    event.hash = value["hash"].get<std::string>();
    if (!hash::ObjectId::parse(event.hash))
        return Problem("'hash' is not sha256:<64 hex digits>");
    if (!event.prev.empty() && !hash::ObjectId::parse(event.prev))
        return Problem("'prev' is neither empty nor sha256:<64 hex digits>");
    return event;
}

struct Head {
    int64_t seq = 0;
    std::string hash;
};

// Parses audit/head: "<seq> <hash>\n".
tl::expected<Head, std::string> parse_head(std::string_view text) {
    using Problem = tl::unexpected<std::string>;
    if (text.empty() || text.back() != '\n')
        return Problem("it is not one line ending in a newline");
    text.remove_suffix(1);
    size_t space = text.find(' ');
    if (space == std::string_view::npos)
        return Problem("expected '<seq> <hash>'");
    Head head;
    std::string_view seq = text.substr(0, space);
    auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), head.seq);
    if (ec != std::errc() || end != seq.data() + seq.size() || head.seq < 1 || seq[0] == '0')
        return Problem("'" + std::string(seq) + "' is not a positive event number");
    head.hash = std::string(text.substr(space + 1));
    if (!hash::ObjectId::parse(head.hash))
        return Problem("'" + head.hash + "' is not sha256:<64 hex digits>");
    return head;
}

std::string head_text(const AuditEvent& event) {
    return std::to_string(event.seq) + " " + event.hash + "\n";
}

// The log split into '\n'-terminated lines, and the unterminated rest ("" when the log ends in '\n').
struct Lines {
    std::vector<std::string_view> complete;
    std::string_view partial;
};

Lines split_lines(std::string_view content) {
    Lines out;
    size_t start = 0;
    for (size_t end; (end = content.find('\n', start)) != std::string_view::npos; start = end + 1)
        out.complete.push_back(content.substr(start, end - start));
    out.partial = content.substr(start);
    return out;
}

// verify()'s checks, on the log's content (nullopt: no log file) and the head's (nullopt: no head).
std::vector<AuditProblem> check_log(const std::optional<std::string>& content,
                                    const std::optional<std::string>& head_content) {
    std::vector<AuditProblem> problems;
    std::optional<Head> head;
    if (head_content) {
        auto parsed = parse_head(*head_content);
        if (parsed)
            head = *parsed;
        else
            problems.push_back({0, "audit/head is malformed: " + parsed.error()});
    }
    if (!content) {
        if (head_content)
            problems.push_back(
                {0, "the log is missing but audit/head exists" +
                        (head ? " and records event " + std::to_string(head->seq) : std::string()) +
                        ": the log was deleted"});
        return problems;
    }

    struct Recorded {
        size_t line;
        int64_t seq;
        std::string hash;
    };
    std::vector<Recorded> recorded;
    Lines lines = split_lines(*content);
    std::optional<AuditEvent> previous; // the event on the line before, if that line parsed
    for (size_t i = 0; i < lines.complete.size(); ++i) {
        size_t number = i + 1;
        auto event = parse_event(lines.complete[i]);
        if (!event) {
            problems.push_back({number, "malformed line: " + event.error()});
            previous.reset();
            continue;
        }
        if (std::string actual = event_hash(*event); actual != event->hash)
            problems.push_back({number, "hash mismatch: the line records " + event->hash +
                                            " but its content hashes to " + actual +
                                            ": the line was edited"});
        else if (event_line(*event) != lines.complete[i])
            problems.push_back({number, "the line is not in the form mlo writes: it was edited"});
        // After a malformed line there is nothing to chain to; the first line chains to nothing.
        bool chained = number == 1 || previous;
        if (chained) {
            std::string expected_prev = previous ? previous->hash : std::string();
            int64_t expected_seq = previous ? previous->seq + 1 : 1;
            if (event->prev != expected_prev)
                problems.push_back(
                    {number, previous ? "prev does not match the hash of line " + std::to_string(number - 1) +
                                            ": a line was deleted, inserted or reordered before this one"
                                      : "the first line has a prev: the lines before it were deleted"});
            if (event->seq != expected_seq)
                problems.push_back({number, "seq " + std::to_string(event->seq) + " where " +
                                                std::to_string(expected_seq) + " was expected: events are " +
                                                "missing, duplicated or out of order"});
        }
        recorded.push_back({number, event->seq, event->hash});
        previous = std::move(*event);
    }

    if (!head)
        return problems;
    auto at_head = std::find_if(recorded.rbegin(), recorded.rend(),
                                [&](const Recorded& entry) { return entry.seq == head->seq; });
    int64_t last_seq = recorded.empty() ? 0 : recorded.back().seq;
    std::string head_seq = std::to_string(head->seq);
    if (at_head != recorded.rend()) {
        if (at_head->hash != head->hash)
            problems.push_back({at_head->line, "audit/head records event " + head_seq + " as " + head->hash +
                                                   " but this line has " + at_head->hash +
                                                   ": the log was rewritten"});
    } else if (head->seq > last_seq) {
        std::string log_end = recorded.empty() ? std::string("the log has no complete events")
                                               : "the log ends at event " + std::to_string(last_seq);
        if (!lines.partial.empty())
            problems.push_back({lines.complete.size() + 1, "incomplete last line: audit/head records event " +
                                                               head_seq + ", so it was complete once"});
        if (lines.partial.empty() || head->seq > last_seq + 1)
            problems.push_back(
                {0, "audit/head records event " + head_seq + " but " + log_end + ": events were truncated"});
    } else {
        problems.push_back({0, "audit/head records event " + head_seq + ", which is not in the log"});
    }
    return problems;
}

Result<std::optional<std::string>> read_if_exists(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (ec)
            return fail(system_error("cannot read " + path.string(), ec.value()));
        return std::optional<std::string>();
    }
    auto content = util::read_file(path);
    if (!content)
        return fail(std::move(content).error());
    return std::optional<std::string>(std::move(*content));
}

Status pread_all(int fd, char* out, size_t size, off_t offset, const fs::path& for_error) {
    while (size > 0) {
        ssize_t n = ::pread(fd, out, size, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot read " + for_error.string(), errno));
        }
        if (n == 0)
            return fail(ErrorCode::internal, "cannot read " + for_error.string() + ": it shrank while read");
        out += n;
        size -= static_cast<size_t>(n);
        offset += n;
    }
    return {};
}

// The offset of the last '\n' before `end`, or -1; reads backwards in blocks.
Result<off_t> last_newline_before(int fd, off_t end, const fs::path& for_error) {
    char block[16384];
    while (end > 0) {
        off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof block));
        size_t size = static_cast<size_t>(end - start);
        MLO_TRY(pread_all(fd, block, size, start, for_error));
        for (size_t i = size; i-- > 0;)
            if (block[i] == '\n')
                return start + static_cast<off_t>(i);
        end = start;
    }
    return off_t{-1};
}

// What append() needs of the log's end, read without reading the whole log.
struct Tail {
    off_t complete_size = 0; // bytes up to and including the last '\n'
    bool partial = false;    // bytes follow the last '\n' (a killed append)
    std::string last_line;   // the last complete line, without '\n' ("" when there is none)
};

Result<Tail> read_tail(int fd, off_t size, const fs::path& for_error) {
    Tail tail;
    if (size == 0)
        return tail;
    char last = 0;
    MLO_TRY(pread_all(fd, &last, 1, size - 1, for_error));
    if (last == '\n') {
        tail.complete_size = size;
    } else {
        auto newline = last_newline_before(fd, size, for_error);
        if (!newline)
            return fail(std::move(newline).error());
        tail.complete_size = *newline + 1;
        tail.partial = true;
    }
    if (tail.complete_size == 0)
        return tail;
    auto newline = last_newline_before(fd, tail.complete_size - 1, for_error);
    if (!newline)
        return fail(std::move(newline).error());
    off_t start = *newline + 1;
    tail.last_line.resize(static_cast<size_t>(tail.complete_size - 1 - start));
    MLO_TRY(pread_all(fd, tail.last_line.data(), tail.last_line.size(), start, for_error));
    return tail;
}

Error refuse_append(const fs::path& log, const std::string& why) {
    return Error{ErrorCode::failure,
                 "the audit log " + log.string() + " does not verify (" + why + "); refusing to append to it",
                 "run mlo audit verify"};
}

} // namespace

std::string canonical_event_text(const AuditEvent& event) {
    return dump(event_json(event, false));
}

AuditLog::AuditLog(fs::path mlo_dir) : m_mlo_dir(std::move(mlo_dir)) {}

fs::path AuditLog::audit_dir() const {
    return m_mlo_dir / "audit";
}

fs::path AuditLog::log_path() const {
    return audit_dir() / "log.jsonl";
}

fs::path AuditLog::head_path() const {
    return audit_dir() / "head";
}

Result<AuditEvent> AuditLog::append(const std::string& action, const std::string& actor,
                                    const json& details) {
    std::vector<std::string> problems;
    if (action.empty())
        problems.push_back("the action is empty");
    if (actor.empty())
        problems.push_back("the actor is empty");
    if (!details.is_object() && !details.is_null())
        problems.push_back("details must be a JSON object, not " + std::string(details.type_name()));
    auto check_utf8 = [&](const char* what, const json& value) {
        try {
            (void)value.dump(); // strict: throws on invalid UTF-8, which the log could not keep as given
        } catch (const json::exception&) {
            problems.push_back(std::string("the ") + what + " is not valid UTF-8");
        }
    };
    check_utf8("action", action);
    check_utf8("actor", actor);
    check_utf8("details", details);
    if (!problems.empty()) {
        std::string message = "cannot record '" + action + "' in the audit log: " + problems[0];
        for (size_t i = 1; i < problems.size(); ++i)
            message += "; " + problems[i];
        return fail(ErrorCode::input, message);
    }

    fs::path log = log_path();
    std::error_code ec;
    bool created = fs::create_directories(audit_dir(), ec);
    if (ec)
        return fail(system_error("cannot create " + audit_dir().string(), ec.value()));
    if (created)
        MLO_TRY(util::fsync_directory(m_mlo_dir)); // make the new audit/ itself durable
    auto lock = util::FileLock::acquire(audit_dir() / "lock", util::FileLock::Mode::exclusive);
    if (!lock)
        return fail(std::move(lock).error().context("locking the audit log"));

    util::UniqueFd fd(::open(log.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd)
        return fail(system_error("cannot open " + log.string(), errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return fail(system_error("cannot stat " + log.string(), errno));
    if (info.st_size == 0)
        MLO_TRY(util::fsync_directory(audit_dir())); // the log may be new: make its name durable
    auto tail = read_tail(fd.get(), info.st_size, log);
    if (!tail)
        return fail(std::move(tail).error());
    auto head_content = read_if_exists(head_path());
    if (!head_content)
        return fail(std::move(head_content).error());

    std::optional<AuditEvent> last;
    if (tail->complete_size > 0) {
        auto parsed = parse_event(tail->last_line);
        if (parsed)
            last = std::move(*parsed);
    }
    // The usual case costs one line: the head names the last line, which is intact. Anything else
    // (no head yet, lines after the head from a killed append, damage) is settled by the full check.
    bool tail_matches_head = false;
    if (!*head_content) {
        tail_matches_head = tail->complete_size == 0;
    } else if (auto head = parse_head(**head_content); head && last) {
        tail_matches_head = head->seq == last->seq && head->hash == last->hash &&
                            event_hash(*last) == last->hash && event_line(*last) == tail->last_line;
    }
    if (!tail_matches_head) {
        auto content = util::read_file(log);
        if (!content)
            return fail(std::move(content).error());
        // check_log tolerates the unterminated line we are about to drop unless the head claims it.
        auto found = check_log(std::move(*content), *head_content);
        if (!found.empty()) {
            const auto& first = found.front();
            std::string where = first.line > 0 ? "line " + std::to_string(first.line) + ": " : "";
            std::string more = found.size() > 1
                                   ? " and " + std::to_string(found.size() - 1) + " more problems"
                                   : std::string();
            return fail(refuse_append(log, where + first.message + more));
        }
    }

    if (tail->partial) {
        if (::ftruncate(fd.get(), tail->complete_size) != 0)
            return fail(system_error("cannot truncate the incomplete last line of " + log.string(), errno));
        if (::fsync(fd.get()) != 0)
            return fail(system_error("cannot sync " + log.string(), errno));
    }

    AuditEvent event;
    event.seq = last ? last->seq + 1 : 1;
    event.time = utc_now();
    event.actor = actor;
    event.action = action;
    event.details = details.is_null() ? json::object() : details;
    event.prev = last ? last->hash : std::string();
    event.hash = event_hash(event);
    std::string line = event_line(event) + "\n";
    if (auto written = util::write_all(fd.get(), line, log); !written) {
        // Best effort: a partial line left here would be dropped by the next append anyway.
        [[maybe_unused]] int ignored = ::ftruncate(fd.get(), tail->complete_size);
        return fail(std::move(written).error());
    }
    if (::fsync(fd.get()) != 0)
        return fail(system_error("cannot sync " + log.string(), errno));
    MLO_TRY_CTX(util::write_file_atomic(head_path(), head_text(event)), "recording the audit log's head");
    return event;
}

Result<std::vector<AuditEvent>> AuditLog::read() const {
    auto content = read_if_exists(log_path());
    if (!content)
        return fail(std::move(content).error());
    std::vector<AuditEvent> events;
    if (!*content)
        return events;
    std::vector<std::string> problems;
    Lines lines = split_lines(**content);
    for (size_t i = 0; i < lines.complete.size(); ++i) {
        auto event = parse_event(lines.complete[i]);
        if (event)
            events.push_back(std::move(*event));
        else
            problems.push_back("line " + std::to_string(i + 1) + ": " + event.error());
    }
    if (!problems.empty()) {
        std::string message = "audit log " + log_path().string() + ": " + problems[0];
        for (size_t i = 1; i < problems.size(); ++i)
            message += "; " + problems[i];
        return fail(ErrorCode::input, message);
    }
    return events;
}

Result<std::vector<AuditProblem>> AuditLog::verify() const {
    auto content = read_if_exists(log_path());
    if (!content)
        return fail(std::move(content).error());
    auto head_content = read_if_exists(head_path());
    if (!head_content)
        return fail(std::move(head_content).error());
    return check_log(*content, *head_content);
}

} // namespace mlo::registry
