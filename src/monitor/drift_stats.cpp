#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <mlo/monitor/drift_stats.hpp>
#include <numeric>

namespace mlo::monitor {

ChiSquareResult chi_square_goodness_of_fit(const std::vector<uint64_t>& reference_counts,
                                           const std::vector<uint64_t>& current_counts) {
    ChiSquareResult result;
    uint64_t reference_total = std::accumulate(reference_counts.begin(), reference_counts.end(), uint64_t{0});
    uint64_t current_total = std::accumulate(current_counts.begin(), current_counts.end(), uint64_t{0});
    result.degrees_of_freedom = static_cast<int>(reference_counts.size()) - 1;
    if (reference_total == 0 || current_total == 0 || result.degrees_of_freedom < 1)
        return result;
    double scale = static_cast<double>(current_total) / static_cast<double>(reference_total);
    double statistic = 0;
    for (size_t i = 0; i < reference_counts.size(); ++i) {
        double expected = static_cast<double>(reference_counts[i]) * scale;
        double observed = static_cast<double>(current_counts[i]);
        if (expected == 0) {
            if (observed != 0)
                statistic = std::numeric_limits<double>::infinity();
            continue; // 0/0 is NaN in scipy; Evidently never builds such a category (it comes from one of the
                      // samples)
        }
        statistic += (observed - expected) * (observed - expected) / expected;
    }
    result.statistic = statistic;
    if (std::isinf(statistic)) {
        result.p_value = 0;
        return result;
    }
    boost::math::chi_squared_distribution<double> distribution(result.degrees_of_freedom);
    result.p_value = boost::math::cdf(boost::math::complement(distribution, statistic));
    return result;
}

double two_proportion_z_test_p(uint64_t reference_hits, uint64_t reference_total, uint64_t current_hits,
                               uint64_t current_total) {
    if (reference_total == 0 || current_total == 0)
        return 1.0;
    double n1 = static_cast<double>(reference_total), n2 = static_cast<double>(current_total);
    double p1 = static_cast<double>(reference_hits) / n1, p2 = static_cast<double>(current_hits) / n2;
    double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    double variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
    if (variance == 0) // one value in both samples: Evidently's special case, p = 1
        return 1.0;
    double z = (p1 - p2) / std::sqrt(variance);
    boost::math::normal_distribution<double> normal;
    return 2 * (1 - boost::math::cdf(normal, std::fabs(z)));
}

double wasserstein_distance(const std::vector<double>& u, const std::vector<double>& v) {
    // The integral of |F_u - F_v| over the merged sorted values, as scipy's _cdf_distance(p=1).
    size_t i = 0, j = 0;
    double total = 0;
    double previous = std::min(u.front(), v.front());
    while (i < u.size() || j < v.size()) {
        double x = j == v.size() || (i < u.size() && u[i] <= v[j]) ? u[i] : v[j];
        double fu = static_cast<double>(i) / static_cast<double>(u.size());
        double fv = static_cast<double>(j) / static_cast<double>(v.size());
        total += std::fabs(fu - fv) * (x - previous);
        previous = x;
        while (i < u.size() && u[i] <= x)
            ++i;
        while (j < v.size() && v[j] <= x)
            ++j;
    }
    return total;
}

double standard_deviation(const std::vector<double>& values) {
    if (values.empty())
        return 0;
    double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double sum = 0;
    for (double v : values)
        sum += (v - mean) * (v - mean);
    return std::sqrt(sum / static_cast<double>(values.size()));
}

double normed_wasserstein(double distance, double reference_std) {
    return distance / std::max(reference_std, 0.001);
}

namespace {

std::vector<double> normalised(const std::vector<double>& p) {
    double total = std::accumulate(p.begin(), p.end(), 0.0);
    std::vector<double> out(p);
    if (total > 0)
        for (double& x : out)
            x /= total;
    return out;
}

// scipy.special.rel_entr(x, y): x ln(x / y), 0 when x = 0, infinite when y = 0 < x.
double relative_entropy_term(double x, double y) {
    if (x == 0)
        return 0;
    if (y == 0)
        return std::numeric_limits<double>::infinity();
    return x * std::log(x / y);
}

} // namespace

double jensen_shannon_distance(const std::vector<double>& p_in, const std::vector<double>& q_in) {
    auto p = normalised(p_in), q = normalised(q_in);
    double left = 0, right = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        double m = (p[i] + q[i]) / 2;
        left += relative_entropy_term(p[i], m);
        right += relative_entropy_term(q[i], m);
    }
    return std::sqrt(std::max(0.0, (left + right) / 2));
}

double population_stability_index(const std::vector<double>& reference, const std::vector<double>& current) {
    double psi = 0;
    for (size_t i = 0; i < reference.size(); ++i)
        psi += (reference[i] - current[i]) * std::log(reference[i] / current[i]);
    return psi;
}

double kl_divergence(const std::vector<double>& reference, const std::vector<double>& current) {
    auto p = normalised(reference), q = normalised(current);
    double sum = 0;
    for (size_t i = 0; i < p.size(); ++i)
        sum += relative_entropy_term(p[i], q[i]);
    return sum;
}

double hellinger_distance(const std::vector<double>& reference, const std::vector<double>& current) {
    double sum = 0;
    for (size_t i = 0; i < reference.size(); ++i) {
        double d = std::sqrt(reference[i]) - std::sqrt(current[i]);
        sum += d * d;
    }
    return std::sqrt(sum) / std::sqrt(2.0);
}

std::vector<double> shares(const std::vector<uint64_t>& counts, uint64_t total) {
    std::vector<double> out(counts.size(), 0.0);
    if (total == 0)
        return out;
    for (size_t i = 0; i < counts.size(); ++i)
        out[i] = static_cast<double>(counts[i]) / static_cast<double>(total);
    return out;
}

void fill_zero_shares(std::vector<double>& values) {
    double smallest = std::numeric_limits<double>::infinity();
    for (double v : values)
        if (v != 0)
            smallest = std::min(smallest, v);
    if (std::isinf(smallest))
        return;
    double fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
    for (double& v : values)
        if (v == 0)
            v = fill;
}

std::vector<double> sturges_edges(double min, double max, uint64_t count) {
    if (count == 0 || !(max > min)) {
        double centre = count == 0 ? 0.0 : min;
        return {centre - 0.5, centre + 0.5};
    }
    double range = max - min;
    double width = range / (std::log2(static_cast<double>(count)) + 1.0);
    auto bins = static_cast<size_t>(std::ceil(range / width));
    bins = std::max<size_t>(bins, 1);
    std::vector<double> edges(bins + 1);
    // numpy.linspace: start + i * step, the last edge exactly `max`.
    double step = range / static_cast<double>(bins);
    for (size_t i = 0; i <= bins; ++i)
        edges[i] = min + static_cast<double>(i) * step;
    edges[bins] = max;
    return edges;
}

long histogram_bin(const std::vector<double>& edges, double value) {
    auto bins = static_cast<long>(edges.size()) - 1;
    if (value < edges.front())
        return -1;
    if (value > edges.back())
        return bins;
    if (value == edges.back())
        return bins - 1;
    // numpy computes the index arithmetically and then corrects it against the edges; a binary
    // search over the edges gives the same bin without the rounding cases.
    auto it = std::upper_bound(edges.begin(), edges.end(), value);
    return static_cast<long>(it - edges.begin()) - 1;
}

} // namespace mlo::monitor
