#pragma once

#include <cstdint>
#include <vector>

namespace mlo::monitor {

// The two-sample Kolmogorov-Smirnov statistic in the integer form the exact p-value needs:
// D = h / lcm(n, m), where h = max |m * ref_le(x) - n * cur_le(x)| / gcd(n, m) over all x.
struct KsStatistic {
    uint64_t n = 0, m = 0; // sample sizes (reference, current)
    uint64_t h = 0;        // D * lcm(n, m), an integer
    double d() const;      // the statistic D in [0, 1]
};

// D of two samples; both must be sorted ascending and free of NaN. Either may be empty (D = 0).
KsStatistic ks_statistic(const std::vector<double>& sorted_reference,
                         const std::vector<double>& sorted_current);

// The two-sided p-value of D as scipy 1.10's ks_2samp(method='auto') computes it: exact (Hodges'
// lattice-path counting) when max(n, m) <= 10,000, else the asymptotic distribution at
// round(n*m/(n+m)) by the Pelz-Good expansion scipy uses there (see ks_test.cpp). Falls back to
// the asymptotic formula, as scipy does, when the exact recursion overflows.
double ks_p_value(const KsStatistic& statistic);

} // namespace mlo::monitor
