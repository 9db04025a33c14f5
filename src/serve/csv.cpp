// CSV scoring requests. The reader is a single pass over the body: quoted fields are copied a
// chunk at a time between quotes (memchr-fast), unquoted ones up to the next comma or line end, so
// a 10 MB body costs one scan plus the cells' copies. Lines are counted as the reader goes (line
// breaks inside quoted fields included) so every message can name the line a user sees in an
// editor, beside the 0-based row the other formats use.

#include "codec_detail.hpp"

#include <cctype>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mlo/serve/csv.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace mlo::serve {

using nlohmann::ordered_json;

namespace {

struct Cell {
    std::string text;
    bool quoted = false;
};

// The offset of the first byte that is not part of valid UTF-8, or npos.
size_t invalid_utf8_at(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            ++i;
            continue;
        }
        size_t length = byte >= 0xC2 && byte <= 0xDF   ? 2
                        : byte >= 0xE0 && byte <= 0xEF ? 3
                        : byte >= 0xF0 && byte <= 0xF4 ? 4
                                                       : 0;
        if (length == 0 || i + length > text.size())
            return i;
        auto second = static_cast<unsigned char>(text[i + 1]);
        // Overlong forms, surrogates and code points past U+10FFFF are refused by the second byte.
        unsigned char low = byte == 0xE0 ? 0xA0 : byte == 0xF0 ? 0x90 : 0x80;
        unsigned char high = byte == 0xED ? 0x9F : byte == 0xF4 ? 0x8F : 0xBF;
        if (second < low || second > high)
            return i;
        for (size_t k = 2; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
                return i;
        i += length;
    }
    return std::string_view::npos;
}

size_t count_line_breaks(std::string_view text) {
    size_t count = 0;
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')))
            ++count;
    return count;
}

// RFC 4180 records, one at a time.
class CsvReader {
  public:
    explicit CsvReader(std::string_view body) : m_body(body) {}

    // Reads the next record into `cells`; false at the end of the body.
    HttpResult<bool> next(std::vector<Cell>& cells) {
        cells.clear();
        if (m_pos >= m_body.size())
            return false;
        m_record_line = m_line;
        while (true) {
            Cell& cell = cells.emplace_back();
            if (m_pos < m_body.size() && m_body[m_pos] == '"') {
                cell.quoted = true;
                const size_t start_line = m_line;
                ++m_pos;
                while (true) {
                    size_t quote = m_body.find('"', m_pos);
                    if (quote == std::string_view::npos)
                        return http_fail(400, "CSV line " + std::to_string(start_line) +
                                                  ": a quoted field is not closed");
                    std::string_view chunk = m_body.substr(m_pos, quote - m_pos);
                    m_line += count_line_breaks(chunk);
                    cell.text.append(chunk);
                    m_pos = quote + 1;
                    if (m_pos < m_body.size() && m_body[m_pos] == '"') {
                        cell.text += '"';
                        ++m_pos;
                        continue;
                    }
                    break;
                }
                if (m_pos < m_body.size() && m_body[m_pos] != ',' && m_body[m_pos] != '\n' &&
                    m_body[m_pos] != '\r')
                    return http_fail(400, "CSV line " + std::to_string(m_line) +
                                              ": unexpected text after the closing quote of a field");
            } else {
                size_t end = m_pos;
                while (end < m_body.size() && m_body[end] != ',' && m_body[end] != '\n' &&
                       m_body[end] != '\r')
                    ++end;
                cell.text.assign(m_body.substr(m_pos, end - m_pos));
                m_pos = end;
            }
            if (m_pos >= m_body.size())
                return true;
            char separator = m_body[m_pos++];
            if (separator == ',')
                continue;
            if (separator == '\r' && m_pos < m_body.size() && m_body[m_pos] == '\n')
                ++m_pos;
            ++m_line;
            return true;
        }
    }

    // The 1-based line on which the last record read starts.
    size_t record_line() const { return m_record_line; }

  private:
    std::string_view m_body;
    size_t m_pos = 0;
    size_t m_line = 1;
    size_t m_record_line = 1;
};

bool is_blank(const std::vector<Cell>& cells) {
    return cells.size() == 1 && !cells[0].quoted && cells[0].text.empty();
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

enum class NumberRead { ok, out_of_range, invalid };

// The whole of `text` as a finite double ("+" allowed, "inf"/"nan" not).
NumberRead read_double(std::string_view text, double& out) {
    text = trim(text);
    if (text.size() > 1 && text.front() == '+' && text[1] != '-')
        text.remove_prefix(1);
    if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text.front())) || text.front() == '-' ||
                          text.front() == '.'))
        return NumberRead::invalid;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (end != text.data() + text.size())
        return NumberRead::invalid;
    if (error == std::errc::result_out_of_range)
        return NumberRead::out_of_range;
    if (error != std::errc() || !std::isfinite(out))
        return NumberRead::invalid;
    return NumberRead::ok;
}

NumberRead read_int(std::string_view text, int64_t& out) {
    text = trim(text);
    if (text.size() > 1 && text.front() == '+' && text[1] != '-')
        text.remove_prefix(1);
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || end != text.data() + text.size())
        return NumberRead::invalid;
    if (error == std::errc::result_out_of_range)
        return NumberRead::out_of_range;
    return error == std::errc() ? NumberRead::ok : NumberRead::invalid;
}

// A cell of a typed column, or the problem with it.
std::optional<std::string> convert_cell(Cell& cell, FieldType type, ordered_json& out) {
    if (!cell.quoted && cell.text.empty())
        return "missing value (empty cell)";
    auto expected = [&](const char* suffix = "") {
        return "expected " + mlflow_type_name(type) + ", got " + detail::quote_text(cell.text) + suffix;
    };
    switch (type) {
    case FieldType::string:
        out = std::move(cell.text);
        return std::nullopt;
    case FieldType::boolean: {
        std::string word(trim(cell.text));
        for (char& c : word)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (word != "true" && word != "false")
            return expected();
        out = word == "true";
        return std::nullopt;
    }
    case FieldType::float64:
    case FieldType::float32: {
        double number = 0;
        NumberRead read = read_double(cell.text, number);
        if (read == NumberRead::ok && type == FieldType::float32 && std::fabs(number) > FLT_MAX)
            read = NumberRead::out_of_range;
        if (read != NumberRead::ok)
            return expected(read == NumberRead::out_of_range ? " (out of range)" : "");
        out = number;
        return std::nullopt;
    }
    case FieldType::int64:
    case FieldType::int32: {
        const bool narrow = type == FieldType::int32;
        const int64_t low =
            narrow ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
        const int64_t high =
            narrow ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
        int64_t number = 0;
        NumberRead read = read_int(cell.text, number);
        if (read == NumberRead::invalid) {
            // "3.0" or "1e3" is an integer too, as a JSON 3.0 is; "1.5" is not.
            double real = 0;
            read = read_double(cell.text, real);
            if (read == NumberRead::ok && std::trunc(real) != real)
                read = NumberRead::invalid;
            else if (read == NumberRead::ok &&
                     (real < -9223372036854775808.0 || real >= 9223372036854775808.0))
                read = NumberRead::out_of_range;
            else if (read == NumberRead::ok)
                number = static_cast<int64_t>(real);
        }
        if (read == NumberRead::ok && (number < low || number > high))
            read = NumberRead::out_of_range;
        if (read != NumberRead::ok)
            return expected(read == NumberRead::out_of_range ? " (out of range)" : "");
        out = number;
        return std::nullopt;
    }
    }
    return expected();
}

// A cell of a column without a signature: a number when it reads fully as one, null when empty.
ordered_json untyped_cell(Cell& cell) {
    if (!cell.quoted && cell.text.empty())
        return nullptr;
    int64_t integer = 0;
    if (read_int(cell.text, integer) == NumberRead::ok)
        return integer;
    double real = 0;
    if (read_double(cell.text, real) == NumberRead::ok)
        return real;
    return std::move(cell.text);
}

} // namespace

HttpResult<Columns> parse_csv_request(std::string_view body, const Signature& signature, size_t max_rows) {
    if (size_t bad = invalid_utf8_at(body); bad != std::string_view::npos)
        return http_fail(400, "CSV: the body is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    if (body.substr(0, 3) == "\xEF\xBB\xBF")
        body.remove_prefix(3);

    CsvReader reader(body);
    std::vector<Cell> cells;
    bool has_header = false;
    while (!has_header) {
        auto more = reader.next(cells);
        if (!more)
            return tl::unexpected<HttpError>(std::move(more).error());
        if (!*more)
            break;
        has_header = !is_blank(cells);
    }
    if (!has_header)
        return http_fail(400, "CSV: the body has no header row; send a first row naming the columns");

    std::vector<std::string> names;
    std::vector<std::string> problems;
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i].text.empty())
            problems.push_back("CSV header: column " + std::to_string(i + 1) + " has no name");
        else if (!seen.insert(cells[i].text).second)
            problems.push_back("CSV header: duplicate column '" + cells[i].text + "'");
        names.push_back(std::move(cells[i].text));
    }
    if (!problems.empty())
        return http_fail(400, detail::join_problems(problems));
    if (auto checked = check_input_names(names, signature); !checked)
        return tl::unexpected<HttpError>(std::move(checked).error());

    const size_t width = names.size();
    std::vector<std::optional<FieldType>> types(width);
    if (signature.checks_inputs()) {
        std::unordered_map<std::string_view, FieldType> by_name;
        for (const auto& field : signature.inputs)
            by_name.emplace(field.name, field.type);
        for (size_t i = 0; i < width; ++i)
            if (auto it = by_name.find(names[i]); it != by_name.end())
                types[i] = it->second;
    }
    std::vector<ordered_json::array_t> values(width);
    std::vector<std::string> column_problems(width);
    size_t rows = 0;
    while (true) {
        auto more = reader.next(cells);
        if (!more)
            return tl::unexpected<HttpError>(std::move(more).error());
        if (!*more)
            break;
        if (is_blank(cells))
            continue;
        if (cells.size() != width)
            return http_fail(400, "CSV line " + std::to_string(reader.record_line()) + ": " +
                                      std::to_string(cells.size()) + " value(s), but the header names " +
                                      std::to_string(width) + " column(s)");
        if (++rows > max_rows)
            continue; // counted for the message, not kept
        for (size_t i = 0; i < width; ++i) {
            if (!types[i]) {
                values[i].push_back(untyped_cell(cells[i]));
                continue;
            }
            ordered_json value;
            if (column_problems[i].empty())
                if (auto problem = convert_cell(cells[i], *types[i], value))
                    column_problems[i] = "field '" + names[i] + "', row " + std::to_string(rows - 1) +
                                         " (line " + std::to_string(reader.record_line()) + "): " + *problem;
            values[i].push_back(std::move(value));
        }
    }
    if (rows > max_rows)
        return http_fail(413, detail::too_many_rows(rows, max_rows));
    for (auto& problem : column_problems)
        if (!problem.empty())
            problems.push_back(std::move(problem));
    if (!problems.empty())
        return http_fail(400, detail::join_problems(problems));

    Columns columns;
    columns.rows = rows;
    for (size_t i = 0; i < width; ++i)
        detail::append_column(columns.columns, std::move(names[i]), ordered_json(std::move(values[i])));
    return validate_columns(std::move(columns), signature, max_rows);
}

} // namespace mlo::serve
