// Known answers for the drift statistics. Every expected value was computed with scipy 1.10.1 /
// numpy by /usr/bin/python3; the snippet that produced it is beside it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <mlo/monitor/ks_test.hpp>
#include <vector>

using namespace mlo::monitor;

namespace {

std::vector<double> sorted(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// a = [(i*37 % M)/10 for i in range(n)]: deterministic samples both languages can build.
std::vector<double> mod_sample(int n, int multiplier, int modulus, double shift) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i)
        out.push_back(static_cast<double>((i * multiplier) % modulus) / 10 + shift);
    return sorted(out);
}

double ks_p(const std::vector<double>& a, const std::vector<double>& b) {
    return ks_p_value(ks_statistic(sorted(a), sorted(b)));
}

} // namespace

TEST_CASE("KS: the issue's known answers (exact, equal sizes)") {
    // stats.ks_2samp([1,2,3,4,5],[6,7,8,9,10]) -> statistic=1.0, pvalue=0.007936507936507936
    auto s = ks_statistic({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    CHECK(s.d() == 1.0);
    CHECK(ks_p_value(s) == Approx(0.007936507936507936).epsilon(1e-12));
    // stats.ks_2samp([1,2,3,4,5],[3,4,5,6,7]) -> statistic=0.4, pvalue=0.873015873015873
    s = ks_statistic({1, 2, 3, 4, 5}, {3, 4, 5, 6, 7});
    CHECK(s.d() == Approx(0.4));
    CHECK(ks_p_value(s) == Approx(0.873015873015873).epsilon(1e-12));
}

TEST_CASE("KS: exact p-values for unequal sizes and ties") {
    // stats.ks_2samp([1,2,3,4,5,6,7],[2.5,3.5,8,9]) -> statistic=0.5, pvalue=0.4151515151515151
    CHECK(ks_p({1, 2, 3, 4, 5, 6, 7}, {2.5, 3.5, 8, 9}) == Approx(0.4151515151515151).epsilon(1e-12));
    // a=[(i*37 % 101)/10 for i in range(300)]; b=[(i*53 % 97)/10 + 0.5 for i in range(450)]
    // stats.ks_2samp(a,b) -> statistic=0.05, pvalue=0.7456949105005299
    auto a = mod_sample(300, 37, 101, 0), b = mod_sample(450, 53, 97, 0.5);
    auto s = ks_statistic(a, b);
    CHECK(s.d() == Approx(0.05));
    CHECK(ks_p_value(s) == Approx(0.7456949105005299).epsilon(1e-10));
    // same with + 1.5 -> statistic=0.15, pvalue=0.0005545395023622532
    s = ks_statistic(a, mod_sample(450, 53, 97, 1.5));
    CHECK(s.d() == Approx(0.15));
    CHECK(ks_p_value(s) == Approx(0.0005545395023622532).epsilon(1e-9));
    // a: range(400) mod 101; b: range(400) mod 97 + 0.2 -> statistic=0.03, pvalue=0.9938843539519258
    s = ks_statistic(mod_sample(400, 37, 101, 0), mod_sample(400, 53, 97, 0.2));
    CHECK(ks_p_value(s) == Approx(0.9938843539519258).epsilon(1e-10));
    // a=[(i*37 % 1009)/10 for i in range(1000)]; b=[(i*53 % 997)/10 + 3 for i in range(10000)]
    // -> statistic=0.03, pvalue=0.3804146611855125 (the largest size scipy still computes exactly)
    s = ks_statistic(mod_sample(1000, 37, 1009, 0), mod_sample(10000, 53, 997, 3));
    CHECK(s.d() == Approx(0.03));
    CHECK(ks_p_value(s) == Approx(0.3804146611855125).epsilon(1e-8));
}

TEST_CASE("KS: above 10,000 rows, the Pelz-Good expansion scipy's kstwo uses") {
    // a=[(i*37 % 101)/10 for i in range(1000)]; b=[(i*53 % 97)/10 + 0.3 for i in range(12000)]
    // stats.ks_2samp(a,b) -> statistic=0.0355, pvalue=0.1905386831379321 (method asymp, kstwo)
    auto s = ks_statistic(mod_sample(1000, 37, 101, 0), mod_sample(12000, 53, 97, 0.3));
    CHECK(s.d() == Approx(0.0355));
    CHECK(ks_p_value(s) == Approx(0.1905386831379321).epsilon(1e-4));
    // same with + 0.05 -> statistic=0.04, pvalue=0.10150998333547212
    s = ks_statistic(mod_sample(1000, 37, 101, 0), mod_sample(12000, 53, 97, 0.05));
    CHECK(ks_p_value(s) == Approx(0.10150998333547212).epsilon(1e-4));
}

TEST_CASE("KS: empty or identical samples give p = 1") {
    CHECK(ks_p_value(ks_statistic({}, {1, 2})) == 1.0);
    CHECK(ks_p_value(ks_statistic({1, 2, 3}, {1, 2, 3})) == 1.0);
}

TEST_CASE("chi-square goodness of fit") {
    // The issue's: stats.chisquare([3,4,3],[5,3,2]) -> statistic=1.6333333333333333,
    // pvalue=0.4419022095845254
    auto r = chi_square_goodness_of_fit({5, 3, 2}, {3, 4, 3});
    CHECK(r.statistic == Approx(1.6333333333333333).epsilon(1e-12));
    CHECK(r.p_value == Approx(0.4419022095845254).epsilon(1e-12));
    CHECK(r.degrees_of_freedom == 2);
    // Reference scaled to the current total: stats.chisquare([10,20,30],[20,20,20]) -> 10.0,
    // 0.006737946999085468
    r = chi_square_goodness_of_fit({2, 2, 2}, {10, 20, 30});
    CHECK(r.statistic == Approx(10.0));
    CHECK(r.p_value == Approx(0.006737946999085468).epsilon(1e-12));
    // A category new in the current data: infinite statistic, p = 0.
    r = chi_square_goodness_of_fit({5, 5, 0}, {3, 3, 4});
    CHECK(r.p_value == 0.0);
}

TEST_CASE("two-proportion z-test") {
    // Evidently's proportions_diff_z_test: ref 30 of 100, cur 45 of 100
    // p1,p2=.3,.45; P=(30+45)/200; z=(p1-p2)/np.sqrt(P*(1-P)*(2/100)); 2*(1-stats.norm.cdf(abs(z)))
    // -> 0.02845973691631065
    CHECK(two_proportion_z_test_p(30, 100, 45, 100) == Approx(0.02845973691631065).epsilon(1e-10));
    CHECK(two_proportion_z_test_p(0, 100, 0, 50) == 1.0);
}

TEST_CASE("Wasserstein distance and its normalisation") {
    // stats.wasserstein_distance([1,2,3,4,5],[3,4,5,6,7]) -> 2.0
    CHECK(wasserstein_distance({1, 2, 3, 4, 5}, {3, 4, 5, 6, 7}) == Approx(2.0));
    // stats.wasserstein_distance([1.5,2,2,7],[0,3.25]) -> 2.125
    CHECK(wasserstein_distance({1.5, 2, 2, 7}, {0, 3.25}) == Approx(2.125));
    // a, b as in the KS case: stats.wasserstein_distance(a,b) -> 0.2793333333333333, np.std(a)
    // -> 2.916279517162616
    auto a = mod_sample(300, 37, 101, 0), b = mod_sample(450, 53, 97, 0.5);
    CHECK(wasserstein_distance(a, b) == Approx(0.2793333333333333).epsilon(1e-12));
    CHECK(standard_deviation(a) == Approx(2.916279517162616).epsilon(1e-12));
    CHECK(normed_wasserstein(1.0, 0.0) == Approx(1000.0));
}

TEST_CASE("distances between category shares: the issue's known answers") {
    std::vector<double> reference = shares({5, 3, 2}, 10), current = shares({3, 4, 3}, 10);
    CHECK(population_stability_index(reference, current) == Approx(0.1714798).epsilon(1e-6));
    // distance.jensenshannon([.5,.3,.2],[.3,.4,.3]) -> 0.14577767970191227
    CHECK(jensen_shannon_distance(reference, current) == Approx(0.14577767970191227).epsilon(1e-12));
    CHECK(hellinger_distance(reference, current) == Approx(0.1460908).epsilon(1e-6));
    // stats.entropy([.5,.3,.2],[.3,.4,.3]) -> 0.08801516852582818
    CHECK(kl_divergence(reference, current) == Approx(0.08801516852582818).epsilon(1e-12));
}

TEST_CASE("zero shares are filled as Evidently does") {
    auto values = shares({0, 5, 5}, 10);
    fill_zero_shares(values);
    CHECK(values[0] == 0.0001);
    std::vector<double> tiny = {0, 0.00005, 0.99995};
    fill_zero_shares(tiny);
    CHECK(tiny[0] == Approx(0.00005 / 1e6));
}

TEST_CASE("Sturges edges and numpy's histogram bins") {
    // x=np.array([1.0,2,3,4,5,6,7,8,9,10.5,0.2]); np.histogram_bin_edges(x, bins='sturges')
    // -> [0.2, 2.26, 4.32, 6.38, 8.44, 10.5]; np.histogram(x, edges)[0] -> [3 2 2 2 2]
    auto edges = sturges_edges(0.2, 10.5, 11);
    REQUIRE(edges.size() == 6);
    CHECK(edges[1] == Approx(2.26));
    CHECK(edges[5] == 10.5);
    std::vector<int> counts(5, 0);
    for (double x : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.5, 0.2})
        counts[static_cast<size_t>(histogram_bin(edges, x))]++;
    CHECK(counts == std::vector<int>{3, 2, 2, 2, 2});
    CHECK(histogram_bin(edges, -1) == -1);
    CHECK(histogram_bin(edges, 11) == 5);
    // One distinct value: numpy uses [x - 0.5, x + 0.5].
    CHECK(sturges_edges(3, 3, 10) == std::vector<double>{2.5, 3.5});
}
