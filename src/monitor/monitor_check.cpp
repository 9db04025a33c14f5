#include <charconv>
#include <mlo/monitor/drift_check.hpp>
#include <mlo/monitor/monitor_check.hpp>
#include <mlo/util/clock.hpp>

namespace mlo::monitor {

namespace {

namespace fs = std::filesystem;

fs::path from_flag(const fs::path& cwd, const std::string& path) {
    return fs::absolute(cwd / path).lexically_normal();
}

Status require_file(const fs::path& path, const std::string& what) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec))
        return {};
    fs::path pointer = path;
    pointer += ".mlo";
    if (fs::exists(pointer, ec))
        return fail(ErrorCode::input, what + " " + path.string() + " is tracked but not checked out",
                    "run `mlo checkout " + path.filename().string() + "`");
    return fail(ErrorCode::input, what + " " + path.string() + ": no such file");
}

} // namespace

std::optional<int64_t> parse_duration_seconds(const std::string& text) {
    if (text.size() < 2)
        return std::nullopt;
    int64_t amount = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
    if (ec != std::errc() || ptr != text.data() + text.size() - 1 || amount <= 0)
        return std::nullopt;
    switch (text.back()) {
    case 's':
        return amount;
    case 'm':
        return amount * 60;
    case 'h':
        return amount * 3600;
    case 'd':
        return amount * 86400;
    case 'w':
        return amount * 7 * 86400;
    default:
        return std::nullopt;
    }
}

Result<CheckReport> check(const core::Project& project, const CheckRequest& request) {
    auto config = parse_monitor_config(project.config().monitor);
    if (!config)
        return fail(std::move(config).error());
    CheckInputs inputs;
    inputs.config = std::move(*config);
    if (!request.model.empty())
        inputs.config.model = request.model;
    const fs::path& root = project.root();

    inputs.reference = request.reference.empty() ? root / inputs.config.reference
                                                 : from_flag(request.cwd, request.reference);
    MLO_TRY(require_file(inputs.reference, "the reference"));
    inputs.cache_dir = project.mlo_dir() / "cache" / "monitor";

    std::string labels = request.labels;
    if (!labels.empty())
        inputs.labels = from_flag(request.cwd, labels);
    else if (!inputs.config.labels.empty())
        inputs.labels = root / inputs.config.labels;
    if (!inputs.labels.empty())
        MLO_TRY(require_file(inputs.labels, "the labels file"));

    if (!request.current.empty() && !request.since.empty())
        return fail(ErrorCode::usage, "--current and --since exclude each other",
                    "--since selects requests from the serve log; --current reads a file instead");
    fs::path current_file;
    if (!request.current.empty())
        current_file = from_flag(request.cwd, request.current);
    else if (request.since.empty() && !inputs.config.current.empty())
        current_file = root / inputs.config.current;

    if (!current_file.empty()) {
        MLO_TRY(require_file(current_file, "the current data"));
        auto source = open_file_source(current_file);
        if (!source)
            return fail(std::move(source).error().context("reading the current data"));
        inputs.current = std::move(*source);
    } else {
        if (inputs.config.model.empty())
            return fail(ErrorCode::usage,
                        "no current data: give --current FILE, or --model M to read its serve log",
                        "or set monitor.model (or monitor.current) in mlo.yaml");
        int64_t since_ns = 0;
        if (!request.since.empty()) {
            auto seconds = parse_duration_seconds(request.since);
            if (!seconds)
                return fail(ErrorCode::usage, "--since: '" + request.since + "' is not a duration",
                            "a whole number and a unit: 90s, 30m, 24h, 7d, 2w");
            since_ns = util::unix_time_ns() - *seconds * 1'000'000'000;
        }
        fs::path log = project.mlo_dir() / "serve" / "logs" / inputs.config.model / "requests.jsonl";
        auto contents = serve::read_request_log(log);
        if (!contents)
            return fail(std::move(contents).error().context("reading the serve log"));
        if (contents->bad_lines > 0)
            inputs.warnings.push_back(std::to_string(contents->bad_lines) +
                                      " lines of the serve log are not valid records and were skipped");
        std::vector<serve::RequestRecord> records;
        for (auto& record : contents->records)
            if (record.time_ns >= since_ns)
                records.push_back(std::move(record));
        if (records.empty())
            return fail(
                ErrorCode::input,
                "no logged requests for model '" + inputs.config.model + "'" +
                    (request.since.empty() ? "" : " in the last " + request.since) + " (" + log.string() +
                    ")",
                "serve the model (`mlo serve` or `mlo deploy`) and send it traffic, or give --current FILE");
        inputs.health_records = records;
        inputs.current = log_source(std::move(records), inputs.config.model);
    }
    return run_check(std::move(inputs));
}

} // namespace mlo::monitor
