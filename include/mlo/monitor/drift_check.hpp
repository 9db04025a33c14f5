#pragma once

#include <filesystem>
#include <memory>
#include <mlo/monitor/check_report.hpp>
#include <mlo/monitor/monitor_config.hpp>
#include <mlo/monitor/row_source.hpp>

namespace mlo::monitor {

struct CheckInputs {
    MonitorConfig config;
    std::filesystem::path reference;
    std::unique_ptr<RowSource> current;
    std::filesystem::path labels; // empty: labels come from the current data's target column
    std::vector<serve::RequestRecord> health_records; // for the health section (serve logs only)
    std::vector<std::string> warnings;                // found while gathering the inputs; reported
    // Where the reference summary is kept between checks (reference_summary.hpp); empty: not kept.
    std::filesystem::path cache_dir;
};

// Runs `mlo monitor check`: reads the reference whole, streams the current data once (twice only
// when a Sturges histogram over both samples is needed and the current sample was too large to
// keep), tests every feature and the prediction for drift, scores performance when labels are
// available, and evaluates the gates. Bad input (a missing column, a cell that is not a number in
// a numeric column, malformed files, a labels file that joins no row) is ErrorCode::input; a
// column that is empty after dropping missing values is reported as an ERROR test, never as "no
// drift".
Result<CheckReport> run_check(CheckInputs inputs);

} // namespace mlo::monitor
