// `mlo monitor check`: reference in memory, current data streamed, tests and gates.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <mlo/monitor/column_drift.hpp>
#include <mlo/monitor/drift_check.hpp>
#include <mlo/monitor/drift_stats.hpp>
#include <mlo/monitor/gate_metric.hpp>
#include <mlo/monitor/reference_summary.hpp>
#include <mlo/util/file_io.hpp>
#include <thread>
#include <unordered_map>

namespace mlo::monitor {

namespace {

namespace fs = std::filesystem;

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// A label as text that compares equal however a file spelled it: numbers get one spelling
// ("1.0" and "1" are the same class), other text is kept.
Error cell_error(const std::string& source, uint64_t line, const std::string& column, std::string_view text) {
    return Error{ErrorCode::input,
                 fmt::format("{}: line {}: column '{}': '{}' is not a number", source, line, column, text),
                 "declare the column `categorical` under monitor.features, or fix the value"};
}

// Performance inputs gathered in the same pass as the drift counts.
bool is_regression(const MonitorConfig& config) {
    for (const auto& gate : config.performance)
        return is_regression_metric(gate.metric);
    return false;
}

std::string roc_score_column(const MonitorConfig& config) {
    for (const auto& gate : config.performance)
        if (gate.metric == "roc_auc")
            return gate.score;
    return {};
}

class Check {
  public:
    explicit Check(CheckInputs inputs) : m_in(std::move(inputs)), m_config(m_in.config) {}
    ~Check() { wait_for_summary_writer(); }
    Check(const Check&) = delete;
    Check& operator=(const Check&) = delete;

    void wait_for_summary_writer() {
        if (m_summary_writer.joinable())
            m_summary_writer.join();
    }

    Result<CheckReport> run() {
        MLO_TRY(read_reference());
        MLO_TRY(read_labels());
        MLO_TRY(scan_current());
        wait_for_summary_writer();
        for (auto& column : m_columns)
            if (column.current_numeric)
                column.current_numeric->finish();
        for (auto& column : m_columns)
            choose_method(column, m_config.binning);
        MLO_TRY(second_pass());
        if (!m_in.labels.empty() && m_labels_seen > 0 && m_current_performance.rows == 0)
            return fail(ErrorCode::input,
                        fmt::format("{}: none of its {} labels matches a request_id of the {} current rows",
                                    m_in.labels.string(), m_labels.size(), m_report.current_rows),
                        "the labels file needs a `request_id` column holding the ids the server logged "
                        "(a batch's rows are ID#0, ID#1, ...)");
        evaluate();
        m_report.warnings.insert(m_report.warnings.begin(), m_in.warnings.begin(), m_in.warnings.end());
        if (!m_in.labels.empty() && m_current_performance.rows < m_report.current_rows)
            m_report.warnings.push_back(
                fmt::format("labels matched {} of the {} current rows; the others are left out "
                            "of the performance metrics",
                            m_current_performance.rows, m_report.current_rows));
        for (const auto& column : m_report.columns)
            if (!column.n_unique_exact)
                m_report.warnings.push_back(
                    fmt::format("'{}': more than {} values absent from the reference; n_unique "
                                "is a lower bound",
                                column.name, NumericCurrent::k_new_value_cap));
        return std::move(m_report);
    }

  private:
    // --- reference ---------------------------------------------------------------------------------

    Status read_reference() {
        auto reader = TableReader::open(m_in.reference);
        if (!reader)
            return fail(std::move(reader).error().context("reading the reference"));
        const auto& columns = reader->columns();
        m_report.reference = m_in.reference.string();
        m_report.model = m_config.model;
        // The monitored columns: the configured features, or every column but the target, the
        // prediction, ids and scores, typed by their values.
        std::vector<std::string> excluded = {m_config.target, m_config.prediction, "request_id",
                                             roc_score_column(m_config)};
        bool infer = m_config.features.empty();
        std::vector<std::string> missing;
        if (infer) {
            for (const auto& name : columns)
                if (!contains(excluded, name))
                    add_column(name, ColumnKind::numeric, {}, false);
        } else {
            for (const auto& feature : m_config.features) {
                if (!contains(columns, feature.name))
                    missing.push_back(feature.name);
                add_column(feature.name, feature.kind, feature.choice, false);
            }
        }
        if (!missing.empty())
            return fail(ErrorCode::input,
                        fmt::format("the reference {} has no column {}", m_in.reference.string(),
                                    fmt::join(missing, ", ")),
                        fmt::format("its columns: {}", fmt::join(columns, ", ")));
        // Prediction drift needs the prediction in both samples; current data without it (features
        // only) is still checked for data drift.
        if (!m_config.prediction.empty() && contains(columns, m_config.prediction) &&
            contains(m_in.current->columns(), m_config.prediction) &&
            !contains(column_names(), m_config.prediction))
            add_column(m_config.prediction, ColumnKind::categorical, {}, true);
        m_reference_has_labels = !m_config.target.empty() && contains(columns, m_config.target) &&
                                 !m_config.prediction.empty() && contains(columns, m_config.prediction);

        std::vector<std::string> wanted = column_names();
        size_t target_index = wanted.size(), prediction_index = wanted.size() + 1,
               score_index = wanted.size() + 2;
        wanted.push_back(m_config.target);
        wanted.push_back(m_config.prediction);
        wanted.push_back(roc_score_column(m_config));
        std::string summary_key;
        if (!m_in.cache_dir.empty()) {
            summary_key = reference_summary_key(m_in.reference, reference_settings(infer));
            if (!summary_key.empty() && load_reference_summary(summary_key))
                return {};
        }
        std::string source = m_in.reference.string();
        // The rows are shared out between consumers as for the current data (scan_current); each
        // gathers its values, categories and labels apart, merged below (order does not matter:
        // the values are sorted, the rest are counts).
        std::vector<ReferenceShare> shares(consumer_count());
        std::vector<RowCallback> consumers;
        for (auto& share : shares) {
            share.values.resize(m_columns.size());
            share.missing.resize(m_columns.size(), 0);
            share.categories.resize(m_columns.size());
            share.numeric_so_far.resize(m_columns.size(), 1);
            consumers.push_back([&, share = &share](const std::vector<Cell>& cells, uint64_t line) -> Status {
                ++share->rows;
                for (size_t c = 0; c < m_columns.size(); ++c) {
                    const auto& column = m_columns[c];
                    const Cell& cell = cells[c];
                    if (cell.missing) {
                        share->missing[c]++;
                        share->categories[c].add_missing();
                        continue;
                    }
                    if (infer || column.kind == ColumnKind::categorical || column.is_prediction)
                        share->categories[c].add(cell.text);
                    if (share->numeric_so_far[c] == 0)
                        continue;
                    double value = 0;
                    if (!parse_number(cell.text, value)) {
                        if (!infer && column.kind == ColumnKind::numeric && !column.is_prediction)
                            return fail(cell_error(source, line, column.name, cell.text));
                        share->numeric_so_far[c] = 0;
                        continue;
                    }
                    if (std::isfinite(value))
                        share->values[c].push_back(value);
                    else
                        share->missing[c]++;
                }
                if (m_reference_has_labels)
                    return add_performance(share->performance, cells[target_index], cells[prediction_index],
                                           cells[score_index], source, line);
                return {};
            });
        }
        MLO_TRY(reader->for_each_row_parallel(wanted, consumers));
        for (auto& share : shares) {
            m_report.reference_rows += share.rows;
            m_reference_performance.merge(std::move(share.performance));
        }
        // Each column's shares are merged and its values sorted (NumericReference::finish) on the
        // column's own: independent work, shared out between threads.
        for_each_column_in_parallel([&](size_t c) {
            auto& column = m_columns[c];
            auto& reference = column.reference_numeric;
            bool numeric_so_far = true;
            for (auto& share : shares) {
                if (reference.values.empty()) {
                    reference.values = std::move(share.values[c]);
                } else {
                    reference.values.insert(reference.values.end(), share.values[c].begin(),
                                            share.values[c].end());
                    std::vector<double>().swap(share.values[c]);
                }
                reference.missing += share.missing[c];
                column.reference_categories.merge(share.categories[c]);
                numeric_so_far = numeric_so_far && share.numeric_so_far[c] != 0;
            }
            // Inferred columns (and the prediction) are numeric when every value is a number.
            if (infer || column.is_prediction)
                column.kind = numeric_so_far ? ColumnKind::numeric : ColumnKind::categorical;
            if (column.kind != ColumnKind::numeric) {
                column.reference_numeric = NumericReference{};
                return;
            }
            column.reference_categories = CategoricalCounts{};
            reference.finish();
            column.current_numeric = std::make_unique<NumericCurrent>(reference);
        });
        if (!summary_key.empty()) {
            // Streamed from the columns while the current data is read (nothing changes their
            // reference side from here on; run() waits for it before the tests).
            m_summary_writer = std::thread([this, key = summary_key] {
                ReferenceSummary summary{m_report.reference_rows, m_reference_performance};
                store_reference_summary(m_in.cache_dir, key, summary, m_columns);
            });
        }
        return {};
    }

    // Everything besides the file that decides what reading the reference yields: the columns
    // with their declared types, whether types are inferred, and the label columns.
    std::string reference_settings(bool infer) const {
        std::string settings =
            fmt::format("infer={} target={} prediction={} score={} regression={} gates={}\n", infer,
                        m_config.target, m_config.prediction, roc_score_column(m_config),
                        is_regression(m_config), m_config.performance.size());
        for (const auto& column : m_columns)
            settings += fmt::format("{}\t{}\t{}\n", column.name,
                                    column.kind == ColumnKind::numeric ? "numeric" : "categorical",
                                    column.is_prediction);
        return settings;
    }

    // Takes the reference's summary from the store when one was kept for this key: false when
    // there is none or it does not decode (it is then read and kept again).
    bool load_reference_summary(const std::string& key) {
        auto file = util::MappedFile::open(reference_summary_path(m_in.cache_dir, key));
        if (!file)
            return false;
        ReferenceSummary summary;
        if (!decode_reference_summary(file->bytes(), summary, m_columns))
            return false;
        m_report.reference_rows = summary.rows;
        m_reference_performance = std::move(summary.performance);
        for_each_column_in_parallel([this](size_t c) {
            auto& column = m_columns[c];
            if (column.kind == ColumnKind::numeric)
                column.current_numeric = std::make_unique<NumericCurrent>(column.reference_numeric);
        });
        return true;
    }

    // Runs work(c) for every column index, the columns dealt out to consumer_count() threads.
    void for_each_column_in_parallel(const std::function<void(size_t)>& work) const {
        size_t threads_wanted = std::min(consumer_count(), m_columns.size());
        auto deal = [&](size_t first) {
            for (size_t c = first; c < m_columns.size(); c += threads_wanted)
                work(c);
        };
        std::vector<std::thread> threads;
        for (size_t k = 1; k < threads_wanted; ++k)
            threads.emplace_back(deal, k);
        deal(0);
        for (auto& thread : threads)
            thread.join();
    }

    // One consumer's share of the reference rows, by column index.
    struct ReferenceShare {
        std::vector<std::vector<double>> values;
        std::vector<uint64_t> missing;
        std::vector<CategoricalCounts> categories;
        std::vector<char> numeric_so_far; // not vector<bool>: one flag is not a bit of a shared word
        PerformanceData performance;
        uint64_t rows = 0;
    };

    void add_column(const std::string& name, ColumnKind kind, MethodChoice choice, bool is_prediction) {
        ColumnState column;
        column.name = name;
        column.kind = kind;
        column.is_prediction = is_prediction;
        if (choice.method.empty() && !choice.threshold) {
            auto type = m_config.type_methods.find(kind);
            if (type != m_config.type_methods.end())
                choice = type->second;
        }
        column.choice = choice;
        m_columns.push_back(std::move(column));
    }

    std::vector<std::string> column_names() const {
        std::vector<std::string> names;
        for (const auto& column : m_columns)
            names.push_back(column.name);
        return names;
    }

    // --- labels --------------------------------------------------------------------------------------

    Status read_labels() {
        if (m_in.labels.empty())
            return {};
        if (m_config.target.empty())
            return fail(ErrorCode::input, "--labels needs monitor.target: the label column's name");
        auto reader = TableReader::open(m_in.labels);
        if (!reader)
            return fail(std::move(reader).error().context("reading the labels"));
        std::vector<std::string> lacking;
        for (const auto& name : {std::string("request_id"), m_config.target})
            if (!contains(reader->columns(), name))
                lacking.push_back(name);
        if (!lacking.empty())
            return fail(ErrorCode::input,
                        fmt::format("{} has no column {}", m_in.labels.string(), fmt::join(lacking, ", ")),
                        "a labels file has a `request_id` column and the target column");
        return reader->for_each_row({"request_id", m_config.target},
                                    [&](const std::vector<Cell>& cells, uint64_t) -> Status {
                                        ++m_labels_seen;
                                        if (!cells[0].missing && !cells[1].missing)
                                            m_labels[std::string(cells[0].text)] = std::string(cells[1].text);
                                        return {};
                                    });
    }

    // --- current -------------------------------------------------------------------------------------

    Status scan_current() {
        const RowSource& current = *m_in.current;
        m_report.current = current.describe();
        std::vector<std::string> lacking;
        for (const auto& column : m_columns)
            if (!contains(current.columns(), column.name) && !column.is_prediction)
                lacking.push_back(column.name);
        if (!lacking.empty())
            return fail(ErrorCode::input,
                        fmt::format("{} has no column {}", current.describe(), fmt::join(lacking, ", ")),
                        fmt::format("its columns: {}", fmt::join(current.columns(), ", ")));
        if (!m_in.labels.empty() && !contains(current.columns(), "request_id"))
            return fail(
                ErrorCode::input,
                fmt::format("--labels joins on request_id, and {} has no such column", current.describe()));
        std::vector<std::string> wanted = column_names();
        size_t target_index = wanted.size();
        wanted.push_back(m_config.target);
        wanted.push_back(m_config.prediction);
        wanted.push_back(roc_score_column(m_config));
        wanted.push_back("request_id");
        bool labels_in_current =
            m_in.labels.empty() && !m_config.target.empty() && contains(current.columns(), m_config.target);
        m_has_labels = labels_in_current || !m_in.labels.empty();
        std::string source = current.describe();
        // The rows are shared out between consumers on threads of their own
        // (RowSource::for_each_row_parallel), each with accumulators of its own: numeric values go
        // through a collector per column that folds sorted batches into the column's shared counts
        // under its lock, categories and performance data are merged when the reading is done.
        std::vector<CurrentShare> shares(consumer_count());
        std::vector<RowCallback> consumers;
        for (auto& share : shares) {
            share.categories.resize(m_columns.size());
            for (auto& column : m_columns)
                share.numeric.push_back(column.current_numeric
                                            ? std::make_unique<NumericCollector>(*column.current_numeric)
                                            : nullptr);
            consumers.push_back([&, share = &share](const std::vector<Cell>& cells, uint64_t line) -> Status {
                MLO_TRY(accumulate_columns(*share, cells, source, line));
                ++share->rows;
                if (!m_has_labels)
                    return {};
                const Cell* truth = &cells[target_index];
                Cell label_cell;
                if (!labels_in_current) {
                    const Cell& id = cells[target_index + 3];
                    auto it = id.missing ? m_labels.end() : m_labels.find(std::string(id.text));
                    label_cell = it == m_labels.end() ? Cell{} : Cell{it->second, false};
                    truth = &label_cell;
                }
                return add_performance(share->performance, *truth, cells[target_index + 1],
                                       cells[target_index + 2], source, line);
            });
        }
        MLO_TRY(current.for_each_row_parallel(wanted, consumers));
        // What the collectors still buffer (up to a batch a column each) is sorted and folded on a
        // thread per share, as the reading was: on one thread it held up the end of the check. Each
        // share starts at another column, so two rarely wait for the same column's lock.
        std::vector<std::thread> flushers;
        auto flush_share = [&](size_t k) {
            for (size_t i = 0; i < m_columns.size(); ++i) {
                size_t c = (i + k * m_columns.size() / shares.size()) % m_columns.size();
                if (shares[k].numeric[c])
                    shares[k].numeric[c]->flush();
            }
        };
        for (size_t k = 1; k < shares.size(); ++k)
            flushers.emplace_back(flush_share, k);
        flush_share(0);
        for (auto& flusher : flushers)
            flusher.join();
        for (auto& share : shares) {
            for (size_t c = 0; c < m_columns.size(); ++c)
                if (!share.numeric[c])
                    m_columns[c].current_categories.merge(share.categories[c]);
            m_current_performance.merge(std::move(share.performance));
            m_report.current_rows += share.rows;
        }
        return {};
    }

    // One consumer's accumulators for its share of the current rows, by column index.
    struct CurrentShare {
        std::vector<std::unique_ptr<NumericCollector>> numeric; // null for categorical columns
        std::vector<CategoricalCounts> categories;
        PerformanceData performance;
        uint64_t rows = 0;
    };

    // A consumer per core, up to four: parsing numbers is most of the work, and it splits well.
    static size_t consumer_count() { return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4); }

    Status accumulate_columns(CurrentShare& share, const std::vector<Cell>& cells, const std::string& source,
                              uint64_t line) {
        for (size_t c = 0; c < m_columns.size(); ++c) {
            const Cell& cell = cells[c];
            auto* numeric = share.numeric[c].get();
            if (numeric == nullptr) {
                if (cell.missing)
                    share.categories[c].add_missing();
                else
                    share.categories[c].add(cell.text);
                continue;
            }
            double value = 0;
            if (cell.missing) {
                numeric->add_missing();
            } else if (!parse_number(cell.text, value)) {
                return fail(cell_error(source, line, m_columns[c].name, cell.text));
            } else if (std::isfinite(value)) {
                numeric->add(value);
            } else {
                numeric->add_missing();
            }
        }
        return {};
    }

    Status add_performance(PerformanceData& data, const Cell& truth, const Cell& predicted, const Cell& score,
                           const std::string& source, uint64_t line) {
        if (truth.missing || predicted.missing || m_config.performance.empty())
            return {};
        ++data.rows;
        if (is_regression(m_config)) {
            double t = 0, p = 0;
            if (!parse_number(truth.text, t))
                return fail(cell_error(source, line, m_config.target, truth.text));
            if (!parse_number(predicted.text, p))
                return fail(cell_error(source, line, m_config.prediction, predicted.text));
            data.regression.add(t, p);
            return {};
        }
        std::string label = canonical_label(truth.text);
        data.confusion.add(label, canonical_label(predicted.text));
        if (!score.missing) {
            double s = 0;
            if (!parse_number(score.text, s))
                return fail(cell_error(source, line, roc_score_column(m_config), score.text));
            data.roc_truth.push_back(label);
            data.roc_scores.push_back(s);
        }
        return {};
    }

    Status second_pass() {
        std::vector<size_t> pending;
        for (size_t c = 0; c < m_columns.size(); ++c)
            if (m_columns[c].needs_second_pass)
                pending.push_back(c);
        if (pending.empty())
            return {};
        std::vector<std::string> wanted;
        for (size_t c : pending)
            wanted.push_back(m_columns[c].name);
        return m_in.current->for_each_row(wanted, [&](const std::vector<Cell>& cells, uint64_t) -> Status {
            for (size_t k = 0; k < pending.size(); ++k) {
                double value = 0;
                if (cells[k].missing || !parse_number(cells[k].text, value) || !std::isfinite(value))
                    continue;
                auto& column = m_columns[pending[k]];
                long bin = histogram_bin(column.sturges_edges, value);
                if (bin >= 0 && bin < static_cast<long>(column.sturges_current.size()))
                    ++column.sturges_current[static_cast<size_t>(bin)];
            }
            return {};
        });
    }

    // --- results -------------------------------------------------------------------------------------

    void evaluate() {
        m_report.drift_share_threshold = m_config.drift_share;
        // Each column's tests are independent (exact KS p-values can take a while): computed in
        // parallel, reported in column order.
        std::vector<ColumnReport> reports(m_columns.size());
        for_each_column_in_parallel(
            [&](size_t c) { reports[c] = evaluate_column(m_columns[c], m_config.binning); });
        for (size_t c = 0; c < m_columns.size(); ++c) {
            auto& column = m_columns[c];
            ColumnReport& report = reports[c];
            TestReport test;
            test.name = (column.is_prediction ? "prediction_drift:" : "drift:") + column.name;
            if (!report.error.empty()) {
                test.status = TestStatus::error;
                test.description = report.error;
            } else {
                if (!column.is_prediction) {
                    ++m_report.tested_features;
                    m_report.drifted_features += report.drifted ? 1 : 0;
                }
                test.status = report.drifted ? TestStatus::warning : TestStatus::success;
                test.description =
                    fmt::format("{} {} = {:.6g} ({} {} {})", column.name, report.method, *report.score,
                                report.drifted ? "drift:" : "no drift:",
                                method_is_p_value(report.method)
                                    ? (report.drifted ? (report.method == "ks" ? "<=" : "<") : ">")
                                    : (report.drifted ? ">=" : "<"),
                                report.threshold);
            }
            m_report.tests.push_back(test);
            m_report.columns.push_back(std::move(report));
        }
        TestReport dataset;
        dataset.name = "dataset_drift";
        if (m_report.tested_features == 0) {
            dataset.status = TestStatus::error;
            dataset.description = "no feature could be tested";
        } else {
            double share = static_cast<double>(m_report.drifted_features) /
                           static_cast<double>(m_report.tested_features);
            m_report.dataset_drift = share >= m_config.drift_share;
            dataset.status = m_report.dataset_drift ? TestStatus::fail : TestStatus::success;
            dataset.description = fmt::format("{} of {} features drifted (share {:.3g}, gate {} {:.3g})",
                                              m_report.drifted_features, m_report.tested_features, share,
                                              m_report.dataset_drift ? ">=" : "<", m_config.drift_share);
        }
        m_report.tests.push_back(dataset);
        evaluate_performance();
    }

    void evaluate_performance() {
        m_report.labelled_rows = m_current_performance.rows;
        for (const auto& gate : m_config.performance) {
            MetricReport report;
            report.metric = gate.metric;
            std::vector<std::string> conditions;
            if (gate.min)
                conditions.push_back(fmt::format("min {:.6g}", *gate.min));
            if (gate.max)
                conditions.push_back(fmt::format("max {:.6g}", *gate.max));
            if (gate.max_relative_drop)
                conditions.push_back(fmt::format("max_relative_drop {:.6g}", *gate.max_relative_drop));
            report.condition = fmt::format("{}", fmt::join(conditions, ", "));
            TestReport test;
            test.name = "performance:" + gate.metric;
            if (m_current_performance.rows == 0) {
                report.status = TestStatus::skipped;
                test.description =
                    m_has_labels ? "no current row has both a label and a prediction"
                                 : "no labels: give --labels FILE or a target column in the current data";
            } else {
                auto value = gate_metric(m_current_performance, gate);
                report.value = value.value;
                report.warnings = value.warnings;
                if (m_reference_has_labels && m_reference_performance.rows > 0)
                    report.reference_value = gate_metric(m_reference_performance, gate).value;
                report.status = TestStatus::success;
                if (!report.value) {
                    report.status = TestStatus::error;
                    test.description =
                        gate.metric + " is undefined: " + fmt::format("{}", fmt::join(value.warnings, "; "));
                } else {
                    double v = *report.value;
                    std::vector<std::string> failures;
                    if (gate.min && v < *gate.min)
                        failures.push_back(fmt::format("below min {:.6g}", *gate.min));
                    if (gate.max && v > *gate.max)
                        failures.push_back(fmt::format("above max {:.6g}", *gate.max));
                    if (gate.max_relative_drop) {
                        if (!report.reference_value) {
                            report.status = TestStatus::error;
                            failures.push_back(
                                "no reference value: the reference needs the target and prediction columns");
                        } else {
                            // A drop is a fall for scores and a rise for errors.
                            bool lower_is_better = gate.metric == "mae" || gate.metric == "mse" ||
                                                   gate.metric == "rmse" || gate.metric == "mape";
                            double ref = *report.reference_value;
                            double change =
                                ref == 0 ? 0 : (lower_is_better ? v - ref : ref - v) / std::fabs(ref);
                            if (change > *gate.max_relative_drop)
                                failures.push_back(
                                    fmt::format("{:.1f}% worse than the reference {:.6g} (max {:.1f}%)",
                                                change * 100, ref, *gate.max_relative_drop * 100));
                        }
                    }
                    if (!failures.empty() && report.status != TestStatus::error)
                        report.status = TestStatus::fail;
                    test.description = fmt::format("{} = {:.6g}{}{}", gate.metric, v,
                                                   failures.empty() ? "" : ": ", fmt::join(failures, "; "));
                }
            }
            test.status = report.status;
            m_report.tests.push_back(test);
            m_report.metrics.push_back(std::move(report));
        }
        m_report.health = health_by_version(m_in.health_records);
    }

    CheckInputs m_in;
    std::thread m_summary_writer; // stores the reference summary while the current data is read
    const MonitorConfig& m_config;
    std::vector<ColumnState> m_columns;
    std::unordered_map<std::string, std::string> m_labels;
    uint64_t m_labels_seen = 0;
    bool m_has_labels = false, m_reference_has_labels = false;
    PerformanceData m_current_performance, m_reference_performance;
    CheckReport m_report;
};

} // namespace

Result<CheckReport> run_check(CheckInputs inputs) {
    return Check(std::move(inputs)).run();
}

} // namespace mlo::monitor
