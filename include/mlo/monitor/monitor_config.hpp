#pragma once

#include <map>
#include <mlo/monitor/model_metrics.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mlo::monitor {

enum class ColumnKind { numeric, categorical };
enum class Binning { sturges, reference };

// A drift method chosen by name, with its threshold; empty fields mean "Evidently's default".
struct MethodChoice {
    std::string method; // ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div, hellinger
    std::optional<double> threshold;
};

struct FeatureConfig {
    std::string name;
    ColumnKind kind = ColumnKind::numeric;
    MethodChoice choice;
};

// One performance gate, e.g. `accuracy: {min: 0.8}` or `f1: {max_relative_drop: 0.05, average: macro}`.
struct MetricGate {
    std::string metric; // accuracy precision recall f1 roc_auc | mae mse rmse r2 mape
    std::optional<double> min, max, max_relative_drop;
    Averaging averaging = Averaging::macro;
    std::string positive = "1"; // the positive label for binary averaging and roc_auc
    std::string score;          // roc_auc: the column holding the positive class's score
};

// The `monitor:` section of mlo.yaml (SPEC.md section 1), validated.
struct MonitorConfig {
    std::string model;
    std::string reference; // project-relative path of a tracked CSV or JSON-lines file
    std::string target;    // the label column (reference, current or --labels)
    std::string prediction;
    std::string current;                 // a default current file; empty = the model's serve logs
    std::string labels;                  // a default labels file
    std::vector<FeatureConfig> features; // empty = every reference column but target and prediction
    double drift_share = 0.5;
    std::map<ColumnKind, MethodChoice> type_methods; // drift.numeric / drift.categorical
    Binning binning = Binning::sturges;
    std::vector<MetricGate> performance;
    std::string on_fail; // kept for `monitor watch`/retraining (not interpreted by check)
};

// The method names and whether a higher score means drift (distances) or a lower one (p-values).
const std::vector<std::string>& drift_methods();
bool method_is_p_value(const std::string& method);
double default_threshold(const std::string& method);

// Validates `monitor` (the node core::Config kept, with its marks). Collects every problem (unknown
// key with "did you mean", wrong type, unknown method, threshold out of range, a metric gate
// without min/max/max_relative_drop) into one ErrorCode::input error with the lines of mlo.yaml.
// A missing section is ErrorCode::input with a hint showing its shape.
Result<MonitorConfig> parse_monitor_config(const YAML::Node& monitor);

} // namespace mlo::monitor
