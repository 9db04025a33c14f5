#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mlo::registry {

namespace fs = std::filesystem;

// One entry of the audit log. Written as one JSON line with sorted keys
// (action, actor, details, hash, prev, seq, time).
struct AuditEvent {
    int64_t seq = 0;        // 1, 2, 3 ... consecutive
    std::string time;       // UTC, "2026-11-27T06:28:17.123Z"
    std::string actor;      // who (email or user name)
    std::string action;     // "register", "promote", "demote", "deprecate", "deploy", ...
    nlohmann::json details; // an object: model, version, stage, tag, tag_oid, ... (caller's choice)
    std::string prev;       // hash of the previous event, "" for the first
    std::string hash;       // "sha256:<hex>" of canonical_event_text(*this)
};

// A problem found by verify(): the 1-based line number (0 when not tied to a line) and what is wrong.
struct AuditProblem {
    size_t line = 0;
    std::string message;
};

// The local append-only, hash-chained event log of one project: mlo_dir/audit/log.jsonl, with
// mlo_dir/audit/head naming its last appended event and mlo_dir/audit/lock serialising writers.
class AuditLog {
  public:
    // The log of the project whose store directory is `mlo_dir` (files under mlo_dir/"audit"/).
    // Touches nothing on disk until append().
    explicit AuditLog(fs::path mlo_dir);

    // Appends one event under an exclusive flock on audit/lock (blocks while another writer appends):
    // chains it to the last line, writes it with O_APPEND, fsyncs, then records the new head atomically.
    // Drops an unterminated last line (left by a killed append) first. Refuses with ErrorCode::failure,
    // hint "run mlo audit verify", when the existing tail does not verify against the head file;
    // ErrorCode::input for an empty action or actor, or details that are neither an object nor null.
    Result<AuditEvent> append(const std::string& action, const std::string& actor,
                              const nlohmann::json& details);

    // Every event in order (none when there is no log); an unterminated last line, which only a killed
    // append can leave, is not an event. Malformed lines are ErrorCode::input naming each line number.
    // Does not check the chain: that is verify()'s job.
    Result<std::vector<AuditEvent>> read() const;

    // Checks the whole chain and reports every problem (an empty list means the log is intact): malformed
    // lines, hash mismatches (a line edited), prev mismatches (a line deleted, reordered or inserted),
    // non-consecutive seq, and disagreement with audit/head ("<seq> <hash>\n" of the last appended event):
    // a head beyond the log's end or naming a different hash means lines were truncated or rewritten.
    // Lines after the head that chain correctly are fine (a process killed before updating the head). An
    // absent log with no head is valid and empty; a head without a log is a problem (log deleted).
    // Errors only when the files cannot be read.
    Result<std::vector<AuditProblem>> verify() const;

    fs::path log_path() const;  // mlo_dir/audit/log.jsonl
    fs::path head_path() const; // mlo_dir/audit/head

  private:
    fs::path audit_dir() const;
    fs::path m_mlo_dir;
};

// The canonical text hashed for an event: JSON with sorted keys, no whitespace, every field but "hash".
// Never throws: invalid UTF-8 in details is replaced by U+FFFD (append() rejects such details anyway).
std::string canonical_event_text(const AuditEvent& event);

} // namespace mlo::registry
