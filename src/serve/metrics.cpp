// Prometheus metrics of the model server.
//
// Requests are answered on many threads, so recording must not serialise them. Each family is a
// sorted map from label values to a series that is updated with atomics only: a request takes a
// shared lock just long enough to find its series (the exclusive lock is needed only the first time
// a model/version/protocol/code combination appears, a handful of times per server lifetime), then
// adds with relaxed atomics. Series are never removed, so references stay valid. The three latency
// histograms of a model version live in one series struct (as do the two batch histograms), so a
// request costs two lookups, not five; render() reads each struct once per family.
//
// Histograms keep per-bucket counts, not cumulative ones: an observation touches one bucket counter
// and the sum instead of every bucket above it. render() cumulates them, which also guarantees that
// a scrape racing with observations still sees monotonic buckets and _count equal to the +Inf
// bucket (Prometheus rejects neither, but histogram_quantile misbehaves on non-monotonic input).
//
// Numbers are printed in the shortest form that reads back to the same double, %g-style
// (std::to_chars with chars_format::general), exactly as Go's strconv.FormatFloat(v, 'g', -1, 64)
// does for client_golang: "0.0005", "2.5", "10", "1e-05", "1.234567e+06". (Plain to_chars would
// pick the shorter "5e-04" for 0.0005: valid, but not what every other exporter prints for le.)

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <mlo/serve/metrics.hpp>

namespace mlo::serve {

namespace detail {

void Histogram::observe(double value) {
    // A NaN (a clock bug upstream) is counted in +Inf but kept out of _sum, which it would otherwise
    // turn into NaN for the rest of the server's life.
    if (std::isnan(value)) {
        m_counts[m_bounds.size()].fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Prometheus buckets are "less than or equal": the first bound >= value.
    auto index =
        static_cast<size_t>(std::lower_bound(m_bounds.begin(), m_bounds.end(), value) - m_bounds.begin());
    m_counts[index].fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot out;
    out.buckets = m_bounds.size() + 1;
    uint64_t running = 0;
    for (size_t i = 0; i < out.buckets; ++i) {
        running += m_counts[i].load(std::memory_order_relaxed);
        out.cumulative[i] = running;
    }
    out.sum = m_sum.load(std::memory_order_relaxed);
    return out;
}

} // namespace detail

namespace {

std::string format_number(double value) {
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
    return std::string(buffer, result.ptr);
}

// Label values may hold any UTF-8; the format reserves backslash, double quote and newline.
void append_escaped(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
}

// `{a="x",b="y"}` for the given names and values, or nothing when there are no labels.
template <size_t N>
std::string label_set(const std::array<const char*, N>& names, const std::array<std::string, N>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    std::string out;
    if (N == 0 && extra_name.empty())
        return out;
    out += '{';
    for (size_t i = 0; i < N; ++i) {
        if (i > 0)
            out += ',';
        out += names[i];
        out += "=\"";
        append_escaped(out, values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (N > 0)
            out += ',';
        out += extra_name;
        out += "=\"";
        append_escaped(out, extra_value);
        out += '"';
    }
    out += '}';
    return out;
}

void append_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void append_sample(std::string& out, std::string_view name, const std::string& labels,
                   std::string_view value) {
    out += name;
    out += labels;
    out += ' ';
    out += value;
    out += '\n';
}

constexpr std::array<const char*, 2> k_version_labels = {"model", "version"};

template <typename Counter, size_t N>
void append_counter_family(std::string& out, std::string_view name, std::string_view type,
                           std::string_view help, const std::array<const char*, N>& label_names,
                           const detail::Family<Counter, N>& family) {
    append_header(out, name, type, help);
    family.for_each([&](const std::array<std::string, N>& labels, const Counter& value) {
        append_sample(out, name, label_set(label_names, labels),
                      std::to_string(value.load(std::memory_order_relaxed)));
    });
}

// One histogram family out of a family of series structs (`member` picks the histogram).
template <typename Series>
void append_histogram_family(std::string& out, std::string_view name, std::string_view help,
                             const detail::Family<Series, 2>& family, detail::Histogram Series::*member) {
    append_header(out, name, "histogram", help);
    std::string bucket_name = std::string(name) + "_bucket";
    std::string sum_name = std::string(name) + "_sum";
    std::string count_name = std::string(name) + "_count";
    family.for_each([&](const std::array<std::string, 2>& labels, const Series& series) {
        const detail::Histogram& histogram = series.*member;
        auto snapshot = histogram.snapshot();
        auto bounds = histogram.bounds();
        for (size_t i = 0; i < snapshot.buckets; ++i) {
            std::string le = i < bounds.size() ? format_number(bounds[i]) : "+Inf";
            append_sample(out, bucket_name, label_set(k_version_labels, labels, "le", le),
                          std::to_string(snapshot.cumulative[i]));
        }
        std::string plain = label_set(k_version_labels, labels);
        append_sample(out, sum_name, plain, format_number(snapshot.sum));
        append_sample(out, count_name, plain, std::to_string(snapshot.count()));
    });
}

} // namespace

ServerMetrics::ServerMetrics(std::string build_version) : m_build_version(std::move(build_version)) {}

void ServerMetrics::observe_request(const std::string& model, const std::string& version,
                                    const std::string& protocol, int code, double queue_seconds,
                                    double compute_seconds, double total_seconds) {
    // HTTP codes are 3 digits, so string order of the label equals numeric order.
    char code_text[16];
    auto code_end = std::to_chars(code_text, code_text + sizeof code_text, code).ptr;
    std::string_view code_view(code_text, static_cast<size_t>(code_end - code_text));

    m_requests.get({model, version, protocol, code_view}).fetch_add(1, std::memory_order_relaxed);
    if (code >= 400)
        m_errors.get({model, version, protocol}).fetch_add(1, std::memory_order_relaxed);
    LatencySeries& latency = m_latency.get({model, version});
    latency.total.observe(total_seconds);
    latency.queue.observe(queue_seconds);
    latency.compute.observe(compute_seconds);
}

void ServerMetrics::observe_batch(const std::string& model, const std::string& version, size_t rows,
                                  size_t requests) {
    BatchSeries& batch = m_batches.get({model, version});
    batch.rows.observe(static_cast<double>(rows));
    batch.requests.observe(static_cast<double>(requests));
}

void ServerMetrics::worker_restarted(const std::string& model, const std::string& version) {
    m_restarts.get({model, version}).fetch_add(1, std::memory_order_relaxed);
}

void ServerMetrics::set_workers(const std::string& model, const std::string& version, unsigned live) {
    m_workers.get({model, version}).store(live, std::memory_order_relaxed);
}

void ServerMetrics::set_in_flight(long delta) {
    m_in_flight.fetch_add(delta, std::memory_order_relaxed);
}

std::string ServerMetrics::render() const {
    std::string out;
    out.reserve(8192);
    // In name order; the golden test pins it.
    append_histogram_family(out, "mlo_batch_requests",
                            "Client requests merged into one batch sent to a worker.", m_batches,
                            &BatchSeries::requests);
    append_histogram_family(out, "mlo_batch_size_rows", "Rows in one batch sent to a worker.", m_batches,
                            &BatchSeries::rows);

    append_header(out, "mlo_build_info", "gauge", "The mlo version serving; always 1.");
    std::array<std::string, 1> build{m_build_version};
    append_sample(out, "mlo_build_info", label_set(std::array<const char*, 1>{"version"}, build), "1");

    append_histogram_family(out, "mlo_request_compute_seconds", "Time the worker spent on a request's batch.",
                            m_latency, &LatencySeries::compute);
    append_histogram_family(out, "mlo_request_duration_seconds",
                            "Time from receiving a request to sending its response.", m_latency,
                            &LatencySeries::total);
    append_counter_family(out, "mlo_request_errors_total", "counter",
                          "Requests answered with a 4xx or 5xx status.",
                          std::array<const char*, 3>{"model", "version", "protocol"}, m_errors);
    append_histogram_family(out, "mlo_request_queue_seconds",
                            "Time a request waited for a batch and a worker.", m_latency,
                            &LatencySeries::queue);

    append_header(out, "mlo_requests_in_flight", "gauge", "Requests received and not yet answered.");
    append_sample(out, "mlo_requests_in_flight", "",
                  std::to_string(m_in_flight.load(std::memory_order_relaxed)));

    append_counter_family(out, "mlo_requests_total", "counter",
                          "Requests answered, by protocol and HTTP status.",
                          std::array<const char*, 4>{"model", "version", "protocol", "code"}, m_requests);
    append_counter_family(out, "mlo_worker_restarts_total", "counter",
                          "Worker processes restarted after dying.", k_version_labels, m_restarts);
    append_counter_family(out, "mlo_workers", "gauge", "Worker processes alive.", k_version_labels,
                          m_workers);
    return out;
}

ServerMetrics::VersionStats ServerMetrics::stats(const std::string& model, const std::string& version) const {
    VersionStats out;
    m_requests.for_each_prefix(std::array<std::string_view, 2>{model, version},
                               [&](const std::array<std::string, 4>& labels, const Counter& count) {
                                   uint64_t n = count.load(std::memory_order_relaxed);
                                   out.requests += n;
                                   if (labels[3].size() == 3 && labels[3][0] == '5')
                                       out.errors += n;
                               });
    m_latency.for_each_prefix(
        std::array<std::string_view, 2>{model, version},
        [&](const std::array<std::string, 2>&, const LatencySeries& latency) {
            auto snapshot = latency.total.snapshot();
            double p99 = histogram_quantile(0.99, latency.total.bounds(), snapshot.counts());
            out.p99_seconds = std::isnan(p99) ? 0 : p99;
            out.latency_cumulative.assign(snapshot.counts().begin(), snapshot.counts().end());
        });
    return out;
}

// Mirrors bucketQuantile in Prometheus' promql/quantile.go, so a canary gate and a Grafana panel
// built on histogram_quantile(0.99, ...) agree on the same counts.
double ServerMetrics::histogram_quantile(double q, std::span<const double> bounds,
                                         std::span<const uint64_t> cumulative) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    if (std::isnan(q) || bounds.empty() || cumulative.size() != bounds.size() + 1)
        return nan;
    if (q < 0)
        return -std::numeric_limits<double>::infinity();
    if (q > 1)
        return std::numeric_limits<double>::infinity();
    double total = static_cast<double>(cumulative.back());
    if (total == 0)
        return nan;
    double rank = q * total;
    size_t b = 0;
    while (b < bounds.size() && static_cast<double>(cumulative[b]) < rank)
        ++b;
    if (b == bounds.size()) // the rank lies in +Inf: the best answer is the highest finite bound
        return bounds.back();
    if (b == 0 && bounds[0] <= 0)
        return bounds[0];
    double start = 0;
    double end = bounds[b];
    double count = static_cast<double>(cumulative[b]);
    if (b > 0) {
        start = bounds[b - 1];
        count -= static_cast<double>(cumulative[b - 1]);
        rank -= static_cast<double>(cumulative[b - 1]);
    }
    return start + (end - start) * (rank / count);
}

} // namespace mlo::serve
