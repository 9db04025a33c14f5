#pragma once

#include <mlo/util/error.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mlo::runs {

// The run index (SQLite, `.mlo/index.db`) that filters are compiled against:
//
//   runs(id TEXT PRIMARY KEY, object TEXT, status TEXT, started_ns INTEGER, ended_ns INTEGER,
//        duration_s REAL, git_commit TEXT, git_branch TEXT, dirty INTEGER, stages TEXT, name TEXT)
//   run_params(run_id TEXT, key TEXT, value TEXT, num REAL)   -- num is NULL unless value is a number
//   run_metrics(run_id TEXT, key TEXT, value REAL)
//   run_tags(run_id TEXT, key TEXT, value TEXT)
//
// The runs table is aliased `r` in the query that embeds the compiled SQL.

// A value bound to a `?` placeholder, in order.
using SqlValue = std::variant<std::string, double>;

struct SqlFragment {
    std::string sql;                // e.g. "(EXISTS (SELECT 1 FROM run_metrics m WHERE ...))"
    std::vector<SqlValue> bindings; // values for the `?` placeholders, in order
};

// Compiles an MLflow-style filter into a WHERE fragment over `r`:
//   metrics.acc > 0.9 and params.model = 'lr' and tags.team = "x" and attributes.status = 'FAILED'
// plus `or`, parentheses, `in (...)`/`not in (...)` on every field, `is null`/`is not null`,
// `like`/`ilike`, comparison operators = != <> < <= > >=, backticks for odd keys
// (metrics.`f1 score`), case-insensitive keywords, numbers and 'single' or "double" quoted
// strings. `and` binds tighter than `or`. Attribute names: run_id (or id), status, start_time,
// end_time, duration, git_commit (or commit), branch, dirty, name, stages.
// An empty filter compiles to "1". A bad filter is ErrorCode::usage whose message points at the
// column: "bad filter at column 17: expected a value after '>'" and whose hint shows the filter
// with a caret under that column.
Result<SqlFragment> compile_filter(std::string_view filter);

// Compiles a sort key "metrics.acc desc" / "params.lr" / "attributes.start_time asc" into an
// ORDER BY fragment (without the ORDER BY keywords); runs lacking the key sort last.
Result<SqlFragment> compile_order(std::string_view order);

} // namespace mlo::runs
