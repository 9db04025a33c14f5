// mlo schedule: a command run periodically by the user's own scheduler, a systemd user timer or a
// crontab line. mlo only writes what the user asked for and finds it again by its markers; the
// scheduler does the rest.
//
// Quoting. The command is the user's shell text and stays exactly that; what must not happen is
// that the place it is written into reads more into it. In a unit, ExecStart is
// `/bin/sh -c "<command>"` with systemd's escapes applied (`\` and `"` backslashed, `%` -> `%%`
// against specifier expansion, `$` -> `$$` against systemd's own variable expansion), so sh
// receives the command byte for byte. In a crontab, `%` (which cron turns into a newline) becomes
// `\%`, and the project directory is single-quoted for sh. Newlines are refused outright: both
// formats are line-based.
#include <algorithm>
#include <fstream>
#include <mlo/core/schedule.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/run_program.hpp>
#include <optional>
#include <sstream>

namespace mlo::core {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_marker = "# mlo-schedule ";

bool valid_schedule_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

// "mlo monitor check --x" -> "monitor-check-x"
std::string name_from_command(const std::string& command) {
    std::string out;
    bool dash = false;
    std::string rest = command.rfind("mlo ", 0) == 0 ? command.substr(4) : command;
    for (char c : rest) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            if (dash && !out.empty())
                out += '-';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            dash = false;
        } else {
            dash = true;
        }
        if (out.size() >= 40)
            break;
    }
    return out.empty() ? "job" : out;
}

std::string systemd_quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '%' || c == '$')
            out += c; // %% and $$: a literal % or $
        out += c;
    }
    return out + "\"";
}

std::string systemd_specifier_safe(const std::string& text) {
    std::string out;
    for (char c : text)
        out += c == '%' ? std::string("%%") : std::string(1, c);
    return out;
}

std::string sh_single_quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string cron_percent_safe(const std::string& text) {
    std::string out;
    for (char c : text)
        out += c == '%' ? std::string("\\%") : std::string(1, c);
    return out;
}

// The marker line that precedes what mlo writes: "# mlo-schedule UNIT every=1h: COMMAND".
std::string marker_line(const ScheduleSpec& spec) {
    return std::string(k_marker) + schedule_unit_name(spec) + " every=" + spec.every + ": " + spec.command;
}

std::optional<InstalledSchedule> parse_marker(const std::string& line, const std::string& kind) {
    if (line.rfind(k_marker, 0) != 0)
        return std::nullopt;
    std::string rest = line.substr(k_marker.size());
    size_t space = rest.find(" every=");
    size_t colon = rest.find(": ", space == std::string::npos ? 0 : space);
    if (space == std::string::npos || colon == std::string::npos)
        return std::nullopt;
    return InstalledSchedule{rest.substr(0, space), kind, rest.substr(space + 7, colon - space - 7),
                             rest.substr(colon + 2)};
}

Result<std::string> read_crontab() {
    auto listed = util::run_program({"crontab", "-l"});
    if (!listed)
        return fail(std::move(listed).error());
    // `crontab -l` exits 1 with "no crontab for USER" when there is none yet.
    if (listed->exit_code != 0) {
        if (listed->stderr_text.find("no crontab") != std::string::npos)
            return std::string();
        return fail(ErrorCode::failure, "crontab -l failed: " + listed->stderr_text);
    }
    return listed->stdout_text;
}

Status write_crontab(const std::string& text) {
    util::ProgramOptions options;
    options.stdin_text = text;
    auto written = util::run_program({"crontab", "-"}, options);
    if (!written)
        return fail(std::move(written).error());
    if (written->exit_code != 0)
        return fail(ErrorCode::failure, "crontab - refused the new table: " + written->stderr_text);
    return {};
}

// The crontab without the entry (marker line and the line after it) of `unit`.
std::string without_cron_entry(const std::string& table, const std::string& unit, bool& found) {
    std::istringstream lines(table);
    std::string line, out;
    bool skip_next = false;
    while (std::getline(lines, line)) {
        if (skip_next) {
            skip_next = false;
            continue;
        }
        if (auto marker = parse_marker(line, "cron"); marker && marker->unit == unit) {
            found = true;
            skip_next = true;
            continue;
        }
        out += line + "\n";
    }
    return out;
}

void systemctl(const std::vector<std::string>& args, std::vector<std::string>& notes) {
    std::vector<std::string> argv = {"systemctl", "--user"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string shown;
    for (const auto& arg : argv)
        shown += (shown.empty() ? "" : " ") + arg;
    if (!util::program_on_path("systemctl")) {
        notes.push_back("systemctl is not on PATH: run `" + shown + "` where systemd runs");
        return;
    }
    auto ran = util::run_program(argv);
    if (!ran || ran->exit_code != 0)
        notes.push_back(
            "`" + shown + "` failed" +
            (ran ? ": " + ran->stderr_text.substr(0, ran->stderr_text.find('\n')) : std::string()) +
            "; run it yourself once a user session bus is available");
}

} // namespace

Result<uint64_t> parse_interval(const std::string& text) {
    if (text.size() >= 2 &&
        std::all_of(text.begin(), text.end() - 1, [](char c) { return c >= '0' && c <= '9'; }) &&
        text.size() < 10) {
        uint64_t number = std::stoull(text.substr(0, text.size() - 1));
        uint64_t unit = text.back() == 's'   ? 1
                        : text.back() == 'm' ? 60
                        : text.back() == 'h' ? 3600
                        : text.back() == 'd' ? 86400
                                             : 0;
        if (number > 0 && unit > 0)
            return number * unit;
    }
    return fail(ErrorCode::usage, "--every: '" + text + "' is not an interval",
                "a number with s, m, h or d: 15m, 1h, 1d");
}

Result<ScheduleSpec> make_schedule(const std::string& project, const fs::path& root, const std::string& name,
                                   const std::string& command, const std::string& every) {
    ScheduleSpec spec;
    spec.project = project;
    spec.root = root;
    spec.command = command;
    spec.every = every;
    if (command.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos)
        return fail(ErrorCode::usage, "the command must be one line",
                    "put several commands on one line with ; or &&, or in a script");
    if (command.find_first_not_of(" \t") == std::string::npos)
        return fail(ErrorCode::usage, "the command is empty");
    auto seconds = parse_interval(every);
    if (!seconds)
        return fail(std::move(seconds).error());
    spec.every_seconds = *seconds;
    spec.name = name.empty() ? name_from_command(command) : name;
    if (!valid_schedule_name(spec.name))
        return fail(ErrorCode::usage, "'" + spec.name + "' is not a valid schedule name",
                    "use letters, digits, '-' and '_'");
    if (root.string().find('\n') != std::string::npos)
        return fail(ErrorCode::usage, "the project directory's path holds a newline");
    return spec;
}

std::string schedule_unit_name(const ScheduleSpec& spec) {
    return "mlo-" + spec.project + "-" + spec.name;
}

std::string render_systemd_service(const ScheduleSpec& spec) {
    return marker_line(spec) + "\n# Installed by `mlo schedule install`; remove with `mlo schedule remove " +
           spec.name + "`.\n[Unit]\nDescription=mlo schedule " + spec.name + " of project " +
           systemd_specifier_safe(spec.project) +
           "\n\n[Service]\nType=oneshot\nWorkingDirectory=" + systemd_specifier_safe(spec.root.string()) +
           "\nExecStart=/bin/sh -c " + systemd_quoted(spec.command) + "\n";
}

std::string render_systemd_timer(const ScheduleSpec& spec) {
    std::string seconds = std::to_string(spec.every_seconds) + "s";
    return marker_line(spec) + "\n# Installed by `mlo schedule install`; remove with `mlo schedule remove " +
           spec.name + "`.\n[Unit]\nDescription=Run " + schedule_unit_name(spec) + " every " + spec.every +
           "\n\n[Timer]\nOnActiveSec=" + seconds + "\nOnUnitActiveSec=" + seconds +
           "\nUnit=" + schedule_unit_name(spec) + ".service\n\n[Install]\nWantedBy=timers.target\n";
}

Result<std::string> render_cron_entry(const ScheduleSpec& spec) {
    uint64_t s = spec.every_seconds;
    std::string when;
    if (s % 60 == 0 && s < 3600 && 60 % (s / 60) == 0)
        when = "*/" + std::to_string(s / 60) + " * * * *";
    else if (s % 3600 == 0 && s < 86400 && 24 % (s / 3600) == 0)
        when = "0 */" + std::to_string(s / 3600) + " * * *";
    else if (s == 86400)
        when = "0 0 * * *";
    else
        return fail(ErrorCode::usage, "cron cannot run something exactly every " + spec.every,
                    "with --cron use minutes dividing 60 (1m, 5m, 15m, 30m), hours dividing 24 (1h, 2h, 6h, "
                    "12h) or 1d; or use --systemd");
    return marker_line(spec) + "\n" + when + " cd " +
           cron_percent_safe(sh_single_quoted(spec.root.string())) + " && " +
           cron_percent_safe(spec.command) + "\n";
}

fs::path systemd_user_dir() {
    const char* config = std::getenv("XDG_CONFIG_HOME");
    if (config && *config)
        return fs::path(config) / "systemd" / "user";
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : ".") / ".config" / "systemd" / "user";
}

Status install_systemd_schedule(const ScheduleSpec& spec, bool activate, std::vector<std::string>& notes) {
    fs::path dir = systemd_user_dir();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(ErrorCode::failure, "cannot create " + dir.string() + ": " + ec.message());
    std::string unit = schedule_unit_name(spec);
    MLO_TRY(util::write_file_atomic(dir / (unit + ".service"), render_systemd_service(spec)));
    MLO_TRY(util::write_file_atomic(dir / (unit + ".timer"), render_systemd_timer(spec)));
    if (activate) {
        systemctl({"daemon-reload"}, notes);
        systemctl({"enable", "--now", unit + ".timer"}, notes);
    }
    return {};
}

Status install_cron_schedule(const ScheduleSpec& spec) {
    auto entry = render_cron_entry(spec);
    if (!entry)
        return fail(std::move(entry).error());
    auto table = read_crontab();
    if (!table)
        return fail(std::move(table).error());
    bool found = false;
    std::string kept = without_cron_entry(*table, schedule_unit_name(spec), found);
    if (!kept.empty() && kept.back() != '\n')
        kept += '\n';
    return write_crontab(kept + *entry);
}

Result<std::vector<InstalledSchedule>> list_schedules(const std::string& project) {
    std::vector<InstalledSchedule> out;
    std::string prefix = "mlo-" + project + "-";
    std::error_code ec;
    std::vector<fs::path> timers;
    for (const auto& entry : fs::directory_iterator(systemd_user_dir(), ec))
        if (entry.path().extension() == ".timer" && entry.path().filename().string().rfind(prefix, 0) == 0)
            timers.push_back(entry.path());
    std::sort(timers.begin(), timers.end());
    for (const auto& path : timers) {
        auto text = util::read_file(path);
        if (!text)
            continue;
        if (auto marker = parse_marker(text->substr(0, text->find('\n')), "systemd"))
            out.push_back(*marker);
    }
    if (util::program_on_path("crontab")) {
        auto table = read_crontab();
        if (!table)
            return fail(std::move(table).error());
        std::istringstream lines(*table);
        std::string line;
        while (std::getline(lines, line))
            if (auto marker = parse_marker(line, "cron"); marker && marker->unit.rfind(prefix, 0) == 0)
                out.push_back(*marker);
    }
    return out;
}

Result<std::vector<std::string>> remove_schedule(const std::string& project, const std::string& name,
                                                 bool activate, std::vector<std::string>& notes) {
    std::string prefix = "mlo-" + project + "-";
    std::string unit = name.rfind(prefix, 0) == 0 ? name : prefix + name;
    std::vector<std::string> removed;
    fs::path dir = systemd_user_dir();
    std::error_code ec;
    fs::path timer = dir / (unit + ".timer"), service = dir / (unit + ".service");
    if (fs::exists(timer, ec) || fs::exists(service, ec)) {
        // Only files carrying mlo's marker: a same-named unit someone else wrote is left alone.
        for (const auto& path : {timer, service}) {
            auto text = util::read_file(path);
            if (text && !parse_marker(text->substr(0, text->find('\n')), "systemd"))
                return fail(ErrorCode::precondition,
                            path.string() + " was not written by mlo; not removing it");
        }
        if (activate)
            systemctl({"disable", "--now", unit + ".timer"}, notes);
        for (const auto& path : {timer, service})
            if (fs::remove(path, ec))
                removed.push_back(path.string());
        if (activate)
            systemctl({"daemon-reload"}, notes);
    }
    if (util::program_on_path("crontab")) {
        auto table = read_crontab();
        if (!table)
            return fail(std::move(table).error());
        bool found = false;
        std::string kept = without_cron_entry(*table, unit, found);
        if (found) {
            MLO_TRY(write_crontab(kept));
            removed.push_back("crontab entry " + unit);
        }
    }
    if (removed.empty())
        return fail(ErrorCode::usage, "no schedule named '" + name + "' in project " + project,
                    "see `mlo schedule list`");
    return removed;
}

} // namespace mlo::core
