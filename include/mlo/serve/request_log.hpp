#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mlo/util/error.hpp>
#include <mlo/util/file_io.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace mlo::serve {

// One served request as the prediction log records it.
struct RequestRecord {
    std::string request_id; // also returned to the client in a header
    int64_t time_ns = 0;    // UTC nanoseconds since the epoch; 0 means "now" when written
    std::string model, version, protocol;
    int status = 200;
    double latency_seconds = 0;
    nlohmann::json inputs;  // columns {name: [values]}
    nlohmann::json outputs; // columns, null on error
    // On failure: the server's own message. It must never quote input values (say "field 'x' is
    // not a number", not "'john@x.com' is not a number"); see RequestLog::write for the safety net.
    std::string error;
};

// Loads the per-project secret that keys pii_hash, creating it if absent: 32 bytes from OpenSSL's
// RAND_bytes as 64 lowercase hex characters in <mlo_dir>/secrets/pii.key (directory 0700, file 0600
// from its creation, published with link() so two servers starting at once agree on one key).
// `mlo_dir` must exist; it is git-ignored, so the key never reaches the repository. Refuses
// (precondition) a key file that group or others may read, as ssh does, and a malformed one
// (input). The key is never printed or put into an error message.
Result<std::string> load_or_create_pii_key(const std::filesystem::path& mlo_dir);

// "hmac-sha256:<64 hex>" of the value's canonical text (a string as-is, any other JSON value as
// dump()ed, so "42" and 42 hash equal but 42 and 42.0 do not), keyed with the key's bytes as given.
// With the key file's text this equals `printf %s VALUE | openssl dgst -sha256 -hmac KEY`, so a
// label file can be joined to the log by hashing its ids the same way.
std::string pii_hash(const std::string& key, const nlohmann::json& value);

struct RequestLogOptions {
    std::filesystem::path path;       // e.g. .mlo/serve/<model>/requests.jsonl
    uint64_t max_bytes = 64ull << 20; // rotate before a line would take the file past this
    unsigned keep_files = 5;          // requests.jsonl.1 (newest) ... .N; older ones are dropped
    std::set<std::string> pii_fields; // input and output fields logged only as pii_hash
    std::string pii_key;              // required when pii_fields is not empty
};

// The append-only JSON-lines prediction log that `mlo monitor` reads. One server process owns a
// log file; its threads may write concurrently.
class RequestLog {
  public:
    // Creates the parent directories and opens the file for appending (mode 0640: it holds customer
    // inputs). A last line left unterminated by a killed writer is terminated first, so the next
    // record starts on its own line. Fails (usage) when pii_fields are given without a key.
    static Result<std::unique_ptr<RequestLog>> open(RequestLogOptions options);
    RequestLog(const RequestLog&) = delete;
    RequestLog& operator=(const RequestLog&) = delete;
    ~RequestLog() = default;

    // Appends one line {"request_id","time" (RFC 3339 UTC, ms),"time_ns","model","version",
    // "protocol","status","latency_ms","inputs","outputs","error" (only when not empty)}.
    // PII fields (any object member so named, in inputs or outputs, at any depth) are replaced value
    // by value with pii_hash; arrays keep their shape and nulls stay null, so missing-value rates
    // can still be monitored. As a safety net, the clear text of a PII value (3 characters or
    // longer) that appears in `error` is replaced by its hash too.
    // Thread-safe. A line is handed to the kernel in one write() on an O_APPEND descriptor, so lines
    // never interleave; a process killed mid-write may leave one partial last line, which
    // read_request_log skips. A failed write is truncated away. Rotation happens under the same lock.
    Status write(const RequestRecord& record);
    // The same with the PII fields of the version that answered instead of options.pii_fields (a
    // server holding two versions hashes each one's own fields). Refuses (usage), writing nothing,
    // when there are PII fields but the log was opened without a key.
    Status write(const RequestRecord& record, const std::set<std::string>& pii_fields);

    // fdatasync: the lines written so far survive a power loss. Blocks on the disk.
    Status flush();

    const std::filesystem::path& path() const { return m_options.path; }

  private:
    explicit RequestLog(RequestLogOptions options) : m_options(std::move(options)) {}
    Status open_file();
    Status rotate();

    RequestLogOptions m_options;
    std::mutex m_mutex;
    util::UniqueFd m_fd;
    uint64_t m_size = 0; // bytes in the current file, tracked so a write needs no fstat
};

// Serialises a record as the line write() appends (without PII handling and without the newline).
std::string request_record_json(const RequestRecord& record);

// What read_request_log found.
struct RequestLogContents {
    std::vector<RequestRecord> records; // oldest first
    size_t partial_lines = 0;           // unterminated last lines: a killed writer, or one still writing
    size_t bad_lines = 0;               // complete lines that are not a valid record
};

// Reads the log at `path`, preceded by its rotated files (.N down to .1) when `with_rotated`.
// Missing files are not an error. Unreadable files are.
Result<RequestLogContents> read_request_log(const std::filesystem::path& path, bool with_rotated = true);

} // namespace mlo::serve
