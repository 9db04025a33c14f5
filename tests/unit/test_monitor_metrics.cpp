// Known answers for the performance metrics, computed with scikit-learn 1.2 by /usr/bin/python3
// (`from sklearn import metrics as m`); the call that produced each value is beside it.
#include <catch2/catch.hpp>
#include <mlo/monitor/model_metrics.hpp>

using namespace mlo::monitor;

namespace {
const std::vector<std::string> k_true = {"0", "1", "2", "0", "1", "2"};
const std::vector<std::string> k_pred = {"0", "2", "1", "0", "0", "1"};
} // namespace

TEST_CASE("classification metrics: the issue's known answers") {
    // yt=[0,1,2,0,1,2]; yp=[0,2,1,0,0,1]; m.accuracy_score(yt,yp) -> 0.3333333333333333
    CHECK(*accuracy(k_true, k_pred).value == Approx(1.0 / 3));
    // m.precision_score(yt,yp,average='macro') -> 0.2222222222222222
    CHECK(*precision(k_true, k_pred, Averaging::macro).value == Approx(0.2222222222222222));
    // m.recall_score(yt,yp,average='macro') -> 0.3333333333333333
    CHECK(*recall(k_true, k_pred, Averaging::macro).value == Approx(0.3333333333333333));
    // m.f1_score(yt,yp,average='macro') -> 0.26666666666666666
    CHECK(*f1(k_true, k_pred, Averaging::macro).value == Approx(0.26666666666666666));
    // m.precision_score(yt,yp,average='weighted') -> 0.2222222222222222; f1 weighted -> 0.26666666666666666
    CHECK(*precision(k_true, k_pred, Averaging::weighted).value == Approx(0.2222222222222222));
    CHECK(*f1(k_true, k_pred, Averaging::weighted).value == Approx(0.26666666666666666));
}

TEST_CASE("binary scores and zero division") {
    // m.precision_score([1,0,1,1],[1,1,0,1]) -> 0.6666666666666666; m.f1_score(same) -> 0.6666666666666666
    CHECK(*precision({"1", "0", "1", "1"}, {"1", "1", "0", "1"}, Averaging::binary).value == Approx(2.0 / 3));
    CHECK(*f1({"1", "0", "1", "1"}, {"1", "1", "0", "1"}, Averaging::binary).value == Approx(2.0 / 3));
    // m.precision_score([0,0,1],[0,0,0]) -> 0.0 with UndefinedMetricWarning (no predicted samples)
    auto p = precision({"0", "0", "1"}, {"0", "0", "0"}, Averaging::binary);
    CHECK(*p.value == 0.0);
    CHECK(p.warnings.size() == 1);
    // m.recall_score([0,0,1],[0,0,0]) -> 0.0, defined (the label has true samples): no warning
    auto r = recall({"0", "0", "1"}, {"0", "0", "0"}, Averaging::binary);
    CHECK(*r.value == 0.0);
    CHECK(r.warnings.empty());
}

TEST_CASE("ROC AUC") {
    // m.roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) -> 0.75
    CHECK(*roc_auc({"0", "0", "1", "1"}, {0.1, 0.4, 0.35, 0.8}).value == Approx(0.75));
    // Ties: m.roc_auc_score([0,1,1,0,1,0,1],[0.5,0.5,0.9,0.2,0.5,0.7,0.1]) -> 0.5
    CHECK(*roc_auc({"0", "1", "1", "0", "1", "0", "1"}, {0.5, 0.5, 0.9, 0.2, 0.5, 0.7, 0.1}).value ==
          Approx(0.5));
    // One class: sklearn raises; we report no value and a warning.
    auto one = roc_auc({"1", "1"}, {0.2, 0.9});
    CHECK_FALSE(one.value.has_value());
    CHECK(one.warnings.size() == 1);
}

TEST_CASE("regression metrics: the issue's known answers") {
    std::vector<double> y_true = {3, -0.5, 2, 7}, y_pred = {2.5, 0, 2, 8};
    // m.mean_absolute_error(yt,yp) -> 0.5; m.mean_squared_error -> 0.375; its sqrt -> 0.6123724356957945
    CHECK(*mean_absolute_error(y_true, y_pred).value == Approx(0.5));
    CHECK(*mean_squared_error(y_true, y_pred).value == Approx(0.375));
    CHECK(*root_mean_squared_error(y_true, y_pred).value == Approx(0.6123724356957945));
    // m.r2_score(yt,yp) -> 0.9486081370449679; m.mean_absolute_percentage_error -> 0.3273809523809524
    CHECK(*r2_score(y_true, y_pred).value == Approx(0.9486081370449679));
    CHECK(*mean_absolute_percentage_error(y_true, y_pred).value == Approx(0.3273809523809524));
}

TEST_CASE("regression edge cases as sklearn defines them") {
    // m.r2_score([2,2,2],[2,2,2]) -> 1.0; m.r2_score([2,2,2],[2,2,3]) -> 0.0
    CHECK(*r2_score({2, 2, 2}, {2, 2, 2}).value == 1.0);
    CHECK(*r2_score({2, 2, 2}, {2, 2, 3}).value == 0.0);
    // m.mean_absolute_percentage_error([0,1],[1,1]) -> 2251799813685248.0 (|y| floored at eps)
    CHECK(*mean_absolute_percentage_error({0, 1}, {1, 1}).value == Approx(2251799813685248.0));
}

TEST_CASE("regression sums and confusion counts merge as one pass over all rows") {
    std::vector<double> y_true = {3, -0.5, 2, 7, 120.25, -40, 0.001}, y_pred = {2.5, 0, 2, 8, 100, -41, 0.5};
    RegressionSums whole, first, second;
    for (size_t i = 0; i < y_true.size(); ++i) {
        whole.add(y_true[i], y_pred[i]);
        (i < 3 ? first : second).add(y_true[i], y_pred[i]);
    }
    RegressionSums empty;
    first.merge(second);
    first.merge(empty);
    empty.merge(first);
    for (const auto* merged : {&first, &empty}) {
        CHECK(merged->count == whole.count);
        CHECK(*mean_absolute_error(*merged).value == Approx(*mean_absolute_error(whole).value));
        CHECK(*r2_score(*merged).value == Approx(*r2_score(whole).value).epsilon(1e-12));
        CHECK(*r2_score(*merged).value == Approx(*r2_score(y_true, y_pred).value).epsilon(1e-12));
        CHECK(*mean_absolute_percentage_error(*merged).value ==
              Approx(*mean_absolute_percentage_error(whole).value));
    }

    ConfusionCounts all, part_a, part_b;
    for (size_t i = 0; i < k_true.size(); ++i) {
        all.add(k_true[i], k_pred[i]);
        (i % 2 == 0 ? part_a : part_b).add(k_true[i], k_pred[i]);
    }
    part_a.merge(part_b);
    CHECK(part_a.pairs == all.pairs);
    CHECK(part_a.total == all.total);
    CHECK(*f1(part_a, Averaging::macro).value == Approx(0.2666666666666667));
}
