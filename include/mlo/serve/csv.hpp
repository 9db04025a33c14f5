#pragma once

#include <cstddef>
#include <mlo/serve/signature.hpp>
#include <string_view>

namespace mlo::serve {

// Reads a text/csv scoring request (RFC 4180: quoted fields with "" escapes and line breaks, CRLF or
// LF or CR line ends, an optional UTF-8 byte order mark, blank lines skipped) whose first row names
// the columns. Cells are converted by the signature's types ("true"/"false" in any case for
// booleans; numbers may have surrounding spaces); an unquoted empty cell is a missing value (400
// naming field, row and line), a quoted one ("") is the empty string. Without a signature, cells
// that read fully as numbers become numbers, empty ones null, the rest strings. Errors are 400
// (413 over `max_rows`), messages as validate_columns's, whose checks the result has passed.
HttpResult<Columns> parse_csv_request(std::string_view body, const Signature& signature, size_t max_rows);

} // namespace mlo::serve
