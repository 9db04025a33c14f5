// The exact two-sample Kolmogorov-Smirnov p-value.
//
// Under the null hypothesis every interleaving of the n reference and m current values is equally
// likely, and an interleaving is a lattice path from (0, 0) to (n, m) with unit steps right (a
// reference value) or up (a current value). The statistic D = h / lcm(n, m) is reached exactly when
// the path touches one of the diagonals |x/n - y/m| = D, so P(D >= d) is the share of the
// C(n+m, n) paths that leave the open band between them (Hodges 1958, after Drion, Gnedenko and
// Korolyuk).
//
// n == m: the reflection principle gives the alternating sum 2 * sum_k (-1)^(k+1) C(2n, n-kh) / C(2n, n).
// Each ratio of binomials is a product of h simple factors, and writing the sum in Horner form
// P = A1 (1 - A2 (1 - A3 (...))) avoids the cancellation the plain sum suffers.
//
// n != m: count paths column by column, keeping only the window of rows inside the band. The
// counts are binomial-sized, so (Viehmann 2021, arXiv:2102.08037, which scipy follows) the
// recursion carries the *probability of having already left the band* instead of the count of
// paths inside: a cell's value is the average of its left and lower neighbours weighted by the
// number of paths through each, (A[left] * i + A[below] * j) / (i + j), and cells outside the band
// are 1. The value at (n, m) is the p-value, in [0, 1] throughout, so nothing overflows and no
// large binomial is divided at the end.
//
// scipy uses these up to max(n, m) = 10,000. Above, it evaluates the one-sample distribution of
// D_k (kstwo) at k = round(n*m/(n+m)), which for such k is the Pelz-Good (1976) expansion
// P(D_k <= x) ~ K0(z) + K1(z)/sqrt(k) + K2(z)/k + K3(z)/k^1.5, z = x sqrt(k), each K_i a theta-type
// series: K0 is Kolmogorov's limiting distribution and the others are its finite-k corrections.
// We evaluate the same expansion. Boost.Math would be the place for this distribution, but the
// Kolmogorov-Smirnov distribution arrived in Boost 1.75 and Debian bookworm ships 1.74 (and even
// there it is only the limit K0, whose p-values differ from scipy's by about 1/sqrt(k)). scipy
// switches to other formulas in corners that do not decide a drift test (p below ~0.03, where
// n x^2 >= 2.2, and tiny x with p ~ 1); there the expansion agrees to a few digits (unit tests).
#include <algorithm>
#include <array>
#include <cmath>
#include <mlo/monitor/ks_test.hpp>
#include <numeric>

namespace mlo::monitor {

namespace {

constexpr uint64_t k_max_exact_n = 10000;

double prob_outside_square(uint64_t n, uint64_t h) {
    double p = 0.0;
    for (int64_t k = static_cast<int64_t>(n / h); k >= 0; --k) {
        double a = 1.0;
        int64_t kh = k * static_cast<int64_t>(h);
        for (int64_t j = 0; j < static_cast<int64_t>(h); ++j)
            a = (static_cast<double>(static_cast<int64_t>(n) - kh - j) * a) /
                static_cast<double>(static_cast<int64_t>(n) + kh + j + 1);
        p = a * (1.0 - p);
    }
    return 2.0 * p;
}

double prob_outside_band(uint64_t m_in, uint64_t n_in, uint64_t g, uint64_t h_in) {
    // The probability is symmetric in the sample sizes; the window runs over the smaller one.
    int64_t m = static_cast<int64_t>(std::max(m_in, n_in));
    int64_t n = static_cast<int64_t>(std::min(m_in, n_in));
    int64_t mg = m / static_cast<int64_t>(g);
    int64_t ng = n / static_cast<int64_t>(g);
    int64_t h = static_cast<int64_t>(h_in);
    auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
    auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };

    int64_t min_j = 0;
    int64_t max_j = std::min(ceil_div(h, mg), n + 1);
    int64_t current_length = max_j - min_j;
    std::vector<double> a(static_cast<size_t>(std::min(2 * max_j + 2, n + 1)), 1.0);
    std::fill(a.begin() + min_j, a.begin() + max_j, 0.0);
    for (int64_t i = 1; i <= m; ++i) {
        int64_t last_min_j = min_j, last_length = current_length;
        min_j = std::min(std::max(floor_div(ng * i - h, mg) + 1, int64_t{0}), n);
        max_j = std::min(ceil_div(ng * i + h, mg), n + 1);
        if (max_j <= min_j)
            return 1.0;
        double below = min_j == 0 ? 0.0 : 1.0;
        for (int64_t jj = 0; jj < max_j - min_j; ++jj) {
            int64_t j = jj + min_j;
            below = (a[static_cast<size_t>(jj + min_j - last_min_j)] * static_cast<double>(i) +
                     below * static_cast<double>(j)) /
                    static_cast<double>(i + j);
            a[static_cast<size_t>(jj)] = below;
        }
        current_length = max_j - min_j;
        if (last_length > current_length)
            std::fill(a.begin() + (max_j - min_j),
                      a.begin() + (max_j - min_j) + (last_length - current_length), 1.0);
    }
    return a[static_cast<size_t>(max_j - min_j - 1)];
}

// P(D_k > x) by the Pelz-Good expansion (see the essay above).
double pelz_good_sf(double k, double x) {
    constexpr double pi = 3.14159265358979323846;
    const double pi2 = pi * pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
    const double sqrt_2pi = std::sqrt(2 * pi);
    if (x <= 0)
        return 1.0;
    if (x >= 1)
        return 0.0;
    double z = std::sqrt(k) * x;
    double z2 = z * z, z4 = z2 * z2, z6 = z4 * z2;
    double q_log = -pi2 / 8 / z2;
    if (q_log < -708) // the CDF underflows: z is tiny
        return 1.0;
    double q = std::exp(q_log);
    // Coefficients of the sums over odd m = 2j - 1 of c(m) q^(m^2), for K0 .. K3.
    double k1a = -z2, k1b = pi2 / 4;
    double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
    double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
    double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * z4 * z4;
    std::array<double, 4> terms{0, 0, 0, 0};
    auto max_j = static_cast<int>(std::ceil(16 * z / pi));
    // Horner in q^(8j): q^((2j-1)^2) = q * prod of q^(8i) for i < j.
    for (int j = max_j; j >= 1; --j) {
        double m = 2.0 * j - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
        double q_power = std::pow(q, 8.0 * j);
        std::array<double, 4> c{1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                                k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (size_t i = 0; i < 4; ++i)
            terms[i] = terms[i] * q_power + c[i];
    }
    std::array<double, 4> divisors{z, 6 * z4, 72 * z6 * z, 6480 * z4 * z6};
    for (size_t i = 0; i < 4; ++i)
        terms[i] = terms[i] * q * sqrt_2pi / divisors[i];
    // K2 and K3 also have sums over all integers j of j^2 r^(j^2), r = exp(-pi^2 / (2 z^2)).
    double r = std::exp(-pi2 / 2 / z2);
    double sum2 = 0, sum3 = 0, sqrt3z = std::sqrt(3.0) * z;
    for (int j = max_j; j >= 1; --j) {
        double j2 = static_cast<double>(j) * j, r_power = std::pow(r, j2), jpi = pi * j;
        sum2 += j2 * r_power;
        sum3 += (sqrt3z + jpi) * (sqrt3z - jpi) * j2 * r_power;
    }
    terms[2] += sum2 * pi2 * sqrt_2pi / (-36 * z2 * z);
    terms[3] += sum3 * pi2 * sqrt_2pi / (216 * z6);
    double cdf = terms[0] + terms[1] / std::sqrt(k) + terms[2] / k + terms[3] / (k * std::sqrt(k));
    return std::clamp(1.0 - cdf, 0.0, 1.0);
}

double limiting_p_value(const KsStatistic& s) {
    double n = static_cast<double>(std::max(s.n, s.m));
    double m = static_cast<double>(std::min(s.n, s.m));
    double effective_n = std::round(n * m / (n + m));
    double d = s.d();
    if (effective_n * d * d >= 370.0) // scipy's cut-off: the survival function is 0 in doubles
        return 0.0;
    return pelz_good_sf(effective_n, d);
}

} // namespace

double KsStatistic::d() const {
    if (n == 0 || m == 0)
        return 0.0;
    uint64_t lcm = std::lcm(n, m);
    return static_cast<double>(h) / static_cast<double>(lcm);
}

KsStatistic ks_statistic(const std::vector<double>& reference, const std::vector<double>& current) {
    KsStatistic s;
    s.n = reference.size();
    s.m = current.size();
    if (s.n == 0 || s.m == 0)
        return s;
    // Walk both sorted samples; at every distinct value compare m * ref_le with n * cur_le in
    // integers, so D is exact and h needs no rounding.
    size_t i = 0, j = 0;
    uint64_t best = 0;
    while (i < reference.size() || j < current.size()) {
        double x = j == current.size() || (i < reference.size() && reference[i] <= current[j]) ? reference[i]
                                                                                               : current[j];
        while (i < reference.size() && reference[i] <= x)
            ++i;
        while (j < current.size() && current[j] <= x)
            ++j;
        uint64_t left = static_cast<uint64_t>(i) * s.m, right = static_cast<uint64_t>(j) * s.n;
        best = std::max(best, left > right ? left - right : right - left);
    }
    s.h = best / std::gcd(s.n, s.m);
    return s;
}

double ks_p_value(const KsStatistic& s) {
    if (s.n == 0 || s.m == 0 || s.h == 0)
        return 1.0;
    double p = std::numeric_limits<double>::quiet_NaN();
    if (std::max(s.n, s.m) <= k_max_exact_n) {
        p = s.n == s.m ? prob_outside_square(s.n, s.h) : prob_outside_band(s.n, s.m, std::gcd(s.n, s.m), s.h);
        if (!std::isfinite(p) || p < 0.0 || p > 1.0)
            p = std::numeric_limits<double>::quiet_NaN();
    }
    if (std::isnan(p))
        p = limiting_p_value(s);
    return std::clamp(p, 0.0, 1.0);
}

} // namespace mlo::monitor
