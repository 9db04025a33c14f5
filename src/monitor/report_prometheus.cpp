#include <cmath>
#include <fmt/format.h>
#include <mlo/monitor/report_render.hpp>

namespace mlo::monitor {

namespace {

// A label value escaped as the exposition format asks: backslash, double quote and line feed.
std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double value) {
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", value);
}

class Writer {
  public:
    void family(const std::string& name, const std::string& help, const std::string& type = "gauge") {
        m_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void sample(const std::string& name, const std::string& labels, double value) {
        m_text += labels.empty() ? fmt::format("{} {}\n", name, number(value))
                                 : fmt::format("{}{{{}}} {}\n", name, labels, number(value));
    }
    std::string take() { return std::move(m_text); }

  private:
    std::string m_text;
};

} // namespace

std::string report_prometheus(const CheckReport& report) {
    Writer out;
    out.family("mlo_monitor_feature_drift_score",
               "Drift score per column: a p-value (ks, chisquare, z) or a distance");
    for (const auto& column : report.columns)
        if (column.score)
            out.sample("mlo_monitor_feature_drift_score",
                       fmt::format("feature=\"{}\",method=\"{}\"", label(column.name), label(column.method)),
                       *column.score);
    out.family("mlo_monitor_feature_drift_threshold", "The threshold the column's score was compared with");
    for (const auto& column : report.columns)
        out.sample("mlo_monitor_feature_drift_threshold",
                   fmt::format("feature=\"{}\",method=\"{}\"", label(column.name), label(column.method)),
                   column.threshold);
    out.family("mlo_monitor_feature_drifted", "1 when the column drifted, 0 when not");
    for (const auto& column : report.columns)
        if (column.error.empty())
            out.sample("mlo_monitor_feature_drifted",
                       fmt::format("feature=\"{}\",method=\"{}\"", label(column.name), label(column.method)),
                       column.drifted ? 1 : 0);
    out.family("mlo_monitor_feature_missing_share", "Share of current rows with the column missing");
    for (const auto& column : report.columns)
        out.sample("mlo_monitor_feature_missing_share", fmt::format("feature=\"{}\"", label(column.name)),
                   column.missing_share);
    out.family("mlo_monitor_dataset_drift_share", "Share of tested features that drifted");
    out.sample("mlo_monitor_dataset_drift_share", "",
               report.tested_features == 0 ? 0.0
                                           : static_cast<double>(report.drifted_features) /
                                                 static_cast<double>(report.tested_features));
    out.family("mlo_monitor_dataset_drift", "1 when the drifted share reached monitor.drift.share");
    out.sample("mlo_monitor_dataset_drift", "", report.dataset_drift ? 1 : 0);
    out.family("mlo_monitor_metric", "Model performance on the labelled current rows");
    for (const auto& metric : report.metrics)
        if (metric.value)
            out.sample("mlo_monitor_metric", fmt::format("metric=\"{}\"", label(metric.metric)),
                       *metric.value);
    out.family("mlo_monitor_requests_total", "Logged requests per model version", "counter");
    for (const auto& version : report.health)
        out.sample("mlo_monitor_requests_total", fmt::format("version=\"{}\"", label(version.version)),
                   static_cast<double>(version.requests));
    out.family("mlo_monitor_error_rate", "Share of logged requests that failed (HTTP status >= 400)");
    for (const auto& version : report.health)
        out.sample("mlo_monitor_error_rate", fmt::format("version=\"{}\"", label(version.version)),
                   version.error_rate);
    out.family("mlo_monitor_latency_ms", "Request latency percentiles in milliseconds");
    for (const auto& version : report.health)
        for (auto [quantile, value] : {std::pair{"0.5", version.p50_ms}, std::pair{"0.95", version.p95_ms},
                                       std::pair{"0.99", version.p99_ms}})
            out.sample("mlo_monitor_latency_ms",
                       fmt::format("version=\"{}\",quantile=\"{}\"", label(version.version), quantile),
                       value);
    out.family("mlo_monitor_all_passed", "1 when every gate passed");
    out.sample("mlo_monitor_all_passed", "", report.all_passed() ? 1 : 0);
    return out.take();
}

} // namespace mlo::monitor
