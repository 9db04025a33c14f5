#include <cmath>
#include <fmt/format.h>
#include <mlo/monitor/gate_metric.hpp>
#include <mlo/monitor/table_reader.hpp>

namespace mlo::monitor {

bool is_regression_metric(const std::string& metric) {
    return metric == "mae" || metric == "mse" || metric == "rmse" || metric == "r2" || metric == "mape";
}

bool higher_is_better(const std::string& metric) {
    return metric == "accuracy" || metric == "precision" || metric == "recall" || metric == "f1" ||
           metric == "roc_auc" || metric == "r2";
}

MetricValue gate_metric(const PerformanceData& data, const MetricGate& gate) {
    const auto& m = gate.metric;
    if (m == "accuracy")
        return accuracy(data.confusion);
    if (m == "precision")
        return precision(data.confusion, gate.averaging, gate.positive);
    if (m == "recall")
        return recall(data.confusion, gate.averaging, gate.positive);
    if (m == "f1")
        return f1(data.confusion, gate.averaging, gate.positive);
    if (m == "roc_auc")
        return roc_auc(data.roc_truth, data.roc_scores, gate.positive);
    if (m == "mae")
        return mean_absolute_error(data.regression);
    if (m == "mse")
        return mean_squared_error(data.regression);
    if (m == "rmse")
        return root_mean_squared_error(data.regression);
    if (m == "r2")
        return r2_score(data.regression);
    return mean_absolute_percentage_error(data.regression);
}

std::string canonical_label(std::string_view text) {
    double value = 0;
    if (parse_number(text, value) && std::isfinite(value)) {
        if (value == std::floor(value) && std::fabs(value) < 1e15)
            return fmt::format("{}", static_cast<int64_t>(value));
        return fmt::format("{}", value);
    }
    return std::string(text);
}

void PerformanceData::merge(PerformanceData&& other) {
    confusion.merge(other.confusion);
    regression.merge(other.regression);
    roc_truth.insert(roc_truth.end(), std::make_move_iterator(other.roc_truth.begin()),
                     std::make_move_iterator(other.roc_truth.end()));
    roc_scores.insert(roc_scores.end(), other.roc_scores.begin(), other.roc_scores.end());
    rows += other.rows;
}

} // namespace mlo::monitor
