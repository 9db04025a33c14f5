#pragma once

#include <filesystem>
#include <memory>
#include <mlo/monitor/table_reader.hpp>
#include <mlo/serve/request_log.hpp>
#include <string>
#include <vector>

namespace mlo::monitor {

// Where the current data comes from: a CSV/JSON-lines file, or the serve request log. Both can be
// read more than once (the check makes a second pass only when a histogram needs edges that depend
// on the whole current sample).
class RowSource {
  public:
    virtual ~RowSource() = default;
    virtual const std::vector<std::string>& columns() const = 0;
    virtual Status for_each_row(const std::vector<std::string>& wanted,
                                const RowCallback& callback) const = 0;
    // The rows shared out between callbacks on threads of their own, as
    // TableReader::for_each_row_parallel; by default every row to callbacks[0] on the calling thread.
    virtual Status for_each_row_parallel(const std::vector<std::string>& wanted,
                                         const std::vector<RowCallback>& callbacks) const;
    // For messages: the file, or "the serve log of MODEL".
    virtual std::string describe() const = 0;
};

// A CSV or JSON-lines file, streamed.
Result<std::unique_ptr<RowSource>> open_file_source(const std::filesystem::path& path);

// Logged requests as rows: each request is a batch of rows in columns (inputs and outputs), so
// row i of request R becomes one row with a `request_id` cell of "R" for single-row requests and
// "R#i" for batches (the key a labels file joins on). Failed requests carry no outputs and are
// left out of the data (they count in the health section).
std::unique_ptr<RowSource> log_source(std::vector<serve::RequestRecord> records, std::string model);

// Serve-log health per model version: requests, errors (HTTP status >= 400), latency percentiles
// (numpy's default linear interpolation).
struct VersionHealth {
    std::string version;
    uint64_t requests = 0, errors = 0;
    double error_rate = 0;
    double p50_ms = 0, p95_ms = 0, p99_ms = 0;
};
std::vector<VersionHealth> health_by_version(const std::vector<serve::RequestRecord>& records);

// numpy.percentile(values, q) with linear interpolation; `values` sorted, not empty.
double percentile(const std::vector<double>& sorted_values, double q);

} // namespace mlo::monitor
