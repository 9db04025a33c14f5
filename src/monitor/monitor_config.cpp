#include <algorithm>
#include <mlo/monitor/monitor_config.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/problems.hpp>

namespace mlo::monitor {

namespace {

const std::vector<std::string> k_classification = {"accuracy", "precision", "recall", "f1", "roc_auc"};
const std::vector<std::string> k_regression = {"mae", "mse", "rmse", "r2", "mape"};
const std::vector<std::string> k_gate_keys = {"min",     "max",      "max_relative_drop",
                                              "average", "positive", "score"};
const std::vector<std::string> k_drift_keys = {"share", "numeric", "categorical"};
const std::vector<std::string> k_choice_keys = {"method", "threshold"};
const std::vector<std::string> k_feature_keys = {"type", "method", "threshold"};
const std::vector<std::string> k_kinds = {"numeric", "categorical"};

class Parser {
  public:
    Result<MonitorConfig> parse(const YAML::Node& monitor) {
        if (!monitor.IsDefined() || monitor.IsNull())
            return fail(ErrorCode::input, "mlo.yaml has no monitor section",
                        "add `monitor: {model: M, reference: data/reference.csv, features: {x: numeric}}`");
        if (!monitor.IsMap())
            return fail(
                util::problems_error({{util::yaml_line(monitor), "monitor: must be a map", {}}}, "mlo.yaml"));
        for (const auto& item : monitor) {
            std::string key = item.first.Scalar();
            const YAML::Node& value = item.second;
            if (key == "model")
                m_config.model = text(value, "monitor.model");
            else if (key == "reference")
                m_config.reference = text(value, "monitor.reference");
            else if (key == "target")
                m_config.target = text(value, "monitor.target");
            else if (key == "prediction")
                m_config.prediction = text(value, "monitor.prediction");
            else if (key == "current")
                m_config.current = text(value, "monitor.current");
            else if (key == "labels")
                m_config.labels = text(value, "monitor.labels");
            else if (key == "on_fail")
                m_config.on_fail = text(value, "monitor.on_fail");
            else if (key == "binning")
                binning(value);
            else if (key == "features")
                features(value);
            else if (key == "drift")
                drift(value);
            else if (key == "performance")
                performance(value);
            // Other keys were refused by core/config.cpp with a "did you mean".
        }
        if (m_config.reference.empty() && m_problems.empty())
            report(monitor, "monitor: missing required key 'reference'",
                   "the baseline dataset, e.g. `reference: data/prepared/valid.csv`");
        if (!m_problems.empty())
            return fail(util::problems_error(m_problems, "mlo.yaml"));
        return m_config;
    }

  private:
    void report(const YAML::Node& node, std::string what, std::string hint = {}) {
        m_problems.push_back(util::Problem{util::yaml_line(node), std::move(what), std::move(hint)});
    }

    std::string text(const YAML::Node& node, const std::string& where) {
        if (!node.IsScalar() || node.Scalar().empty()) {
            report(node, where + ": must be a name or path, not " + util::yaml_describe(node));
            return {};
        }
        return node.Scalar();
    }

    std::optional<double> number(const YAML::Node& node, const std::string& where, double low, double high) {
        double value = 0;
        try {
            value = node.as<double>();
        } catch (const YAML::Exception&) {
            report(node, where + ": must be a number, not " + util::yaml_describe(node));
            return std::nullopt;
        }
        if (!(value >= low && value <= high)) {
            report(node, where + ": must be from " + fmt_number(low) + " to " + fmt_number(high));
            return std::nullopt;
        }
        return value;
    }

    static std::string fmt_number(double v) {
        std::string s = std::to_string(v);
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.')
            s.pop_back();
        return s;
    }

    void binning(const YAML::Node& node) {
        std::string value = text(node, "monitor.binning");
        if (value == "reference")
            m_config.binning = Binning::reference;
        else if (value == "sturges")
            m_config.binning = Binning::sturges;
        else if (!value.empty())
            report(node, "monitor.binning: must be 'sturges' or 'reference', not '" + value + "'");
    }

    std::optional<ColumnKind> kind(const YAML::Node& node, const std::string& where) {
        std::string value = text(node, where);
        if (value == "numeric")
            return ColumnKind::numeric;
        if (value == "categorical")
            return ColumnKind::categorical;
        if (!value.empty())
            report(node, where + ": must be 'numeric' or 'categorical', not '" + value + "'" +
                             util::did_you_mean(value, k_kinds));
        return std::nullopt;
    }

    // `method:` and `threshold:` of a feature or a type; `keys` are the keys allowed beside them.
    MethodChoice choice(const YAML::Node& map, const std::string& where,
                        const std::vector<std::string>& keys) {
        MethodChoice out;
        for (const auto& item : map) {
            std::string key = item.first.Scalar();
            if (key == "method") {
                out.method = text(item.second, where + ".method");
                const auto& names = drift_methods();
                if (!out.method.empty() && std::find(names.begin(), names.end(), out.method) == names.end()) {
                    report(item.second,
                           where + ".method: unknown method '" + out.method + "'" +
                               util::did_you_mean(out.method, names),
                           "methods: ks chisquare z wasserstein jensenshannon psi kl_div hellinger");
                    out.method.clear();
                }
            } else if (key == "threshold") {
                out.threshold = number(item.second, where + ".threshold", 0, 1e9);
            } else if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                report(item.first, where + ": unknown key '" + key + "'" + util::did_you_mean(key, keys));
            }
        }
        if (out.threshold && !out.method.empty() && method_is_p_value(out.method) && *out.threshold > 1)
            report(map, where + ".threshold: a p-value threshold must be from 0 to 1");
        return out;
    }

    void features(const YAML::Node& node) {
        if (!node.IsMap()) {
            report(node, "monitor.features: must be a map like {tenure: numeric, plan: categorical}");
            return;
        }
        for (const auto& item : node) {
            FeatureConfig feature;
            feature.name = item.first.Scalar();
            std::string where = "monitor.features." + feature.name;
            if (item.second.IsScalar()) {
                auto k = kind(item.second, where);
                if (!k)
                    continue;
                feature.kind = *k;
            } else if (item.second.IsMap()) {
                if (!item.second["type"]) {
                    report(item.second, where + ": missing required key 'type' (numeric or categorical)");
                    continue;
                }
                auto k = kind(item.second["type"], where + ".type");
                if (!k)
                    continue;
                feature.kind = *k;
                feature.choice = choice(item.second, where, k_feature_keys);
            } else {
                report(item.second,
                       where + ": must be 'numeric', 'categorical' or {type, method, threshold}");
                continue;
            }
            m_config.features.push_back(std::move(feature));
        }
    }

    void drift(const YAML::Node& node) {
        if (!node.IsMap()) {
            report(node, "monitor.drift: must be a map like {share: 0.5}");
            return;
        }
        for (const auto& item : node) {
            std::string key = item.first.Scalar();
            if (key == "share") {
                if (auto share = number(item.second, "monitor.drift.share", 0, 1))
                    m_config.drift_share = *share;
            } else if (key == "numeric" || key == "categorical") {
                if (!item.second.IsMap()) {
                    report(item.second,
                           "monitor.drift." + key + ": must be a map like {method: psi, threshold: 0.2}");
                    continue;
                }
                m_config.type_methods[key == "numeric" ? ColumnKind::numeric : ColumnKind::categorical] =
                    choice(item.second, "monitor.drift." + key, k_choice_keys);
            } else {
                report(item.first,
                       "monitor.drift: unknown key '" + key + "'" + util::did_you_mean(key, k_drift_keys));
            }
        }
    }

    void performance(const YAML::Node& node) {
        if (!node.IsMap()) {
            report(node, "monitor.performance: must be a map like {accuracy: {min: 0.8}}");
            return;
        }
        bool classification = false, regression = false;
        for (const auto& item : node) {
            MetricGate gate;
            gate.metric = item.first.Scalar();
            std::string where = "monitor.performance." + gate.metric;
            bool is_classification = std::find(k_classification.begin(), k_classification.end(),
                                               gate.metric) != k_classification.end();
            bool is_regression =
                std::find(k_regression.begin(), k_regression.end(), gate.metric) != k_regression.end();
            if (!is_classification && !is_regression) {
                std::vector<std::string> all = k_classification;
                all.insert(all.end(), k_regression.begin(), k_regression.end());
                report(item.first,
                       "monitor.performance: unknown metric '" + gate.metric + "'" +
                           util::did_you_mean(gate.metric, all),
                       "metrics: accuracy precision recall f1 roc_auc mae mse rmse r2 mape");
                continue;
            }
            classification |= is_classification;
            regression |= is_regression;
            if (!item.second.IsMap()) {
                report(item.second, where + ": must be a map like {min: 0.8}");
                continue;
            }
            for (const auto& option : item.second) {
                std::string key = option.first.Scalar();
                if (key == "min")
                    gate.min = number(option.second, where + ".min", -1e300, 1e300);
                else if (key == "max")
                    gate.max = number(option.second, where + ".max", -1e300, 1e300);
                else if (key == "max_relative_drop")
                    gate.max_relative_drop = number(option.second, where + ".max_relative_drop", 0, 1);
                else if (key == "average") {
                    std::string average = text(option.second, where + ".average");
                    if (average == "binary")
                        gate.averaging = Averaging::binary;
                    else if (average == "macro")
                        gate.averaging = Averaging::macro;
                    else if (average == "weighted")
                        gate.averaging = Averaging::weighted;
                    else if (!average.empty())
                        report(option.second, where + ".average: must be binary, macro or weighted");
                } else if (key == "positive")
                    gate.positive = text(option.second, where + ".positive");
                else if (key == "score")
                    gate.score = text(option.second, where + ".score");
                else
                    report(option.first,
                           where + ": unknown key '" + key + "'" + util::did_you_mean(key, k_gate_keys));
            }
            if (!gate.min && !gate.max && !gate.max_relative_drop)
                report(item.second, where + ": give at least one of min, max, max_relative_drop");
            if (gate.metric == "roc_auc" && gate.score.empty())
                report(item.second, where + ": roc_auc needs `score: COLUMN`, the positive class's score");
            m_config.performance.push_back(std::move(gate));
        }
        if (classification && regression)
            report(node, "monitor.performance: mixes classification and regression metrics");
    }

    MonitorConfig m_config;
    std::vector<util::Problem> m_problems;
};

} // namespace

const std::vector<std::string>& drift_methods() {
    static const std::vector<std::string> k_methods = {
        "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"};
    return k_methods;
}

bool method_is_p_value(const std::string& method) {
    return method == "ks" || method == "chisquare" || method == "z";
}

double default_threshold(const std::string& method) {
    return method_is_p_value(method) ? 0.05 : 0.1;
}

Result<MonitorConfig> parse_monitor_config(const YAML::Node& monitor) {
    return Parser().parse(monitor);
}

} // namespace mlo::monitor
