#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mlo/monitor/parse_number.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::monitor {

// One cell of a row as a reader hands it over. The text is valid only during the callback.
struct Cell {
    std::string_view text;
    bool missing = true; // an empty unquoted CSV cell, a JSON null, or a column the row lacks
};

// Called once per data row with the cells of the requested columns, in the requested order, and
// the 1-based line the row starts on. An error returned stops the reading and is passed up.
using RowCallback = std::function<Status(const std::vector<Cell>& cells, uint64_t line)>;

enum class TableFormat { csv, json_lines };

// A CSV (RFC 4180) or JSON-lines file read front to back in fixed-size chunks: memory does not grow
// with the file, so a file larger than memory can be read. The format comes from the extension
// (.jsonl and .ndjson are JSON lines, anything else CSV).
class TableReader {
  public:
    // Opens the file and reads the column names: the CSV header, or the keys of the first JSON
    // object in file order. A missing or empty file, or a malformed header, is ErrorCode::input
    // naming the file.
    static Result<TableReader> open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return m_path; }
    TableFormat format() const { return m_format; }
    const std::vector<std::string>& columns() const { return m_columns; }

    // Reads every data row, handing `wanted` columns to `callback` (a wanted column the file lacks
    // is missing in every row; callers check columns() first). Can be called again for a second
    // pass. Malformed input (an unclosed quote, a stray quote, a row with more or fewer cells than
    // the header, a line that is not a JSON object, a nested value) is ErrorCode::input with
    // "<file>: line N: <what>".
    Status for_each_row(const std::vector<std::string>& wanted, const RowCallback& callback) const;

    // The rows shared out between several consumers: callbacks[i] runs on a thread of its own
    // (callbacks[0] on the calling thread) and gets whole blocks of consecutive rows, about 1 MiB
    // of CSV each, in file order within a block; which consumer gets which block depends on which
    // asks first. Consumers keep their own accumulators and merge them afterwards. The file is
    // read once, blocks cut at record boundaries by whichever consumer asks for the next one, so
    // memory is a block per consumer. On malformed input the error with the earliest line is
    // returned. JSON lines, and a single callback, get every row on the calling thread.
    Status for_each_row_parallel(const std::vector<std::string>& wanted,
                                 const std::vector<RowCallback>& callbacks) const;

  private:
    class ColumnPicker;
    TableReader(std::filesystem::path path, TableFormat format, std::vector<std::string> columns)
        : m_path(std::move(path)), m_format(format), m_columns(std::move(columns)) {}
    Status read_csv(const std::vector<std::string>& wanted, const RowCallback& callback) const;
    Status read_json_lines(const std::vector<std::string>& wanted, const RowCallback& callback) const;

    std::filesystem::path m_path;
    TableFormat m_format;
    std::vector<std::string> m_columns;
};

} // namespace mlo::monitor
