#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mlo/monitor/column_summary.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <numeric>
#include <set>

namespace mlo::monitor {

namespace {

// A batch is sorted on the leading 22 bits of its spread (two radix passes instead of five or six):
// finer than the distinct values of most data, so the merge with them rarely steps back.
constexpr int k_nearly_sorted_bits = 22;

// Sorts finite doubles ascending to within 1/2^k_nearly_sorted_bits of their spread, by LSD radix
// sort over their bits, 11 bits a pass: much faster than std::sort for a batch of 2^16 values, and
// all the merge with the reference's distinct values needs to stay a short walk (fold_sorted
// tolerates the rest; sort_exactly finishes the job). A double's bits order like the number once
// negative values have every bit flipped and non-negative ones the sign bit set; the keys are taken
// relative to the least, so passes whose digit every value shares are skipped.
void radix_sort_nearly(std::vector<double>& values, std::vector<uint64_t>& keys,
                       std::vector<uint64_t>& scratch) {
    size_t n = values.size();
    if (n < 2)
        return;
    keys.resize(n);
    scratch.resize(n);
    uint64_t low = ~uint64_t{0}, high = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t bits = 0;
        std::memcpy(&bits, &values[i], sizeof bits);
        keys[i] = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
        low = std::min(low, keys[i]);
        high = std::max(high, keys[i]);
    }
    for (auto& key : keys)
        key -= low;
    int top = static_cast<int>(std::bit_width(high - low));
    constexpr int k_bits = 11;
    constexpr size_t k_buckets = size_t{1} << k_bits;
    std::vector<size_t> counts(k_buckets);
    for (int shift = std::max(0, top - k_nearly_sorted_bits); shift < top; shift += k_bits) {
        std::fill(counts.begin(), counts.end(), 0);
        for (uint64_t key : keys)
            ++counts[(key >> shift) & (k_buckets - 1)];
        if (counts[(keys[0] >> shift) & (k_buckets - 1)] == n)
            continue; // every value has this digit
        size_t total = 0;
        for (auto& count : counts) {
            size_t c = count;
            count = total;
            total += c;
        }
        for (uint64_t key : keys)
            scratch[counts[(key >> shift) & (k_buckets - 1)]++] = key;
        keys.swap(scratch);
    }
    for (size_t i = 0; i < n; ++i) {
        uint64_t key = keys[i] + low;
        uint64_t bits = (key >> 63) != 0 ? key & ~(uint64_t{1} << 63) : ~key;
        std::memcpy(&values[i], &bits, sizeof bits);
    }
}

// radix_sort_nearly with one pair of key buffers per thread, reused for every batch of every column
// the thread folds: allocating them per batch cost a page fault per 4 KiB each time.
void sort_nearly(std::vector<double>& values) {
    if (values.size() < 2)
        return;
    thread_local std::vector<uint64_t> keys, scratch;
    radix_sort_nearly(values, keys, scratch);
}

// Sorts wholly: sort_nearly, then an insertion sort finishes the nearly sorted result in about one
// more sweep. Should the values crowd a few radix buckets (the
// insertion sort then moves many), std::sort takes over.
void sort_exactly(std::vector<double>& values) {
    sort_nearly(values);
    size_t moves = 0, budget = 8 * values.size();
    for (size_t i = 1; i < values.size(); ++i) {
        double value = values[i];
        size_t j = i;
        for (; j > 0 && values[j - 1] > value; --j)
            values[j] = values[j - 1];
        values[j] = value;
        moves += i - j;
        if (moves > budget) {
            std::sort(values.begin(), values.end());
            return;
        }
    }
}

} // namespace

void NumericReference::finish() {
    sort_exactly(values);
    count = values.size();
    // Counted first, so the two arrays are allocated once at their size (they stay for the whole
    // check, 12 bytes a distinct value).
    size_t distinct_count = values.empty() ? 0 : 1;
    for (size_t i = 1; i < values.size(); ++i)
        distinct_count += values[i] != values[i - 1] ? 1 : 0;
    distinct.clear();
    cumulative.clear();
    distinct.reserve(distinct_count);
    cumulative.reserve(distinct_count);
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        sum += values[i];
        if (distinct.empty() || values[i] != distinct.back()) {
            distinct.push_back(values[i]);
            cumulative.push_back(0);
        }
        cumulative.back() = static_cast<uint32_t>(i + 1);
    }
    double mean = count == 0 ? 0 : sum / static_cast<double>(count), squares = 0;
    for (double v : values)
        squares += (v - mean) * (v - mean);
    standard_deviation = count == 0 ? 0 : std::sqrt(squares / static_cast<double>(count));
    display_edges = values.empty() ? std::vector<double>{-0.5, 0.5}
                                   : sturges_edges(values.front(), values.back(), values.size());
    std::vector<double>().swap(values);
}

std::vector<uint64_t> NumericReference::bin_counts(const std::vector<double>& edges,
                                                   bool overflow_bins) const {
    std::vector<uint64_t> counts(edges.size() + 1, 0); // [under, bins..., over]
    for (size_t i = 0; i < distinct.size(); ++i)
        counts[static_cast<size_t>(histogram_bin(edges, distinct[i]) + 1)] +=
            cumulative[i] - (i == 0 ? 0 : cumulative[i - 1]);
    if (!overflow_bins)
        return std::vector<uint64_t>(counts.begin() + 1, counts.end() - 1);
    return counts;
}

NumericCurrent::NumericCurrent(const NumericReference& reference)
    : m_reference(reference), m_slots(reference.distinct.size() + 1),
      m_display(reference.display_edges.size() + 1, 0) {
    const auto& edges = m_reference.display_edges;
    m_display_thresholds.assign(edges.begin(), edges.end() - 1);
    m_display_thresholds.push_back(std::nextafter(edges.back(), std::numeric_limits<double>::infinity()));
}

NumericCurrent::~NumericCurrent() = default;

void NumericCurrent::add(double value) {
    if (!m_own)
        m_own = std::make_unique<NumericCollector>(*this);
    m_own->add(value);
}

void NumericCurrent::add_missing() {
    if (!m_own)
        m_own = std::make_unique<NumericCollector>(*this);
    m_own->add_missing();
}

void NumericCurrent::finish() {
    if (m_finished)
        return;
    if (m_own) {
        m_own->flush();
        m_own.reset();
    }
    m_finished = true;
    sort_exactly(m_kept); // sorted_values() hands them out
    fold_sorted(m_kept);
    if (m_folded || m_kept.size() > k_exact_values) {
        m_exact_kept = false;
        std::vector<double>().swap(m_kept);
    }
}

void NumericCollector::announce_or_fold() {
    if (!m_target->m_folded.load(std::memory_order_relaxed)) {
        uint64_t news = m_buffer.size() - m_announced;
        m_announced = m_buffer.size();
        uint64_t total = m_target->m_announced.fetch_add(news, std::memory_order_relaxed) + news;
        if (total <= NumericCurrent::k_exact_values)
            return;
    }
    fold();
}

void NumericCollector::take_extremes() {
    for (double value : m_buffer) {
        m_min = std::min(m_min, value);
        m_max = std::max(m_max, value);
    }
}

void NumericCollector::fold() {
    take_extremes();
    sort_nearly(m_buffer);
    std::lock_guard lock(m_target->m_mutex);
    m_target->fold_sorted(m_buffer);
    m_target->m_folded = true;
    m_buffer.clear();
    m_announced = 0;
}

void NumericCollector::flush() {
    // Once anything was folded the column's values are not kept: fold these too. Otherwise they
    // join the kept values, and finish() decides.
    if (m_target->m_folded.load())
        fold();
    take_extremes();
    std::lock_guard lock(m_target->m_mutex);
    auto& target = *m_target;
    if (m_count > 0) {
        target.m_min = target.m_count == 0 ? m_min : std::min(target.m_min, m_min);
        target.m_max = target.m_count == 0 ? m_max : std::max(target.m_max, m_max);
    }
    target.m_count += m_count;
    target.m_missing += m_missing;
    target.m_kept.insert(target.m_kept.end(), m_buffer.begin(), m_buffer.end());
    std::vector<double>().swap(m_buffer);
    m_count = m_missing = m_announced = 0;
    m_min = std::numeric_limits<double>::infinity();
    m_max = -std::numeric_limits<double>::infinity();
}

// Two walks at once: the lower half of the batch from the first distinct value, the upper half
// from where its first value belongs (a binary search). Each step's position depends on the step
// before through a load and a comparison, so one walk keeps the core waiting on that chain; two
// independent chains in one loop let it work on both in the same cycles. The walks may meet in one
// slot, which is fine: every update is a count or a sum, on this one thread.
void NumericCurrent::fold_sorted(const std::vector<double>& values) {
    constexpr size_t k_two_walks_from = 256; // below this the binary searches are not worth it
    size_t n = values.size();
    if (n < k_two_walks_from) {
        Cursor at;
        for (double value : values)
            fold_one(at, value);
        return;
    }
    size_t half = n / 2;
    const auto& distinct = m_reference.distinct;
    const auto& thresholds = m_display_thresholds;
    double middle = values[half];
    Cursor low, high;
    high.distinct =
        static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), middle) - distinct.begin());
    high.bin = static_cast<size_t>(std::upper_bound(thresholds.begin(), thresholds.end(), middle) -
                                   thresholds.begin());
    for (size_t i = 0; i < half; ++i) {
        fold_one(low, values[i]);
        fold_one(high, values[half + i]);
    }
    if (n % 2 != 0)
        fold_one(high, values[n - 1]);
}

inline void NumericCurrent::fold_one(Cursor& at, double value) {
    const auto& distinct = m_reference.distinct;
    const auto& thresholds = m_display_thresholds;
    size_t d = at.distinct;
    // The values may be out of order by a little (k_nearly_sorted_bits): step back when needed.
    while (d > 0 && distinct[d - 1] >= value)
        --d;
    // Forward to the first distinct value not below this one. A step is usually 0 to 3 values:
    // counting the next four that are below, without a branch, spares the mispredicted loop
    // exit a plain walk pays for nearly every value.
    while (d + 4 <= distinct.size()) {
        size_t below =
            static_cast<size_t>(distinct[d] < value) + static_cast<size_t>(distinct[d + 1] < value) +
            static_cast<size_t>(distinct[d + 2] < value) + static_cast<size_t>(distinct[d + 3] < value);
        d += below;
        if (below < 4)
            break;
    }
    while (d < distinct.size() && distinct[d] < value)
        ++d;
    at.distinct = d;
    if (d < distinct.size() && distinct[d] == value) {
        ++m_slots[d].equal;
    } else {
        ++m_slots[d].between;
        m_slots[d].between_sum += value;
        if (!m_new_values_overflow) {
            auto found = m_new_values.find(value);
            if (found != m_new_values.end())
                ++found->second;
            else if (m_new_values.size() < k_new_value_cap)
                m_new_values.emplace(value, 1);
            else
                m_new_values_overflow = true;
        }
    }
    size_t bin = at.bin;
    while (bin > 0 && value < thresholds[bin - 1])
        --bin;
    while (bin < thresholds.size() && value >= thresholds[bin])
        ++bin;
    at.bin = bin;
    ++m_display[bin];
}

const std::vector<double>& NumericCurrent::sorted_values() {
    return m_kept; // sorted by finish()
}

uint64_t NumericCurrent::unique_count(bool& exact) const {
    exact = !m_new_values_overflow;
    return m_reference.distinct.size() + m_new_values.size();
}

void NumericCurrent::value_counts(std::vector<double>& values, std::vector<uint64_t>& reference_counts,
                                  std::vector<uint64_t>& current_counts) const {
    std::set<double> keys(m_reference.distinct.begin(), m_reference.distinct.end());
    for (const auto& [value, count] : m_new_values)
        keys.insert(value);
    values.assign(keys.begin(), keys.end());
    reference_counts.assign(values.size(), 0);
    current_counts.assign(values.size(), 0);
    for (size_t i = 0; i < values.size(); ++i) {
        const auto& distinct = m_reference.distinct;
        auto it = std::lower_bound(distinct.begin(), distinct.end(), values[i]);
        if (it != distinct.end() && *it == values[i]) {
            auto d = static_cast<size_t>(it - distinct.begin());
            reference_counts[i] = m_reference.cumulative[d] - (d == 0 ? 0 : m_reference.cumulative[d - 1]);
            current_counts[i] = m_slots[d].equal;
        } else {
            current_counts[i] = m_new_values.at(values[i]);
        }
    }
}

uint64_t NumericCurrent::ks_h() const {
    // Between consecutive distinct reference values the reference CDF is flat and the current CDF
    // only rises, so |F_ref - F_cur| is largest at an end of the interval: just before the next
    // reference value (everything below it counted) or at a reference value. Compare
    // m * ref_count with n * cur_count in integers; h = max difference / gcd(n, m).
    uint64_t n = m_reference.count, m = m_count;
    if (n == 0 || m == 0)
        return 0;
    uint64_t best = 0, current_below = 0, reference_le = 0;
    auto consider = [&](uint64_t ref, uint64_t cur) {
        uint64_t left = ref * m, right = cur * n;
        best = std::max(best, left > right ? left - right : right - left);
    };
    for (size_t i = 0; i + 1 < m_slots.size(); ++i) {
        current_below += m_slots[i].between;
        consider(reference_le, current_below); // just before distinct[i]
        current_below += m_slots[i].equal;
        reference_le = m_reference.cumulative[i];
        consider(reference_le, current_below); // at distinct[i]
    }
    uint64_t g = std::gcd(n, m);
    return best / g;
}

double NumericCurrent::wasserstein(double& error_bound) const {
    // The integral of |F_ref - F_cur|, interval by interval. Inside (a, b) between reference values
    // F_ref = c is constant, and the integral of F_cur there is exact from the count and sum of the
    // current values inside: (L (b - a) + sum over y of (b - y)) / m, with L the current values up
    // to a. When F_cur stays on one side of c the absolute value of the signed integral is exact;
    // when it crosses c inside, the signed integral is a lower bound and the error is at most the
    // interval's width times the share of current values inside it, which is summed into
    // `error_bound`.
    error_bound = 0;
    const auto& distinct = m_reference.distinct;
    double n = static_cast<double>(m_reference.count), m = static_cast<double>(m_count);
    if (distinct.empty() || m_count == 0)
        return 0;
    double total = 0;
    // Below the first reference value F_ref = 0: the integral of F_cur is sum (a - y) / m.
    total += (static_cast<double>(m_slots[0].between) * distinct[0] - m_slots[0].between_sum) / m;
    double current_le = static_cast<double>(m_slots[0].between + m_slots[0].equal);
    for (size_t i = 1; i < distinct.size(); ++i) {
        double a = distinct[i - 1], b = distinct[i], width = b - a;
        double c = static_cast<double>(m_reference.cumulative[i - 1]) / n;
        double inside = static_cast<double>(m_slots[i].between);
        double start = current_le / m, end = (current_le + inside) / m;
        double integral_fcur = (current_le * width + inside * b - m_slots[i].between_sum) / m;
        double signed_area = integral_fcur - c * width;
        total += std::fabs(signed_area);
        if (start < c && end > c)
            error_bound += width * (end - start);
        current_le += inside + static_cast<double>(m_slots[i].equal);
    }
    // Above the last reference value F_ref = 1: the integral of 1 - F_cur is sum (y - last) / m.
    size_t last = distinct.size();
    total += (m_slots[last].between_sum - static_cast<double>(m_slots[last].between) * distinct.back()) / m;
    return total;
}

double NumericCurrent::exact_wasserstein() const {
    // scipy's integral of |F_ref - F_cur| over the merged values; the reference side is its
    // distinct values with their cumulative counts.
    const auto& distinct = m_reference.distinct;
    const auto& current = m_kept;
    if (distinct.empty() || current.empty())
        return 0;
    double n = static_cast<double>(m_reference.count), m = static_cast<double>(current.size());
    size_t i = 0, j = 0;
    double total = 0, previous = std::min(distinct.front(), current.front());
    uint64_t reference_le = 0;
    while (i < distinct.size() || j < current.size()) {
        double x = j == current.size() || (i < distinct.size() && distinct[i] <= current[j]) ? distinct[i]
                                                                                             : current[j];
        total +=
            std::fabs(static_cast<double>(reference_le) / n - static_cast<double>(j) / m) * (x - previous);
        previous = x;
        while (i < distinct.size() && distinct[i] <= x)
            reference_le = m_reference.cumulative[i++];
        while (j < current.size() && current[j] <= x)
            ++j;
    }
    return total;
}

void CategoricalCounts::merge(const CategoricalCounts& other) {
    total += other.total;
    missing += other.missing;
    overflow = overflow || other.overflow;
    for (const auto& [value, count] : other.counts) {
        auto it = counts.find(value);
        if (it != counts.end())
            it->second += count;
        else if (counts.size() >= k_category_cap)
            overflow = true;
        else
            counts.emplace(value, count);
    }
}

namespace {

// A cell's first eight bytes (zero-padded) and its length in the top byte: most category values
// are that short, so equal heads mean equal values without a memcmp call.
uint64_t recent_head(std::string_view value) {
    uint64_t head = 0;
    size_t n = std::min<size_t>(7, value.size());
    for (size_t i = 0; i < n; ++i)
        head |= uint64_t{static_cast<unsigned char>(value[i])} << (8 * i);
    return head | (uint64_t{std::min<size_t>(255, value.size())} << 56);
}

} // namespace

void CategoricalCounts::add(std::string_view value) {
    ++total;
    uint64_t head = recent_head(value);
    Recent& recent = m_recent[static_cast<size_t>((head * 0x9E3779B97F4A7C15) >> 58) % k_recent];
    // Up to seven bytes the head is the whole value; longer ones compare the rest too.
    if (recent.count != nullptr && recent.head == head && (value.size() <= 7 || recent.value == value)) {
        ++*recent.count;
        return;
    }
    auto it = counts.find(value);
    if (it == counts.end()) {
        if (counts.size() >= k_category_cap) {
            overflow = true;
            return;
        }
        it = counts.emplace(std::string(value), 0).first;
    }
    ++it->second;
    recent = Recent{it->first, head, &it->second};
}

} // namespace mlo::monitor
