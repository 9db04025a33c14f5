#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <mlo/monitor/table_reader.hpp>
#include <random>

using namespace mlo::monitor;

namespace {

std::filesystem::path write(const mlo::test::TempDir& dir, const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// Every row as "a|b|<missing>" strings, or the error message.
std::vector<std::string> rows_of(const std::filesystem::path& path, const std::vector<std::string>& wanted,
                                 std::string& error) {
    std::vector<std::string> rows;
    auto reader = TableReader::open(path);
    if (!reader) {
        error = reader.error().message;
        return rows;
    }
    auto status =
        reader->for_each_row(wanted, [&](const std::vector<Cell>& cells, uint64_t line) -> mlo::Status {
            std::string row = std::to_string(line) + ":";
            for (const auto& cell : cells)
                row += (cell.missing ? std::string("<missing>") : std::string(cell.text)) + "|";
            rows.push_back(row);
            return {};
        });
    if (!status)
        error = status.error().message;
    return rows;
}

} // namespace

TEST_CASE("CSV: quoting, escaped quotes, line breaks in fields, missing cells, CRLF, BOM") {
    mlo::test::TempDir dir;
    auto path =
        write(dir, "a.csv",
              "\xEF\xBB\xBF"
              "x,name,z\r\n1,\"Smith, J\",3\r\n\r\n,\"say \"\"hi\"\"\",\r\n4,\"two\nlines\",\"\"\r\n");
    std::string error;
    auto rows = rows_of(path, {"x", "name", "z", "absent"}, error);
    CHECK(error.empty());
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] == "2:1|Smith, J|3|<missing>|");
    CHECK(rows[1] == "4:<missing>|say \"hi\"|<missing>|<missing>|");
    CHECK(rows[2] == "5:4|two\nlines||<missing>|"); // a quoted empty cell is the empty string
}

TEST_CASE("CSV: a large file is read across chunk boundaries") {
    mlo::test::TempDir dir;
    std::string text = "a,b\n";
    for (int i = 0; i < 200000; ++i)
        text += std::to_string(i) + ",\"q" + std::to_string(i) + "\"\n";
    auto path = write(dir, "big.csv", text);
    auto reader = TableReader::open(path);
    REQUIRE(reader);
    uint64_t rows = 0, last_line = 0;
    bool in_order = true;
    auto status =
        reader->for_each_row({"a", "b"}, [&](const std::vector<Cell>& cells, uint64_t line) -> mlo::Status {
            in_order = in_order && cells[0].text == std::to_string(rows) &&
                       cells[1].text == "q" + std::to_string(rows);
            ++rows;
            last_line = line;
            return {};
        });
    CHECK(status);
    CHECK(in_order);
    CHECK(rows == 200000);
    CHECK(last_line == 200001);
}

TEST_CASE("CSV: malformed input is an error naming the file and line") {
    mlo::test::TempDir dir;
    std::string error;
    rows_of(write(dir, "cells.csv", "a,b\n1,2\n3\n"), {"a"}, error);
    CHECK(error == (dir / "cells.csv").string() + ": line 3: 1 cells, but the header names 2 columns");
    error.clear();
    rows_of(write(dir, "open.csv", "a,b\n1,\"never closed\n2,3\n"), {"a"}, error);
    CHECK(error == (dir / "open.csv").string() + ": line 2: a quoted field is never closed");
    error.clear();
    rows_of(write(dir, "stray.csv", "a,b\n1,2\n3,x\"y\n"), {"a"}, error);
    CHECK(error.find("stray.csv: line 3: a quote inside an unquoted field") != std::string::npos);
    error.clear();
    rows_of(write(dir, "empty.csv", ""), {"a"}, error);
    CHECK(error.find("the file is empty") != std::string::npos);
    error.clear();
    rows_of(write(dir, "dup.csv", "a,a\n"), {"a"}, error);
    CHECK(error.find("line 1: column 'a' appears twice") != std::string::npos);
}

TEST_CASE("JSON lines: values become cells, null and absent keys are missing") {
    mlo::test::TempDir dir;
    auto path =
        write(dir, "a.jsonl", "{\"x\": 1.5, \"c\": \"a\"}\n\n{\"x\": null, \"c\": true}\n{\"c\": \"b\"}\n");
    std::string error;
    auto rows = rows_of(path, {"x", "c"}, error);
    CHECK(error.empty());
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] == "1:1.5|a|");
    CHECK(rows[1] == "3:<missing>|true|");
    CHECK(rows[2] == "4:<missing>|b|");
    auto reader = TableReader::open(path);
    REQUIRE(reader);
    CHECK(reader->columns() == std::vector<std::string>{"x", "c"});
}

TEST_CASE("JSON lines: a bad line is an error with its line number") {
    mlo::test::TempDir dir;
    std::string error;
    rows_of(write(dir, "bad.jsonl", "{\"x\": 1}\n{\"x\": 2\n"), {"x"}, error);
    CHECK(error == (dir / "bad.jsonl").string() + ": line 2: not valid JSON");
    error.clear();
    rows_of(write(dir, "array.jsonl", "{\"x\": 1}\n[1, 2]\n"), {"x"}, error);
    CHECK(error.find("line 2: not a JSON object") != std::string::npos);
    error.clear();
    rows_of(write(dir, "nested.jsonl", "{\"x\": 1}\n{\"x\": [1]}\n"), {"x"}, error);
    CHECK(error.find("line 2: the value of 'x' is not a single value") != std::string::npos);
}

TEST_CASE("numbers: decimal and exponent forms with spaces; text is not a number") {
    double value = 0;
    CHECK(parse_number(" 1.5e3 ", value));
    CHECK(value == 1500);
    CHECK(parse_number("+2", value));
    CHECK(value == 2);
    CHECK_FALSE(parse_number("12abc", value));
    CHECK_FALSE(parse_number("", value));
    CHECK(parse_number("nan", value));
}

TEST_CASE("numbers: the fast decimal path agrees with from_chars bit for bit") {
    std::mt19937_64 random(11);
    for (int i = 0; i < 200000; ++i) {
        // Up to 15 significant digits with 0..10 fraction digits, both signs; every fourth around
        // 2^53 (the fast path's limit) and up to 19 digits with up to 22 fraction digits.
        uint64_t mantissa = random() % 1000000000000000ull;
        int fraction = static_cast<int>(random() % 11);
        if (i % 4 == 0) {
            mantissa = i % 8 == 0 ? (uint64_t{1} << 53) - 1000 + random() % 2000
                                  : random() % 10000000000000000000ull;
            fraction = static_cast<int>(random() % 23);
        }
        std::string text = std::to_string(mantissa);
        if (fraction > 0) {
            if (text.size() <= static_cast<size_t>(fraction))
                text = std::string(static_cast<size_t>(fraction) - text.size() + 1, '0') + text;
            text.insert(text.size() - static_cast<size_t>(fraction), ".");
        }
        if (random() % 2)
            text = "-" + text;
        double fast = 0, reference = 0;
        REQUIRE(parse_number(text, fast));
        std::from_chars(text.data(), text.data() + text.size(), reference);
        REQUIRE(fast == reference);
    }
    double value = 0;
    CHECK(parse_number("1e-3", value));
    CHECK(value == 0.001);
    CHECK(parse_number("-0", value));
    CHECK(std::signbit(value));
    CHECK_FALSE(parse_number("1.2.3", value));
    CHECK_FALSE(parse_number("-", value));
    CHECK_FALSE(parse_number(".", value));
}

TEST_CASE("CSV parallel reading: every row reaches exactly one consumer, whole, across 1 MiB blocks") {
    mlo::test::TempDir dir;
    // ~12 MiB with quoted fields holding commas, escaped quotes and line breaks, so that block
    // cuts must respect quotes.
    std::string text = "id,note,x\n";
    const int rows = 120000;
    for (int i = 0; i < rows; ++i)
        text += std::to_string(i) + ",\"a, \"\"q\"\"\n" + std::string(static_cast<size_t>(i % 70), 'z') +
                "\"," + std::to_string(i * 0.5) + "\n";
    auto path = write(dir, "big.csv", text);
    auto reader = TableReader::open(path);
    REQUIRE(reader);
    std::vector<std::vector<uint64_t>> ids(2); // per consumer, in the order it saw them
    std::vector<uint64_t> bad(2, 0);
    std::vector<mlo::monitor::RowCallback> consumers;
    for (size_t k = 0; k < 2; ++k)
        consumers.push_back([&, k](const std::vector<Cell>& cells, uint64_t line) -> mlo::Status {
            uint64_t i = std::stoull(std::string(cells[0].text));
            bool same = cells[2].text == std::to_string(static_cast<double>(i) * 0.5) &&
                        cells[1].text.size() == 7 + i % 70 && cells[1].text.substr(0, 7) == "a, \"q\"\n" &&
                        line == 2 + 2 * i;
            bad[k] += same ? 0 : 1;
            ids[k].push_back(i);
            return {};
        });
    REQUIRE(reader->for_each_row_parallel({"id", "note", "x"}, consumers));
    CHECK(bad == std::vector<uint64_t>{0, 0});
    std::vector<uint64_t> all;
    for (const auto& mine : ids) {
        // Whole blocks of consecutive rows: within one consumer the rows only go forwards.
        CHECK(std::is_sorted(mine.begin(), mine.end()));
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    REQUIRE(all.size() == static_cast<size_t>(rows));
    bool each_once = true;
    for (size_t i = 0; i < all.size(); ++i)
        each_once = each_once && all[i] == i;
    CHECK(each_once);
}

TEST_CASE("CSV parallel reading: the earliest error wins") {
    mlo::test::TempDir dir;
    std::string text = "a,b\n";
    for (int i = 0; i < 300000; ++i)
        text += std::to_string(i) + ",x\n";
    text += "1,2,3\n"; // line 300002: too many cells
    for (int i = 0; i < 300000; ++i)
        text += std::to_string(i) + ",x\n";
    auto path = write(dir, "bad.csv", text);
    auto reader = TableReader::open(path);
    REQUIRE(reader);
    // Whichever consumer gets line 500000 refuses it; the cell-count error before it comes first.
    auto refuse_late = [](const std::vector<Cell>&, uint64_t line) -> mlo::Status {
        if (line == 500000)
            return mlo::fail(mlo::ErrorCode::input, "late");
        return {};
    };
    std::vector<mlo::monitor::RowCallback> consumers = {refuse_late, refuse_late};
    auto status = reader->for_each_row_parallel({"a"}, consumers);
    REQUIRE_FALSE(status);
    CHECK(status.error().message == path.string() + ": line 300002: 3 cells, but the header names 2 columns");
}

TEST_CASE("CSV parallel reading: plain, CRLF and blank lines, and quoted records among plain ones") {
    mlo::test::TempDir dir;
    // Three files of ~3 MiB each: plain (the fast path), CRLF line ends, and mostly plain rows with
    // an occasional quoted cell and blank line (the fallback inside a block).
    for (int variant = 0; variant < 3; ++variant) {
        std::string end = variant == 1 ? "\r\n" : "\n";
        std::string text = "id,name,x" + end;
        const int rows = 150000;
        uint64_t line = 2;
        std::vector<uint64_t> line_of(rows);
        for (int i = 0; i < rows; ++i) {
            if (variant == 2 && i % 1000 == 7) {
                text += end; // a blank line: skipped, but it counts as a line
                ++line;
            }
            line_of[static_cast<size_t>(i)] = line++;
            std::string name = variant == 2 && i % 500 == 3 ? "\"n,\"\"" + std::to_string(i) + "\""
                                                            : "n" + std::to_string(i);
            text += std::to_string(i) + "," + name + "," + (i % 97 == 0 ? "" : std::to_string(i % 13)) + end;
        }
        auto path = write(dir, "v" + std::to_string(variant) + ".csv", text);
        auto reader = TableReader::open(path);
        REQUIRE(reader);
        std::vector<std::vector<uint64_t>> ids(2);
        std::vector<uint64_t> bad(2, 0);
        std::vector<mlo::monitor::RowCallback> consumers;
        for (size_t k = 0; k < 2; ++k)
            consumers.push_back([&, k](const std::vector<Cell>& cells, uint64_t at) -> mlo::Status {
                auto i = static_cast<size_t>(std::stoull(std::string(cells[0].text)));
                std::string name =
                    variant == 2 && i % 500 == 3 ? "n,\"" + std::to_string(i) : "n" + std::to_string(i);
                bool x_ok = i % 97 == 0 ? cells[2].missing
                                        : !cells[2].missing && cells[2].text == std::to_string(i % 13);
                bool ok = i < line_of.size() && at == line_of[i] && cells[1].text == name && x_ok;
                bad[k] += ok ? 0 : 1;
                ids[k].push_back(i);
                return {};
            });
        REQUIRE(reader->for_each_row_parallel({"id", "name", "x"}, consumers));
        CHECK(bad == std::vector<uint64_t>{0, 0});
        std::vector<uint64_t> all;
        for (const auto& mine : ids)
            all.insert(all.end(), mine.begin(), mine.end());
        std::sort(all.begin(), all.end());
        REQUIRE(all.size() == static_cast<size_t>(rows));
        CHECK(all.front() == 0);
        CHECK(all.back() == static_cast<uint64_t>(rows - 1));
        CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    }
}

TEST_CASE("CSV parallel reading: a column wanted twice and a column the file lacks") {
    mlo::test::TempDir dir;
    std::string text = "id,x\n";
    for (int i = 0; i < 200000; ++i)
        text += std::to_string(i) + "," + (i % 3 == 0 ? "" : std::to_string(i % 7)) + "\n";
    auto path = write(dir, "twice.csv", text);
    auto reader = TableReader::open(path);
    REQUIRE(reader);
    std::vector<uint64_t> bad(2, 0), seen(2, 0);
    std::vector<mlo::monitor::RowCallback> consumers;
    for (size_t k = 0; k < 2; ++k)
        consumers.push_back([&, k](const std::vector<Cell>& cells, uint64_t) -> mlo::Status {
            auto i = std::stoull(std::string(cells[0].text));
            bool x_ok = i % 3 == 0 ? cells[1].missing : cells[1].text == std::to_string(i % 7);
            bool ok = cells[2].text == cells[0].text && !cells[2].missing && x_ok && cells[3].missing;
            bad[k] += ok ? 0 : 1;
            ++seen[k];
            return {};
        });
    REQUIRE(reader->for_each_row_parallel({"id", "x", "id", "nope"}, consumers));
    CHECK(bad == std::vector<uint64_t>{0, 0});
    CHECK(seen[0] + seen[1] == 200000);
}
