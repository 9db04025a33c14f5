#include <catch2/catch.hpp>
#include <mlo/monitor/monitor_config.hpp>

using namespace mlo::monitor;

namespace {

mlo::Result<MonitorConfig> parse(const std::string& text) {
    YAML::Node document = YAML::Load(text);
    return parse_monitor_config(document["monitor"]);
}

} // namespace

TEST_CASE("monitor section: the SPEC's example and the long forms") {
    auto config = parse(R"(monitor:
  model: churn-clf
  reference: data/prepared/valid.csv
  target: churned
  prediction: churn
  features: {tenure: numeric, plan: categorical, fee: {type: numeric, method: psi, threshold: 0.2}}
  drift: {share: 0.3, categorical: {method: hellinger}}
  binning: reference
  performance: {accuracy: {min: 0.80}, recall: {min: 0.70, average: weighted}, roc_auc: {min: 0.6, score: p}}
  on_fail: retrain
)");
    REQUIRE(config);
    CHECK(config->model == "churn-clf");
    CHECK(config->reference == "data/prepared/valid.csv");
    REQUIRE(config->features.size() == 3);
    CHECK(config->features[1].name == "plan");
    CHECK(config->features[1].kind == ColumnKind::categorical);
    CHECK(config->features[2].choice.method == "psi");
    CHECK(*config->features[2].choice.threshold == 0.2);
    CHECK(config->drift_share == 0.3);
    CHECK(config->type_methods.at(ColumnKind::categorical).method == "hellinger");
    CHECK(config->binning == Binning::reference);
    REQUIRE(config->performance.size() == 3);
    CHECK(*config->performance[0].min == 0.8);
    CHECK(config->performance[1].averaging == Averaging::weighted);
    CHECK(config->performance[2].score == "p");
}

TEST_CASE("monitor section: every problem is reported with its line") {
    auto config = parse(R"(monitor:
  reference: ref.csv
  features: {a: numerc, b: {type: numeric, method: wasserstien, threshold: x}}
  drift: {share: 1.5, shares: 2}
  binning: quantile
  performance: {acc: {min: 0.8}, f1: {average: micro}}
)");
    REQUIRE_FALSE(config);
    const std::string& message = config.error().message;
    CHECK(message.find("line 3: monitor.features.a: must be 'numeric' or 'categorical', not 'numerc'") !=
          std::string::npos);
    CHECK(message.find("did you mean 'numeric'") != std::string::npos);
    CHECK(message.find("line 3: monitor.features.b.method: unknown method 'wasserstien'") !=
          std::string::npos);
    CHECK(message.find("line 3: monitor.features.b.threshold: must be a number") != std::string::npos);
    CHECK(message.find("line 4: monitor.drift.share: must be from 0 to 1") != std::string::npos);
    CHECK(message.find("line 4: monitor.drift: unknown key 'shares'") != std::string::npos);
    CHECK(message.find("line 5: monitor.binning: must be 'sturges' or 'reference', not 'quantile'") !=
          std::string::npos);
    CHECK(message.find("line 6: monitor.performance: unknown metric 'acc'") != std::string::npos);
    CHECK(message.find("line 6: monitor.performance.f1.average: must be binary, macro or weighted") !=
          std::string::npos);
    CHECK(message.find("line 6: monitor.performance.f1: give at least one of min, max, max_relative_drop") !=
          std::string::npos);
}

TEST_CASE("monitor section: missing section and missing reference") {
    auto absent = parse("project: x\n");
    REQUIRE_FALSE(absent);
    CHECK(absent.error().message == "mlo.yaml has no monitor section");
    auto no_reference = parse("monitor:\n  model: m\n");
    REQUIRE_FALSE(no_reference);
    CHECK(no_reference.error().message.find("missing required key 'reference'") != std::string::npos);
}

TEST_CASE("methods: p-values and distances, default thresholds") {
    CHECK(method_is_p_value("ks"));
    CHECK(method_is_p_value("z"));
    CHECK_FALSE(method_is_p_value("psi"));
    CHECK(default_threshold("chisquare") == 0.05);
    CHECK(default_threshold("wasserstein") == 0.1);
}
