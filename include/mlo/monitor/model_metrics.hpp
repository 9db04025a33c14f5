#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlo::monitor {

// scikit-learn 1.2's metric definitions, edge cases included. Each result carries the warnings
// sklearn would have printed (zero division, one class), which the report shows beside the value.

struct MetricValue {
    std::optional<double> value; // empty: undefined (sklearn returns nan or raises)
    std::vector<std::string> warnings;
};

enum class Averaging { binary, macro, weighted };

// What the classification scores need, accumulated row by row in memory bounded by the number of
// labels: counts per (true, predicted) pair.
struct ConfusionCounts {
    std::map<std::pair<std::string, std::string>, uint64_t> pairs;
    uint64_t total = 0;
    void add(const std::string& truth, const std::string& predicted) {
        ++pairs[{truth, predicted}];
        ++total;
    }
    void merge(const ConfusionCounts& other);
};
MetricValue accuracy(const ConfusionCounts& counts);
MetricValue precision(const ConfusionCounts& counts, Averaging averaging, const std::string& positive = "1");
MetricValue recall(const ConfusionCounts& counts, Averaging averaging, const std::string& positive = "1");
MetricValue f1(const ConfusionCounts& counts, Averaging averaging, const std::string& positive = "1");

// What the regression scores need, accumulated row by row: sums, and y_true's mean and spread by
// Welford's update (a sum of squares would cancel for large targets).
struct RegressionSums {
    uint64_t count = 0;
    double absolute = 0, squared = 0, percentage = 0;
    double true_mean = 0, true_m2 = 0;
    void add(double truth, double predicted);
    // Adds another share of the rows; the mean and spread combine as Chan et al.'s pairwise update.
    void merge(const RegressionSums& other);
};
MetricValue mean_absolute_error(const RegressionSums& sums);
MetricValue mean_squared_error(const RegressionSums& sums);
MetricValue root_mean_squared_error(const RegressionSums& sums);
MetricValue r2_score(const RegressionSums& sums);
MetricValue mean_absolute_percentage_error(const RegressionSums& sums);

// The same from whole vectors, as sklearn is called.
// Labels are compared as text; the caller gives numbers one canonical spelling ("1", not "1.0").
// The label set is the sorted union of y_true and y_pred, as sklearn's unique_labels.
MetricValue accuracy(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred);
// Precision, recall and F1 per label, then averaged. A label with no predicted (precision) or no
// true (recall) samples scores 0 with a warning (zero_division="warn"). `binary` scores the label
// `positive` ("1" by default, as sklearn's pos_label=1).
MetricValue precision(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
                      Averaging averaging, const std::string& positive = "1");
MetricValue recall(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
                   Averaging averaging, const std::string& positive = "1");
MetricValue f1(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
               Averaging averaging, const std::string& positive = "1");
// Binary ROC AUC of scores for the positive label (ties count one half, as sklearn's trapezoids).
// Only one class present: undefined with a warning (sklearn raises ValueError).
MetricValue roc_auc(const std::vector<std::string>& y_true, const std::vector<double>& scores,
                    const std::string& positive = "1");

// Regression metrics; y_true and y_pred have equal, non-zero length.
MetricValue mean_absolute_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
MetricValue mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
MetricValue root_mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);
// R^2; a constant y_true gives 1 when the predictions are perfect, else 0 (force_finite=True).
MetricValue r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred);
// Mean absolute percentage error as a fraction; |y_true| is floored at machine epsilon.
MetricValue mean_absolute_percentage_error(const std::vector<double>& y_true,
                                           const std::vector<double>& y_pred);

} // namespace mlo::monitor
