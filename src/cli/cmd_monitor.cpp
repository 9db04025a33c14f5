#include "command.hpp"

#include <csignal>
#include <fmt/format.h>
#include <mlo/monitor/monitor_check.hpp>
#include <mlo/monitor/report_render.hpp>
#include <mlo/monitor/retrain.hpp>
#include <mlo/registry/model_manifest.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::cli {
namespace {

namespace fs = std::filesystem;
using monitor::CheckReport;
using monitor::TestStatus;

std::string score_text(const monitor::ColumnReport& column) {
    if (!column.error.empty())
        return "error";
    return fmt::format("{:.4g}", *column.score);
}

void print_summary(const Output& out, const CheckReport& report) {
    for (const auto& warning : report.warnings)
        out.warning(warning);
    out.line(fmt::format("reference: {} ({} rows)", report.reference, report.reference_rows));
    out.line(fmt::format("current:   {} ({} rows)", report.current, report.current_rows));
    out.line("");
    std::vector<std::vector<std::string>> table = {
        {"COLUMN", "TYPE", "METHOD", "SCORE", "THRESHOLD", "DRIFT", "N_REF", "N_CUR", "MISSING"}};
    std::vector<bool> highlight = {false};
    for (const auto& c : report.columns) {
        table.push_back({c.name + (c.is_prediction ? " (prediction)" : ""),
                         c.kind == monitor::ColumnKind::numeric ? "numeric" : "categorical", c.method,
                         score_text(c), fmt::format("{:.4g}", c.threshold),
                         !c.error.empty() ? "ERROR"
                         : c.drifted      ? "yes"
                                          : "no",
                         std::to_string(c.n_ref), std::to_string(c.n_cur),
                         fmt::format("{:.1f}%", c.missing_share * 100)});
        highlight.push_back(c.drifted || !c.error.empty());
    }
    print_table(out, table, highlight);
    for (const auto& c : report.columns)
        if (!c.error.empty())
            out.line(out.paint("error: ", Output::Color::red) + c.error);
    out.line("");
    out.line(fmt::format("dataset drift: {} of {} features drifted (gate: share >= {:.3g}) -> {}",
                         report.drifted_features, report.tested_features, report.drift_share_threshold,
                         report.dataset_drift ? out.paint("DRIFT", Output::Color::red)
                                              : out.paint("no drift", Output::Color::green)));
    if (!report.metrics.empty()) {
        out.line("");
        std::vector<std::vector<std::string>> metrics = {{"METRIC", "VALUE", "REFERENCE", "GATE", "STATUS"}};
        for (const auto& m : report.metrics)
            metrics.push_back({m.metric, m.value ? fmt::format("{:.4g}", *m.value) : "-",
                               m.reference_value ? fmt::format("{:.4g}", *m.reference_value) : "-",
                               m.condition, monitor::status_name(m.status)});
        print_table(out, metrics);
        for (const auto& m : report.metrics)
            for (const auto& warning : m.warnings)
                out.warning(m.metric + ": " + warning);
    }
    if (!report.health.empty()) {
        out.line("");
        std::vector<std::vector<std::string>> health = {
            {"VERSION", "REQUESTS", "ERRORS", "ERROR_RATE", "P50_MS", "P95_MS", "P99_MS"}};
        for (const auto& v : report.health)
            health.push_back({v.version, std::to_string(v.requests), std::to_string(v.errors),
                              fmt::format("{:.2f}%", v.error_rate * 100), fmt::format("{:.3g}", v.p50_ms),
                              fmt::format("{:.3g}", v.p95_ms), fmt::format("{:.3g}", v.p99_ms)});
        print_table(out, health);
    }
    out.line("");
    std::vector<std::string> failing;
    for (const auto& test : report.tests)
        if (test.status == TestStatus::fail || test.status == TestStatus::error)
            failing.push_back(
                fmt::format("{} {}: {}", monitor::status_name(test.status), test.name, test.description));
    for (const auto& line : failing)
        out.line(out.paint(line, Output::Color::red));
    out.line(fmt::format("{} ({} success, {} fail, {} warning, {} error, {} skipped)",
                         report.all_passed() ? out.paint("PASSED", Output::Color::green)
                                             : out.paint("FAILED", Output::Color::red),
                         report.count(TestStatus::success), report.count(TestStatus::fail),
                         report.count(TestStatus::warning), report.count(TestStatus::error),
                         report.count(TestStatus::skipped)));
}

// "Retraining because ..." from the gates that failed.
std::string failed_gates(const CheckReport& report) {
    std::vector<std::string> names;
    for (const auto& test : report.tests)
        if (test.status == TestStatus::fail)
            names.push_back(test.name);
    return fmt::format("{} failed", fmt::join(names, ", "));
}

class MonitorCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(1, 1);
        m_check =
            app.add_subcommand("check", "Test drift, performance and health once; exit 1 when a gate fails");
        m_watch = app.add_subcommand("watch", "Run the check every interval until interrupted");
        for (CLI::App* sub : {m_check, m_watch})
            define_check_options(sub);
        m_watch->add_option("--every", m_every, "The interval between checks (default 10m)")
            ->option_text("DURATION");
        m_watch->add_option("--count", m_count, "Stop after N checks (default: until SIGINT or SIGTERM)")
            ->check(CLI::PositiveNumber)
            ->option_text("N");
    }

    Result<int> run(Context& context) override {
        m_request.cwd = context.cwd;
        if (m_watch->parsed())
            return watch(context);
        return check_once(context);
    }

  private:
    void define_check_options(CLI::App* sub) {
        sub->add_option("--model", m_request.model,
                        "The model whose serve log to read (default monitor.model)")
            ->option_text("MODEL");
        sub->add_option("--current", m_request.current, "Current data: a CSV or JSON-lines file")
            ->option_text("FILE");
        sub->add_option("--since", m_request.since,
                        "Current data: the serve log's requests this recent (24h, 30m, 7d)")
            ->option_text("DURATION");
        sub->add_option("--labels", m_request.labels, "Labels joined to the current rows by request_id")
            ->option_text("FILE");
        sub->add_option("--reference", m_request.reference, "The reference data (default monitor.reference)")
            ->option_text("FILE");
        sub->add_option("--html", m_html, "Also write a self-contained HTML report")->option_text("FILE");
        sub->add_option("--prom", m_prom, "Also write the scores in Prometheus text format")
            ->option_text("FILE");
        sub->add_flag("--no-retrain", m_no_retrain,
                      "Do not retrain when a gate fails, whatever monitor.on_fail says");
        sub->add_option("--holdout", m_holdout,
                        "Retraining: score the versions on this file (default monitor.reference)")
            ->option_text("FILE");
        sub->add_flag("--sign", m_sign.sign, "Retraining: sign the promotion with your key (see mlo keys)");
        sub->fallthrough();
    }

    // One check, its reports, and the retraining monitor.on_fail asks for. The exit code: 2 when a
    // column could not be tested (bad input), 1 when a gate failed (SPEC.md section 3), else 0.
    Result<int> check_once(Context& context) {
        auto report = monitor::check(*context.project, m_request);
        if (!report)
            return fail(std::move(report).error());
        if (!m_html.empty())
            MLO_TRY_CTX(
                util::write_file_atomic(fs::absolute(context.cwd / m_html), monitor::report_html(*report)),
                "writing the HTML report");
        if (!m_prom.empty())
            MLO_TRY_CTX(util::write_file_atomic(fs::absolute(context.cwd / m_prom),
                                                monitor::report_prometheus(*report)),
                        "writing the Prometheus file");
        if (context.out.json())
            context.out.json_result("mlo.monitor/1", monitor::report_json(*report));
        else
            print_summary(context.out, *report);
        if (report->count(TestStatus::error) > 0)
            return 2;
        if (report->count(TestStatus::fail) == 0)
            return 0;
        auto config = monitor::parse_monitor_config(context.project->config().monitor);
        if (config && config->on_fail == "retrain" && !m_no_retrain)
            MLO_TRY(retrain(context, *config, *report));
        return 1;
    }

    Status retrain(Context& context, const monitor::MonitorConfig& config, const CheckReport& report) {
        monitor::RetrainOptions options;
        options.why = failed_gates(report);
        // An absolute path: retrain() resolves relative ones against the project root.
        options.holdout = m_holdout.empty() ? std::string() : fs::absolute(context.cwd / m_holdout).string();
        options.sign = m_sign;
        const Output& out = context.out;
        auto outcome = monitor::retrain(*context.project, config, options,
                                        [&out](const std::string& line) { out.info(line); });
        if (!outcome)
            return fail(std::move(outcome).error().context("retraining (monitor.on_fail)"));
        return {};
    }

    Result<int> watch(Context& context) {
        auto every = monitor::parse_duration_seconds(m_every);
        if (!every || *every <= 0)
            return fail(ErrorCode::usage, "--every: '" + m_every + "' is not a duration",
                        "for example 10m, 1h or 30s");
        // SIGINT and SIGTERM end the wait between checks; a check in progress finishes first.
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, nullptr);
        int last = 0;
        for (unsigned n = 1;; ++n) {
            context.out.info(fmt::format("check {} at {}", n, registry::utc_timestamp(std::time(nullptr))));
            auto code = check_once(context);
            if (!code)
                context.out.error(code.error()); // a bad check does not end the watch
            last = code ? *code : 2;
            if (m_count > 0 && n >= m_count)
                return last;
            timespec wait{static_cast<time_t>(*every), 0};
            int signal = sigtimedwait(&stop, nullptr, &wait);
            if (signal == SIGINT || signal == SIGTERM) {
                context.out.info("stopped");
                return 0;
            }
        }
    }

    CLI::App *m_check = nullptr, *m_watch = nullptr;
    monitor::CheckRequest m_request;
    std::string m_html, m_prom, m_holdout, m_every = "10m";
    bool m_no_retrain = false;
    registry::SignOptions m_sign;
    unsigned m_count = 0;
};

} // namespace

std::unique_ptr<Command> make_monitor_command() {
    return std::make_unique<MonitorCommand>();
}

} // namespace mlo::cli
