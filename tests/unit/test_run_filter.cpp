#include <array>
#include <catch2/catch.hpp>
#include <charconv>
#include <memory>
#include <mlo/runs/run_filter.hpp>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using mlo::ErrorCode;
using mlo::runs::compile_filter;
using mlo::runs::compile_order;
using mlo::runs::SqlFragment;
using mlo::runs::SqlValue;
using Ids = std::vector<std::string>;

namespace {

// The schema documented in run_filter.hpp.
const char* const k_schema = R"(
CREATE TABLE runs(id TEXT PRIMARY KEY, object TEXT, status TEXT, started_ns INTEGER, ended_ns INTEGER,
                  duration_s REAL, git_commit TEXT, git_branch TEXT, dirty INTEGER, stages TEXT, name TEXT);
CREATE TABLE run_params(run_id TEXT, key TEXT, value TEXT, num REAL);
CREATE TABLE run_metrics(run_id TEXT, key TEXT, value REAL);
CREATE TABLE run_tags(run_id TEXT, key TEXT, value TEXT);
)";

// Times are milliseconds since the epoch plus a sub-millisecond part, stored as nanoseconds.
const char* const k_runs = R"(
INSERT INTO runs VALUES
 ('r1', 'o1', 'FINISHED', 1700000000000123456, 1700000060000000000, 60,   'abc123', 'main',      0,    'train',      'baseline'),
 ('r2', 'o2', 'FAILED',   1700000001000000000, NULL,                NULL, 'abc124', 'main',      1,    'train',      'lr-big'),
 ('r3', 'o3', 'FINISHED', 1700000002000000000, 1700000122000000000, 120,  'def456', 'feature/x', 0,    'train,eval', 'forest'),
 ('r4', 'o4', 'RUNNING',  1700000003000000000, NULL,                NULL, 'def456', 'main',      0,    'train',      NULL),
 ('r5', 'o5', 'FINISHED', 1700000004000000000, 1700000034000000000, 30,   'ghi789', 'dev',       1,    'train',      'deep'),
 ('r6', 'o6', 'FAILED',   1700000005000999999, 1700000010000000000, 5,    'ghi789', 'main',      0,    'eval',       'tiny'),
 ('r7', 'o7', 'FINISHED', 1700000006000000000, 1700000096000000000, 90,   'jkl012', 'main',      0,    'train',      'lr_small'),
 ('r8', 'o8', 'KILLED',   1700000007000000000, 1700000008000000000, 1,    'jkl012', NULL,        NULL, 'train',      'x');
INSERT INTO run_metrics VALUES
 ('r1', 'acc', 0.80), ('r1', 'loss', 0.5),
 ('r2', 'loss', 2.0),
 ('r3', 'acc', 0.92), ('r3', 'loss', 0.3), ('r3', 'f1 score', 0.88),
 ('r4', 'acc', 0.95),
 ('r5', 'acc', 0.90), ('r5', 'loss', 0.3),
 ('r7', 'acc', 0.80), ('r7', 'loss', 0.45),
 ('r8', 'acc', 0.5);
INSERT INTO run_tags VALUES
 ('r1', 'team', 'vision'), ('r1', 'note', 'first'),
 ('r2', 'team', 'nlp'),
 ('r3', 'team', 'Vision'),
 ('r5', 'team', 'vision'), ('r5', 'note', 'it''s'),
 ('r6', 'team', 'nlp'), ('r6', 'priority', '1'),
 ('r7', 'team', 'vision');
)";

// Params as the indexer stores them: the string, and its number when the whole string is one.
const std::vector<std::array<const char*, 3>> k_params = {
    {"r1", "model", "lr"}, {"r1", "lr", "0.1"},    {"r1", "epochs", "10"},       {"r2", "model", "lr"},
    {"r2", "lr", "1"},     {"r2", "epochs", "20"}, {"r3", "model", "rf"},        {"r3", "lr", "auto"},
    {"r3", "depth", "5"},  {"r4", "model", "LR"},  {"r4", "lr", "0.01"},         {"r5", "model", "mlp"},
    {"r5", "lr", "0.001"}, {"r5", "epochs", "10"}, {"r5", "hidden.size", "128"}, {"r6", "model", "svm"},
    {"r6", "epochs", "5"}, {"r7", "model", "lr"},  {"r7", "lr", "0.1"},          {"r7", "epochs", "10.0"},
};

struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// An in-memory run index holding eight runs.
class Index {
  public:
    Index() {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
        m_db.reset(db);
        exec(k_schema);
        exec(k_runs);
        for (const auto& [run, key, value] : k_params) {
            sqlite3_stmt* raw = nullptr;
            REQUIRE(sqlite3_prepare_v2(m_db.get(), "INSERT INTO run_params VALUES (?, ?, ?, ?)", -1, &raw,
                                       nullptr) == SQLITE_OK);
            std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
            sqlite3_bind_text(raw, 1, run, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(raw, 2, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(raw, 3, value, -1, SQLITE_TRANSIENT);
            std::string_view text(value);
            double number = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
            if (ec == std::errc() && end == text.data() + text.size())
                sqlite3_bind_double(raw, 4, number);
            else
                sqlite3_bind_null(raw, 4);
            REQUIRE(sqlite3_step(raw) == SQLITE_DONE);
        }
    }

    void exec(const char* sql) {
        char* message = nullptr;
        int rc = sqlite3_exec(m_db.get(), sql, nullptr, nullptr, &message);
        std::string text = message ? message : "";
        sqlite3_free(message);
        INFO(text);
        REQUIRE(rc == SQLITE_OK);
    }

    // Runs `sql` (one statement, entirely consumed) with the bindings; returns the first column.
    std::vector<std::string> query(const std::string& sql, const std::vector<SqlValue>& bindings) {
        INFO("sql: " << sql);
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        int rc = sqlite3_prepare_v2(m_db.get(), sql.c_str(), -1, &raw, &tail);
        INFO("sqlite: " << sqlite3_errmsg(m_db.get()));
        REQUIRE(rc == SQLITE_OK);
        std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
        CHECK(std::string_view(tail).find_first_not_of(" \t\n") == std::string_view::npos);
        REQUIRE(sqlite3_bind_parameter_count(raw) == static_cast<int>(bindings.size()));
        for (size_t i = 0; i < bindings.size(); ++i) {
            int index = static_cast<int>(i) + 1;
            if (const auto* text = std::get_if<std::string>(&bindings[i]))
                sqlite3_bind_text(raw, index, text->c_str(), static_cast<int>(text->size()),
                                  SQLITE_TRANSIENT);
            else
                sqlite3_bind_double(raw, index, std::get<double>(bindings[i]));
        }
        std::vector<std::string> rows;
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
            rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)));
        REQUIRE(rc == SQLITE_DONE);
        return rows;
    }

  private:
    std::unique_ptr<sqlite3, DbCloser> m_db;
};

// The ids of the runs matching `filter`, in id order.
Ids matching(Index& index, std::string_view filter) {
    INFO("filter: " << filter);
    auto fragment = compile_filter(filter);
    if (!fragment)
        FAIL(fragment.error().message << "\n" << fragment.error().hint);
    return index.query("SELECT r.id FROM runs r WHERE " + fragment->sql + " ORDER BY r.id",
                       fragment->bindings);
}

// The ids of all runs, sorted by `order`.
Ids ordered(Index& index, std::string_view order) {
    INFO("order: " << order);
    auto fragment = compile_order(order);
    if (!fragment)
        FAIL(fragment.error().message << "\n" << fragment.error().hint);
    return index.query("SELECT r.id FROM runs r ORDER BY " + fragment->sql, fragment->bindings);
}

mlo::Error filter_error(std::string_view filter) {
    INFO("filter: " << filter);
    auto fragment = compile_filter(filter);
    if (fragment)
        FAIL("compiled to: " << fragment->sql);
    CHECK(fragment.error().code == ErrorCode::usage);
    return fragment.error();
}

mlo::Error order_error(std::string_view order) {
    INFO("order: " << order);
    auto fragment = compile_order(order);
    if (fragment)
        FAIL("compiled to: " << fragment->sql);
    CHECK(fragment.error().code == ErrorCode::usage);
    return fragment.error();
}

const Ids k_all = {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"};

} // namespace

TEST_CASE("an empty filter matches every run", "[filter]") {
    Index index;
    CHECK(compile_filter("")->sql == "1");
    CHECK(compile_filter("")->bindings.empty());
    CHECK(matching(index, "") == k_all);
    CHECK(matching(index, "  \t ") == k_all);
}

TEST_CASE("keys and values are bound, never spliced", "[filter]") {
    auto fragment = compile_filter("metrics.acc > 0.9");
    REQUIRE(fragment);
    CHECK(fragment->sql ==
          "(EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND m.key = ? AND m.value > ?))");
    CHECK(fragment->bindings == std::vector<SqlValue>{std::string("acc"), 0.9});
}

TEST_CASE("metrics compare numerically with every operator", "[filter]") {
    Index index;
    CHECK(matching(index, "metrics.acc > 0.9") == Ids{"r3", "r4"});
    CHECK(matching(index, "metrics.acc >= 0.9") == Ids{"r3", "r4", "r5"});
    CHECK(matching(index, "metrics.acc < 0.8") == Ids{"r8"});
    CHECK(matching(index, "metrics.acc <= 0.8") == Ids{"r1", "r7", "r8"});
    CHECK(matching(index, "metrics.acc = 0.8") == Ids{"r1", "r7"});
    CHECK(matching(index, "metrics.acc=.8") == Ids{"r1", "r7"});
    // != means "has the metric, with another value": r2 and r6 have no acc.
    CHECK(matching(index, "metrics.acc != 0.8") == Ids{"r3", "r4", "r5", "r8"});
    CHECK(matching(index, "metrics.acc <> 0.8") == Ids{"r3", "r4", "r5", "r8"});
    CHECK(matching(index, "metrics.loss < 1e0") == Ids{"r1", "r3", "r5", "r7"});
    CHECK(matching(index, "metrics.loss > -1") == Ids{"r1", "r2", "r3", "r5", "r7"});
    CHECK(matching(index, "metrics.loss>+0.45") == Ids{"r1", "r2"});
    CHECK(matching(index, "metric.loss = 0.3") == Ids{"r3", "r5"});
    CHECK(matching(index, "metrics.acc in (0.8, 0.5)") == Ids{"r1", "r7", "r8"});
    CHECK(matching(index, "metrics.acc not in (0.8, 0.5)") == Ids{"r3", "r4", "r5"});
    CHECK(matching(index, "metrics.acc is null") == Ids{"r2", "r6"});
    CHECK(matching(index, "metrics.acc is not null") == Ids{"r1", "r3", "r4", "r5", "r7", "r8"});
    CHECK(matching(index, "metrics.missing is null") == k_all);
}

TEST_CASE("odd metric names are quoted with backticks or double quotes", "[filter]") {
    Index index;
    CHECK(matching(index, "metrics.`f1 score` > 0.5") == Ids{"r3"});
    CHECK(matching(index, "metrics.\"f1 score\" > 0.5") == Ids{"r3"});
    CHECK(matching(index, "params.`hidden.size` = '128'") == Ids{"r5"});
    CHECK(matching(index, "params.hidden.size = 128") == Ids{"r5"});
}

TEST_CASE("params compare as strings with quoted values and as numbers with bare ones", "[filter]") {
    Index index;
    CHECK(matching(index, "params.model = 'lr'") == Ids{"r1", "r2", "r7"});
    CHECK(matching(index, "params.model = \"lr\"") == Ids{"r1", "r2", "r7"});
    CHECK(matching(index, "params.model != 'lr'") == Ids{"r3", "r4", "r5", "r6"});
    CHECK(matching(index, "params.model > 'm'") == Ids{"r3", "r5", "r6"});
    CHECK(matching(index, "params.lr = 0.1") == Ids{"r1", "r7"});
    CHECK(matching(index, "params.lr = '0.1'") == Ids{"r1", "r7"});
    // "10.0" is the number 10 but not the string "10".
    CHECK(matching(index, "params.epochs = 10") == Ids{"r1", "r5", "r7"});
    CHECK(matching(index, "params.epochs = '10'") == Ids{"r1", "r5"});
    CHECK(matching(index, "param.epochs > 9") == Ids{"r1", "r2", "r5", "r7"});
    CHECK(matching(index, "params.epochs >= 10 and params.epochs <= 10") == Ids{"r1", "r5", "r7"});
    // 'auto' is neither smaller nor larger than a number, but it is different from one.
    CHECK(matching(index, "params.lr < 0.1") == Ids{"r4", "r5"});
    CHECK(matching(index, "params.lr >= 0.1") == Ids{"r1", "r2", "r7"});
    CHECK(matching(index, "params.lr != 0.1") == Ids{"r2", "r3", "r4", "r5"});
    CHECK(matching(index, "params.lr <> '0.1'") == Ids{"r2", "r3", "r4", "r5"});
}

TEST_CASE("in lists compare each element by its own type", "[filter]") {
    Index index;
    CHECK(matching(index, "params.model in ('lr', 'rf')") == Ids{"r1", "r2", "r3", "r7"});
    CHECK(matching(index, "params.model not in ('lr', 'rf')") == Ids{"r4", "r5", "r6"});
    CHECK(matching(index, "params.lr in (0.1, 'auto')") == Ids{"r1", "r3", "r7"});
    CHECK(matching(index, "params.lr in ('auto', 1, 0.01)") == Ids{"r2", "r3", "r4"});
    CHECK(matching(index, "params.lr not in (0.1, 'auto')") == Ids{"r2", "r4", "r5"});
    CHECK(matching(index, "params.lr not in (0.1)") == Ids{"r2", "r3", "r4", "r5"});
    CHECK(matching(index, "params.epochs in (10)") == Ids{"r1", "r5", "r7"});
    CHECK(matching(index, "params.epochs in ('10')") == Ids{"r1", "r5"});
    CHECK(matching(index, "tags.team in ('nlp', 'Vision')") == Ids{"r2", "r3", "r6"});
    CHECK(matching(index, "tags.team not in ('nlp')") == Ids{"r1", "r3", "r5", "r7"});
    CHECK(matching(index, "attributes.status in ('running', 'Killed')") == Ids{"r4", "r8"});
    CHECK(matching(index, "attributes.status not in ('finished', 'failed')") == Ids{"r4", "r8"});
    CHECK(matching(index, "attributes.id in ('r1', 'r2', 'nope')") == Ids{"r1", "r2"});
    CHECK(matching(index, "attributes.duration in (5, 30)") == Ids{"r5", "r6"});
    CHECK(matching(index, "attributes.dirty in (true)") == Ids{"r2", "r5"});
}

TEST_CASE("is null and is not null test whether a key is present", "[filter]") {
    Index index;
    CHECK(matching(index, "params.depth is null") == Ids{"r1", "r2", "r4", "r5", "r6", "r7", "r8"});
    CHECK(matching(index, "params.depth is not null") == Ids{"r3"});
    CHECK(matching(index, "tags.team is null") == Ids{"r4", "r8"});
    CHECK(matching(index, "tags.team is not null") == Ids{"r1", "r2", "r3", "r5", "r6", "r7"});
    CHECK(matching(index, "attributes.end_time is null") == Ids{"r2", "r4"});
    CHECK(matching(index, "attributes.duration is null") == Ids{"r2", "r4"});
    CHECK(matching(index, "attributes.branch is null") == Ids{"r8"});
    CHECK(matching(index, "attributes.name is null") == Ids{"r4"});
    CHECK(matching(index, "attributes.name is not null") == Ids{"r1", "r2", "r3", "r5", "r6", "r7", "r8"});
}

TEST_CASE("like is case-sensitive and ilike is not", "[filter]") {
    Index index;
    CHECK(matching(index, "params.model like 'l%'") == Ids{"r1", "r2", "r7"});
    CHECK(matching(index, "params.model ilike 'l%'") == Ids{"r1", "r2", "r4", "r7"});
    CHECK(matching(index, "params.model like '_r'") == Ids{"r1", "r2", "r7"});
    CHECK(matching(index, "params.model not like 'l%'") == Ids{"r3", "r4", "r5", "r6"});
    CHECK(matching(index, "params.model not ilike 'l%'") == Ids{"r3", "r5", "r6"});
    CHECK(matching(index, "tags.team like 'V%'") == Ids{"r3"});
    CHECK(matching(index, "tags.team ilike 'vision'") == Ids{"r1", "r3", "r5", "r7"});
    CHECK(matching(index, "tags.note like '%''%'") == Ids{"r5"});
    CHECK(matching(index, "tags.note like 'it''s'") == Ids{"r5"});
    // GLOB's own wildcards are literal in a LIKE pattern.
    CHECK(matching(index, "params.model like '*'").empty());
    CHECK(matching(index, "params.model like '[l]r'").empty());
    CHECK(matching(index, "attributes.name like 'lr_s%'") == Ids{"r7"});
    CHECK(matching(index, "attributes.name ilike 'LR%'") == Ids{"r2", "r7"});
    CHECK(matching(index, "attributes.name like 'LR%'").empty());
    CHECK(matching(index, "attributes.commit like 'abc%'") == Ids{"r1", "r2"});
    CHECK(matching(index, "attributes.run_id like 'r%'") == k_all);
    CHECK(matching(index, "attributes.stages like '%eval%'") == Ids{"r3", "r6"});
    CHECK(matching(index, "attributes.status like 'fin%'") == Ids{"r1", "r3", "r5", "r7"});
    CHECK(matching(index, "attributes.status not like 'fin%'") == Ids{"r2", "r4", "r6", "r8"});
}

TEST_CASE("tags compare as strings", "[filter]") {
    Index index;
    CHECK(matching(index, "tags.team = 'vision'") == Ids{"r1", "r5", "r7"});
    CHECK(matching(index, "tags.team != 'vision'") == Ids{"r2", "r3", "r6"});
    CHECK(matching(index, "tags.priority = '1'") == Ids{"r6"});
    CHECK(matching(index, "TAGS.team = 'nlp'") == Ids{"r2", "r6"});
    CHECK(matching(index, "tag.team >= 'v'") == Ids{"r1", "r5", "r7"});
}

TEST_CASE("attributes compare with run columns", "[filter]") {
    Index index;
    CHECK(matching(index, "attributes.status = 'failed'") == Ids{"r2", "r6"});
    CHECK(matching(index, "attributes.status = 'FAILED'") == Ids{"r2", "r6"});
    CHECK(matching(index, "attributes.status != 'finished'") == Ids{"r2", "r4", "r6", "r8"});
    CHECK(matching(index, "attribute.STATUS = 'Killed'") == Ids{"r8"});
    CHECK(matching(index, "run.status = 'running'") == Ids{"r4"});
    CHECK(matching(index, "attr.status = 'running'") == Ids{"r4"});
    CHECK(matching(index, "attributes.run_id = 'r3'") == Ids{"r3"});
    CHECK(matching(index, "attributes.run_id = 'r'").empty()); // exact, not a prefix
    // Times are milliseconds; r6 started 0.999999 ms after its whole millisecond.
    CHECK(matching(index, "attributes.start_time >= 1700000005000") == Ids{"r6", "r7", "r8"});
    CHECK(matching(index, "attributes.start_time = 1700000005000") == Ids{"r6"});
    CHECK(matching(index, "attributes.start_time = 1700000000000") == Ids{"r1"});
    CHECK(matching(index, "attributes.end_time < 1700000050000") == Ids{"r5", "r6", "r8"});
    CHECK(matching(index, "attributes.duration > 50") == Ids{"r1", "r3", "r7"});
    CHECK(matching(index, "attributes.git_commit = 'def456'") == Ids{"r3", "r4"});
    CHECK(matching(index, "attributes.commit = 'abc123'") == Ids{"r1"});
    CHECK(matching(index, "attributes.branch = 'main'") == Ids{"r1", "r2", "r4", "r6", "r7"});
    CHECK(matching(index, "attributes.branch != 'main'") == Ids{"r3", "r5"});
    CHECK(matching(index, "attributes.branch = 'feature/x'") == Ids{"r3"});
    CHECK(matching(index, "attributes.dirty = true") == Ids{"r2", "r5"});
    CHECK(matching(index, "attributes.dirty = 1") == Ids{"r2", "r5"});
    CHECK(matching(index, "attributes.dirty = 'True'") == Ids{"r2", "r5"});
    CHECK(matching(index, "attributes.dirty = FALSE") == Ids{"r1", "r3", "r4", "r6", "r7"});
    CHECK(matching(index, "attributes.dirty = 0") == Ids{"r1", "r3", "r4", "r6", "r7"});
    CHECK(matching(index, "attributes.dirty = 'false'") == Ids{"r1", "r3", "r4", "r6", "r7"});
    CHECK(matching(index, "attributes.dirty != true") == Ids{"r1", "r3", "r4", "r6", "r7"});
    CHECK(matching(index, "attributes.name = 'forest'") == Ids{"r3"});
    CHECK(matching(index, "attributes.run_name = 'forest'") == Ids{"r3"});
    CHECK(matching(index, "attributes.stages = 'eval'") == Ids{"r6"});
}

TEST_CASE("and binds tighter than or, and parentheses change it", "[filter]") {
    Index index;
    // a = r6, b = r3 r4, c = r3
    const std::string a = "params.model = 'svm'";
    const std::string b = "metrics.acc > 0.9";
    const std::string c = "tags.team = 'Vision'";
    CHECK(matching(index, a + " or " + b + " and " + c) == Ids{"r3", "r6"});
    CHECK(matching(index, a + " or (" + b + " and " + c + ")") == Ids{"r3", "r6"});
    CHECK(matching(index, "(" + a + " or " + b + ") and " + c) == Ids{"r3"});
    CHECK(matching(index, b + " and " + c + " or " + a) == Ids{"r3", "r6"});
    CHECK(matching(index, b + " and (" + c + " or " + a + ")") == Ids{"r3"});
    CHECK(matching(index, "((" + a + "))") == Ids{"r6"});
    CHECK(matching(index, a + " or " + b + " or " + c) == Ids{"r3", "r4", "r6"});
    CHECK(matching(index, "metrics.acc > 0.5 and metrics.loss < 1 and tags.team = 'vision'") ==
          Ids{"r1", "r5", "r7"});
}

TEST_CASE("not negates a condition", "[filter]") {
    Index index;
    CHECK(matching(index, "not metrics.acc > 0.9") == Ids{"r1", "r2", "r5", "r6", "r7", "r8"});
    CHECK(matching(index, "not (params.model = 'svm' or metrics.acc > 0.9)") ==
          Ids{"r1", "r2", "r5", "r7", "r8"});
    CHECK(matching(index, "metrics.acc > 0.9 and not tags.team = 'Vision'") == Ids{"r4"});
    CHECK(matching(index, "not not attributes.status = 'killed'") == Ids{"r8"});
}

TEST_CASE("keywords are case-insensitive", "[filter]") {
    Index index;
    CHECK(matching(index, "PARAMS.model = 'svm' OR Metrics.acc > 0.9 AnD tags.team = 'Vision'") ==
          Ids{"r3", "r6"});
    CHECK(matching(index, "params.model NOT IN ('lr', 'rf')") == Ids{"r4", "r5", "r6"});
    CHECK(matching(index, "metrics.acc IS NOT NULL AND params.model In ('LR')") == Ids{"r4"});
    CHECK(matching(index, "params.model ILIKE 'L%' and params.model Like 'L%'") == Ids{"r4"});
    CHECK(matching(index, "attributes.end_time IS Null") == Ids{"r2", "r4"});
}

TEST_CASE("malicious keys and values are harmless", "[filter]") {
    Index index;
    const char* const attacks[] = {
        "params.x = 'a''); DROP TABLE runs; --'",
        "params.`x'); DROP TABLE runs; --` = 'a'",
        "tags.team = \"x\"\" OR 1=1 --\"",
        "attributes.name = 'x'' OR ''1''=''1'",
        "params.model in ('lr''); DROP TABLE runs; --', 1)",
        "tags.team like '%''; DROP TABLE runs; --'",
    };
    for (const char* attack : attacks) {
        INFO(attack);
        auto fragment = compile_filter(attack);
        REQUIRE(fragment);
        CHECK(fragment->sql.find("DROP") == std::string::npos);
        CHECK(fragment->sql.find('\'') == std::string::npos);
        CHECK(matching(index, attack).empty());
    }
    CHECK(index.query("SELECT count(*) FROM runs", {}) == Ids{"8"});
    CHECK(matching(index, "attributes.name = 'x'' OR ''1''=''1'").empty());
}

namespace {
// The error's column and message, and that its hint shows a caret under that column.
void check_error(const mlo::Error& error, const std::string& filter, int column, const std::string& what) {
    INFO("filter: " << filter);
    CHECK_THAT(error.message, StartsWith("bad filter at column " + std::to_string(column) + ": "));
    CHECK_THAT(error.message, Contains(what));
    CHECK_THAT(error.hint,
               StartsWith(filter + "\n" + std::string(static_cast<size_t>(column - 1), ' ') + "^"));
}
} // namespace

TEST_CASE("errors name the column of the offending token", "[filter]") {
    auto check = [](const std::string& filter, int column, const std::string& what) {
        check_error(filter_error(filter), filter, column, what);
    };

    SECTION("the hint shows the filter and a caret") {
        auto error = filter_error("metrics.acc >> 0.9");
        CHECK(error.message == "bad filter at column 13: unknown operator '>>'");
        CHECK_THAT(error.hint, StartsWith("metrics.acc >> 0.9\n            ^"));
    }
    SECTION("unterminated strings") {
        check("params.model = 'lr", 16, "unterminated string");
        check("params.model = \"lr", 16, "unterminated string");
        check("metrics.`f1 score > 1", 9, "unterminated");
        check("params.model = 'it''s", 16, "unterminated string");
    }
    SECTION("unbalanced parentheses") {
        check("(metrics.acc > 0.9", 1, "'(' is never closed");
        check("((metrics.acc > 0.9)", 1, "'(' is never closed");
        check("metrics.acc > 0.9)", 18, "unbalanced ')'");
        check("(metrics.acc > 0.9 metrics.loss > 1)", 20, "expected ')' to close the '(' at column 1");
        check("()", 2, "expected a condition");
        check("params.model in ('lr'", 17, "'(' is never closed");
    }
    SECTION("missing values") {
        check("metrics.acc >", 14, "expected a value after '>'");
        check("metrics.acc >   ", 14, "expected a value after '>'");
        check("metrics.acc > and params.x = 'a'", 15, "expected a value after '>', got 'and'");
        check("params.model = lr", 16, "expected a value after '=', got 'lr'");
        check("metrics.acc = null", 15, "cannot compare with null");
        check("params.model in ('lr',)", 23, "expected a value after ','");
        check("params.model like", 18, "expected a value after 'like'");
        check("params.model = `lr`", 16, "expected a value");
    }
    SECTION("unknown operators") {
        check("metrics.acc gt 0.9", 13, "expected an operator after metrics.acc, got 'gt'");
        check("metrics.acc == 0.9", 13, "unknown operator '=='");
        check("metrics.acc => 0.9", 13, "unknown operator '=>'");
        check("metrics.acc", 12, "expected an operator");
        check("metrics.acc > 0.9 && params.x = 'a'", 19, "unexpected '&'");
        check("params.x is nul", 13, "expected 'null' after 'is'");
        check("params.x is not 1", 17, "expected 'null' after 'is not'");
        check("params.x not between 1", 14, "expected 'in', 'like' or 'ilike' after 'not'");
        check("params.x in 'a'", 13, "expected '(' after 'in'");
        check("params.x in ('a' 'b')", 18, "expected ',' or ')'");
        check("metrics.acc > 0.9; DROP TABLE runs", 18, "unexpected character ';'");
    }
    SECTION("unknown prefixes and attributes") {
        check("metrcs.acc > 1", 1, "unknown field kind 'metrcs' (did you mean 'metrics'?)");
        check("parms.lr > 1", 1, "(did you mean 'params'?)");
        check("foo.bar = 'x'", 1, "unknown field kind 'foo'");
        check("attributes.stauts = 'x'", 12, "unknown attribute 'stauts' (did you mean 'status'?)");
        check("metrics. > 1", 9, "expected a key name after 'metrics.'");
        check("metrics.`` > 1", 9, "empty key name");
    }
    SECTION("bare keys need a prefix") {
        auto error = filter_error("acc > 0.9");
        check_error(error, "acc > 0.9", 1, "'acc' needs a prefix");
        CHECK_THAT(error.hint, Contains("write metrics.acc, params.acc, tags.acc or attributes.acc"));
        check("metrics.acc > 0.9 and status = 'FAILED'", 23, "'status' needs a prefix");
    }
    SECTION("trailing garbage") {
        check("metrics.acc > 0.9 params", 19, "unexpected 'params' after a complete condition");
        check("metrics.acc > 0.9 and", 22,
              "expected a condition like metrics.acc > 0.9, got the end of the filter");
        check("metrics.acc > 0.9 or or metrics.acc < 1", 22, "got 'or'");
        check("and metrics.acc > 0.9", 1, "got 'and'");
    }
    SECTION("empty in lists") {
        check("params.model in ()", 17, "empty list after 'in'");
        check("params.model not in ( )", 21, "empty list after 'in'");
    }
    SECTION("values of the wrong type") {
        check("metrics.acc > '0.9'", 15, "metrics.acc is a number and cannot be compared with '0.9'");
        check("metrics.acc in (0.5, 'x')", 22, "cannot be compared with 'x'");
        check("metrics.acc like '%'", 13, "metrics are numbers");
        check("tags.team = 3", 13, "tags are strings");
        check("params.flag = true", 15, "params are strings");
        check("attributes.start_time > 'yesterday'", 25, "is a number");
        check("attributes.status = 1", 21, "is text");
        check("attributes.dirty = 'maybe'", 20, "is true or false");
        check("attributes.duration like '1%'", 21, "is not text");
        check("params.model like 1", 19, "needs a quoted pattern");
    }
    SECTION("bad numbers") {
        check("metrics.acc > 1.2.3", 15, "bad number '1.2.3'");
        check("attributes.run_id = 1abc", 21, "bad number '1abc'");
    }
    SECTION("columns count characters, not bytes") {
        check("tags.\xC3\xA9quipe = 'a' )", 19, "unbalanced ')'");
    }
    SECTION("deep nesting is refused, not a crash") {
        check(std::string(1000, '('), 101, "nests too deeply");
        std::string nots;
        for (int i = 0; i < 1000; ++i)
            nots += "not ";
        auto error = filter_error(nots + "metrics.acc > 1");
        CHECK_THAT(error.message, Contains("nests too deeply"));
    }
}

TEST_CASE("compile_order sorts by a key with missing values last", "[filter]") {
    Index index;
    CHECK(ordered(index, "metrics.acc desc, attributes.run_id") ==
          Ids{"r4", "r3", "r5", "r1", "r7", "r8", "r2", "r6"});
    CHECK(ordered(index, "metrics.acc, attributes.run_id") ==
          Ids{"r8", "r1", "r7", "r5", "r3", "r4", "r2", "r6"});
    CHECK(ordered(index, "metrics.acc ASC, attributes.run_id DESC") ==
          Ids{"r8", "r7", "r1", "r5", "r3", "r4", "r6", "r2"});
    // Numbers sort numerically, before values that are not numbers, before runs without the param.
    CHECK(ordered(index, "params.lr asc, attributes.run_id") ==
          Ids{"r5", "r4", "r1", "r7", "r2", "r3", "r6", "r8"});
    CHECK(ordered(index, "params.lr desc, run.id") == Ids{"r2", "r1", "r7", "r4", "r5", "r3", "r6", "r8"});
    CHECK(ordered(index, "params.model, attributes.id") ==
          Ids{"r4", "r1", "r2", "r7", "r5", "r3", "r6", "r8"});
    CHECK(ordered(index, "tags.team, attributes.id") == Ids{"r3", "r2", "r6", "r1", "r5", "r7", "r4", "r8"});
    CHECK(ordered(index, "attributes.end_time desc, attributes.id") ==
          Ids{"r3", "r7", "r1", "r5", "r6", "r8", "r2", "r4"});
    CHECK(ordered(index, "attributes.end_time, attributes.id") ==
          Ids{"r8", "r6", "r5", "r1", "r7", "r3", "r2", "r4"});
    CHECK(ordered(index, "attributes.start_time DESC") ==
          Ids{"r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1"});
    CHECK(ordered(index, "attributes.duration desc, attributes.id") ==
          Ids{"r3", "r7", "r1", "r5", "r6", "r8", "r2", "r4"});
    CHECK(ordered(index, "metrics.`f1 score` desc, attributes.id") ==
          Ids{"r3", "r1", "r2", "r4", "r5", "r6", "r7", "r8"});
    CHECK(ordered(index, "attributes.branch desc, attributes.id") ==
          Ids{"r1", "r2", "r4", "r6", "r7", "r3", "r5", "r8"});
}

TEST_CASE("compile_order errors name the column", "[filter]") {
    auto check = [](const std::string& order, int column, const std::string& what) {
        auto error = order_error(order);
        CHECK_THAT(error.message, StartsWith("bad sort key at column " + std::to_string(column) + ": "));
        CHECK_THAT(error.message, Contains(what));
        CHECK_THAT(error.hint,
                   StartsWith(order + "\n" + std::string(static_cast<size_t>(column - 1), ' ') + "^"));
    };
    check("metrics.acc up", 13, "expected 'asc', 'desc' or ','");
    check("", 1, "expected a sort key");
    check("metrics.acc desc,", 18, "expected a sort key");
    check("acc desc", 1, "'acc' needs a prefix");
    check("metrcs.acc", 1, "did you mean 'metrics'");
    check("attributes.start desc", 12, "unknown attribute 'start'");
    check("params.lr desc desc", 16, "expected 'asc', 'desc' or ','");
}
