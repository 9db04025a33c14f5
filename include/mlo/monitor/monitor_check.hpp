#pragma once

#include <filesystem>
#include <mlo/core/project.hpp>
#include <mlo/monitor/check_report.hpp>
#include <optional>
#include <string>

namespace mlo::monitor {

// What `mlo monitor check` was asked; paths are absolute or relative to `cwd`.
struct CheckRequest {
    std::string model;         // overrides monitor.model
    std::string current;       // a CSV/JSON-lines file; empty = monitor.current, else the serve log
    std::string since;         // with the serve log: only requests this recent ("24h", "30m", "7d")
    std::string labels;        // overrides monitor.labels
    std::string reference;     // overrides monitor.reference
    std::filesystem::path cwd; // where the flags' relative paths start
};

// Resolves the request against the project's `monitor:` section (paths from mlo.yaml are relative
// to the project root) and runs the check. The serve log is .mlo/serve/logs/MODEL/requests.jsonl
// with its rotated files. Errors: a bad monitor section or flag (usage/input), a missing file
// (input, with a hint to `mlo checkout` a tracked reference), an empty log window (input).
Result<CheckReport> check(const core::Project& project, const CheckRequest& request);

// "24h" -> 86400 seconds; s, m, h, d and w units; nullopt when malformed.
std::optional<int64_t> parse_duration_seconds(const std::string& text);

} // namespace mlo::monitor
