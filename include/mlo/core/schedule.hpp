#pragma once

#include <cstdint>
#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::core {

// A command to run every so often in a project: `mlo schedule install --every 1h 'mlo monitor check'`.
struct ScheduleSpec {
    std::string project;        // mlo.yaml's project name
    std::filesystem::path root; // where the command runs
    std::string name;           // short name; the unit is mlo-<project>-<name>
    std::string command;        // shell text, exactly as the user wrote it (one line)
    std::string every;          // as given: 15m, 1h, 1d
    uint64_t every_seconds = 0;
};

// "15m", "2h", "1d" (also "30s" for systemd) in seconds; anything else is ErrorCode::usage.
Result<uint64_t> parse_interval(const std::string& text);

// Builds and checks a spec: the name defaults to the command's words ("monitor-check"); names are
// [A-Za-z0-9_-]; a command with a newline or NUL is refused (it must fit on one line of a unit or
// a crontab).
Result<ScheduleSpec> make_schedule(const std::string& project, const std::filesystem::path& root,
                                   const std::string& name, const std::string& command,
                                   const std::string& every);

std::string schedule_unit_name(const ScheduleSpec& spec); // mlo-<project>-<name>

// The systemd user units, as they are written (see schedule.cpp for the quoting rules).
std::string render_systemd_service(const ScheduleSpec& spec);
std::string render_systemd_timer(const ScheduleSpec& spec);
// The crontab entry: a marker comment line and the schedule line. An interval cron cannot express
// exactly (7m, 5h) is ErrorCode::usage with the nearest forms as a hint.
Result<std::string> render_cron_entry(const ScheduleSpec& spec);

// $XDG_CONFIG_HOME/systemd/user, or ~/.config/systemd/user.
std::filesystem::path systemd_user_dir();

// What mlo installed for a project, found by its markers.
struct InstalledSchedule {
    std::string unit; // mlo-<project>-<name>
    std::string kind; // "systemd" or "cron"
    std::string every;
    std::string command;
};

// Writes the two units. With `activate`, then runs `systemctl --user daemon-reload` and
// `enable --now` on the timer; a missing or failing systemctl leaves the files written and adds a
// line to `notes` saying what to run.
Status install_systemd_schedule(const ScheduleSpec& spec, bool activate, std::vector<std::string>& notes);
// Adds the entry to the user's crontab (`crontab -l`, then `crontab -`), replacing an entry of the
// same unit. A missing crontab program is ErrorCode::precondition.
Status install_cron_schedule(const ScheduleSpec& spec);

// Every schedule of `project` in the systemd user directory and the crontab (if crontab exists).
Result<std::vector<InstalledSchedule>> list_schedules(const std::string& project);

// Removes the schedule `name` (or its full unit name) of `project` wherever it is installed;
// returns what was removed. Unknown names are ErrorCode::usage.
Result<std::vector<std::string>> remove_schedule(const std::string& project, const std::string& name,
                                                 bool activate, std::vector<std::string>& notes);

} // namespace mlo::core
