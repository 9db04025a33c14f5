#include <chrono>
#include <ctime>
#include <fmt/core.h>
#include <mlo/runs/run_record.hpp>
#include <random>

namespace mlo::runs {

using nlohmann::json;

std::string new_run_id() {
    auto now = std::chrono::system_clock::now();
    std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::random_device random;
    return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{:04x}", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, random() & 0xffff);
}

namespace {

json path_ids_to_json(const std::vector<PathId>& items) {
    json out = json::array();
    for (const auto& item : items)
        out.push_back(
            {{"path", item.path}, {"kind", item.kind}, {"hash", item.id.str()}, {"size", item.size}});
    return out;
}

Result<std::vector<PathId>> path_ids_from_json(const json& items) {
    std::vector<PathId> out;
    for (const auto& item : items) {
        PathId path_id;
        path_id.path = item.at("path").get<std::string>();
        path_id.kind = item.value("kind", "file");
        auto id = hash::ObjectId::parse(item.at("hash").get<std::string>());
        if (!id)
            return fail(std::move(id).error());
        path_id.id = *id;
        path_id.size = item.value("size", uint64_t{0});
        out.push_back(std::move(path_id));
    }
    return out;
}

json optional_id(const std::optional<hash::ObjectId>& id) {
    return id ? json(id->str()) : json(nullptr);
}

Result<std::optional<hash::ObjectId>> optional_id_from(const json& value) {
    if (value.is_null())
        return std::optional<hash::ObjectId>();
    auto id = hash::ObjectId::parse(value.get<std::string>());
    if (!id)
        return fail(std::move(id).error());
    return std::optional<hash::ObjectId>(*id);
}

} // namespace

json RunRecord::to_json() const {
    json stage_list = json::array();
    for (const auto& stage : stages) {
        stage_list.push_back({{"name", stage.name},
                              {"status", stage.status},
                              {"reason", stage.reason},
                              {"cmd", stage.cmd},
                              {"exit_code", stage.exit_code},
                              {"signal", stage.signal},
                              {"started_ns", stage.started_ns},
                              {"ended_ns", stage.ended_ns},
                              {"wall_seconds", stage.wall_seconds},
                              {"cpu_seconds", stage.cpu_seconds},
                              {"peak_rss_bytes", stage.peak_rss_bytes},
                              {"stdout_log", optional_id(stage.stdout_log)},
                              {"stderr_log", optional_id(stage.stderr_log)},
                              {"deps", path_ids_to_json(stage.deps)},
                              {"outs", path_ids_to_json(stage.outs)},
                              {"params", stage.params}});
        if (!stage.executor.empty())
            stage_list.back()["executor"] = {{"name", stage.executor},
                                             {"job_id", stage.job_id},
                                             {"job_state", stage.job_state},
                                             {"after", stage.job_after}};
    }
    json steps = json::array();
    for (const auto& step : step_metrics)
        steps.push_back(
            {{"stage", step.stage}, {"key", step.key}, {"step", step.step}, {"value", step.value}});
    return {{"schema", "mlo.run/1"},
            {"id", id},
            {"status", status},
            {"started_ns", started_ns},
            {"ended_ns", ended_ns},
            {"git",
             {{"commit", git_commit},
              {"branch", git_branch},
              {"dirty", git_dirty},
              {"diff_hash", git_diff_hash}}},
            {"params", params},
            {"overrides", overrides},
            {"params_file", optional_id(params_file)},
            {"metrics", metrics},
            {"step_metrics", steps},
            {"tags", tags},
            {"stages", stage_list},
            {"environment", environment},
            {"rerun_of", rerun_of}};
}

Result<RunRecord> RunRecord::from_json(const json& doc) {
    try {
        if (doc.value("schema", "") != "mlo.run/1")
            return fail(ErrorCode::failure, "not a run record (schema " + doc.value("schema", "?") + ")");
        RunRecord run;
        run.id = doc.at("id").get<std::string>();
        run.status = doc.at("status").get<std::string>();
        run.started_ns = doc.at("started_ns").get<int64_t>();
        run.ended_ns = doc.at("ended_ns").get<int64_t>();
        const auto& git = doc.at("git");
        run.git_commit = git.value("commit", "");
        run.git_branch = git.value("branch", "");
        run.git_dirty = git.value("dirty", false);
        run.git_diff_hash = git.value("diff_hash", "");
        run.params = doc.at("params").get<std::map<std::string, std::string>>();
        run.overrides = doc.value("overrides", std::vector<std::string>{});
        auto params_file = optional_id_from(doc.value("params_file", json(nullptr)));
        if (!params_file)
            return fail(std::move(params_file).error());
        run.params_file = *params_file;
        run.metrics = doc.at("metrics").get<std::map<std::string, double>>();
        for (const auto& step : doc.value("step_metrics", json::array()))
            run.step_metrics.push_back({step.at("stage").get<std::string>(),
                                        step.at("key").get<std::string>(), step.at("step").get<int64_t>(),
                                        step.at("value").get<double>()});
        run.tags = doc.value("tags", std::map<std::string, std::string>{});
        for (const auto& item : doc.at("stages")) {
            StageRun stage;
            stage.name = item.at("name").get<std::string>();
            stage.status = item.at("status").get<std::string>();
            stage.reason = item.value("reason", "");
            stage.cmd = item.value("cmd", "");
            stage.exit_code = item.value("exit_code", 0);
            stage.signal = item.value("signal", 0);
            stage.started_ns = item.value("started_ns", int64_t{0});
            stage.ended_ns = item.value("ended_ns", int64_t{0});
            stage.wall_seconds = item.value("wall_seconds", 0.0);
            stage.cpu_seconds = item.value("cpu_seconds", 0.0);
            stage.peak_rss_bytes = item.value("peak_rss_bytes", uint64_t{0});
            auto out_log = optional_id_from(item.value("stdout_log", json(nullptr)));
            auto err_log = optional_id_from(item.value("stderr_log", json(nullptr)));
            if (!out_log || !err_log)
                return fail(ErrorCode::failure, "bad log id in run record");
            stage.stdout_log = *out_log;
            stage.stderr_log = *err_log;
            auto deps = path_ids_from_json(item.value("deps", json::array()));
            auto outs = path_ids_from_json(item.value("outs", json::array()));
            if (!deps || !outs)
                return fail(ErrorCode::failure, "bad dep or out in run record");
            stage.deps = std::move(*deps);
            stage.outs = std::move(*outs);
            stage.params = item.value("params", std::map<std::string, std::string>{});
            if (item.contains("executor")) {
                const auto& executor = item.at("executor");
                stage.executor = executor.value("name", "");
                stage.job_id = executor.value("job_id", "");
                stage.job_state = executor.value("job_state", "");
                stage.job_after = executor.value("after", std::vector<std::string>{});
            }
            run.stages.push_back(std::move(stage));
        }
        run.environment = doc.value("environment", json::object());
        run.rerun_of = doc.value("rerun_of", "");
        return run;
    } catch (const json::exception& e) {
        return fail(ErrorCode::failure, std::string("malformed run record: ") + e.what());
    }
}

Result<RunRecord> RunRecord::parse(const std::string& text) {
    try {
        return from_json(json::parse(text));
    } catch (const json::exception& e) {
        return fail(ErrorCode::failure, std::string("malformed run record: ") + e.what());
    }
}

} // namespace mlo::runs
