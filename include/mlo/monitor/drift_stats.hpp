#pragma once

#include <cstdint>
#include <vector>

namespace mlo::monitor {

// The drift statistics Evidently's default tests use, each defined as scipy defines it. Inputs are
// counts or shares over the same categories (or bins) in the same order; none may hold NaN.

// scipy.stats.chisquare(observed, expected) where expected = reference counts scaled to the
// current total (Evidently's chi-square test). A category absent from the reference but present in
// the current data makes the statistic infinite and p = 0, as scipy gives.
struct ChiSquareResult {
    double statistic = 0, p_value = 1;
    int degrees_of_freedom = 0;
};
ChiSquareResult chi_square_goodness_of_fit(const std::vector<uint64_t>& reference_counts,
                                           const std::vector<uint64_t>& current_counts);

// Evidently's two-proportion z-test for a column with at most two values: the share of one value in
// each sample, pooled variance, two-sided p = 2 (1 - Phi(|z|)). p = 1 when both samples hold the
// same single value.
double two_proportion_z_test_p(uint64_t reference_hits, uint64_t reference_total, uint64_t current_hits,
                               uint64_t current_total);

// scipy.stats.wasserstein_distance of two sorted samples (both non-empty).
double wasserstein_distance(const std::vector<double>& sorted_reference,
                            const std::vector<double>& sorted_current);

// Population standard deviation (ddof 0), as numpy's std.
double standard_deviation(const std::vector<double>& values);

// Evidently's normalisation of the Wasserstein distance: divided by max(std(reference), 0.001).
double normed_wasserstein(double distance, double reference_std);

// Shares over the same bins: scipy.spatial.distance.jensenshannon(p, q) with the natural log
// (both are normalised to sum 1 first, as scipy does).
double jensen_shannon_distance(const std::vector<double>& p, const std::vector<double>& q);
// Population stability index: sum (p - q) ln(p / q) over bins (Evidently's psi).
double population_stability_index(const std::vector<double>& reference, const std::vector<double>& current);
// Kullback-Leibler divergence D(reference || current), natural log, as scipy.stats.entropy(p, q).
double kl_divergence(const std::vector<double>& reference, const std::vector<double>& current);
// Hellinger distance sqrt(sum (sqrt p - sqrt q)^2) / sqrt 2, in [0, 1].
double hellinger_distance(const std::vector<double>& reference, const std::vector<double>& current);

// Counts divided by their total; Evidently's feel_zeroes then replaces zero shares (which would make
// PSI and KL infinite) by a small share: 0.0001, or the smallest non-zero share / 10^6 when that
// is at most 0.0001.
std::vector<double> shares(const std::vector<uint64_t>& counts, uint64_t total);
void fill_zero_shares(std::vector<double>& shares);

// numpy.histogram_bin_edges(values, bins="sturges") from the range and size of the data: equal
// bins of width ptp / (log2(n) + 1), ceil(ptp / width) of them; a zero range gets one bin
// [min - 0.5, max + 0.5].
std::vector<double> sturges_edges(double min, double max, uint64_t count);

// The bin of `value` for numpy.histogram's equal-width edges (last bin closed); -1 below the first
// edge, edges.size() - 1 above the last (both only possible when the edges come from elsewhere).
long histogram_bin(const std::vector<double>& edges, double value);

} // namespace mlo::monitor
