// The one-pass accumulators must agree with the statistics computed from whole samples.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <mlo/monitor/column_summary.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <mlo/monitor/ks_test.hpp>
#include <random>
#include <thread>

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

TEST_CASE("folded batches count every value in its slot, from both ends of a batch at once") {
    // Values on and between the reference's, folded in batches (fold_sorted walks each batch's
    // halves together): the per-value counts must be what counting the whole sample gives.
    std::vector<double> reference_values;
    for (int i = 0; i < 10; ++i)
        reference_values.push_back(i);
    auto summary = reference_of(reference_values);
    NumericCurrent accumulator(summary);
    std::mt19937 random(11);
    std::uniform_int_distribution<int> half_steps(-2, 22); // -1 .. 11 in steps of 0.5
    std::map<double, uint64_t> expected;
    for (size_t i = 0; i < 3 * NumericCurrent::k_exact_values + 5; ++i) {
        double value = half_steps(random) / 2.0;
        accumulator.add(value);
        ++expected[value];
    }
    accumulator.finish();
    REQUIRE_FALSE(accumulator.has_exact_values());
    bool exact = false;
    CHECK(accumulator.unique_count(exact) == 10 + 15); // 0..9, plus -1, -0.5, 0.5 ... 10.5, 11
    CHECK(exact);
    std::vector<double> values;
    std::vector<uint64_t> reference_counts, current_counts;
    accumulator.value_counts(values, reference_counts, current_counts);
    std::vector<double> expected_values;
    std::vector<uint64_t> expected_counts;
    for (const auto& [value, count] : expected) {
        expected_values.push_back(value);
        expected_counts.push_back(count);
    }
    CHECK(values == expected_values);
    CHECK(current_counts == expected_counts);
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

namespace {

// Feeds `values` to one NumericCurrent through `threads` collectors on threads of their own, each
// taking every threads-th value, as the check shares out blocks of rows.
void feed_in_parallel(NumericCurrent& accumulator, const std::vector<double>& values, size_t threads) {
    std::vector<std::thread> workers;
    for (size_t t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            NumericCollector collector(accumulator);
            for (size_t i = t; i < values.size(); i += threads)
                collector.add(values[i]);
            collector.add_missing();
            collector.flush();
        });
    for (auto& worker : workers)
        worker.join();
    accumulator.finish();
}

} // namespace

TEST_CASE("collectors on several threads give the counts one pass gives") {
    std::mt19937 random(11);
    std::normal_distribution<double> normal(0, 1);
    std::vector<double> reference;
    for (int i = 0; i < 5000; ++i)
        reference.push_back(std::round(normal(random) * 100) / 100);
    auto summary = reference_of(reference);
    std::sort(reference.begin(), reference.end());
    // Small enough to keep every value, and large enough to be folded many times over.
    for (size_t size : {size_t{5000}, 5 * NumericCurrent::k_exact_values + 3}) {
        std::vector<double> current;
        for (size_t i = 0; i < size; ++i)
            current.push_back(std::round((normal(random) * 1.5 + 0.2) * 1000) / 1000);
        NumericCurrent parallel(summary);
        feed_in_parallel(parallel, current, 3);
        NumericCurrent serial(summary);
        for (double v : current)
            serial.add(v);
        serial.finish();

        CHECK(parallel.count() == current.size());
        CHECK(parallel.missing() == 3);
        CHECK(parallel.min() == *std::min_element(current.begin(), current.end()));
        CHECK(parallel.max() == *std::max_element(current.begin(), current.end()));
        CHECK(parallel.has_exact_values() == (size <= NumericCurrent::k_exact_values));
        auto sorted = current;
        std::sort(sorted.begin(), sorted.end());
        CHECK(parallel.ks_h() == ks_statistic(reference, sorted).h);
        CHECK(parallel.ks_h() == serial.ks_h());
        bool exact_parallel = false, exact_serial = false;
        CHECK(parallel.unique_count(exact_parallel) == serial.unique_count(exact_serial));
        CHECK(exact_parallel == exact_serial);
        // The display counts, against numpy's bins counted value by value.
        std::vector<uint64_t> expected(summary.display_edges.size() + 1, 0);
        for (double v : current)
            ++expected[static_cast<size_t>(histogram_bin(summary.display_edges, v) + 1)];
        CHECK(parallel.display_counts() == expected);
        CHECK(serial.display_counts() == expected);
        double bound_parallel = 0, bound_serial = 0;
        CHECK(parallel.wasserstein(bound_parallel) ==
              Approx(serial.wasserstein(bound_serial)).epsilon(1e-12));
        CHECK(std::fabs(parallel.wasserstein(bound_parallel) - wasserstein_distance(reference, sorted)) <=
              bound_parallel + 1e-12);
        if (parallel.has_exact_values())
            CHECK(parallel.sorted_values() == sorted);
    }
}

TEST_CASE("the exact values are kept up to k_exact_values over every collector together") {
    auto summary = reference_of({0, 1, 2});
    for (size_t extra : {size_t{0}, size_t{1}}) {
        std::vector<double> current(NumericCurrent::k_exact_values + extra);
        for (size_t i = 0; i < current.size(); ++i)
            current[i] = static_cast<double>(i % 5) - 1;
        NumericCurrent accumulator(summary);
        feed_in_parallel(accumulator, current, 2);
        CHECK(accumulator.has_exact_values() == (extra == 0));
        CHECK(accumulator.count() == current.size());
        if (accumulator.has_exact_values()) {
            std::sort(current.begin(), current.end());
            CHECK(accumulator.sorted_values() == current);
        }
    }
}

TEST_CASE("categorical counts merge as one pass counts, the cap over their union") {
    CategoricalCounts a, b, whole;
    for (std::string_view value : {"x", "y", "x"}) {
        a.add(value);
        whole.add(value);
    }
    for (std::string_view value : {"y", "z"}) {
        b.add(value);
        whole.add(value);
    }
    b.add_missing();
    whole.add_missing();
    a.merge(b);
    CHECK(a.counts == whole.counts);
    CHECK(a.total == whole.total);
    CHECK(a.missing == 1);
    CHECK_FALSE(a.overflow);

    CategoricalCounts full, more;
    for (size_t i = 0; i < CategoricalCounts::k_category_cap; ++i)
        full.add(std::to_string(i));
    more.add("new");
    full.merge(more);
    CHECK(full.overflow);
    CHECK(full.counts.size() == CategoricalCounts::k_category_cap);
}

TEST_CASE("sorting stays exact when the values crowd a few radix buckets") {
    // One huge value stretches the spread so that the rest share one bucket of the partial radix
    // sort, in shuffled order: the insertion sort would be quadratic, so std::sort finishes.
    std::mt19937 random(3);
    std::vector<double> values = {1e300};
    for (int i = 0; i < 50000; ++i)
        values.push_back(1 + i * 1e-15);
    std::shuffle(values.begin(), values.end(), random);
    auto summary = reference_of(values);
    auto expected = values;
    std::sort(expected.begin(), expected.end());
    REQUIRE(summary.distinct.size() == expected.size());
    CHECK(summary.distinct == expected);
    NumericCurrent accumulator(summary);
    for (double v : values)
        accumulator.add(v);
    accumulator.finish();
    REQUIRE(accumulator.has_exact_values());
    CHECK(accumulator.sorted_values() == expected);
    CHECK(accumulator.ks_h() == 0);
}
