#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::deploy {

// One thing that happened to a deployment target, as `mlo deploy history` shows it.
struct DeployEvent {
    std::string time{};   // UTC, "2026-11-27T10:02:03Z"
    std::string actor{};  // git user.email, else $USER
    std::string action{}; // deploy, rollback, stop, render
    std::string model{}, version{};
    std::string previous{};    // the version that held full traffic before, if any
    std::string strategy{};    // start, blue-green, canary, kubernetes
    std::string outcome{};     // ok, failed, rolled-back
    std::string message{};     // what happened, for people
    bool full_traffic = false; // after this event `version` takes every request
};

// The append-only JSON-lines history of one target (.mlo/deploy/TARGET/history.jsonl). Appends are
// single O_APPEND writes, so a killed deploy leaves at most one unterminated last line, which read()
// skips.
class DeployHistory {
  public:
    explicit DeployHistory(std::filesystem::path file) : m_file(std::move(file)) {}
    Status append(const DeployEvent& event) const;
    // Oldest first; no file is no events. A malformed complete line is ErrorCode::input naming it.
    Result<std::vector<DeployEvent>> read() const;

  private:
    std::filesystem::path m_file;
};

// The version that held full traffic before the one that holds it now (the last full-traffic
// event): what `mlo deploy rollback` returns to. None when no other version ever held it.
std::optional<std::string> rollback_version(const std::vector<DeployEvent>& events);

// The version that holds full traffic now according to the history, if any.
std::optional<std::string> current_full_traffic(const std::vector<DeployEvent>& events);

// Now as "2026-11-27T10:02:03Z".
std::string utc_now();

} // namespace mlo::deploy
