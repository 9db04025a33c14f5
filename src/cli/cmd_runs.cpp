#include "command.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <mlo/git/repository.hpp>
#include <mlo/runs/run_compare.hpp>
#include <mlo/runs/run_gate.hpp>
#include <mlo/runs/run_store.hpp>
#include <mlo/util/file_io.hpp>
#include <set>

namespace mlo::cli {
namespace {

std::string local_time(int64_t ns) {
    std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
    return buffer;
}

// RFC 4180 quoting for --csv.
std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos)
        return text;
    std::string out = "\"";
    for (char c : text)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csv_row(const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i)
        out += (i ? "," : "") + csv_cell(cells[i]);
    return out;
}

// Fix (e2e test_runs_list "--columns"): a key may hold spaces ("metrics.f1 score"), so each item
// is trimmed instead of losing every space, and a key quoted as in filters (metrics.`f1 score`,
// metrics."f1 score") is unquoted. Before, such a column always came out empty.
std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = std::min(text.find(',', start), text.size());
        std::string item = text.substr(start, end - start);
        start = end + 1;
        item.erase(0, std::min(item.find_first_not_of(' '), item.size()));
        item.erase(item.find_last_not_of(' ') + 1);
        size_t dot = item.find('.');
        if (dot != std::string::npos && item.size() >= dot + 3 &&
            (item[dot + 1] == '`' || item[dot + 1] == '"') && item.back() == item[dot + 1])
            item = item.substr(0, dot + 1) + item.substr(dot + 2, item.size() - dot - 3);
        if (!item.empty())
            out.push_back(item);
    }
    return out;
}

Result<std::unique_ptr<runs::RunStore>> open_runs(Context& context) {
    return runs::RunStore::open(context.project->objects(), context.project->mlo_dir());
}

Result<std::vector<runs::RunRecord>> load_runs(runs::RunStore& store, const std::vector<std::string>& names) {
    std::vector<runs::RunRecord> out;
    for (const auto& name : names) {
        auto id = store.resolve(name);
        if (!id)
            return fail(std::move(id).error());
        auto run = store.load(*id);
        if (!run)
            return fail(std::move(run).error());
        out.push_back(std::move(*run));
    }
    return out;
}

class RunsCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(1, 1);
        m_list = app.add_subcommand("list", "List runs, newest first");
        m_list
            ->add_option("--filter", m_filter,
                         "MLflow-style filter, e.g. \"metrics.acc > 0.9 and params.model = 'lr'\"")
            ->option_text("EXPR");
        m_list->add_option("--sort", m_sort, "Sort key and direction, e.g. \"metrics.acc desc\"")
            ->option_text("KEY");
        // Fix (e2e test_runs_list "bad filters"): digits only, so that `--limit -1` is a usage
        // error; CLI11 wrapped it around into the size_t and no run was listed.
        m_list->add_option("--limit", m_limit, "Show at most N runs")
            ->check([](const std::string& text) {
                return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos
                           ? std::string()
                           : "expected a whole number, 0 or more";
            })
            ->option_text("N");
        m_list->add_option("--columns", m_columns, "Comma-separated params.X / metrics.Y columns")
            ->option_text("COLS");
        m_list->add_flag("--csv", m_csv, "Print CSV");

        m_show = app.add_subcommand("show", "Show one run: params, metrics, stages, lineage");
        m_show->add_option("run", m_names, "Run id, unique prefix, or 'latest'")
            ->required()
            ->expected(1)
            ->option_text("RUN");
        m_show->add_option("--fail-if", m_fail_if, "Exit 1 when the run matches this filter condition")
            ->option_text("EXPR");

        m_compare = app.add_subcommand("compare", "Params and metrics of runs side by side");
        m_compare->add_option("runs", m_names, "Runs to compare")
            ->required()
            ->expected(2, -1)
            ->option_text("RUN...");
        m_compare->add_flag("--csv", m_csv, "Print CSV");
        m_compare->add_option("--html", m_html, "Write a self-contained HTML page with step-metric charts")
            ->option_text("FILE");
        m_compare
            ->add_option(
                "--fail-if", m_fail_if,
                "Exit 1 when a run after the first matches this condition (may name baseline.metrics.KEY)")
            ->option_text("EXPR");

        m_diff = app.add_subcommand("diff", "What changed between two runs: code, data, params, results");
        m_diff->add_option("runs", m_names, "The old and the new run")
            ->required()
            ->expected(2)
            ->option_text("RUN RUN");
        for (auto* sub : {m_list, m_show, m_compare, m_diff})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        auto store = open_runs(context);
        if (!store)
            return fail(std::move(store).error());
        if (m_list->parsed())
            return list(context, **store);
        if (m_show->parsed())
            return show(context, **store);
        if (m_compare->parsed())
            return compare(context, **store);
        return diff(context, **store);
    }

  private:
    Result<int> list(Context& context, runs::RunStore& store) {
        runs::RunQuery query{m_filter, m_sort, m_limit};
        auto rows = store.query(query);
        if (!rows)
            return fail(std::move(rows).error());
        std::vector<std::string> columns = split_commas(m_columns);
        if (columns.empty()) { // default: every metric the listed runs have, up to six
            std::set<std::string> keys;
            for (const auto& row : *rows)
                for (const auto& [key, value] : row.metrics)
                    keys.insert("metrics." + key);
            for (const auto& key : keys)
                if (columns.size() < 6)
                    columns.push_back(key);
        }
        auto cell = [](const runs::RunSummary& row, const std::string& column) -> std::optional<std::string> {
            if (column.rfind("metrics.", 0) == 0) {
                auto it = row.metrics.find(column.substr(8));
                return it == row.metrics.end() ? std::nullopt
                                               : std::optional(runs::format_number(it->second));
            }
            if (column.rfind("params.", 0) == 0) {
                auto it = row.params.find(column.substr(7));
                return it == row.params.end() ? std::nullopt : std::optional(it->second);
            }
            return std::nullopt;
        };
        if (context.out.json()) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& row : *rows)
                list.push_back({{"id", row.id},
                                {"status", row.status},
                                {"started_ns", row.started_ns},
                                {"ended_ns", row.ended_ns},
                                {"git_commit", row.git_commit},
                                {"git_branch", row.git_branch},
                                {"dirty", row.dirty},
                                {"stages", row.stages},
                                {"params", row.params},
                                {"metrics", row.metrics}});
            context.out.json_result("mlo.runs.list/1", {{"runs", list}});
            return 0;
        }
        std::vector<std::vector<std::string>> table;
        std::vector<std::string> header = {"id", "status", "started", "duration", "commit"};
        header.insert(header.end(), columns.begin(), columns.end());
        if (m_csv)
            context.out.line(csv_row(header));
        else
            table.push_back(header);
        for (const auto& row : *rows) {
            std::vector<std::string> cells = {
                row.id, row.status, local_time(row.started_ns),
                fmt::format("{:.1f}s", static_cast<double>(row.ended_ns - row.started_ns) / 1e9),
                row.git_commit.substr(0, 8) + (row.dirty ? "+" : "")};
            for (const auto& column : columns)
                cells.push_back(cell(row, column).value_or(""));
            if (m_csv)
                context.out.line(csv_row(cells));
            else
                table.push_back(std::move(cells));
        }
        if (!m_csv) {
            if (rows->empty())
                context.out.info("no runs" + std::string(m_filter.empty() ? "" : " match the filter"));
            else
                print_table(context.out, table);
        }
        return 0;
    }

    // Evaluates --fail-if on `runs` (against `baseline` when comparing) before anything is printed,
    // so that a malformed condition fails cleanly. Returns the gate verdicts, one per run.
    Result<std::vector<runs::GateResult>>
    gates(runs::RunStore& store, const std::vector<runs::RunRecord>& runs, const runs::RunRecord* baseline) {
        std::vector<runs::GateResult> out;
        if (m_fail_if.empty())
            return out;
        for (const auto& run : runs) {
            auto gate = runs::evaluate_gate(store, run, m_fail_if, baseline);
            if (!gate)
                return fail(std::move(gate).error());
            out.push_back(std::move(*gate));
        }
        return out;
    }

    // Reports failed gates on stderr; the exit status: 1 when one holds.
    int report_gates(Context& context, const std::vector<runs::RunRecord>& runs,
                     const std::vector<runs::GateResult>& verdicts) {
        int code = 0;
        for (size_t i = 0; i < verdicts.size(); ++i) {
            if (!verdicts[i].holds)
                continue;
            code = 1;
            std::string values;
            for (const auto& value : verdicts[i].values)
                values += (values.empty() ? "" : ", ") + value;
            // On stderr even with --json, which carries the same verdict in its "gates" list.
            fmt::print(stderr, "{} run {}: {} (--fail-if \"{}\")\n",
                       context.out.paint("mlo: gate failed:", Output::Color::red, true), runs[i].id, values,
                       m_fail_if);
        }
        return code;
    }

    static nlohmann::json gates_json(const std::vector<runs::RunRecord>& runs,
                                     const std::vector<runs::GateResult>& verdicts) {
        nlohmann::json list = nlohmann::json::array();
        for (size_t i = 0; i < verdicts.size(); ++i)
            list.push_back({{"run", runs[i].id},
                            {"failed", verdicts[i].holds},
                            {"condition", verdicts[i].condition},
                            {"values", verdicts[i].values}});
        return list;
    }

    Result<int> show(Context& context, runs::RunStore& store) {
        auto loaded = load_runs(store, m_names);
        if (!loaded)
            return fail(std::move(loaded).error());
        const auto& run = loaded->front();
        auto verdicts = gates(store, *loaded, nullptr);
        if (!verdicts)
            return fail(std::move(verdicts).error());
        int code = report_gates(context, *loaded, *verdicts);
        if (context.out.json()) {
            auto doc = run.to_json();
            doc.erase("schema");
            nlohmann::json result = {{"run", doc}};
            if (!m_fail_if.empty())
                result["gates"] = gates_json(*loaded, *verdicts);
            context.out.json_result("mlo.runs.show/1", result);
            return code;
        }
        const Output& out = context.out;
        out.line(out.paint("run " + run.id, Output::Color::bold) + "  " + run.status);
        out.line(fmt::format("started   {}  ({:.2f}s)", local_time(run.started_ns), run.duration_seconds()));
        out.line(fmt::format("git       {} on {}{}", run.git_commit.empty() ? "(no commit)" : run.git_commit,
                             run.git_branch.empty() ? "(detached)" : run.git_branch,
                             run.git_dirty ? ", dirty (diff " + run.git_diff_hash.substr(0, 19) + ")" : ""));
        if (!run.overrides.empty()) {
            std::string joined;
            for (const auto& item : run.overrides)
                joined += " -S " + item;
            out.line("overrides" + joined);
        }
        if (!run.params.empty()) {
            out.line("params");
            for (const auto& [key, value] : run.params)
                out.line("  " + key + " = " + value);
        }
        if (!run.metrics.empty()) {
            out.line("metrics");
            for (const auto& [key, value] : run.metrics)
                out.line("  " + key + " = " + runs::format_number(value));
        }
        out.line("stages");
        std::vector<std::vector<std::string>> table = {
            {"  stage", "status", "wall", "cpu", "peak rss", "reason"}};
        for (const auto& stage : run.stages)
            table.push_back({"  " + stage.name, stage.status, fmt::format("{:.2f}s", stage.wall_seconds),
                             fmt::format("{:.2f}s", stage.cpu_seconds), human_bytes(stage.peak_rss_bytes),
                             stage.reason});
        print_table(out, table);
        // Stages run elsewhere (Slurm): their jobs, final states and the jobs they waited for.
        std::vector<std::vector<std::string>> jobs = {{"  stage", "executor", "job", "state", "after"}};
        for (const auto& stage : run.stages) {
            if (stage.executor.empty())
                continue;
            std::string after;
            for (const auto& id : stage.job_after)
                after += (after.empty() ? "" : ",") + id;
            jobs.push_back({"  " + stage.name, stage.executor, stage.job_id.empty() ? "-" : stage.job_id,
                            stage.job_state.empty() ? "-" : stage.job_state, after.empty() ? "-" : after});
        }
        if (jobs.size() > 1) {
            out.line("jobs");
            print_table(out, jobs);
        }
        bool any_outs = false;
        for (const auto& stage : run.stages)
            for (const auto& item : stage.outs) {
                if (!any_outs)
                    out.line("outs");
                any_outs = true;
                out.line("  " + item.path + "  " + item.id.str().substr(0, 19) + "  (" + stage.name + ")");
            }
        return code;
    }

    Result<int> compare(Context& context, runs::RunStore& store) {
        auto loaded = load_runs(store, m_names);
        if (!loaded)
            return fail(std::move(loaded).error());
        std::vector<runs::RunRecord> candidates(loaded->begin() + 1, loaded->end());
        auto verdicts = gates(store, candidates, &loaded->front());
        if (!verdicts)
            return fail(std::move(verdicts).error());
        int code = report_gates(context, candidates, *verdicts);
        auto rows = runs::compare_runs(*loaded);
        if (!m_html.empty()) {
            MLO_TRY(util::write_file_atomic(m_html, runs::comparison_html(*loaded)));
            context.out.info("wrote " + m_html);
        }
        if (context.out.json()) {
            nlohmann::json ids = nlohmann::json::array(), keys = nlohmann::json::array();
            for (const auto& run : *loaded)
                ids.push_back(run.id);
            for (const auto& row : rows) {
                nlohmann::json values = nlohmann::json::array();
                for (const auto& value : row.values)
                    values.push_back(value ? nlohmann::json(*value) : nlohmann::json(nullptr));
                keys.push_back({{"key", row.key}, {"values", values}, {"differs", row.differs}});
            }
            nlohmann::json result = {{"runs", ids}, {"rows", keys}};
            if (!m_fail_if.empty())
                result["gates"] = gates_json(candidates, *verdicts);
            context.out.json_result("mlo.runs.compare/1", result);
            return code;
        }
        std::vector<std::string> header = {"key"};
        for (const auto& run : *loaded)
            header.push_back(run.id);
        std::vector<std::vector<std::string>> table = {header};
        std::vector<bool> highlight = {false};
        for (const auto& row : rows) {
            std::vector<std::string> cells = {row.key};
            for (const auto& value : row.values)
                cells.push_back(value.value_or("-"));
            table.push_back(cells);
            highlight.push_back(row.differs);
        }
        if (m_csv) {
            for (const auto& row : table)
                context.out.line(csv_row(row));
            return code;
        }
        for (size_t i = 1; i < table.size(); ++i)
            if (highlight[i])
                table[i][0] = "* " + table[i][0];
            else
                table[i][0] = "  " + table[i][0];
        table[0][0] = "  key";
        print_table(context.out, table, highlight);
        return code;
    }

    Result<int> diff(Context& context, runs::RunStore& store) {
        auto loaded = load_runs(store, m_names);
        if (!loaded)
            return fail(std::move(loaded).error());
        auto result = runs::diff_runs((*loaded)[0], (*loaded)[1]);
        if (!result.old_commit.empty() && !result.new_commit.empty() &&
            result.old_commit != result.new_commit) {
            if (auto repo = git::Repository::discover(context.project->root())) {
                auto changed = repo->changed_files(result.old_commit, result.new_commit);
                if (changed)
                    result.code_changes = *changed;
                else
                    context.out.warning("cannot compare the runs' commits: " + changed.error().message);
            }
        }
        auto changes_json = [](const std::vector<runs::RunDiff::Change>& changes) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& change : changes)
                out.push_back({{"key", change.what}, {"old", change.old_value}, {"new", change.new_value}});
            return out;
        };
        if (context.out.json()) {
            context.out.json_result(
                "mlo.runs.diff/1",
                {{"old", {{"id", result.old_id}, {"commit", result.old_commit}, {"dirty", result.old_dirty}}},
                 {"new", {{"id", result.new_id}, {"commit", result.new_commit}, {"dirty", result.new_dirty}}},
                 {"code", result.code_changes},
                 {"data", changes_json(result.data)},
                 {"params", changes_json(result.params)},
                 {"metrics", changes_json(result.metrics)},
                 {"outs", changes_json(result.outs)}});
            return 0;
        }
        const Output& out = context.out;
        out.line(out.paint("code", Output::Color::bold));
        if (result.old_commit == result.new_commit)
            out.line(
                "  same commit " + result.old_commit.substr(0, 12) +
                (result.old_dirty || result.new_dirty ? " (uncommitted changes in at least one run)" : ""));
        for (const auto& path : result.code_changes)
            out.line("  modified: " + path);
        auto section = [&](const std::string& title, const std::vector<runs::RunDiff::Change>& changes) {
            out.line(out.paint(title, Output::Color::bold));
            if (changes.empty())
                out.line("  (no changes)");
            for (const auto& change : changes)
                out.line("  " + change.what + ": " +
                         (change.old_value.empty() ? "(none)" : change.old_value) + " -> " +
                         (change.new_value.empty() ? "(none)" : change.new_value));
        };
        section("data", result.data);
        section("params", result.params);
        section("metrics", result.metrics);
        section("outs", result.outs);
        return 0;
    }

    CLI::App *m_list = nullptr, *m_show = nullptr, *m_compare = nullptr, *m_diff = nullptr;
    std::string m_filter, m_sort, m_columns, m_html, m_fail_if;
    size_t m_limit = 0;
    bool m_csv = false;
    std::vector<std::string> m_names;
};

} // namespace

std::unique_ptr<Command> make_runs_command() {
    return std::make_unique<RunsCommand>();
}

} // namespace mlo::cli
