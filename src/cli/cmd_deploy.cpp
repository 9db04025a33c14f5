#include "command.hpp"

#include <fmt/format.h>
#include <mlo/deploy/deploy.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::cli {
namespace {

namespace fs = std::filesystem;

// "30s", "2m", "500ms", "1h" or a plain number of seconds.
Result<double> parse_duration(const std::string& text, const char* flag) {
    size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = text.substr(used);
    double scale = unit.empty() || unit == "s" ? 1
                   : unit == "ms"              ? 0.001
                   : unit == "m"               ? 60
                   : unit == "h"               ? 3600
                                               : -1;
    if (used == 0 || scale < 0 || value < 0)
        return fail(ErrorCode::usage, std::string(flag) + ": '" + text + "' is not a duration",
                    "write it like 30s, 500ms, 2m or 1h");
    return value * scale;
}

// "10,50,100": ascending percentages; the canary always ends at 100.
Result<std::vector<unsigned>> parse_steps(const std::string& text) {
    std::vector<unsigned> steps;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t used = 0;
        long value = -1;
        try {
            value = std::stol(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size() || value < 1 || value > 100 ||
            (!steps.empty() && static_cast<unsigned>(value) <= steps.back()))
            return fail(ErrorCode::usage, "--steps: '" + text + "' is not a list of ascending percentages",
                        "for example --steps 10,50,100");
        steps.push_back(static_cast<unsigned>(value));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    if (steps.back() != 100)
        steps.push_back(100);
    return steps;
}

std::vector<std::string> target_names(const core::Config& config) {
    std::vector<std::string> names;
    if (config.deploy && config.deploy.IsMap())
        for (const auto& item : config.deploy)
            names.push_back(item.first.Scalar());
    return names;
}

class DeployCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("model", m_ref, "MODEL, MODEL@vX.Y.Z or MODEL#STAGE")->option_text("REF");
        app.add_option("-t,--target", m_target, "The target under deploy: in mlo.yaml")->option_text("NAME");
        app.add_option("--strategy", m_strategy, "blue-green (default) or canary")
            ->check(CLI::IsMember({"blue-green", "canary"}))
            ->option_text("NAME");
        app.add_option("--steps", m_steps, "Canary: percent of traffic at each step (default 10,50,100)")
            ->option_text("LIST");
        app.add_option("--interval", m_interval, "Canary: time at each step before its gates (default 30s)")
            ->option_text("TIME");
        app.add_option("--max-error-rate", m_max_error_rate,
                       "Canary gate: highest share of 5xx answers (default 0.01)")
            ->check(CLI::Range(0.0, 1.0))
            ->option_text("RATE");
        app.add_option("--max-p99-ms", m_max_p99_ms, "Canary gate: highest p99 latency in milliseconds")
            ->check(CLI::PositiveNumber)
            ->option_text("MS");
        app.add_option("--ready-timeout", m_ready_timeout,
                       "How long a version may take to start and warm up (default 300s)")
            ->option_text("TIME");
        app.add_option("-o,--output", m_output, "Kubernetes: write the manifests into DIR")
            ->option_text("DIR");
        app.add_flag("--apply", m_apply, "Kubernetes: kubectl apply the manifests");

        m_status = app.add_subcommand("status", "What each target serves: versions, weights, counters");
        m_status->add_option("-t,--target", m_target, "Only this target")->option_text("NAME");
        m_logs = app.add_subcommand("logs", "The last lines of a local target's server log");
        m_logs->add_option("-t,--target", m_target, "The target")->required()->option_text("NAME");
        m_logs->add_option("-n,--lines", m_lines, "How many lines (default 50)")->option_text("N");
        m_stop = app.add_subcommand("stop", "Drain and stop a local target's server");
        m_stop->add_option("-t,--target", m_target, "The target")->required()->option_text("NAME");
        m_history = app.add_subcommand("history", "Every deployment, rollback and stop of a target");
        m_history->add_option("-t,--target", m_target, "The target")->required()->option_text("NAME");
        m_rollback =
            app.add_subcommand("rollback", "Return to the version that held full traffic before this one");
        m_rollback->add_option("-t,--target", m_target, "The target")->required()->option_text("NAME");
        for (auto* sub : {m_status, m_logs, m_stop, m_history, m_rollback})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        core::Project& project = *context.project;
        if (m_status->parsed())
            return status(context, project);
        auto target = deploy::find_target(project.config(), m_target, project.root());
        if (m_target.empty())
            return fail(ErrorCode::usage, "name the target with --target",
                        "targets in mlo.yaml: " +
                            fmt::format("{}", fmt::join(target_names(project.config()), ", ")));
        if (!target)
            return fail(std::move(target).error());
        const Output& out = context.out;
        deploy::Emit emit = [&out](const std::string& text) { out.info(text); };
        if (m_logs->parsed()) {
            out.line(deploy::LocalServer(deploy::target_dir(project, m_target)).log_tail(m_lines));
            return 0;
        }
        if (m_stop->parsed()) {
            MLO_TRY(deploy::stop(project, *target, emit));
            return 0;
        }
        if (m_history->parsed())
            return history(context, project);
        auto options = deploy_options();
        if (!options)
            return fail(std::move(options).error());
        Result<deploy::DeployOutcome> outcome;
        if (m_rollback->parsed()) {
            outcome = deploy::rollback(project, *target, *options, emit);
        } else {
            if (m_ref.empty())
                return fail(ErrorCode::usage, "name the model to deploy, or a subcommand",
                            "mlo deploy MODEL#STAGE --target NAME; see 'mlo deploy --help'");
            auto ref = registry::ModelRef::parse(m_ref);
            if (!ref)
                return fail(std::move(ref).error());
            if (target->type == deploy::Target::Type::local && (!m_output.empty() || m_apply))
                return fail(ErrorCode::usage, "--output and --apply are for kubernetes targets; " + m_target +
                                                  " is a local one");
            outcome = deploy::deploy(project, *ref, *target, *options, emit);
        }
        if (!outcome)
            return fail(std::move(outcome).error());
        if (out.json()) {
            nlohmann::json document = {{"target", m_target},
                                       {"version", outcome->version},
                                       {"previous", outcome->previous},
                                       {"unchanged", outcome->unchanged}};
            if (!outcome->url.empty())
                document["url"] = outcome->url;
            if (!outcome->output_dir.empty())
                document["output"] = outcome->output_dir.string();
            out.json_result("mlo.deploy/1", document);
        } else if (!outcome->url.empty()) {
            out.line(outcome->version + " serving at " + outcome->url);
        } else {
            out.line(outcome->version + " rendered into " + outcome->output_dir.string());
        }
        return 0;
    }

  private:
    Result<deploy::DeployOptions> deploy_options() const {
        deploy::DeployOptions options;
        if (m_strategy == "canary")
            options.strategy = deploy::DeployOptions::Strategy::canary;
        bool canary_flags =
            !m_steps.empty() || !m_interval.empty() || m_max_error_rate >= 0 || m_max_p99_ms > 0;
        if (canary_flags && options.strategy != deploy::DeployOptions::Strategy::canary)
            return fail(ErrorCode::usage,
                        "--steps, --interval, --max-error-rate and --max-p99-ms need --strategy canary");
        if (!m_steps.empty()) {
            auto steps = parse_steps(m_steps);
            if (!steps)
                return fail(std::move(steps).error());
            options.steps = *steps;
        }
        if (!m_interval.empty()) {
            auto interval = parse_duration(m_interval, "--interval");
            if (!interval)
                return fail(std::move(interval).error());
            options.interval_seconds = *interval;
        }
        if (!m_ready_timeout.empty()) {
            auto timeout = parse_duration(m_ready_timeout, "--ready-timeout");
            if (!timeout)
                return fail(std::move(timeout).error());
            options.ready_timeout_seconds = *timeout;
        }
        if (m_max_error_rate >= 0)
            options.max_error_rate = m_max_error_rate;
        if (m_max_p99_ms > 0)
            options.max_p99_ms = m_max_p99_ms;
        options.output_dir = m_output.empty() ? fs::path() : fs::absolute(m_output);
        options.apply = m_apply;
        return options;
    }

    Result<int> status(Context& context, core::Project& project) {
        std::vector<std::string> names =
            m_target.empty() ? target_names(project.config()) : std::vector<std::string>{m_target};
        nlohmann::json targets = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {
            {"TARGET", "TYPE", "STATE", "VERSION", "WEIGHT", "REQUESTS", "5XX", "P99", "URL"}};
        for (const auto& name : names) {
            auto target = deploy::find_target(project.config(), name, project.root());
            if (!target)
                return fail(std::move(target).error());
            auto state = deploy::status(project, *target);
            if (!state)
                return fail(std::move(state).error());
            std::string phase = state->type == "kubernetes"
                                    ? (state->last_event ? state->last_event->action : "never")
                                : state->running ? "running"
                                                 : "stopped";
            nlohmann::json versions = nlohmann::json::array();
            for (const auto& version : state->versions) {
                double p99 = version.latency_cumulative.empty()
                                 ? std::nan("")
                                 : serve::ServerMetrics::histogram_quantile(0.99, serve::k_latency_buckets,
                                                                            version.latency_cumulative);
                versions.push_back({{"version", version.version},
                                    {"weight", version.weight},
                                    {"requests", version.requests},
                                    {"errors", version.errors}});
                rows.push_back({name, state->type, phase, version.version,
                                std::to_string(version.weight) + "%", std::to_string(version.requests),
                                std::to_string(version.errors),
                                std::isnan(p99) ? "-" : fmt::format("{:.1f} ms", p99 * 1000),
                                state->server ? state->server->url : ""});
            }
            if (state->versions.empty()) {
                std::string last =
                    state->last_event ? state->last_event->model + "@" + state->last_event->version : "-";
                rows.push_back({name, state->type, phase, last, "-", "-", "-", "-", ""});
            }
            nlohmann::json entry = {
                {"target", name}, {"type", state->type}, {"state", phase}, {"versions", versions}};
            if (state->server) {
                entry["url"] = state->server->url;
                entry["pid"] = state->server->pid;
                entry["model"] = state->server->model;
            }
            targets.push_back(entry);
        }
        if (context.out.json())
            context.out.json_result("mlo.deploy.status/1", {{"targets", targets}});
        else
            print_table(context.out, rows);
        return 0;
    }

    Result<int> history(Context& context, core::Project& project) {
        auto events = deploy::DeployHistory(deploy::target_dir(project, m_target) / "history.jsonl").read();
        if (!events)
            return fail(std::move(events).error());
        if (context.out.json()) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& event : *events)
                list.push_back({{"time", event.time},
                                {"actor", event.actor},
                                {"action", event.action},
                                {"model", event.model},
                                {"version", event.version},
                                {"previous", event.previous},
                                {"strategy", event.strategy},
                                {"outcome", event.outcome},
                                {"message", event.message},
                                {"full_traffic", event.full_traffic}});
            context.out.json_result("mlo.deploy.history/1", {{"target", m_target}, {"events", list}});
            return 0;
        }
        std::vector<std::vector<std::string>> rows = {
            {"TIME", "ACTION", "VERSION", "STRATEGY", "OUTCOME", "BY", "WHAT"}};
        for (const auto& event : *events)
            rows.push_back({event.time, event.action, event.model + "@" + event.version, event.strategy,
                            event.outcome, event.actor, event.message});
        print_table(context.out, rows);
        return 0;
    }

    std::string m_ref, m_target, m_strategy = "blue-green", m_steps, m_interval, m_ready_timeout, m_output;
    double m_max_error_rate = -1, m_max_p99_ms = 0;
    bool m_apply = false;
    size_t m_lines = 50;
    CLI::App *m_status = nullptr, *m_logs = nullptr, *m_stop = nullptr, *m_history = nullptr,
             *m_rollback = nullptr;
};

} // namespace

std::unique_ptr<Command> make_deploy_command() {
    return std::make_unique<DeployCommand>();
}

} // namespace mlo::cli
