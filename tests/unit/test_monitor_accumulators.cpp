// The one-pass accumulators must agree with the statistics computed from whole samples.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <mlo/monitor/column_summary.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <mlo/monitor/ks_test.hpp>
#include <random>

using namespace mlo::monitor;

namespace {

NumericReference reference_of(std::vector<double> values) {
    NumericReference reference;
    reference.values = std::move(values);
    reference.finish();
    return reference;
}

} // namespace

TEST_CASE("the KS statistic from interval counts equals the one from both samples") {
    std::mt19937 random(42);
    std::normal_distribution<double> normal(0, 1);
    for (int round = 0; round < 21; ++round) {
        std::vector<double> reference, current;
        for (int i = 0; i < 300; ++i)
            reference.push_back(std::round(normal(random) * 10) / 10); // ties on purpose
        // The last round is larger than the buffer, so the counts are folded several times.
        int size = round == 20 ? 3 * static_cast<int>(NumericCurrent::k_exact_values) + 17 : 700 + round * 37;
        for (int i = 0; i < size; ++i)
            current.push_back(std::round((normal(random) + 0.05 * round) * 10) / 10);
        auto summary = reference_of(reference);
        NumericCurrent accumulator(summary);
        for (double v : current)
            accumulator.add(v);
        accumulator.finish();
        std::sort(current.begin(), current.end());
        std::sort(reference.begin(), reference.end());
        auto direct = ks_statistic(reference, current);
        CHECK(accumulator.ks_h() == direct.h);
    }
}

TEST_CASE("the Wasserstein distance from interval counts is within its reported bound") {
    std::mt19937 random(7);
    std::normal_distribution<double> normal(0, 1);
    for (double shift : {0.0, 0.1, 1.0}) {
        std::vector<double> reference, current;
        for (int i = 0; i < 2000; ++i)
            reference.push_back(normal(random));
        for (int i = 0; i < 50000; ++i)
            current.push_back(normal(random) + shift);
        auto summary = reference_of(reference);
        NumericCurrent accumulator(summary);
        for (double v : current)
            accumulator.add(v);
        accumulator.finish();
        double bound = 0;
        double streamed = accumulator.wasserstein(bound);
        std::sort(reference.begin(), reference.end());
        double exact = wasserstein_distance(reference, accumulator.sorted_values());
        CHECK(accumulator.exact_wasserstein() == Approx(exact).epsilon(1e-12));
        CHECK(summary.standard_deviation == Approx(standard_deviation(reference)).epsilon(1e-12));
        CHECK(std::fabs(streamed - exact) <= bound + 1e-12);
        // With 2000 reference rows (std ~1) the bound is far below the drift threshold of 0.1 std.
        CHECK(bound <= 0.002);
    }
}

TEST_CASE("unique values and value counts over both samples") {
    auto summary = reference_of({1, 1, 2, 3});
    NumericCurrent accumulator(summary);
    for (double v : {2.0, 4.0, 4.0, 1.0})
        accumulator.add(v);
    accumulator.add_missing();
    accumulator.finish();
    bool exact = false;
    CHECK(accumulator.unique_count(exact) == 4);
    CHECK(exact);
    std::vector<double> values;
    std::vector<uint64_t> reference_counts, current_counts;
    accumulator.value_counts(values, reference_counts, current_counts);
    CHECK(values == std::vector<double>{1, 2, 3, 4});
    CHECK(reference_counts == std::vector<uint64_t>{2, 1, 1, 0});
    CHECK(current_counts == std::vector<uint64_t>{1, 1, 0, 2});
    CHECK(accumulator.missing() == 1);
    CHECK(accumulator.count() == 4);
}

TEST_CASE("large current samples drop their exact values but keep bounded counts") {
    auto summary = reference_of({0, 1, 2, 3, 4, 5});
    NumericCurrent accumulator(summary);
    for (size_t i = 0; i < NumericCurrent::k_exact_values + 10; ++i)
        accumulator.add(static_cast<double>(i % 6));
    accumulator.finish();
    CHECK_FALSE(accumulator.has_exact_values());
    CHECK(accumulator.ks_h() == 0);
    bool exact = false;
    CHECK(accumulator.unique_count(exact) == 6);
}

TEST_CASE("folding sorts like std::sort: negative, zero, tiny and huge values") {
    std::mt19937 random(5);
    std::uniform_real_distribution<double> uniform(-1e6, 1e6);
    std::vector<double> values = {0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324, -5e-324};
    for (int i = 0; i < 1000; ++i)
        values.push_back(uniform(random));
    auto summary = reference_of({-1, 0, 1});
    NumericCurrent accumulator(summary);
    for (double v : values)
        accumulator.add(v);
    accumulator.finish();
    REQUIRE(accumulator.has_exact_values());
    auto expected = values;
    std::sort(expected.begin(), expected.end());
    const auto& got = accumulator.sorted_values();
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i)
        REQUIRE(got[i] == expected[i]);
}
