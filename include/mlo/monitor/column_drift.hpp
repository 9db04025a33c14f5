#pragma once

#include <memory>
#include <mlo/monitor/check_report.hpp>
#include <mlo/monitor/column_summary.hpp>
#include <mlo/monitor/monitor_config.hpp>

namespace mlo::monitor {

// Everything known about one monitored column: its reference sample, the current accumulator, and
// the counts of a second pass when one is needed.
struct ColumnState {
    std::string name;
    ColumnKind kind = ColumnKind::numeric;
    bool is_prediction = false;
    MethodChoice choice; // the configured method and threshold (feature over type); empty = default
    NumericReference reference_numeric;
    CategoricalCounts reference_categories;
    std::unique_ptr<NumericCurrent> current_numeric;
    CategoricalCounts current_categories;
    // Filled by choose_method; when `needs_second_pass`, the caller counts every current value
    // into `sturges_current` over `sturges_edges`.
    std::string method;
    double threshold = 0;
    bool needs_second_pass = false;
    std::vector<double> sturges_edges;
    std::vector<uint64_t> sturges_current;

    uint64_t reference_values() const;
    uint64_t current_values() const;
};

// Picks the method and threshold after the first pass (SPEC.md section 7: Evidently's defaults
// unless configured), and the Sturges edges when the histogram needs a second pass.
void choose_method(ColumnState& column, Binning binning);

// Computes the score and drift decision, the counts and the report histogram.
ColumnReport evaluate_column(ColumnState& column, Binning binning);

} // namespace mlo::monitor
