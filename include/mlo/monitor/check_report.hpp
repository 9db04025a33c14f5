#pragma once

#include <cstdint>
#include <mlo/monitor/monitor_config.hpp>
#include <mlo/monitor/row_source.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::monitor {

// Evidently's test statuses.
enum class TestStatus { success, fail, warning, error, skipped };
std::string status_name(TestStatus status); // "SUCCESS", "FAIL", ...

// Binned shares for drawing a column's two distributions; no raw values.
struct Histogram {
    std::vector<std::string> labels; // one per bin: "[a, b)" or a category
    std::vector<double> reference, current;
};

// One column's drift: which test ran, on what, with what outcome.
struct ColumnReport {
    std::string name;
    ColumnKind kind = ColumnKind::numeric;
    bool is_prediction = false; // the model's output column (prediction drift), not a feature
    std::string method;
    double threshold = 0;
    std::optional<double> score;  // a p-value for ks/chisquare/z, a distance otherwise
    double score_error_bound = 0; // > 0 only for a streamed Wasserstein distance (column_summary.hpp)
    bool drifted = false;
    uint64_t n_ref = 0, n_cur = 0; // values after dropping missing ones
    uint64_t n_unique = 0;         // over both samples
    bool n_unique_exact = true;
    double missing_share = 0, reference_missing_share = 0; // of the current / reference rows
    std::string error; // not empty: the column could not be tested (status ERROR)
    Histogram histogram;
};

// One gate or check as Evidently's test suites report them.
struct TestReport {
    std::string name; // "drift:plan", "dataset_drift", "performance:accuracy"
    TestStatus status = TestStatus::success;
    std::string description; // one human line
};

struct MetricReport {
    std::string metric;
    std::optional<double> value, reference_value;
    std::string condition; // "min 0.8", "max_relative_drop 0.05"
    TestStatus status = TestStatus::skipped;
    std::vector<std::string> warnings;
};

struct CheckReport {
    std::string model;
    std::string reference, current; // where they came from
    uint64_t reference_rows = 0, current_rows = 0;
    std::vector<ColumnReport> columns;
    double drift_share_threshold = 0.5;
    uint64_t drifted_features = 0, tested_features = 0;
    bool dataset_drift = false;
    std::vector<MetricReport> metrics;
    uint64_t labelled_rows = 0;
    std::vector<VersionHealth> health;
    std::vector<TestReport> tests;
    std::vector<std::string> warnings;

    bool all_passed() const;
    uint64_t count(TestStatus status) const;
};

} // namespace mlo::monitor
