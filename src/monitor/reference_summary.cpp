// The stored reference summary: a small binary format of our own (the arrays are megabytes of
// doubles; text would cost more to parse than reading the CSV again).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/monitor/reference_summary.hpp>
#include <mlo/util/file_io.hpp>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace mlo::monitor {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_magic = "mlo-reference-summary\n";
constexpr uint32_t k_version = 1;

// A 64-bit checksum of the payload against torn or damaged files (the file is our own cache, not a
// trust boundary): four independent multiply-xor lanes over 8-byte words, a few GB/s. Fed in
// pieces of any size, it gives what one pass over the whole would.
class Checksum {
  public:
    void update(const char* data, size_t size) {
        m_total += size;
        while (size > 0) {
            if (m_carried == 0 && size >= 32) {
                size_t whole = size / 32 * 32;
                groups(data, whole);
                data += whole;
                size -= whole;
                continue;
            }
            size_t take = std::min(size, 32 - m_carried);
            std::memcpy(m_carry + m_carried, data, take);
            m_carried += take;
            data += take;
            size -= take;
            if (m_carried == 32) {
                groups(m_carry, 32);
                m_carried = 0;
            }
        }
    }
    uint64_t value() const {
        uint64_t sum = m_total;
        for (size_t i = 0; i < m_carried; ++i)
            sum = (sum ^ static_cast<unsigned char>(m_carry[i])) * k_multiplier;
        for (uint64_t lane : m_lanes)
            sum = (sum ^ lane) * k_multiplier;
        return sum ^ (sum >> 29);
    }

  private:
    static constexpr uint64_t k_multiplier = 0x9E3779B97F4A7C15;
    void groups(const char* data, size_t size) {
        for (size_t i = 0; i < size; i += 32)
            for (size_t lane = 0; lane < 4; ++lane) {
                uint64_t word = 0;
                std::memcpy(&word, data + i + 8 * lane, 8);
                m_lanes[lane] = (m_lanes[lane] ^ word) * k_multiplier;
            }
    }
    uint64_t m_lanes[4] = {1, 2, 3, 4};
    char m_carry[32] = {};
    size_t m_carried = 0;
    uint64_t m_total = 0;
};

uint64_t checksum(std::string_view bytes) {
    Checksum sum;
    sum.update(bytes.data(), bytes.size());
    return sum.value();
}

// The header: the magic text with its length, the version, the payload's size and checksum.
constexpr size_t k_header_size = 8 + k_magic.size() + 3 * 8;

// Writes the payload into a sink (`void put(const char*, size_t)`), checksumming as it goes.
template <typename Sink> class Writer {
  public:
    explicit Writer(Sink& sink) : m_sink(sink) {}
    void u8(uint8_t value) { raw(&value, 1); }
    void u64(uint64_t value) { raw(&value, sizeof value); }
    void f64(double value) { raw(&value, sizeof value); }
    void text(std::string_view value) {
        u64(value.size());
        raw(value.data(), value.size());
    }
    template <typename T> void array(const std::vector<T>& values) {
        u64(values.size());
        raw(values.data(), values.size() * sizeof(T));
    }
    uint64_t size() const { return m_size; }
    uint64_t checksum() const { return m_checksum.value(); }

  private:
    void raw(const void* data, size_t size) {
        if (size == 0)
            return; // an empty array's data() may be null, which memcpy must not see
        m_checksum.update(static_cast<const char*>(data), size);
        m_sink.put(static_cast<const char*>(data), size);
        m_size += size;
    }
    Sink& m_sink;
    Checksum m_checksum;
    uint64_t m_size = 0;
};

std::string header_bytes(uint64_t payload_size, uint64_t payload_checksum) {
    std::string header;
    auto put_u64 = [&](uint64_t value) {
        header.append(reinterpret_cast<const char*>(&value), sizeof value);
    };
    put_u64(k_magic.size());
    header.append(k_magic);
    put_u64(k_version);
    put_u64(payload_size);
    put_u64(payload_checksum);
    return header;
}

// Buffers writes to a file descriptor in 1 MiB pieces; arrays of megabytes go straight through.
class FileSink {
  public:
    explicit FileSink(int fd) : m_fd(fd) { m_buffer.reserve(k_buffer); }
    void put(const char* data, size_t size) {
        if (m_buffer.size() + size > k_buffer)
            flush();
        if (size >= k_buffer)
            write_out(data, size);
        else
            m_buffer.append(data, size);
    }
    bool finish() {
        flush();
        return m_ok;
    }

  private:
    static constexpr size_t k_buffer = 1 << 20;
    void flush() {
        write_out(m_buffer.data(), m_buffer.size());
        m_buffer.clear();
    }
    void write_out(const char* data, size_t size) {
        while (m_ok && size > 0) {
            ssize_t n = ::write(m_fd, data, size);
            if (n < 0 && errno == EINTR)
                continue;
            m_ok = n > 0;
            data += n > 0 ? n : 0;
            size -= n > 0 ? static_cast<size_t>(n) : 0;
        }
    }
    int m_fd;
    std::string m_buffer;
    bool m_ok = true;
};

// Every read is bounds-checked; the first failure makes the reader fail for good.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : m_bytes(bytes) {}
    bool ok() const { return m_ok; }
    bool done() const { return m_ok && m_pos == m_bytes.size(); }
    uint8_t u8() {
        uint8_t value = 0;
        raw(&value, 1);
        return value;
    }
    uint64_t u64() {
        uint64_t value = 0;
        raw(&value, sizeof value);
        return value;
    }
    double f64() {
        double value = 0;
        raw(&value, sizeof value);
        return value;
    }
    std::string text() {
        uint64_t size = u64();
        if (!fits(size))
            return {};
        std::string value(m_bytes.substr(m_pos, size));
        m_pos += size;
        return value;
    }
    template <typename T> void array(std::vector<T>& values) {
        uint64_t count = u64();
        if (count > m_bytes.size() / sizeof(T) || !fits(count * sizeof(T)))
            return;
        values.resize(count);
        raw(values.data(), count * sizeof(T));
    }

  private:
    bool fits(uint64_t size) {
        m_ok = m_ok && size <= m_bytes.size() - m_pos;
        return m_ok;
    }
    void raw(void* out, size_t size) {
        if (!fits(size) || size == 0)
            return; // an empty array's data() may be null, which memcpy must not see
        std::memcpy(out, m_bytes.data() + m_pos, size);
        m_pos += size;
    }
    std::string_view m_bytes;
    size_t m_pos = 0;
    bool m_ok = true;
};

template <typename Sink> void write_performance(Writer<Sink>& out, const PerformanceData& data) {
    out.u64(data.rows);
    out.u64(data.confusion.pairs.size());
    for (const auto& [pair, count] : data.confusion.pairs) {
        out.text(pair.first);
        out.text(pair.second);
        out.u64(count);
    }
    out.u64(data.confusion.total);
    const auto& r = data.regression;
    out.u64(r.count);
    for (double value : {r.absolute, r.squared, r.percentage, r.true_mean, r.true_m2})
        out.f64(value);
    out.u64(data.roc_truth.size());
    for (const auto& label : data.roc_truth)
        out.text(label);
    out.array(data.roc_scores);
}

void read_performance(Reader& in, PerformanceData& data) {
    data = PerformanceData{};
    data.rows = in.u64();
    uint64_t pairs = in.u64();
    for (uint64_t i = 0; i < pairs && in.ok(); ++i) {
        std::string truth = in.text();
        std::string predicted = in.text();
        data.confusion.pairs[{std::move(truth), std::move(predicted)}] = in.u64();
    }
    data.confusion.total = in.u64();
    auto& r = data.regression;
    r.count = in.u64();
    for (double* value : {&r.absolute, &r.squared, &r.percentage, &r.true_mean, &r.true_m2})
        *value = in.f64();
    uint64_t labels = in.u64();
    for (uint64_t i = 0; i < labels && in.ok(); ++i)
        data.roc_truth.push_back(in.text());
    in.array(data.roc_scores);
}

int64_t nanoseconds(const struct timespec& time) {
    return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

} // namespace

std::string reference_summary_key(const fs::path& reference, std::string_view settings) {
    struct stat st {};
    std::error_code ec;
    fs::path absolute = fs::absolute(reference, ec);
    if (ec || ::stat(absolute.c_str(), &st) != 0)
        return {};
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    constexpr int64_t k_racy_window_ns = 2'000'000'000;
    int64_t modified = std::max(nanoseconds(st.st_mtim), nanoseconds(st.st_ctim));
    if (now - modified < k_racy_window_ns)
        return {};
    std::string identity =
        fmt::format("v{}\n{}\n{} {} {} {} {}\n", k_version, absolute.string(), st.st_dev, st.st_ino,
                    st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim));
    identity.append(settings);
    return hash::sha256_of(identity).hex();
}

namespace {

template <typename Sink>
void write_payload(Writer<Sink>& out, const ReferenceSummary& summary,
                   const std::vector<ColumnState>& columns) {
    out.u64(summary.rows);
    write_performance(out, summary.performance);
    out.u64(columns.size());
    for (const auto& column : columns) {
        out.text(column.name);
        out.u8(column.kind == ColumnKind::numeric ? 0 : 1);
        const auto& numeric = column.reference_numeric;
        out.u64(numeric.count);
        out.u64(numeric.missing);
        out.f64(numeric.standard_deviation);
        out.array(numeric.display_edges);
        out.array(numeric.distinct);
        out.array(numeric.cumulative);
        const auto& categories = column.reference_categories;
        out.u64(categories.total);
        out.u64(categories.missing);
        out.u8(categories.overflow ? 1 : 0);
        out.u64(categories.counts.size());
        for (const auto& [value, count] : categories.counts) {
            out.text(value);
            out.u64(count);
        }
    }
}

} // namespace

bool decode_reference_summary(std::string_view bytes, ReferenceSummary& summary,
                              std::vector<ColumnState>& columns) {
    Reader header(bytes);
    if (header.text() != k_magic || header.u64() != k_version)
        return false;
    uint64_t size = header.u64();
    uint64_t expected = header.u64();
    size_t payload_start = k_header_size;
    if (!header.ok() || size != bytes.size() - payload_start)
        return false;
    std::string_view payload = bytes.substr(payload_start);
    if (checksum(payload) != expected)
        return false;
    Reader in(payload);
    ReferenceSummary loaded;
    loaded.rows = in.u64();
    read_performance(in, loaded.performance);
    if (in.u64() != columns.size())
        return false;
    std::vector<ColumnState> decoded(columns.size());
    for (size_t c = 0; c < columns.size() && in.ok(); ++c) {
        auto& column = decoded[c];
        if (in.text() != columns[c].name)
            return false;
        column.kind = in.u8() == 0 ? ColumnKind::numeric : ColumnKind::categorical;
        auto& numeric = column.reference_numeric;
        numeric.count = in.u64();
        numeric.missing = in.u64();
        numeric.standard_deviation = in.f64();
        in.array(numeric.display_edges);
        in.array(numeric.distinct);
        in.array(numeric.cumulative);
        auto& categories = column.reference_categories;
        categories.total = in.u64();
        categories.missing = in.u64();
        categories.overflow = in.u8() != 0;
        uint64_t values = in.u64();
        for (uint64_t i = 0; i < values && in.ok(); ++i) {
            std::string value = in.text();
            categories.counts[std::move(value)] = in.u64();
        }
        if (numeric.distinct.size() != numeric.cumulative.size() ||
            (column.kind == ColumnKind::numeric && numeric.display_edges.size() < 2))
            return false;
    }
    if (!in.done())
        return false;
    summary = std::move(loaded);
    for (size_t c = 0; c < columns.size(); ++c) {
        columns[c].kind = decoded[c].kind;
        columns[c].reference_numeric = std::move(decoded[c].reference_numeric);
        columns[c].reference_categories = std::move(decoded[c].reference_categories);
    }
    return true;
}

fs::path reference_summary_path(const fs::path& dir, const std::string& key) {
    return dir / ("reference-" + key + ".bin");
}

void store_reference_summary(const fs::path& dir, const std::string& key, const ReferenceSummary& summary,
                             const std::vector<ColumnState>& columns) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return;
    // Streamed into a temporary file renamed into place: a reader sees a whole summary or none,
    // and memory does not hold a copy of it. Not synced: a summary torn by a crash fails its
    // checksum and is rebuilt, and a sync of megabytes would cost the check more than it saves.
    fs::path target = reference_summary_path(dir, key);
    fs::path temporary = target;
    temporary += fmt::format(".tmp.{}", ::getpid());
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    FileSink sink(fd);
    std::string placeholder(k_header_size, '\0');
    sink.put(placeholder.data(), placeholder.size());
    Writer writer(sink);
    write_payload(writer, summary, columns);
    std::string header = header_bytes(writer.size(), writer.checksum());
    bool written =
        sink.finish() && ::pwrite(fd, header.data(), header.size(), 0) == static_cast<ssize_t>(header.size());
    written = ::close(fd) == 0 && written;
    if (!written || ::rename(temporary.c_str(), target.c_str()) != 0) {
        fs::remove(temporary, ec);
        return;
    }
    // Keep the most recently written few: a reference that changed leaves its old summary behind.
    std::vector<std::pair<fs::file_time_type, fs::path>> summaries;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with("reference-") && name.ends_with(".bin"))
            summaries.emplace_back(entry.last_write_time(ec), entry.path());
    }
    if (summaries.size() <= k_kept_summaries)
        return;
    std::sort(summaries.begin(), summaries.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = k_kept_summaries; i < summaries.size(); ++i)
        fs::remove(summaries[i].second, ec);
}

} // namespace mlo::monitor
