#pragma once

#include <mlo/monitor/check_report.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace mlo::monitor {

// The `--json` document (without the schema field, which the CLI adds): summary (all_passed, counts
// by status), dataset drift, columns, tests, performance, health. Scores are numbers or null.
nlohmann::json report_json(const CheckReport& report);

// Prometheus text exposition format: mlo_monitor_feature_drift_score{feature,method},
// mlo_monitor_feature_drifted{feature,method}, mlo_monitor_dataset_drift_share,
// mlo_monitor_dataset_drift, mlo_monitor_metric{metric}, mlo_monitor_requests_total{version},
// mlo_monitor_error_rate{version}, mlo_monitor_latency_ms{version,quantile}, mlo_monitor_all_passed.
std::string report_prometheus(const CheckReport& report);

// A self-contained HTML page (inline CSS and SVG, no scripts, no external resources): summary,
// drift table, one overlaid reference/current histogram per column, performance and health. It
// holds binned shares only, never a raw row.
std::string report_html(const CheckReport& report);

} // namespace mlo::monitor
