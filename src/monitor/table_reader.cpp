// Streaming CSV and JSON-lines readers.
//
// The CSV reader keeps one buffer: it reads 1 MiB chunks after the unparsed tail of the previous
// one and cuts complete records out of it with a small state machine (outside a field, in an
// unquoted field, in a quoted field, just after a quote). A record that is still open at the end
// of the buffer stays for the next chunk, so a quoted field may span chunks and lines. Unquoted
// cells are views into the buffer; quoted cells with "" escapes are unescaped into per-row scratch
// strings. Memory is the chunk plus the longest record.
#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <atomic>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <memory>
#include <mlo/monitor/table_reader.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

namespace mlo::monitor {

namespace {

namespace fs = std::filesystem;

constexpr size_t k_chunk_bytes = 1 << 20;

Error input_error(const fs::path& path, uint64_t line, const std::string& what) {
    return Error{ErrorCode::input, path.string() + ": line " + std::to_string(line) + ": " + what, {}};
}

// One CSV record split into cells; `quoted` tells "" (empty string) from an empty cell (missing).
struct CsvRecord {
    std::vector<std::string_view> cells;
    std::vector<char> quoted;         // not vector<bool>: its push_back is a read-modify-write of bits
    std::vector<std::string> scratch; // unescaped text of quoted cells that held ""
    size_t scratch_used = 0;
    uint64_t line = 0;
};

// Bytes of `word` equal to the byte repeated in `pattern` get their high bit set; bits above the
// first match may be set too (a borrow), so only the lowest set bit is exact.
uint64_t bytes_equal(uint64_t word, uint64_t pattern) {
    uint64_t x = word ^ pattern;
    return (x - 0x0101010101010101) & ~x & 0x8080808080808080;
}

// The position of the first byte from `pos` that is one of `Specials`, or data.size(). Eight bytes
// a step (cells are mostly shorter than that, so this is one or two steps a cell), then byte by
// byte at the end of the data. string_view::find_first_of calls memchr once per character.
template <char... Specials> size_t find_first_of(std::string_view data, size_t pos) {
    static_assert(std::endian::native == std::endian::little, "the first match is the lowest byte");
    constexpr uint64_t k_ones = 0x0101010101010101;
    while (pos + 8 <= data.size()) {
        uint64_t word = 0;
        std::memcpy(&word, data.data() + pos, sizeof word);
        uint64_t found = (bytes_equal(word, k_ones * static_cast<unsigned char>(Specials)) | ...);
        if (found != 0)
            return pos + static_cast<size_t>(std::countr_zero(found)) / 8;
        pos += 8;
    }
    while (pos < data.size() && ((data[pos] != Specials) && ...))
        ++pos;
    return pos;
}

// The first comma, line end or quote from `pos`.
size_t find_special(std::string_view data, size_t pos) {
    return find_first_of<',', '\n', '\r', '"'>(data, pos);
}

// Parses the record starting at `data[pos]`. Returns the position after its line end, or npos when
// the record is not complete in `data` (and `at_end` is false). Sets `error` for malformed input.
size_t parse_record(std::string_view data, size_t pos, bool at_end, CsvRecord& record, uint64_t& line,
                    std::string& error) {
    record.cells.clear();
    record.quoted.clear();
    record.scratch_used = 0;
    record.line = line;
    uint64_t lines_inside = 0;
    size_t i = pos;
    while (true) {
        // At the start of a field.
        if (i < data.size() && data[i] == '"') {
            size_t start = ++i;
            bool has_escape = false;
            while (true) {
                size_t quote = data.find('"', i);
                if (quote == std::string_view::npos) {
                    if (!at_end)
                        return std::string_view::npos;
                    error = "a quoted field is never closed";
                    return std::string_view::npos;
                }
                if (quote + 1 < data.size() && data[quote + 1] == '"') {
                    has_escape = true;
                    i = quote + 2;
                    continue;
                }
                if (quote + 1 == data.size() && !at_end)
                    return std::string_view::npos; // cannot tell "" from a closing quote yet
                for (size_t k = start; k < quote; ++k)
                    lines_inside += data[k] == '\n' ? 1 : 0;
                std::string_view text = data.substr(start, quote - start);
                if (has_escape) {
                    if (record.scratch_used == record.scratch.size())
                        record.scratch.emplace_back();
                    std::string& out = record.scratch[record.scratch_used++];
                    out.clear();
                    for (size_t k = 0; k < text.size(); ++k) {
                        out.push_back(text[k]);
                        if (text[k] == '"')
                            ++k;
                    }
                    text = out;
                }
                record.cells.push_back(text);
                record.quoted.push_back(true);
                i = quote + 1;
                break;
            }
            if (i < data.size() && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
                error =
                    "unexpected text after a closing quote (a quote inside a quoted field is written \"\")";
                return std::string_view::npos;
            }
        } else {
            size_t end = find_special(data, i);
            if (end == data.size())
                end = std::string_view::npos;
            if (end == std::string_view::npos) {
                if (!at_end)
                    return std::string_view::npos;
                end = data.size();
            }
            if (end < data.size() && data[end] == '"') {
                error =
                    "a quote inside an unquoted field (quote the whole field and write the quote as \"\")";
                return std::string_view::npos;
            }
            record.cells.push_back(data.substr(i, end - i));
            record.quoted.push_back(false);
            i = end;
        }
        // After a field: a comma, a line end, or the end of the data.
        if (i == data.size()) {
            if (!at_end)
                return std::string_view::npos;
            line += 1 + lines_inside;
            return i;
        }
        if (data[i] == ',') {
            ++i;
            continue;
        }
        if (data[i] == '\r') {
            if (i + 1 == data.size() && !at_end)
                return std::string_view::npos;
            if (i + 1 < data.size() && data[i + 1] == '\n')
                ++i;
        }
        line += 1 + lines_inside;
        return i + 1;
    }
}

bool blank_record(const CsvRecord& record) {
    return record.cells.size() == 1 && !record.quoted[0] && record.cells[0].empty();
}

// Reads a CSV file record by record; `on_record` returns false to stop after the header.
Status scan_csv(const fs::path& path, const std::function<Status(const CsvRecord&, bool& stop)>& on_record) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(system_error("cannot open " + path.string(), errno));
    std::string buffer;
    size_t pos = 0;
    uint64_t line = 1;
    bool at_end = false, first = true;
    CsvRecord record;
    std::string error;
    while (true) {
        if (!at_end) {
            buffer.erase(0, pos);
            pos = 0;
            size_t old = buffer.size();
            buffer.resize(old + k_chunk_bytes);
            in.read(buffer.data() + old, static_cast<std::streamsize>(k_chunk_bytes));
            buffer.resize(old + static_cast<size_t>(in.gcount()));
            if (in.bad())
                return fail(system_error("reading " + path.string(), errno));
            at_end = in.eof();
            if (first && buffer.compare(0, 3, "\xEF\xBB\xBF") == 0)
                pos = 3;
            first = false;
        }
        std::string_view data(buffer);
        while (pos < data.size()) {
            uint64_t start_line = line;
            size_t next = parse_record(data, pos, at_end, record, line, error);
            if (!error.empty())
                return fail(input_error(path, start_line, error));
            if (next == std::string_view::npos)
                break;
            pos = next;
            if (blank_record(record))
                continue;
            bool stop = false;
            MLO_TRY(on_record(record, stop));
            if (stop)
                return {};
        }
        if (at_end)
            return {};
    }
}

Status read_header_csv(const fs::path& path, std::vector<std::string>& columns) {
    bool seen = false;
    MLO_TRY(scan_csv(path, [&](const CsvRecord& record, bool& stop) -> Status {
        for (auto cell : record.cells)
            columns.emplace_back(cell);
        seen = true;
        stop = true;
        return {};
    }));
    if (!seen)
        return fail(ErrorCode::input, path.string() + ": the file is empty",
                    "a CSV file starts with a header line naming its columns");
    std::unordered_map<std::string, size_t> seen_names;
    for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i].empty())
            return fail(ErrorCode::input,
                        path.string() + ": line 1: column " + std::to_string(i + 1) + " has no name");
        if (!seen_names.emplace(columns[i], i).second)
            return fail(ErrorCode::input,
                        path.string() + ": line 1: column '" + columns[i] + "' appears twice");
    }
    return {};
}

// A JSON scalar as cell text; objects and arrays are refused.
bool json_cell_text(const nlohmann::ordered_json& value, std::string& out, bool& missing) {
    missing = false;
    if (value.is_null()) {
        missing = true;
        out.clear();
    } else if (value.is_string()) {
        out = value.get_ref<const std::string&>();
    } else if (value.is_boolean()) {
        out = value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
        out = value.dump();
    } else {
        return false;
    }
    return true;
}

template <typename LineFn> Status scan_lines(const fs::path& path, LineFn on_line) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(system_error("cannot open " + path.string(), errno));
    std::string text;
    uint64_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r')
            text.pop_back();
        if (text.find_first_not_of(" \t") == std::string::npos)
            continue;
        bool stop = false;
        MLO_TRY(on_line(text, line, stop));
        if (stop)
            return {};
    }
    if (in.bad())
        return fail(system_error("reading " + path.string(), errno));
    return {};
}

Result<nlohmann::ordered_json> parse_object_line(const fs::path& path, const std::string& text,
                                                 uint64_t line) {
    nlohmann::ordered_json object = nlohmann::ordered_json::parse(text, nullptr, false);
    if (object.is_discarded())
        return fail(input_error(path, line, "not valid JSON"));
    if (!object.is_object())
        return fail(
            input_error(path, line, "not a JSON object (each line holds one row as {\"column\": value})"));
    return object;
}

} // namespace

Result<TableReader> TableReader::open(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        return fail(ErrorCode::input, path.string() + ": no such file");
    std::string extension = path.extension().string();
    TableFormat format =
        extension == ".jsonl" || extension == ".ndjson" ? TableFormat::json_lines : TableFormat::csv;
    std::vector<std::string> columns;
    if (format == TableFormat::csv) {
        MLO_TRY(read_header_csv(path, columns));
    } else {
        bool seen = false;
        MLO_TRY(scan_lines(path, [&](const std::string& text, uint64_t line, bool& stop) -> Status {
            auto object = parse_object_line(path, text, line);
            if (!object)
                return fail(std::move(object).error());
            for (const auto& item : object->items())
                columns.push_back(item.key());
            seen = stop = true;
            return {};
        }));
        if (!seen)
            return fail(ErrorCode::input, path.string() + ": the file is empty",
                        "a JSON-lines file holds one object per line: {\"column\": value, ...}");
    }
    return TableReader(path, format, std::move(columns));
}

Status TableReader::for_each_row(const std::vector<std::string>& wanted, const RowCallback& callback) const {
    return m_format == TableFormat::csv ? read_csv(wanted, callback) : read_json_lines(wanted, callback);
}

namespace {

// Bytes read from a file, grown without zero-filling: std::string::resize writes every new byte
// before the read overwrites it, a 1 MiB memset per block under the cutter's lock.
class ReadBuffer {
  public:
    std::string_view view() const { return {m_bytes.get(), m_size}; }
    // Makes room for `more` bytes after the current ones (their content undefined until written)
    // and returns where they start; commit() then sets how many were written.
    char* extend(size_t more) {
        if (m_size + more > m_capacity) {
            size_t capacity = std::max(m_size + more, m_capacity * 2);
            std::unique_ptr<char[]> bytes(new char[capacity]);
            if (m_size > 0)
                std::memcpy(bytes.get(), m_bytes.get(), m_size);
            m_bytes = std::move(bytes);
            m_capacity = capacity;
        }
        return m_bytes.get() + m_size;
    }
    void commit(size_t written) { m_size += written; }
    void assign(std::string_view bytes) {
        m_size = 0;
        if (bytes.empty())
            return; // a buffer never grown has no storage, which memcpy must not see
        std::memcpy(extend(bytes.size()), bytes.data(), bytes.size());
        m_size = bytes.size();
    }
    void truncate(size_t size) { m_size = std::min(m_size, size); }
    void erase_front(size_t count) {
        count = std::min(count, m_size);
        if (count == 0)
            return;
        std::memmove(m_bytes.get(), m_bytes.get() + count, m_size - count);
        m_size -= count;
    }
    void clear() { m_size = 0; }
    void swap(ReadBuffer& other) noexcept {
        std::swap(m_bytes, other.m_bytes);
        std::swap(m_size, other.m_size);
        std::swap(m_capacity, other.m_capacity);
    }

  private:
    std::unique_ptr<char[]> m_bytes;
    size_t m_size = 0, m_capacity = 0;
};

// A block of whole CSV records and the line its first record starts on.
struct CsvBlock {
    ReadBuffer data;
    uint64_t first_line = 0;
    bool quoted = false; // may hold a quote (the cutter looked, to find the cut)
};

// How many times `byte` occurs in `data`: sixteen bytes a step with SSE2 (every x86-64 has it).
// Each step's comparison gives -1 in every matching byte lane, subtracted into sixteen byte
// counters; every 255 steps (before a counter can wrap) the lanes are summed with psadbw. It runs
// under the consumers' lock on every block: a byte-by-byte loop cost about 20 ms a check, and a
// bit mask counted with std::popcount about as much again, since baseline x86-64 has no popcnt
// instruction and the count became a libgcc call per step.
size_t count_byte(std::string_view data, char byte) {
    size_t count = 0, i = 0;
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi8(byte);
    while (data.size() - i >= 16) {
        size_t steps = std::min<size_t>((data.size() - i) / 16, 255);
        __m128i lanes = _mm_setzero_si128();
        for (size_t k = 0; k < steps; ++k, i += 16) {
            __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data.data() + i));
            lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(chunk, wanted));
        }
        __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128()); // two 64-bit sums of 8 lanes
        count += static_cast<size_t>(_mm_cvtsi128_si64(sums)) +
                 static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
    }
#endif
    for (; i < data.size(); ++i)
        count += data[i] == byte ? 1 : 0;
    return count;
}

bool holds_byte(std::string_view data, char byte) {
    // An empty view's data() may be null, which memchr must not see.
    return !data.empty() && std::memchr(data.data(), byte, data.size()) != nullptr;
}

// The end of the last record that is complete in `data` (just after a line feed outside quotes),
// or 0 when there is none; `quoted`: whether `data` holds a quote. A quote count's parity tells
// inside from outside: an escaped quote ("") adds two. The block starts at a record boundary, so
// it starts outside quotes.
size_t last_record_end(std::string_view data, bool quoted) {
    if (!quoted) {
        // No quotes (most data files): the last line feed, found from the end.
        const void* line_feed = memrchr(data.data(), '\n', data.size());
        return line_feed == nullptr
                   ? 0
                   : static_cast<size_t>(static_cast<const char*>(line_feed) - data.data()) + 1;
    }
    size_t quotes = count_byte(data, '"');
    for (size_t p = data.size(); p-- > 0;) {
        if (data[p] == '"')
            --quotes;
        else if (data[p] == '\n' && quotes % 2 == 0)
            return p + 1;
    }
    return 0;
}

// Cuts a CSV file's data records (after the header) into blocks of whole records, about 1 MiB
// each, in file order. Not thread-safe: consumers take turns under a lock.
class BlockCutter {
  public:
    explicit BlockCutter(fs::path path) : m_path(std::move(path)), m_in(m_path, std::ios::binary) {}

    // The next block, or false at the end of the file. The block starts with what the previous
    // cut left over, and the file's next bytes are read straight into it: only the short remainder
    // after the new cut is copied (this runs under the consumers' lock, so it is kept short).
    Result<bool> next(CsvBlock& block) {
        if (!m_in.is_open())
            return fail(system_error("cannot open " + m_path.string(), errno));
        constexpr size_t k_block_bytes = 1 << 20;
        ReadBuffer& data = block.data;
        data.swap(m_pending);
        m_pending.clear();
        while (true) {
            if (!m_at_end) {
                m_in.read(data.extend(k_block_bytes), static_cast<std::streamsize>(k_block_bytes));
                data.commit(static_cast<size_t>(m_in.gcount()));
                if (m_in.bad())
                    return fail(system_error("reading " + m_path.string(), errno));
                m_at_end = m_in.eof();
            }
            if (m_header) {
                // The header was validated by open(); only its end is needed here.
                size_t skip = data.view().starts_with("\xEF\xBB\xBF") ? 3 : 0;
                CsvRecord record;
                std::string error;
                size_t end = parse_record(data.view(), skip, m_at_end, record, m_line, error);
                if (end == std::string_view::npos) {
                    if (m_at_end)
                        return false;
                    continue; // a header longer than a block: read more
                }
                data.erase_front(end);
                m_header = false;
            }
            std::string_view bytes = data.view();
            bool quoted = holds_byte(bytes, '"');
            size_t cut = m_at_end ? bytes.size() : last_record_end(bytes, quoted);
            if (cut == 0) {
                if (m_at_end)
                    return false;
                continue; // one record longer than the block: read more
            }
            m_pending.assign(bytes.substr(cut));
            data.truncate(cut);
            block.first_line = m_line;
            block.quoted = quoted;
            m_line += count_byte(data.view(), '\n');
            return true;
        }
    }

  private:
    fs::path m_path;
    std::ifstream m_in;
    ReadBuffer m_pending;
    uint64_t m_line = 1;
    bool m_header = true, m_at_end = false;
};

// The first error a consumer met, by line.
struct ConsumerError {
    uint64_t line = 0;
    std::optional<Error> error;
};

} // namespace

// Hands the wanted cells of a data record over in the wanted order.
class TableReader::ColumnPicker {
  public:
    ColumnPicker(const TableReader& reader, const std::vector<std::string>& wanted)
        : m_reader(reader), m_position(wanted.size(), -1), m_cells(wanted.size()),
          m_views(reader.m_columns.size()) {
        const auto& columns = reader.m_columns;
        for (size_t w = 0; w < wanted.size(); ++w)
            for (size_t c = 0; c < columns.size(); ++c)
                if (columns[c] == wanted[w])
                    m_position[w] = static_cast<long>(c);
        // split_plain writes a column's cell directly when one wanted cell takes it (the usual
        // case); a column wanted twice goes through m_views.
        m_cell_of_column.assign(columns.size(), nullptr);
        for (size_t w = 0; w < wanted.size(); ++w) {
            if (m_position[w] < 0)
                continue;
            Cell*& cell = m_cell_of_column[static_cast<size_t>(m_position[w])];
            m_direct = m_direct && cell == nullptr;
            cell = &m_cells[w];
        }
    }

    template <typename Record> Status hand_over(const Record& record, const RowCallback& callback) {
        MLO_TRY(check_count(record.cells.size(), record.line));
        for (size_t w = 0; w < m_position.size(); ++w) {
            if (m_position[w] < 0) {
                m_cells[w] = Cell{};
                continue;
            }
            auto c = static_cast<size_t>(m_position[w]);
            m_cells[w].text = record.cells[c];
            m_cells[w].missing = record.cells[c].empty() && !record.quoted[c];
        }
        return callback(m_cells, record.line);
    }

    // The fast path for a record without quotes, which most are: cut straight into views of the
    // data, without parse_record's per-record vectors. Returns the position after the record's
    // line end (or the data's end), or npos when the record holds a quote (parse it with
    // parse_record instead); `count` is its number of cells, `blank` whether the line is empty.
    // `Plain`: the data holds no quotes and carriage returns, so only commas and line feeds are
    // looked for.
    template <bool Plain> size_t split_plain(std::string_view data, size_t pos, size_t& count, bool& blank) {
        size_t start = pos;
        count = 0;
        while (true) {
            size_t end = Plain ? find_first_of<',', '\n'>(data, pos) : find_special(data, pos);
            if (end < data.size() && data[end] == '"')
                return std::string_view::npos;
            if (count < m_views.size()) {
                std::string_view text = data.substr(pos, end - pos);
                if (!m_direct)
                    m_views[count] = text;
                else if (Cell* cell = m_cell_of_column[count])
                    *cell = Cell{text, text.empty()};
            }
            ++count;
            if (end < data.size() && data[end] == ',') {
                pos = end + 1;
                continue;
            }
            blank = count == 1 && end == start;
            if (end == data.size())
                return end;
            if (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n')
                return end + 2;
            return end + 1;
        }
    }

    // Hands over the record split_plain cut.
    Status hand_over_plain(size_t count, uint64_t line, const RowCallback& callback) {
        MLO_TRY(check_count(count, line));
        for (size_t w = 0; !m_direct && w < m_position.size(); ++w) {
            if (m_position[w] < 0) {
                m_cells[w] = Cell{};
                continue;
            }
            std::string_view text = m_views[static_cast<size_t>(m_position[w])];
            m_cells[w].text = text;
            m_cells[w].missing = text.empty();
        }
        return callback(m_cells, line);
    }

  private:
    Status check_count(size_t count, uint64_t line) const {
        if (count == m_reader.m_columns.size())
            return {};
        return fail(input_error(m_reader.m_path, line,
                                std::to_string(count) + " cells, but the header names " +
                                    std::to_string(m_reader.m_columns.size()) + " columns"));
    }

    const TableReader& m_reader;
    std::vector<long> m_position;
    std::vector<Cell> m_cells;
    std::vector<std::string_view> m_views; // split_plain's cells, by column, unless m_direct
    std::vector<Cell*> m_cell_of_column;   // the wanted cell a column fills, or null
    bool m_direct = true;
};

Status TableReader::for_each_row_parallel(const std::vector<std::string>& wanted,
                                          const std::vector<RowCallback>& callbacks) const {
    if (m_format != TableFormat::csv || callbacks.size() == 1)
        return for_each_row(wanted, callbacks.front());

    BlockCutter cutter(m_path);
    std::mutex cutter_mutex;
    bool failed = false; // under cutter_mutex: once set, no more blocks are handed out
    Status read_status;
    std::vector<ConsumerError> errors(callbacks.size());
    auto consume = [&](size_t index) {
        CsvBlock block;
        CsvRecord record;
        ColumnPicker picker(*this, wanted);
        std::string error;
        auto report = [&](uint64_t line, Error e) {
            errors[index] = ConsumerError{line, std::move(e)};
            std::lock_guard lock(cutter_mutex);
            failed = true;
        };
        while (true) {
            {
                std::lock_guard lock(cutter_mutex);
                if (failed)
                    return;
                auto more = cutter.next(block);
                if (!more) {
                    read_status = fail(std::move(more).error());
                    failed = true;
                    return;
                }
                if (!*more)
                    return;
            }
            // A block handed out earlier may still be running on another consumer, and an error in
            // it comes before any here: every consumer finishes its block, and the earliest line
            // wins below.
            std::string_view data = block.data.view();
            uint64_t line = block.first_line;
            size_t pos = 0;
            // Without quotes and carriage returns, as most data files are, a cell ends at a comma or
            // a line feed, and nothing else needs looking for.
            bool plain = !block.quoted && !holds_byte(data, '\r');
            while (pos < data.size()) {
                uint64_t start_line = line;
                size_t count = 0;
                bool blank = false;
                size_t next = plain ? picker.split_plain<true>(data, pos, count, blank)
                                    : picker.split_plain<false>(data, pos, count, blank);
                if (next != std::string_view::npos) {
                    pos = next;
                    ++line;
                    if (blank)
                        continue;
                    if (auto status = picker.hand_over_plain(count, start_line, callbacks[index]); !status)
                        return report(start_line, std::move(status).error());
                    continue;
                }
                next = parse_record(data, pos, true, record, line, error);
                if (!error.empty())
                    return report(start_line, input_error(m_path, start_line, error));
                pos = next;
                if (blank_record(record))
                    continue;
                if (auto status = picker.hand_over(record, callbacks[index]); !status)
                    return report(record.line, std::move(status).error());
            }
        }
    };
    std::vector<std::thread> threads;
    for (size_t i = 1; i < callbacks.size(); ++i)
        threads.emplace_back(consume, i);
    consume(0);
    for (auto& thread : threads)
        thread.join();
    const ConsumerError* first = nullptr;
    for (const auto& e : errors)
        if (e.error && (first == nullptr || e.line < first->line))
            first = &e;
    if (first != nullptr)
        return fail(*first->error);
    return read_status;
}

Status TableReader::read_csv(const std::vector<std::string>& wanted, const RowCallback& callback) const {
    ColumnPicker picker(*this, wanted);
    bool header = true;
    return scan_csv(m_path, [&](const CsvRecord& record, bool&) -> Status {
        if (header) {
            header = false;
            return {};
        }
        return picker.hand_over(record, callback);
    });
}

Status TableReader::read_json_lines(const std::vector<std::string>& wanted,
                                    const RowCallback& callback) const {
    std::vector<Cell> cells(wanted.size());
    std::vector<std::string> texts(wanted.size());
    return scan_lines(m_path, [&](const std::string& text, uint64_t line, bool&) -> Status {
        auto object = parse_object_line(m_path, text, line);
        if (!object)
            return fail(std::move(object).error());
        for (size_t w = 0; w < wanted.size(); ++w) {
            auto it = object->find(wanted[w]);
            bool missing = true;
            if (it != object->end() && !json_cell_text(*it, texts[w], missing))
                return fail(
                    input_error(m_path, line, "the value of '" + wanted[w] + "' is not a single value"));
            cells[w] = Cell{texts[w], it == object->end() || missing};
        }
        return callback(cells, line);
    });
}

} // namespace mlo::monitor
