#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::serve {

// Upper bounds (seconds) of the latency histograms, and (rows or requests) of the batch histograms.
// Each histogram also has the +Inf bucket.
inline constexpr std::array<double, 14> k_latency_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr std::array<double, 9> k_batch_buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256};

namespace detail {

// A Prometheus histogram: per-bucket (not cumulative) counts and the sum, each an atomic, so an
// observation is a binary search and two atomic adds without a lock.
class Histogram {
  public:
    static constexpr size_t k_max_bounds = 16;
    // `bounds` must be sorted, at most k_max_bounds long, and outlive the histogram.
    explicit Histogram(std::span<const double> bounds) : m_bounds(bounds) {}

    void observe(double value);
    std::span<const double> bounds() const { return m_bounds; }
    // Cumulative counts (cumulative[i] for bounds()[i], cumulative[bounds().size()] for +Inf) and
    // the sum. Buckets are read one by one, not at one instant, but the counts are cumulated here,
    // so they are always monotonic and _count always equals the +Inf bucket.
    struct Snapshot {
        std::array<uint64_t, k_max_bounds + 1> cumulative{};
        size_t buckets = 0; // bounds().size() + 1
        double sum = 0;
        uint64_t count() const { return buckets == 0 ? 0 : cumulative[buckets - 1]; }
        std::span<const uint64_t> counts() const { return {cumulative.data(), buckets}; }
    };
    Snapshot snapshot() const;

  private:
    std::span<const double> m_bounds;
    std::array<std::atomic<uint64_t>, k_max_bounds + 1> m_counts{};
    std::atomic<double> m_sum{0};
};

// Orders label tuples by their values, and compares stored keys with string_view tuples so that a
// lookup on the hot path allocates nothing.
struct LabelLess {
    using is_transparent = void;
    template <typename A, typename B> bool operator()(const A& a, const B& b) const {
        for (size_t i = 0; i < a.size(); ++i) {
            int c = std::string_view(a[i]).compare(std::string_view(b[i]));
            if (c != 0)
                return c < 0;
        }
        return false;
    }
};

// The series of one metric family, keyed by their N label values. Series are created on first use
// and never removed, so a reference returned by get() stays valid for the family's lifetime and is
// updated without the lock; the shared lock is held only for the lookup.
template <typename T, size_t N> class Family {
  public:
    using Key = std::array<std::string, N>;
    using View = std::array<std::string_view, N>;

    T& get(const View& labels) {
        {
            std::shared_lock lock(m_mutex);
            if (auto it = m_series.find(labels); it != m_series.end())
                return *it->second;
        }
        std::unique_lock lock(m_mutex);
        auto it = m_series.find(labels);
        if (it == m_series.end()) {
            Key key;
            for (size_t i = 0; i < N; ++i)
                key[i] = labels[i];
            it = m_series.emplace(std::move(key), std::make_unique<T>()).first;
        }
        return *it->second;
    }

    // Calls f(key, series) for every series in label order, under the shared lock.
    template <typename F> void for_each(F&& f) const {
        std::shared_lock lock(m_mutex);
        for (const auto& [key, series] : m_series)
            f(key, *series);
    }

    // Calls f(key, series) for the series whose first M label values equal `prefix`.
    template <size_t M, typename F>
    void for_each_prefix(const std::array<std::string_view, M>& prefix, F&& f) const {
        static_assert(M <= N);
        View start{};
        for (size_t i = 0; i < M; ++i)
            start[i] = prefix[i];
        std::shared_lock lock(m_mutex);
        for (auto it = m_series.lower_bound(start); it != m_series.end(); ++it) {
            for (size_t i = 0; i < M; ++i)
                if (it->first[i] != prefix[i])
                    return;
            f(it->first, *it->second);
        }
    }

  private:
    mutable std::shared_mutex m_mutex;
    std::map<Key, std::unique_ptr<T>, LabelLess> m_series;
};

} // namespace detail

// The model server's Prometheus metrics, rendered for `/metrics` in the text exposition format 0.0.4.
// Every method is thread-safe and never blocks on I/O. observe_request costs two shared-lock map
// lookups (three on an error) plus relaxed atomic adds, about 150 ns at -O2; the exclusive lock is
// taken only the first time a label combination is seen.
class ServerMetrics {
  public:
    // `build_version` is mlo's version, exported as mlo_build_info{version="..."} 1.
    explicit ServerMetrics(std::string build_version);
    ServerMetrics(const ServerMetrics&) = delete;
    ServerMetrics& operator=(const ServerMetrics&) = delete;

    // One served request. protocol: "v2" or "mlflow"; code: the HTTP status; times in seconds.
    // 4xx and 5xx count as errors in mlo_request_errors_total; stats() counts only 5xx.
    void observe_request(const std::string& model, const std::string& version, const std::string& protocol,
                         int code, double queue_seconds, double compute_seconds, double total_seconds);
    // One batch sent to a worker: its rows and the number of client requests merged into it.
    void observe_batch(const std::string& model, const std::string& version, size_t rows, size_t requests);
    void worker_restarted(const std::string& model, const std::string& version);
    void set_workers(const std::string& model, const std::string& version, unsigned live);
    // Adds `delta` to mlo_requests_in_flight (+1 when a request arrives, -1 when it is answered);
    // despite the name it is not an absolute value, so concurrent handlers need no coordination.
    void set_in_flight(long delta);

    // The exposition text: families sorted by name, each with HELP and TYPE lines (also when it has
    // no series yet), series sorted by label values, label values escaped (\\, \", \n).
    std::string render() const;

    // Totals since the server started, for canary gates: requests, 5xx errors, and the p99 of the
    // total latency estimated from mlo_request_duration_seconds as Prometheus' histogram_quantile
    // does (linear interpolation inside the bucket; the highest finite bound if the rank falls in
    // +Inf). All zero for a version that served nothing.
    struct VersionStats {
        uint64_t requests = 0, errors = 0;
        double p99_seconds = 0;
        // Cumulative counts of the total-latency histogram (k_latency_buckets, then +Inf), so that
        // a gate can take the p99 of a window from two snapshots.
        std::vector<uint64_t> latency_cumulative;
    };
    VersionStats stats(const std::string& model, const std::string& version) const;

    // histogram_quantile(q) over cumulative bucket counts (cumulative[i] for bounds[i], the last
    // entry for +Inf); NaN when the histogram is empty. Public for tests and `mlo monitor`.
    static double histogram_quantile(double q, std::span<const double> bounds,
                                     std::span<const uint64_t> cumulative);

  private:
    using Counter = std::atomic<uint64_t>;
    using Gauge = std::atomic<int64_t>;

    std::string m_build_version;
    detail::Family<Counter, 4> m_requests; // model, version, protocol, code
    detail::Family<Counter, 3> m_errors;   // model, version, protocol
    // A request's three timings share one lookup, as do a batch's two sizes.
    struct LatencySeries {
        detail::Histogram total{k_latency_buckets}, queue{k_latency_buckets}, compute{k_latency_buckets};
    };
    struct BatchSeries {
        detail::Histogram rows{k_batch_buckets}, requests{k_batch_buckets};
    };
    detail::Family<LatencySeries, 2> m_latency; // model, version
    detail::Family<BatchSeries, 2> m_batches;   // model, version
    detail::Family<Counter, 2> m_restarts;      // model, version
    detail::Family<Gauge, 2> m_workers;         // model, version
    Gauge m_in_flight{0};
};

} // namespace mlo::serve
