#include <cmath>
#include <mlo/monitor/report_render.hpp>

namespace mlo::monitor {

namespace {

nlohmann::json number_or_null(const std::optional<double>& value) {
    if (!value || !std::isfinite(*value))
        return nullptr;
    return *value;
}

} // namespace

nlohmann::json report_json(const CheckReport& report) {
    nlohmann::json counts = nlohmann::json::object();
    for (auto status :
         {TestStatus::success, TestStatus::fail, TestStatus::warning, TestStatus::error, TestStatus::skipped})
        counts[status_name(status)] = report.count(status);
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& column : report.columns) {
        nlohmann::json entry = {
            {"name", column.name},
            {"kind", column.kind == ColumnKind::numeric ? "numeric" : "categorical"},
            {"role", column.is_prediction ? "prediction" : "feature"},
            {"method", column.method},
            {"threshold", column.threshold},
            {"score", number_or_null(column.score)},
            {"drifted", column.drifted},
            {"n_ref", column.n_ref},
            {"n_cur", column.n_cur},
            {"n_unique", column.n_unique},
            {"n_unique_exact", column.n_unique_exact},
            {"missing_share", column.missing_share},
            {"reference_missing_share", column.reference_missing_share},
            {"status", column.error.empty() ? (column.drifted ? "WARNING" : "SUCCESS") : "ERROR"},
        };
        if (column.score_error_bound > 0)
            entry["score_error_bound"] = column.score_error_bound;
        if (!column.error.empty())
            entry["error"] = column.error;
        columns.push_back(entry);
    }
    nlohmann::json tests = nlohmann::json::array();
    for (const auto& test : report.tests)
        tests.push_back(
            {{"name", test.name}, {"status", status_name(test.status)}, {"description", test.description}});
    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& metric : report.metrics)
        metrics.push_back({{"metric", metric.metric},
                           {"value", number_or_null(metric.value)},
                           {"reference_value", number_or_null(metric.reference_value)},
                           {"condition", metric.condition},
                           {"status", status_name(metric.status)},
                           {"warnings", metric.warnings}});
    nlohmann::json health = nlohmann::json::array();
    for (const auto& version : report.health)
        health.push_back(
            {{"version", version.version},
             {"requests", version.requests},
             {"errors", version.errors},
             {"error_rate", version.error_rate},
             {"latency_ms", {{"p50", version.p50_ms}, {"p95", version.p95_ms}, {"p99", version.p99_ms}}}});
    double share = report.tested_features == 0 ? 0.0
                                               : static_cast<double>(report.drifted_features) /
                                                     static_cast<double>(report.tested_features);
    return {
        {"summary",
         {{"all_passed", report.all_passed()}, {"counts", counts}, {"total", report.tests.size()}}},
        {"model", report.model},
        {"reference", {{"source", report.reference}, {"rows", report.reference_rows}}},
        {"current", {{"source", report.current}, {"rows", report.current_rows}}},
        {"dataset_drift",
         {{"drifted", report.dataset_drift},
          {"share", share},
          {"threshold", report.drift_share_threshold},
          {"drifted_features", report.drifted_features},
          {"tested_features", report.tested_features}}},
        {"columns", columns},
        {"tests", tests},
        {"performance", {{"labelled_rows", report.labelled_rows}, {"metrics", metrics}}},
        {"health", health},
        {"warnings", report.warnings},
    };
}

} // namespace mlo::monitor
