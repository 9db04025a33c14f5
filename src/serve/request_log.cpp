// The prediction log: one JSON line per served request, read back by `mlo monitor`.
//
// Why one write() per line. Requests finish on many threads. Each line is built completely in
// memory first, then handed to the kernel in a single write() on an O_APPEND descriptor while a
// mutex is held: threads can never interleave bytes inside a line, and the kernel places each
// append at the end of the file atomically, so even a second process appending (say an operator's
// `mlo serve` started twice by mistake) cannot split a line on a local filesystem. The only damage a
// crash can do is cut the last line short: a killed process (or a power loss) may leave a partial
// last line, never a partial line in the middle. The reader skips an unterminated last line, and
// open() terminates one before appending, so the next record does not get glued to it. A write that
// fails half-way (ENOSPC) is truncated away.
//
// Why HMAC and not a plain hash for PII. Personal fields are usually low-entropy (emails, phone
// numbers, names, birth dates): anyone holding the log could hash every phone number in a country
// in minutes and reverse a plain SHA-256 by lookup. Keying the hash with a per-project secret that
// stays in .mlo/secrets/ (git-ignored, 0600) makes that dictionary attack useless without the key,
// while equal values still hash equal, so drift statistics, distinct counts and joins on a hashed id
// keep working. The key is hashed as its hex text, so `openssl dgst -sha256 -hmac "$(cat
// .mlo/secrets/pii.key)"` reproduces any value's hash by hand.
//
// Rotation renames requests.jsonl to .1 after shifting .1 to .2 and so on (the rename onto .N drops
// the oldest), under the same mutex as write(), then opens a fresh file. Readers that opened the old
// file keep reading it intact; `read_request_log` reads .N ... .1 then the live file, oldest first.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <mlo/serve/request_log.hpp>
#include <mlo/util/clock.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <optional>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t k_key_bytes = 32;
constexpr size_t k_min_scrubbed_length = 3; // shorter values would mangle ordinary error text

std::string to_hex(const unsigned char* bytes, size_t size) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (size_t i = 0; i < size; ++i) {
        out += k_digits[bytes[i] >> 4];
        out += k_digits[bytes[i] & 0xf];
    }
    return out;
}

std::string dump(const json& value) {
    // Client strings may hold invalid UTF-8; replace it instead of throwing.
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string canonical_text(const json& value) {
    return value.is_string() ? value.get_ref<const std::string&>() : dump(value);
}

std::string format_time(int64_t time_ns) {
    int64_t seconds = time_ns / 1'000'000'000;
    int64_t rest = time_ns % 1'000'000'000;
    if (rest < 0) { // floor division for times before 1970
        rest += 1'000'000'000;
        --seconds;
    }
    auto time = static_cast<time_t>(seconds);
    std::tm utc{};
    gmtime_r(&time, &utc);
    char buffer[128]; // room for any int, which g++ cannot rule out
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(rest / 1'000'000));
    return buffer;
}

// --- the PII key ---

fs::path pii_key_path(const fs::path& mlo_dir) {
    return mlo_dir / "secrets" / "pii.key";
}

Status make_private_directory(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0) {
        int error = errno;
        std::error_code ec;
        if (error == EEXIST && fs::is_directory(dir, ec))
            return {};
        return fail(system_error("cannot create directory " + dir.string(), error));
    }
    if (::chmod(dir.c_str(), 0700) != 0) // the umask may have taken bits mkdir asked for
        return fail(system_error("cannot chmod " + dir.string(), errno));
    return {};
}

bool is_key_text(std::string_view text) {
    return text.size() == 2 * k_key_bytes && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// The key in `path`, nullopt if there is no such file. Messages never include the file's content.
Result<std::optional<std::string>> read_key(const fs::path& path) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return std::optional<std::string>();
        return fail(system_error("cannot read the PII key " + path.string(), errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return fail(system_error("cannot stat the PII key " + path.string(), errno));
    if (!S_ISREG(info.st_mode))
        return fail(ErrorCode::input, "the PII key " + path.string() + " is not a regular file");
    if ((info.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        return fail(ErrorCode::precondition,
                    "the PII key " + path.string() + " may be read by other users (mode " + mode + ")",
                    "run `chmod 600 " + path.string() +
                        "`; if others may have read it, the hashed fields in existing logs are exposed");
    }
    char buffer[256];
    ssize_t n;
    do
        n = ::read(fd.get(), buffer, sizeof buffer);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(system_error("cannot read the PII key " + path.string(), errno));
    std::string text(buffer, static_cast<size_t>(n));
    OPENSSL_cleanse(buffer, sizeof buffer);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    if (!is_key_text(text)) {
        OPENSSL_cleanse(text.data(), text.size());
        return fail(ErrorCode::input,
                    "the PII key " + path.string() + " is malformed (expected 64 hex digits)",
                    "deleting it makes mlo create a new key, but values logged before will no longer hash "
                    "the same");
    }
    return std::optional<std::string>(std::move(text));
}

// Creates `path` holding a fresh key: 0600 from its first byte, complete before it has its name.
// Returns false (and leaves the file alone) when another process created it first.
Result<bool> create_key(const fs::path& path) {
    std::array<unsigned char, k_key_bytes> secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
        return fail(ErrorCode::internal, "cannot create the PII key: OpenSSL's random generator failed");
    std::string text = to_hex(secret.data(), secret.size()) + "\n";
    OPENSSL_cleanse(secret.data(), secret.size());
    auto wipe = [&] { OPENSSL_cleanse(text.data(), text.size()); };

    // Two servers starting at once: the first key wins, the second reads it.
    auto created = util::write_new_private_file(path, text);
    wipe();
    return created;
}

// --- PII redaction ---

// Replaces every non-null leaf of `value` with its hash, keeping array shapes; collects the clear
// texts for the error-message safety net.
void hash_leaves(json& value, const std::string& key, std::vector<std::string>& clear) {
    if (value.is_array()) {
        for (auto& element : value)
            hash_leaves(element, key, clear);
        return;
    }
    if (value.is_null())
        return;
    clear.push_back(canonical_text(value));
    value = pii_hash(key, value);
}

// Hashes the value of every object member named in `fields`, at any depth: columns
// ({"email": [...]}), records ([{"email": ...}]) and nested payloads are all covered. A member of a
// non-PII object that happens to share a PII field's name is hashed too, which errs on the safe side.
void redact(json& node, const std::set<std::string>& fields, const std::string& key,
            std::vector<std::string>& clear) {
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (fields.count(it.key()) != 0)
                hash_leaves(it.value(), key, clear);
            else
                redact(it.value(), fields, key, clear);
        }
    } else if (node.is_array()) {
        for (auto& element : node)
            redact(element, fields, key, clear);
    }
}

std::string scrub(std::string text, std::vector<std::string> clear, const std::string& key) {
    // Longest first, so a value containing a shorter one is replaced whole.
    std::sort(clear.begin(), clear.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    clear.erase(std::unique(clear.begin(), clear.end()), clear.end());
    for (const auto& value : clear) {
        if (value.size() < k_min_scrubbed_length)
            continue;
        std::string hashed;
        for (size_t at = text.find(value); at != std::string::npos;
             at = text.find(value, at + hashed.size())) {
            if (hashed.empty())
                hashed = pii_hash(key, json(value));
            text.replace(at, value.size(), hashed);
        }
    }
    return text;
}

std::string record_line(const RequestRecord& record, const json& inputs, const json& outputs,
                        const std::string& error) {
    int64_t time_ns = record.time_ns != 0 ? record.time_ns : util::unix_time_ns();
    std::string line;
    line.reserve(256);
    line += "{\"request_id\":" + dump(json(record.request_id));
    line += ",\"time\":\"" + format_time(time_ns) + "\"";
    line += ",\"time_ns\":" + std::to_string(time_ns);
    line += ",\"model\":" + dump(json(record.model));
    line += ",\"version\":" + dump(json(record.version));
    line += ",\"protocol\":" + dump(json(record.protocol));
    line += ",\"status\":" + std::to_string(record.status);
    line += ",\"latency_ms\":" + dump(json(record.latency_seconds * 1000.0));
    line += ",\"inputs\":" + dump(inputs);
    line += ",\"outputs\":" + dump(outputs);
    if (!error.empty())
        line += ",\"error\":" + dump(json(error));
    line += '}';
    return line;
}

// --- reading ---

std::optional<RequestRecord> parse_record(std::string_view line) {
    json value = json::parse(line, nullptr, false);
    if (value.is_discarded() || !value.is_object())
        return std::nullopt;
    auto string_field = [&](const char* name, std::string& out) {
        auto it = value.find(name);
        if (it == value.end() || !it->is_string())
            return false;
        out = it->get<std::string>();
        return true;
    };
    RequestRecord record;
    if (!string_field("request_id", record.request_id) || !string_field("model", record.model) ||
        !string_field("version", record.version) || !string_field("protocol", record.protocol))
        return std::nullopt;
    auto time_ns = value.find("time_ns");
    auto status = value.find("status");
    auto latency = value.find("latency_ms");
    if (time_ns == value.end() || !time_ns->is_number_integer() || status == value.end() ||
        !status->is_number_integer() || latency == value.end() || !latency->is_number())
        return std::nullopt;
    record.time_ns = time_ns->get<int64_t>();
    record.status = status->get<int>();
    record.latency_seconds = latency->get<double>() / 1000.0;
    if (auto it = value.find("inputs"); it != value.end())
        record.inputs = std::move(*it);
    if (auto it = value.find("outputs"); it != value.end())
        record.outputs = std::move(*it);
    if (auto it = value.find("error"); it != value.end()) {
        if (!it->is_string())
            return std::nullopt;
        record.error = it->get<std::string>();
    }
    return record;
}

fs::path rotated_path(const fs::path& path, unsigned index) {
    fs::path out = path;
    out += "." + std::to_string(index);
    return out;
}

} // namespace

Result<std::string> load_or_create_pii_key(const fs::path& mlo_dir) {
    fs::path path = pii_key_path(mlo_dir);
    MLO_TRY(make_private_directory(path.parent_path()));
    // Two rounds: if another process wins the creation race, the second read finds its key.
    for (int round = 0; round < 2; ++round) {
        auto existing = read_key(path);
        if (!existing)
            return fail(std::move(existing).error());
        if (*existing)
            return std::move(**existing);
        auto created = create_key(path);
        if (!created)
            return fail(std::move(created).error());
    }
    auto existing = read_key(path);
    if (!existing)
        return fail(std::move(existing).error());
    if (!*existing)
        return fail(ErrorCode::internal, "the PII key " + path.string() + " vanished while being created");
    return std::move(**existing);
}

std::string pii_hash(const std::string& key, const json& value) {
    std::string text = canonical_text(value);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    // HMAC() with an empty key still works; the pointer must merely be valid.
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &length);
    return "hmac-sha256:" + to_hex(digest, length);
}

std::string request_record_json(const RequestRecord& record) {
    return record_line(record, record.inputs, record.outputs, record.error);
}

Result<std::unique_ptr<RequestLog>> RequestLog::open(RequestLogOptions options) {
    if (options.path.empty())
        return fail(ErrorCode::usage, "the request log needs a path");
    if (!options.pii_fields.empty() && options.pii_key.empty())
        return fail(ErrorCode::usage, "the request log has PII fields but no key to hash them with",
                    "load one with load_or_create_pii_key");
    std::unique_ptr<RequestLog> log(new RequestLog(std::move(options)));
    fs::path parent = log->m_options.path.parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        fs::create_directories(parent, ec);
        if (ec)
            return fail(system_error("cannot create directory " + parent.string(), ec.value()));
    }
    MLO_TRY(log->open_file());
    return log;
}

Status RequestLog::open_file() {
    const fs::path& path = m_options.path;
    // O_RDWR only so that open() can look at the last byte; every write goes to the end (O_APPEND).
    util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!fd)
        return fail(system_error("cannot open the request log " + path.string(), errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return fail(system_error("cannot stat " + path.string(), errno));
    auto size = static_cast<uint64_t>(info.st_size);
    if (size > 0) {
        char last = 0;
        if (::pread(fd.get(), &last, 1, static_cast<off_t>(size - 1)) != 1)
            return fail(system_error("cannot read " + path.string(), errno));
        if (last != '\n') { // a writer was killed mid-line: end that line, keep it for inspection
            MLO_TRY(util::write_all(fd.get(), "\n", path));
            ++size;
        }
    }
    m_fd = std::move(fd);
    m_size = size;
    return {};
}

Status RequestLog::rotate() {
    const fs::path& path = m_options.path;
    m_fd = util::UniqueFd();
    if (m_options.keep_files == 0) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            return fail(system_error("cannot remove " + path.string(), errno));
    } else {
        for (unsigned i = m_options.keep_files - 1; i >= 1; --i) {
            fs::path from = rotated_path(path, i);
            if (::rename(from.c_str(), rotated_path(path, i + 1).c_str()) != 0 && errno != ENOENT)
                return fail(system_error("cannot rotate " + from.string(), errno));
        }
        if (::rename(path.c_str(), rotated_path(path, 1).c_str()) != 0 && errno != ENOENT)
            return fail(system_error("cannot rotate " + path.string(), errno));
    }
    MLO_TRY(util::fsync_directory(path.parent_path()));
    return open_file();
}

Status RequestLog::write(const RequestRecord& record) {
    return write(record, m_options.pii_fields);
}

Status RequestLog::write(const RequestRecord& record, const std::set<std::string>& pii_fields) {
    if (!pii_fields.empty() && m_options.pii_key.empty())
        return fail(ErrorCode::usage, "the request log has PII fields but no key to hash them with");
    // Build the line before taking the lock: serialising is the expensive part.
    std::string line;
    if (pii_fields.empty()) {
        line = record_line(record, record.inputs, record.outputs, record.error);
    } else {
        json inputs = record.inputs;
        json outputs = record.outputs;
        std::vector<std::string> clear;
        redact(inputs, pii_fields, m_options.pii_key, clear);
        redact(outputs, pii_fields, m_options.pii_key, clear);
        std::string error =
            clear.empty() ? record.error : scrub(record.error, std::move(clear), m_options.pii_key);
        line = record_line(record, inputs, outputs, error);
    }
    line += '\n';

    std::lock_guard lock(m_mutex);
    const fs::path& path = m_options.path;
    if (!m_fd) // a failed rotation closed it; try again
        MLO_TRY(open_file());
    if (m_size > 0 && m_size + line.size() > m_options.max_bytes)
        MLO_TRY_CTX(rotate(), "rotating the request log");
    size_t done = 0;
    while (done < line.size()) {
        // Normally one call writes the whole line; a short write (a full disk) is continued under
        // the lock, and a failure is rolled back below.
        ssize_t n = ::write(m_fd.get(), line.data() + done, line.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            Error error = system_error("cannot write the request log " + path.string(), errno);
            if (done > 0 && ::ftruncate(m_fd.get(), static_cast<off_t>(m_size)) != 0)
                error.message += " (a partial line remains)";
            return fail(std::move(error));
        }
        done += static_cast<size_t>(n);
    }
    m_size += line.size();
    return {};
}

Status RequestLog::flush() {
    std::lock_guard lock(m_mutex);
    if (m_fd && ::fdatasync(m_fd.get()) != 0)
        return fail(system_error("cannot sync the request log " + m_options.path.string(), errno));
    return {};
}

Result<RequestLogContents> read_request_log(const fs::path& path, bool with_rotated) {
    std::vector<fs::path> files;
    if (with_rotated) {
        std::error_code ec;
        for (unsigned i = 1; fs::exists(rotated_path(path, i), ec); ++i)
            files.push_back(rotated_path(path, i));
        std::reverse(files.begin(), files.end());
    }
    files.push_back(path);

    RequestLogContents out;
    for (const auto& file : files) {
        std::error_code ec;
        if (!fs::exists(file, ec))
            continue;
        auto text = util::read_file(file);
        if (!text)
            return fail(std::move(text).error());
        std::string_view rest(*text);
        while (!rest.empty()) {
            size_t end = rest.find('\n');
            if (end == std::string_view::npos) {
                ++out.partial_lines;
                break;
            }
            std::string_view line = rest.substr(0, end);
            rest.remove_prefix(end + 1);
            if (line.find_first_not_of(" \t\r") == std::string_view::npos)
                continue;
            if (auto record = parse_record(line))
                out.records.push_back(std::move(*record));
            else
                ++out.bad_lines;
        }
    }
    return out;
}

} // namespace mlo::serve
