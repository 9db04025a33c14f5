#pragma once

#include <mlo/monitor/model_metrics.hpp>
#include <mlo/monitor/monitor_config.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::monitor {

// What a performance gate's metric is computed from, accumulated row by row: the check fills it
// from labelled current rows, retraining from a version's predictions on held-out rows.
struct PerformanceData {
    ConfusionCounts confusion;
    RegressionSums regression;
    std::vector<std::string> roc_truth;
    std::vector<double> roc_scores;
    uint64_t rows = 0;
    // Adds another share of the rows (the metrics do not depend on row order).
    void merge(PerformanceData&& other);
};

bool is_regression_metric(const std::string& metric); // mae mse rmse r2 mape
bool higher_is_better(const std::string& metric);     // accuracy ... r2; false for the errors

// The gate's metric (with its averaging and positive label) over `data`.
MetricValue gate_metric(const PerformanceData& data, const MetricGate& gate);

// One spelling per label: a number as its shortest text (1, 1.0 and "1" are the class "1"),
// anything else as it is. Labels are compared as text.
std::string canonical_label(std::string_view text);

} // namespace mlo::monitor
