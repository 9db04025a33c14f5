// Choosing and running one column's drift test.
//
// Evidently's default choice (SPEC.md section 7) depends on the reference size and on the number of
// distinct values over both samples after dropping missing ones, both known after the first pass.
// Histogram methods (Jensen-Shannon, PSI, KL, Hellinger) bin a numeric column with more than 20
// distinct reference values (Evidently's rule) and compare the other columns value by value:
// Sturges bins over reference and current together by default, or the reference's own bins plus
// an underflow and an overflow bin with `binning: reference`, which need no second look at the
// current data.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <mlo/monitor/column_drift.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <mlo/monitor/ks_test.hpp>

namespace mlo::monitor {

namespace {

constexpr size_t k_binned_numeric_min_unique = 20; // Evidently bins numeric columns above this
constexpr size_t k_histogram_categories = 20;      // categories drawn in the report; the rest is "other"

bool is_histogram_method(const std::string& method) {
    return method == "jensenshannon" || method == "psi" || method == "kl_div" || method == "hellinger";
}

uint64_t unique_count(const ColumnState& column, bool& exact) {
    if (column.kind == ColumnKind::numeric)
        return column.current_numeric->unique_count(exact);
    exact = !column.current_categories.overflow;
    uint64_t n = column.reference_categories.counts.size();
    for (const auto& [value, count] : column.current_categories.counts)
        n += column.reference_categories.counts.count(value) == 0 ? 1 : 0;
    return n;
}

std::string default_method(const ColumnState& column, uint64_t unique) {
    bool many_values = column.kind == ColumnKind::numeric && unique > 5;
    if (column.reference_values() <= 1000) {
        if (many_values)
            return "ks";
        return unique > 2 ? "chisquare" : "z";
    }
    return many_values ? "wasserstein" : "jensenshannon";
}

// Counts per value over both samples, in a stable order (numbers ascending, text bytewise).
struct ValueCounts {
    std::vector<std::string> labels;
    std::vector<uint64_t> reference, current;
};

std::string number_label(double value) {
    return fmt::format("{}", value);
}

ValueCounts value_counts(const ColumnState& column) {
    ValueCounts out;
    if (column.kind == ColumnKind::numeric) {
        std::vector<double> values;
        column.current_numeric->value_counts(values, out.reference, out.current);
        for (double v : values)
            out.labels.push_back(number_label(v));
        return out;
    }
    std::map<std::string, std::pair<uint64_t, uint64_t>> merged;
    for (const auto& [value, count] : column.reference_categories.counts)
        merged[value].first = count;
    for (const auto& [value, count] : column.current_categories.counts)
        merged[value].second = count;
    for (const auto& [value, counts] : merged) {
        out.labels.push_back(value);
        out.reference.push_back(counts.first);
        out.current.push_back(counts.second);
    }
    return out;
}

std::vector<uint64_t> count_into(const std::vector<double>& sorted, const std::vector<double>& edges,
                                 bool overflow_bins) {
    std::vector<uint64_t> counts(edges.size() + 1, 0); // [under, bins..., over]
    for (double v : sorted)
        ++counts[static_cast<size_t>(histogram_bin(edges, v) + 1)];
    if (!overflow_bins)
        return std::vector<uint64_t>(counts.begin() + 1, counts.end() - 1);
    return counts;
}

std::vector<std::string> bin_labels(const std::vector<double>& edges, bool overflow_bins) {
    std::vector<std::string> labels;
    if (overflow_bins)
        labels.push_back(fmt::format("< {:.4g}", edges.front()));
    for (size_t i = 0; i + 1 < edges.size(); ++i)
        labels.push_back(
            fmt::format("[{:.4g}, {:.4g}{}", edges[i], edges[i + 1], i + 2 == edges.size() ? "]" : ")"));
    if (overflow_bins)
        labels.push_back(fmt::format("> {:.4g}", edges.back()));
    return labels;
}

// The counts a histogram method compares: bins for numeric columns with many values, else values.
ValueCounts binned_counts(ColumnState& column, Binning binning) {
    if (column.kind != ColumnKind::numeric ||
        column.reference_numeric.distinct.size() <= k_binned_numeric_min_unique)
        return value_counts(column);
    ValueCounts out;
    if (binning == Binning::reference) {
        const auto& edges = column.reference_numeric.display_edges;
        out.labels = bin_labels(edges, true);
        out.reference = column.reference_numeric.bin_counts(edges, true);
        out.current = column.current_numeric->display_counts();
        return out;
    }
    out.labels = bin_labels(column.sturges_edges, false);
    out.reference = column.reference_numeric.bin_counts(column.sturges_edges, false);
    out.current = column.current_numeric->has_exact_values()
                      ? count_into(column.current_numeric->sorted_values(), column.sturges_edges, false)
                      : column.sturges_current;
    return out;
}

double histogram_score(const std::string& method, const ValueCounts& counts, uint64_t n_ref, uint64_t n_cur) {
    auto reference = shares(counts.reference, n_ref), current = shares(counts.current, n_cur);
    if (method == "jensenshannon")
        return jensen_shannon_distance(reference, current);
    if (method == "hellinger")
        return hellinger_distance(reference, current);
    fill_zero_shares(reference); // PSI and KL divide by shares (Evidently's feel_zeroes)
    fill_zero_shares(current);
    return method == "psi" ? population_stability_index(reference, current)
                           : kl_divergence(reference, current);
}

Histogram report_histogram(ColumnState& column) {
    Histogram histogram;
    bool exact = true;
    unique_count(column, exact);
    bool few_numbers = column.kind == ColumnKind::numeric && exact &&
                       column.reference_numeric.distinct.size() <= k_binned_numeric_min_unique;
    if (column.kind == ColumnKind::numeric && !few_numbers) {
        const auto& edges = column.reference_numeric.display_edges;
        auto reference = column.reference_numeric.bin_counts(edges, true);
        const auto& current = column.current_numeric->display_counts();
        auto labels = bin_labels(edges, true);
        for (size_t i = 0; i < labels.size(); ++i) {
            bool overflow_bin = i == 0 || i + 1 == labels.size();
            if (overflow_bin && reference[i] == 0 && current[i] == 0)
                continue;
            histogram.labels.push_back(labels[i]);
            histogram.reference.push_back(shares({reference[i]}, column.reference_values())[0]);
            histogram.current.push_back(shares({current[i]}, column.current_values())[0]);
        }
        return histogram;
    }
    auto counts = value_counts(column);
    std::vector<size_t> order(counts.labels.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    // Categories by frequency; a numeric column with few values stays in value order.
    if (!few_numbers)
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return counts.reference[a] + counts.current[a] > counts.reference[b] + counts.current[b];
        });
    uint64_t other_reference = 0, other_current = 0;
    for (size_t k = 0; k < order.size(); ++k) {
        size_t i = order[k];
        if (k < k_histogram_categories) {
            histogram.labels.push_back(counts.labels[i]);
            histogram.reference.push_back(shares({counts.reference[i]}, column.reference_values())[0]);
            histogram.current.push_back(shares({counts.current[i]}, column.current_values())[0]);
        } else {
            other_reference += counts.reference[i];
            other_current += counts.current[i];
        }
    }
    if (order.size() > k_histogram_categories) {
        histogram.labels.push_back("(other)");
        histogram.reference.push_back(shares({other_reference}, column.reference_values())[0]);
        histogram.current.push_back(shares({other_current}, column.current_values())[0]);
    }
    return histogram;
}

} // namespace

uint64_t ColumnState::reference_values() const {
    return kind == ColumnKind::numeric ? reference_numeric.count : reference_categories.total;
}

uint64_t ColumnState::current_values() const {
    return kind == ColumnKind::numeric ? current_numeric->count() : current_categories.total;
}

void choose_method(ColumnState& column, Binning binning) {
    bool exact = true;
    uint64_t unique = unique_count(column, exact);
    column.method = column.choice.method.empty() ? default_method(column, unique) : column.choice.method;
    column.threshold = column.choice.threshold ? *column.choice.threshold : default_threshold(column.method);
    column.needs_second_pass = false;
    if (column.kind == ColumnKind::numeric && is_histogram_method(column.method) &&
        binning == Binning::sturges &&
        column.reference_numeric.distinct.size() > k_binned_numeric_min_unique &&
        column.current_values() > 0) {
        const auto& reference = column.reference_numeric.distinct;
        double low = std::min(reference.front(), column.current_numeric->min());
        double high = std::max(reference.back(), column.current_numeric->max());
        column.sturges_edges =
            sturges_edges(low, high, column.reference_numeric.count + column.current_values());
        column.needs_second_pass = !column.current_numeric->has_exact_values();
        column.sturges_current.assign(column.sturges_edges.size() - 1, 0);
    }
}

ColumnReport evaluate_column(ColumnState& column, Binning binning) {
    ColumnReport report;
    report.name = column.name;
    report.kind = column.kind;
    report.is_prediction = column.is_prediction;
    report.method = column.method;
    report.threshold = column.threshold;
    report.n_ref = column.reference_values();
    report.n_cur = column.current_values();
    report.n_unique = unique_count(column, report.n_unique_exact);
    uint64_t reference_missing = column.kind == ColumnKind::numeric ? column.reference_numeric.missing
                                                                    : column.reference_categories.missing;
    uint64_t current_missing = column.kind == ColumnKind::numeric ? column.current_numeric->missing()
                                                                  : column.current_categories.missing;
    if (report.n_ref + reference_missing > 0)
        report.reference_missing_share =
            static_cast<double>(reference_missing) / static_cast<double>(report.n_ref + reference_missing);
    if (report.n_cur + current_missing > 0)
        report.missing_share =
            static_cast<double>(current_missing) / static_cast<double>(report.n_cur + current_missing);

    if (report.n_ref == 0) {
        report.error = fmt::format("the reference has no values in '{}' ({} rows, all missing)", column.name,
                                   reference_missing);
        return report;
    }
    if (report.n_cur == 0) {
        report.error = fmt::format("the current data has no values in '{}' ({} rows, all missing)",
                                   column.name, current_missing);
        return report;
    }
    if (column.kind == ColumnKind::categorical && column.current_categories.overflow) {
        report.error = fmt::format("'{}' has more than {} distinct values: it is not a category", column.name,
                                   CategoricalCounts::k_category_cap);
        return report;
    }
    const std::string& method = column.method;
    if ((method == "ks" || method == "wasserstein") && column.kind != ColumnKind::numeric) {
        report.error = fmt::format("{} needs a numeric column; '{}' is categorical", method, column.name);
        return report;
    }
    bool values_compared = method == "chisquare" || method == "z" ||
                           (is_histogram_method(method) &&
                            (column.kind == ColumnKind::categorical ||
                             column.reference_numeric.distinct.size() <= k_binned_numeric_min_unique));
    if (values_compared && !report.n_unique_exact) {
        report.error = fmt::format("{} compares values one by one, and '{}' has too many distinct values",
                                   method, column.name);
        return report;
    }

    if (method == "ks") {
        KsStatistic statistic{report.n_ref, report.n_cur, column.current_numeric->ks_h()};
        report.score = ks_p_value(statistic);
        report.drifted = *report.score <= column.threshold;
    } else if (method == "wasserstein") {
        double distance = 0, bound = 0;
        if (column.current_numeric->has_exact_values())
            distance = column.current_numeric->exact_wasserstein();
        else
            distance = column.current_numeric->wasserstein(bound);
        double norm = column.reference_numeric.standard_deviation;
        report.score = normed_wasserstein(distance, norm);
        report.score_error_bound = normed_wasserstein(bound, norm);
        report.drifted = *report.score >= column.threshold;
    } else if (method == "chisquare") {
        auto counts = value_counts(column);
        report.score = chi_square_goodness_of_fit(counts.reference, counts.current).p_value;
        report.drifted = *report.score < column.threshold;
    } else if (method == "z") {
        // Evidently compares the share of one value (the first) against all others.
        auto counts = value_counts(column);
        report.score =
            two_proportion_z_test_p(counts.reference[0], report.n_ref, counts.current[0], report.n_cur);
        report.drifted = *report.score < column.threshold;
    } else {
        auto counts = binned_counts(column, binning);
        report.score = histogram_score(method, counts, report.n_ref, report.n_cur);
        report.drifted = *report.score >= column.threshold;
    }
    report.histogram = report_histogram(column);
    return report;
}

} // namespace mlo::monitor
