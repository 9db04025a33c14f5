#include <algorithm>
#include <cmath>
#include <limits>
#include <mlo/monitor/model_metrics.hpp>
#include <set>

namespace mlo::monitor {

namespace {

struct LabelCounts {
    double true_positive = 0, predicted = 0, actual = 0; // per label: tp, tp + fp, tp + fn
};

std::map<std::string, LabelCounts> per_label(const ConfusionCounts& confusion) {
    std::map<std::string, LabelCounts> counts;
    for (const auto& [pair, count] : confusion.pairs) {
        auto n = static_cast<double>(count);
        counts[pair.first].actual += n;
        counts[pair.second].predicted += n;
        if (pair.first == pair.second)
            counts[pair.first].true_positive += n;
    }
    return counts;
}

enum class Score { precision, recall, f1 };

MetricValue averaged(const ConfusionCounts& confusion, Averaging averaging, const std::string& positive,
                     Score score) {
    MetricValue result;
    if (confusion.total == 0)
        return result;
    auto counts = per_label(confusion);
    bool zero_precision = false, zero_recall = false;
    auto score_of = [&](const LabelCounts& c) {
        double p = 0, r = 0;
        if (c.predicted > 0)
            p = c.true_positive / c.predicted;
        else
            zero_precision = true;
        if (c.actual > 0)
            r = c.true_positive / c.actual;
        else
            zero_recall = true;
        if (score == Score::precision)
            return p;
        if (score == Score::recall)
            return r;
        return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
    };
    double value = 0;
    if (averaging == Averaging::binary) {
        value = score_of(counts[positive]);
    } else {
        double weight_total = 0;
        for (const auto& [label, c] : counts) {
            double weight = averaging == Averaging::macro ? 1.0 : c.actual;
            value += weight * score_of(c);
            weight_total += weight;
        }
        value = weight_total > 0 ? value / weight_total : 0.0;
    }
    // sklearn warns about the zero divisions a score used (F1 uses both precision and recall).
    if (zero_precision && score != Score::recall)
        result.warnings.push_back(
            "precision is ill-defined and set to 0.0 for labels with no predicted samples");
    if (zero_recall && score != Score::precision)
        result.warnings.push_back("recall is ill-defined and set to 0.0 for labels with no true samples");
    result.value = value;
    return result;
}

ConfusionCounts confusion_of(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred) {
    ConfusionCounts counts;
    for (size_t i = 0; i < y_true.size(); ++i)
        counts.add(y_true[i], y_pred[i]);
    return counts;
}

RegressionSums sums_of(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
    RegressionSums sums;
    for (size_t i = 0; i < y_true.size(); ++i)
        sums.add(y_true[i], y_pred[i]);
    return sums;
}

MetricValue mean(double sum, uint64_t count) {
    MetricValue result;
    if (count > 0)
        result.value = sum / static_cast<double>(count);
    return result;
}

} // namespace

MetricValue accuracy(const ConfusionCounts& confusion) {
    MetricValue result;
    if (confusion.total == 0)
        return result;
    uint64_t hits = 0;
    for (const auto& [pair, count] : confusion.pairs)
        if (pair.first == pair.second)
            hits += count;
    result.value = static_cast<double>(hits) / static_cast<double>(confusion.total);
    return result;
}

MetricValue precision(const ConfusionCounts& counts, Averaging averaging, const std::string& positive) {
    return averaged(counts, averaging, positive, Score::precision);
}
MetricValue recall(const ConfusionCounts& counts, Averaging averaging, const std::string& positive) {
    return averaged(counts, averaging, positive, Score::recall);
}
MetricValue f1(const ConfusionCounts& counts, Averaging averaging, const std::string& positive) {
    return averaged(counts, averaging, positive, Score::f1);
}

MetricValue accuracy(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred) {
    return accuracy(confusion_of(y_true, y_pred));
}
MetricValue precision(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
                      Averaging averaging, const std::string& positive) {
    return precision(confusion_of(y_true, y_pred), averaging, positive);
}
MetricValue recall(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
                   Averaging averaging, const std::string& positive) {
    return recall(confusion_of(y_true, y_pred), averaging, positive);
}
MetricValue f1(const std::vector<std::string>& y_true, const std::vector<std::string>& y_pred,
               Averaging averaging, const std::string& positive) {
    return f1(confusion_of(y_true, y_pred), averaging, positive);
}

MetricValue roc_auc(const std::vector<std::string>& y_true, const std::vector<double>& scores,
                    const std::string& positive) {
    MetricValue result;
    std::set<std::string> classes(y_true.begin(), y_true.end());
    if (classes.size() > 2) {
        result.warnings.push_back("ROC AUC is computed for binary targets only; y_true has " +
                                  std::to_string(classes.size()) + " classes");
        return result;
    }
    // The Mann-Whitney form of the area under the ROC curve: the share of (positive, negative) pairs
    // ranked correctly, ties counting one half (the trapezoids sklearn integrates).
    std::vector<std::pair<double, bool>> ranked;
    ranked.reserve(scores.size());
    double positives = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        bool is_positive = y_true[i] == positive;
        positives += is_positive ? 1 : 0;
        ranked.emplace_back(scores[i], is_positive);
    }
    double negatives = static_cast<double>(ranked.size()) - positives;
    if (positives == 0 || negatives == 0) {
        result.warnings.push_back("only one class present in y_true: ROC AUC is not defined");
        return result;
    }
    std::sort(ranked.begin(), ranked.end());
    double rank_sum = 0; // sum of the positives' mid-ranks
    for (size_t i = 0; i < ranked.size();) {
        size_t j = i;
        while (j < ranked.size() && ranked[j].first == ranked[i].first)
            ++j;
        double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
        for (size_t k = i; k < j; ++k)
            if (ranked[k].second)
                rank_sum += mid_rank;
        i = j;
    }
    result.value = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
    return result;
}

void RegressionSums::add(double truth, double predicted) {
    ++count;
    double error = truth - predicted;
    absolute += std::fabs(error);
    squared += error * error;
    percentage += std::fabs(error) / std::max(std::fabs(truth), std::numeric_limits<double>::epsilon());
    double delta = truth - true_mean;
    true_mean += delta / static_cast<double>(count);
    true_m2 += delta * (truth - true_mean);
}

void RegressionSums::merge(const RegressionSums& other) {
    if (other.count == 0)
        return;
    if (count == 0) {
        *this = other;
        return;
    }
    double n_this = static_cast<double>(count), n_other = static_cast<double>(other.count);
    double n = n_this + n_other, delta = other.true_mean - true_mean;
    true_mean += delta * n_other / n;
    true_m2 += other.true_m2 + delta * delta * n_this * n_other / n;
    absolute += other.absolute;
    squared += other.squared;
    percentage += other.percentage;
    count += other.count;
}

void ConfusionCounts::merge(const ConfusionCounts& other) {
    for (const auto& [pair, count] : other.pairs)
        pairs[pair] += count;
    total += other.total;
}

MetricValue mean_absolute_error(const RegressionSums& sums) {
    return mean(sums.absolute, sums.count);
}
MetricValue mean_squared_error(const RegressionSums& sums) {
    return mean(sums.squared, sums.count);
}
MetricValue root_mean_squared_error(const RegressionSums& sums) {
    auto result = mean_squared_error(sums);
    if (result.value)
        result.value = std::sqrt(*result.value);
    return result;
}
MetricValue r2_score(const RegressionSums& sums) {
    MetricValue result;
    if (sums.count < 2) {
        result.warnings.push_back("R^2 is not well-defined with less than two samples");
        return result;
    }
    // sklearn's force_finite: a constant y_true scores 1 when predicted perfectly, else 0.
    if (sums.true_m2 == 0)
        result.value = sums.squared == 0 ? 1.0 : 0.0;
    else
        result.value = 1 - sums.squared / sums.true_m2;
    return result;
}
MetricValue mean_absolute_percentage_error(const RegressionSums& sums) {
    return mean(sums.percentage, sums.count);
}

MetricValue mean_absolute_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
    return mean_absolute_error(sums_of(y_true, y_pred));
}
MetricValue mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
    return mean_squared_error(sums_of(y_true, y_pred));
}
MetricValue root_mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
    return root_mean_squared_error(sums_of(y_true, y_pred));
}
MetricValue r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
    return r2_score(sums_of(y_true, y_pred));
}
MetricValue mean_absolute_percentage_error(const std::vector<double>& y_true,
                                           const std::vector<double>& y_pred) {
    return mean_absolute_percentage_error(sums_of(y_true, y_pred));
}

} // namespace mlo::monitor
