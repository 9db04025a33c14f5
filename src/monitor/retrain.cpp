// monitor.on_fail: retrain. The candidate and the incumbent are scored by their own workers (the
// serve worker protocol), not by loading model files here: mlo does not know how to run a model,
// the worker does, and so the comparison holds for any model type.

#include <fmt/format.h>
#include <future>
#include <mlo/core/version.hpp>
#include <mlo/monitor/gate_metric.hpp>
#include <mlo/monitor/retrain.hpp>
#include <mlo/monitor/table_reader.hpp>
#include <mlo/pipeline/trainer.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/serve/serve_config.hpp>
#include <mlo/serve/served_version.hpp>
#include <unistd.h>

namespace mlo::monitor {

namespace fs = std::filesystem;
using Emit = std::function<void(const std::string&)>;

namespace {

constexpr size_t k_rows_per_call = 512;

// A worker's answer as a label, spelt as canonical_label spells the held-out file's labels.
std::string label_text(const nlohmann::json& value) {
    if (value.is_boolean())
        return value.get<bool>() ? "1" : "0";
    return canonical_label(value.is_string() ? value.get<std::string>() : value.dump());
}

// A CSV cell as the JSON value a client would send for a field of this type; nullopt when it
// cannot be one (the row is then left out).
std::optional<nlohmann::ordered_json> cell_value(std::string_view text, serve::FieldType type) {
    double number = 0;
    switch (type) {
    case serve::FieldType::string:
        return nlohmann::ordered_json(std::string(text));
    case serve::FieldType::boolean:
        if (text == "true" || text == "True" || text == "1")
            return nlohmann::ordered_json(true);
        if (text == "false" || text == "False" || text == "0")
            return nlohmann::ordered_json(false);
        return std::nullopt;
    case serve::FieldType::int64:
    case serve::FieldType::int32:
        if (!parse_number(text, number) || number != static_cast<double>(static_cast<long long>(number)))
            return std::nullopt;
        return nlohmann::ordered_json(static_cast<long long>(number));
    case serve::FieldType::float64:
    case serve::FieldType::float32:
        if (!parse_number(text, number))
            return std::nullopt;
        return nlohmann::ordered_json(number);
    }
    return std::nullopt;
}

class VersionScorer {
  public:
    VersionScorer(core::Project& project, const MonitorConfig& config, const MetricGate& gate,
                  const Emit& emit)
        : m_project(project), m_config(config), m_gate(gate), m_emit(emit) {}

    Result<PerformanceData> score(const std::string& version, const fs::path& holdout) {
        auto entry = m_project.config().models.find(m_config.model);
        if (entry == m_project.config().models.end())
            return fail(ErrorCode::input,
                        "model '" + m_config.model + "' is not under `models:` in mlo.yaml");
        auto serve_config = serve::ServeConfig::from_yaml(entry->second.serve, m_config.model);
        if (!serve_config)
            return fail(std::move(serve_config).error());
        serve::ServerMetrics metrics(k_version);
        fs::path run_dir =
            m_project.mlo_dir() / "monitor" / ("retrain-" + std::to_string(::getpid())) / version;
        auto served = serve::ServedVersion::start(m_project, m_config.model, version, *serve_config, run_dir,
                                                  metrics, m_emit);
        if (!served)
            return fail(std::move(served).error());
        auto scored = score_with(**served, holdout);
        (*served)->shutdown(0);
        return scored;
    }

  private:
    Result<PerformanceData> score_with(serve::ServedVersion& served, const fs::path& holdout) {
        const serve::Signature& signature = served.signature();
        if (!signature.present || signature.inputs.empty())
            return fail(ErrorCode::input, "scoring needs the model's signature (its inputs) in its manifest");
        auto reader = TableReader::open(holdout);
        if (!reader)
            return fail(std::move(reader).error());
        std::vector<std::string> wanted;
        for (const auto& field : signature.inputs)
            wanted.push_back(field.name);
        wanted.push_back(m_config.target);
        for (const auto& name : wanted)
            if (std::find(reader->columns().begin(), reader->columns().end(), name) ==
                reader->columns().end())
                return fail(ErrorCode::input, holdout.string() + " has no column '" + name + "'",
                            "the held-out data needs the model's inputs and monitor.target");
        PerformanceData scoring;
        serve::Columns chunk;
        std::vector<std::string> truths;
        auto flush = [&]() -> Status {
            if (chunk.rows == 0)
                return {};
            auto predictions = predict(served, std::move(chunk));
            chunk = serve::Columns{};
            if (!predictions)
                return fail(std::move(predictions).error());
            for (size_t i = 0; i < truths.size(); ++i)
                add(scoring, truths[i], (*predictions)[i]);
            truths.clear();
            return {};
        };
        MLO_TRY(reader->for_each_row(wanted, [&](const std::vector<Cell>& cells, uint64_t) -> Status {
            std::vector<nlohmann::ordered_json> values;
            for (size_t i = 0; i < signature.inputs.size(); ++i) {
                auto value =
                    cells[i].missing ? std::nullopt : cell_value(cells[i].text, signature.inputs[i].type);
                if (!value)
                    return {}; // a row a client could not send is left out
                values.push_back(std::move(*value));
            }
            if (cells.back().missing)
                return {};
            for (size_t i = 0; i < values.size(); ++i)
                chunk.columns[signature.inputs[i].name].push_back(std::move(values[i]));
            ++chunk.rows;
            truths.emplace_back(cells.back().text);
            return chunk.rows == k_rows_per_call ? flush() : Status{};
        }));
        MLO_TRY(flush());
        if (scoring.rows == 0)
            return fail(ErrorCode::input, holdout.string() + " has no row with every input and the label");
        return scoring;
    }

    // The prediction column of one worker call (with the gate's score column for roc_auc).
    Result<std::vector<std::pair<nlohmann::json, double>>> predict(serve::ServedVersion& served,
                                                                   serve::Columns chunk) {
        size_t rows = chunk.rows;
        auto promise = std::make_shared<std::promise<serve::BatchAnswer>>();
        auto future = promise->get_future();
        served.batcher().submit(std::move(chunk), [promise](serve::BatchAnswer answer) {
            promise->set_value(std::move(answer));
        });
        serve::BatchAnswer answer = future.get();
        if (!answer.result.ok)
            return fail(ErrorCode::failure,
                        served.version() + " could not score the held-out data: " + answer.result.error);
        const nlohmann::json& outputs = answer.result.outputs;
        const nlohmann::json* predicted =
            outputs.contains(m_config.prediction) ? &outputs[m_config.prediction] : nullptr;
        if (predicted == nullptr || !predicted->is_array() || predicted->size() != rows)
            return fail(ErrorCode::input,
                        served.version() + "'s worker returned no column '" + m_config.prediction + "' of " +
                            std::to_string(rows) + " values",
                        "monitor.prediction names the output column that holds the prediction");
        const nlohmann::json* score = nullptr;
        if (m_gate.metric == "roc_auc") {
            score = outputs.contains(m_gate.score) ? &outputs[m_gate.score] : nullptr;
            if (score == nullptr || !score->is_array() || score->size() != rows)
                return fail(ErrorCode::input,
                            "roc_auc needs the output column '" + m_gate.score + "' of scores");
        }
        std::vector<std::pair<nlohmann::json, double>> out;
        for (size_t i = 0; i < rows; ++i)
            out.emplace_back((*predicted)[i],
                             score && (*score)[i].is_number() ? (*score)[i].get<double>() : 0.0);
        return out;
    }

    void add(PerformanceData& scoring, const std::string& truth,
             const std::pair<nlohmann::json, double>& prediction) {
        ++scoring.rows;
        if (is_regression_metric(m_gate.metric)) {
            double t = 0;
            if (parse_number(truth, t) && prediction.first.is_number())
                scoring.regression.add(t, prediction.first.get<double>());
            return;
        }
        std::string label = canonical_label(truth);
        scoring.confusion.add(label, label_text(prediction.first));
        scoring.roc_truth.push_back(label);
        scoring.roc_scores.push_back(prediction.second);
    }

    core::Project& m_project;
    const MonitorConfig& m_config;
    const MetricGate& m_gate;
    const Emit& m_emit;
};

void record(const core::Project& project, const std::string& model, const RetrainOutcome& outcome,
            const std::string& why, const std::string& error, const Emit& emit) {
    nlohmann::json details = {
        {"model", model}, {"why", why}, {"promoted", outcome.promoted}, {"reason", outcome.reason}};
    for (const auto& [key, value] :
         {std::pair{"run", outcome.run_id}, std::pair{"candidate", outcome.candidate},
          std::pair{"incumbent", outcome.incumbent}, std::pair{"metric", outcome.metric},
          std::pair{"error", error}})
        if (!value.empty())
            details[key] = value;
    if (outcome.candidate_score)
        details["candidate_score"] = *outcome.candidate_score;
    if (outcome.incumbent_score)
        details["incumbent_score"] = *outcome.incumbent_score;
    std::string actor = "mlo monitor";
    if (auto appended = registry::AuditLog(project.mlo_dir()).append("retrain", actor, details); !appended)
        emit("warning: cannot record the retraining in the audit log: " + appended.error().message);
}

Result<RetrainOutcome> run_retrain(core::Project& project, const MonitorConfig& config,
                                   const RetrainOptions& options, RetrainOutcome& outcome, const Emit& emit) {
    if (config.performance.empty())
        return fail(ErrorCode::input,
                    "retraining compares versions on a performance gate, and monitor.performance has none",
                    "add one, e.g. monitor.performance: {accuracy: {min: 0.8}}");
    const MetricGate& gate = config.performance.front();
    outcome.metric = gate.metric;
    std::string stage = options.stage;
    if (stage.empty()) {
        if (project.config().registry_stages.empty())
            return fail(ErrorCode::input, "retraining promotes into a stage, and registry.stages is empty");
        stage = project.config().registry_stages.back();
    }
    {
        auto registry = registry::Registry::open(project);
        if (!registry)
            return fail(std::move(registry).error());
        auto incumbent = registry->resolve(registry::ModelRef{config.model, std::nullopt, stage});
        if (!incumbent)
            return fail(std::move(incumbent).error().context("the version to compare with"));
        outcome.incumbent = (*incumbent)->version.str();
    }

    emit("retraining " + config.model + " because " + options.why);
    pipeline::TrainOptions train;
    train.on_event = [&emit](const std::string& stage_name, const std::string& event) {
        emit("  " + stage_name + ": " + event);
    };
    auto trained = pipeline::train(project, train);
    if (!trained)
        return fail(std::move(trained).error().context("retraining"));
    if (trained->failed || trained->interrupted)
        return fail(ErrorCode::failure, "the retraining run failed", "see mlo runs show latest");
    if (!trained->run) {
        outcome.reason = "nothing to retrain on: the pipeline's inputs have not changed since its last run "
                         "(track the new data first)";
        return outcome;
    }
    outcome.run_id = trained->run->id;

    registry::RegisterOptions registration;
    registration.model = config.model;
    registration.from_run = outcome.run_id;
    registration.description = "retrained by mlo monitor: " + options.why;
    auto registered = registry::register_model(project, registration, nullptr);
    if (!registered)
        return fail(std::move(registered).error().context("registering the retrained model"));
    outcome.candidate = registered->change.fields.version;
    emit("registered the candidate " + config.model + "@" + outcome.candidate + " from run " +
         outcome.run_id);

    fs::path holdout = project.root() / (options.holdout.empty() ? config.reference : options.holdout);
    VersionScorer scorer(project, config, gate, emit);
    auto candidate = scorer.score(outcome.candidate, holdout);
    if (!candidate)
        return fail(std::move(candidate).error().context("scoring " + outcome.candidate));
    auto incumbent = scorer.score(outcome.incumbent, holdout);
    if (!incumbent)
        return fail(std::move(incumbent).error().context("scoring " + outcome.incumbent));
    outcome.holdout_rows = candidate->rows;
    outcome.candidate_score = gate_metric(*candidate, gate).value;
    outcome.incumbent_score = gate_metric(*incumbent, gate).value;
    emit(fmt::format("{} on {} held-out rows: candidate {} {}, {} ({}) {}", gate.metric, outcome.holdout_rows,
                     outcome.candidate,
                     outcome.candidate_score ? fmt::format("{:.4g}", *outcome.candidate_score) : "-",
                     outcome.incumbent, stage,
                     outcome.incumbent_score ? fmt::format("{:.4g}", *outcome.incumbent_score) : "-"));
    bool better = outcome.candidate_score && outcome.incumbent_score &&
                  (higher_is_better(gate.metric) ? *outcome.candidate_score > *outcome.incumbent_score
                                                 : *outcome.candidate_score < *outcome.incumbent_score);
    if (!better) {
        outcome.reason = "the candidate does not score better than " + outcome.incumbent + "; not promoted";
        return outcome;
    }
    auto registry = registry::Registry::open(project);
    if (!registry)
        return fail(std::move(registry).error());
    auto semver = registry::SemVer::parse(outcome.candidate);
    if (!semver)
        return fail(std::move(semver).error());
    auto promoted =
        registry::promote(*registry, registry::ModelRef{config.model, *semver, ""}, stage, options.sign);
    if (!promoted) {
        outcome.reason = "better, but not promoted: " + promoted.error().message;
        return outcome;
    }
    outcome.promoted = true;
    outcome.reason = "promoted to " + stage + " (" + promoted->tag + ")";
    return outcome;
}

} // namespace

Result<RetrainOutcome> retrain(core::Project& project, const MonitorConfig& config,
                               const RetrainOptions& options, const Emit& emit) {
    RetrainOutcome outcome;
    auto result = run_retrain(project, config, options, outcome, emit);
    record(project, config.model, outcome, options.why, result ? "" : result.error().message, emit);
    std::error_code ec;
    fs::remove_all(project.mlo_dir() / "monitor" / ("retrain-" + std::to_string(::getpid())), ec);
    if (!result)
        return fail(std::move(result).error());
    emit(outcome.reason);
    return outcome;
}

} // namespace mlo::monitor
