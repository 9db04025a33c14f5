#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mlo::monitor {

// The reference sample of a numeric column, held whole (references are training or validation
// sets: 10^5 rows are 800 KB a column), sorted, with its distinct values and cumulative counts.
struct NumericReference {
    std::vector<double> values;    // finite values as read; freed by finish()
    uint64_t missing = 0;          // empty cells, NaN, infinities
    uint64_t count = 0;            // finite values
    double standard_deviation = 0; // population (ddof 0), as numpy's std
    std::vector<double> distinct;
    std::vector<uint32_t> cumulative; // cumulative[i] = values <= distinct[i]
    // Sturges over the reference: the report's and `binning: reference`'s bins.
    std::vector<double> display_edges;
    // Sorts the values, derives the distinct values, cumulative counts, standard deviation and
    // display edges, and frees the values: the distinct values and their counts say everything.
    void finish();
    // How many values fall in each bin of `edges` (numpy's bins), with an underflow and an
    // overflow bin first and last when `overflow_bins`.
    std::vector<uint64_t> bin_counts(const std::vector<double>& edges, bool overflow_bins) const;
};

class NumericCollector;

// The current sample of a numeric column, accumulated in one pass with memory bounded by the
// reference's distinct values (see ARCHITECTURE.md, "Monitoring"):
// - counts of current values equal to each distinct reference value, and count and sum of those
//   strictly between two neighbours (or below the first, above the last): the KS statistic is
//   exact from these, and the Wasserstein distance exact except inside intervals where the two
//   CDFs cross, whose possible error is bounded and reported;
// - the values themselves while there are at most k_exact_values of them (then freed), so small
//   batches get every statistic exactly and histograms over any edges;
// - counts of values the reference lacks, per value, up to k_new_value_cap distinct ones;
// - counts over the reference's display edges plus an underflow and an overflow bin.
// Several threads feed one column through a NumericCollector each (rows are shared out between
// threads); add() feeds it from one thread through a collector of its own.
class NumericCurrent {
  public:
    static constexpr size_t k_exact_values = 1 << 17;
    static constexpr size_t k_new_value_cap = 4096;

    explicit NumericCurrent(const NumericReference& reference);
    ~NumericCurrent();
    NumericCurrent(const NumericCurrent&) = delete;
    NumericCurrent& operator=(const NumericCurrent&) = delete;

    void add(double value); // finite values only
    void add_missing();
    // Folds what is still buffered into the counts; call after the last add() (and after every
    // collector's flush()) and before any query below. Idempotent.
    void finish();

    uint64_t count() const { return m_count; }
    uint64_t missing() const { return m_missing; }
    double min() const { return m_min; }
    double max() const { return m_max; }
    bool has_exact_values() const { return m_exact_kept; }
    // Sorted current values; only when has_exact_values(), after finish().
    const std::vector<double>& sorted_values();
    // Distinct values over reference and current; `exact` false once the new values passed the cap.
    uint64_t unique_count(bool& exact) const;
    // Counts per value over the union of reference and current distinct values (ascending), for
    // columns with few distinct values; only meaningful when unique_count was exact.
    void value_counts(std::vector<double>& values, std::vector<uint64_t>& reference_counts,
                      std::vector<uint64_t>& current_counts) const;
    // KS statistic's h (see ks_test.hpp) from the interval counts.
    uint64_t ks_h() const;
    // Wasserstein distance from the interval counts, and the bound on its error.
    double wasserstein(double& error_bound) const;
    // The exact Wasserstein distance from the kept values; only when has_exact_values().
    double exact_wasserstein() const;
    // Counts over the display edges: [underflow, bins..., overflow].
    const std::vector<uint64_t>& display_counts() const { return m_display; }

  private:
    friend class NumericCollector;
    const NumericReference& m_reference;
    // Everything below is guarded by m_mutex while collectors run; finish() and the queries run
    // after they are done.
    std::mutex m_mutex;
    uint64_t m_count = 0, m_missing = 0;
    double m_min = 0, m_max = 0;
    // Slot i: current values equal to distinct[i], and count and sum of those strictly between
    // distinct[i-1] and distinct[i] (slot 0: below the first; the last slot: above the last). One
    // slot is one cache line's third, so a value touches one line.
    // 32-bit counts keep a slot at 16 bytes: a column may hold up to 2^32 - 1 current values.
    struct Slot {
        uint32_t equal = 0, between = 0;
        double between_sum = 0;
    };
    std::vector<Slot> m_slots;
    // Merges values sorted (or nearly: see sort_nearly) into the slots, the new values and the
    // display counts.
    void fold_sorted(const std::vector<double>& values);
    // Where a walk over the distinct values and the display thresholds stands.
    struct Cursor {
        size_t distinct = 0, bin = 0;
    };
    void fold_one(Cursor& at, double value); // fold_sorted's step
    // Display bins as numpy's histogram gives them ([e_i, e_i+1), the last closed) plus an
    // underflow and an overflow bin: a value's bin is how many of these it is at or above.
    std::vector<double> m_display_thresholds;
    // Values handed over by collectors that never folded; all current values while m_exact_kept.
    std::vector<double> m_kept;
    // Set once any values were folded: from then on collectors fold instead of keeping.
    std::atomic<bool> m_folded{false};
    // Values collectors announced as buffered, to decide together when the sample is too large to
    // keep (see NumericCollector::add).
    std::atomic<uint64_t> m_announced{0};
    bool m_exact_kept = true, m_finished = false;
    std::unordered_map<double, uint64_t> m_new_values;
    bool m_new_values_overflow = false;
    std::vector<uint64_t> m_display;
    std::unique_ptr<NumericCollector> m_own; // add()'s collector
};

// One thread's share of a column's current values: buffered, and folded into the NumericCurrent
// in sorted batches (sorting needs no lock; merging takes the column's lock for a sequential walk).
// While the column's values may still all be kept (at most k_exact_values over every collector),
// the buffer grows; collectors announce what they hold every k_announce_step values past
// k_fold_values, and once the announced total passes k_exact_values every collector folds at
// k_fold_values. Memory per collector is about k_fold_values doubles.
class NumericCollector {
  public:
    static constexpr size_t k_fold_values = 1 << 16;
    static constexpr size_t k_announce_step = 1 << 12;

    explicit NumericCollector(NumericCurrent& target) : m_target(&target) {}
    void add(double value) { // finite values only; the least and greatest are taken per batch
        ++m_count;
        m_buffer.push_back(value);
        if (m_buffer.size() >= k_fold_values && m_buffer.size() % k_announce_step == 0)
            announce_or_fold();
    }
    void add_missing() { ++m_missing; }
    // Hands over the counts and what is still buffered; call once, after the last add().
    void flush();

  private:
    void announce_or_fold();
    void fold();          // sorts the buffer, merges it into the target under its lock, empties it
    void take_extremes(); // the buffer's least and greatest into m_min and m_max
    NumericCurrent* m_target;
    std::vector<double> m_buffer;
    uint64_t m_count = 0, m_missing = 0, m_announced = 0;
    double m_min = std::numeric_limits<double>::infinity(), m_max = -std::numeric_limits<double>::infinity();
};

// A categorical column: counts per value. Current values are capped at k_category_cap distinct
// values (a column of ids is not a category; the check reports it instead of exhausting memory).
// Lets a string-keyed map be searched with a string_view, so counting a cell allocates nothing.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

struct CategoricalCounts {
    static constexpr size_t k_category_cap = 100000;
    std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> counts;
    uint64_t total = 0, missing = 0;
    bool overflow = false;

    CategoricalCounts() = default;
    // Copies start with an empty cache (it points into its own map); moves keep it, as the map's
    // nodes move with the map.
    CategoricalCounts(const CategoricalCounts& other)
        : counts(other.counts), total(other.total), missing(other.missing), overflow(other.overflow) {}
    CategoricalCounts& operator=(const CategoricalCounts& other) {
        if (this != &other) {
            counts = other.counts;
            total = other.total;
            missing = other.missing;
            overflow = other.overflow;
            m_recent = {};
        }
        return *this;
    }
    CategoricalCounts(CategoricalCounts&& other) noexcept
        : counts(std::move(other.counts)), total(other.total), missing(other.missing),
          overflow(other.overflow), m_recent(other.m_recent) {
        other.m_recent = {};
    }
    CategoricalCounts& operator=(CategoricalCounts&& other) noexcept {
        counts = std::move(other.counts);
        total = other.total;
        missing = other.missing;
        overflow = other.overflow;
        m_recent = other.m_recent;
        other.m_recent = {};
        return *this;
    }

    void add(std::string_view value);
    void add_missing() { ++missing; }
    // Adds another thread's counts of the same column; the cap applies to the union.
    void merge(const CategoricalCounts& other);

  private:
    // A direct-mapped cache of recently counted values in front of the map: a category column
    // holds few values, and this finds most cells with one cheap hash and one comparison instead of
    // std::hash and a prime-modulo bucket lookup.
    struct Recent {
        std::string_view value; // the map's key
        uint64_t head = 0;      // its first eight bytes (recent_head), compared before the text
        uint64_t* count = nullptr;
    };
    static constexpr size_t k_recent = 64;
    std::array<Recent, k_recent> m_recent{};
};

} // namespace mlo::monitor
