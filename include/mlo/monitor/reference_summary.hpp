#pragma once

#include <filesystem>
#include <mlo/monitor/column_drift.hpp>
#include <mlo/monitor/gate_metric.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::monitor {

// What a check learns from its reference file, kept in the store between checks: the rows, every
// column's type and summary (a numeric column's sorted distinct values with cumulative counts,
// standard deviation and display edges; a categorical column's counts) and the reference's
// performance data. A check against an unchanged reference with unchanged settings loads it
// instead of reading and sorting the file again (Evidently recomputes its reference every time).
struct ReferenceSummary {
    uint64_t rows = 0;
    PerformanceData performance;
};

// The cache key of a reference file read with `settings` (the columns, their declared types and
// everything else that shapes what is read): the file's path and stat data (device, inode, size,
// modification and change times, as git's index and mlo's stat cache trust them) and the settings,
// hashed. Empty when the file cannot be stat'ed or changed in the last two seconds, when its times
// might not show a further change: such a reference is read, not cached.
std::string reference_summary_key(const std::filesystem::path& reference, std::string_view settings);

// Decodes what store_reference_summary wrote into `summary` and the reference side of `columns`,
// which must be the same columns in the same order. False (and nothing trusted) when the bytes are
// truncated, fail their checksum, come from another format version or name other columns.
bool decode_reference_summary(std::string_view bytes, ReferenceSummary& summary,
                              std::vector<ColumnState>& columns);

// The summary's file under `dir` (the store's cache directory for monitoring).
std::filesystem::path reference_summary_path(const std::filesystem::path& dir, const std::string& key);

// Writes `summary` and the reference side of `columns` (their names, types, NumericReference
// without values, CategoricalCounts) in a versioned binary format with a checksum, streamed to a
// file that replaces any older one at once, and keeps the directory to the k_kept_summaries most
// recently written. Best effort, as a cache: a failure costs the next check a full read.
inline constexpr size_t k_kept_summaries = 8;
void store_reference_summary(const std::filesystem::path& dir, const std::string& key,
                             const ReferenceSummary& summary, const std::vector<ColumnState>& columns);

} // namespace mlo::monitor
