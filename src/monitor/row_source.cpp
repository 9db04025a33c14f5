#include <algorithm>
#include <cmath>
#include <map>
#include <mlo/monitor/row_source.hpp>

namespace mlo::monitor {

namespace {

class FileSource : public RowSource {
  public:
    explicit FileSource(TableReader reader) : m_reader(std::move(reader)) {}
    const std::vector<std::string>& columns() const override { return m_reader.columns(); }
    Status for_each_row(const std::vector<std::string>& wanted, const RowCallback& callback) const override {
        return m_reader.for_each_row(wanted, callback);
    }
    Status for_each_row_parallel(const std::vector<std::string>& wanted,
                                 const std::vector<RowCallback>& callbacks) const override {
        return m_reader.for_each_row_parallel(wanted, callbacks);
    }
    std::string describe() const override { return m_reader.path().string(); }

  private:
    TableReader m_reader;
};

// The value at `index` of a column array (or a scalar for a one-row request) as cell text.
bool cell_text(const nlohmann::json& column, size_t index, std::string& out) {
    const nlohmann::json* value = &column;
    if (column.is_array()) {
        if (index >= column.size())
            return false;
        value = &column[index];
    }
    if (value->is_null())
        return false;
    if (value->is_string())
        out = value->get_ref<const std::string&>();
    else if (value->is_boolean())
        out = value->get<bool>() ? "true" : "false";
    else if (value->is_number())
        out = value->dump();
    else
        return false; // nested values are not monitorable cells
    return true;
}

size_t rows_in(const serve::RequestRecord& record) {
    size_t rows = 0;
    for (const auto* part : {&record.inputs, &record.outputs})
        if (part->is_object())
            for (const auto& item : part->items())
                rows = std::max(rows, item.value().is_array() ? item.value().size() : size_t{1});
    return rows;
}

class LogSource : public RowSource {
  public:
    LogSource(std::vector<serve::RequestRecord> records, std::string model)
        : m_records(std::move(records)), m_model(std::move(model)) {
        m_columns.push_back("request_id");
        for (const auto& record : m_records)
            for (const auto* part : {&record.inputs, &record.outputs})
                if (part->is_object())
                    for (const auto& item : part->items())
                        if (std::find(m_columns.begin(), m_columns.end(), item.key()) == m_columns.end())
                            m_columns.push_back(item.key());
    }
    const std::vector<std::string>& columns() const override { return m_columns; }
    std::string describe() const override { return "the serve log of " + m_model; }

    Status for_each_row(const std::vector<std::string>& wanted, const RowCallback& callback) const override {
        std::vector<Cell> cells(wanted.size());
        std::vector<std::string> texts(wanted.size());
        uint64_t line = 0;
        for (const auto& record : m_records) {
            ++line;
            if (record.status >= 400 || !record.outputs.is_object())
                continue;
            size_t rows = rows_in(record);
            for (size_t row = 0; row < rows; ++row) {
                for (size_t w = 0; w < wanted.size(); ++w) {
                    bool present = false;
                    if (wanted[w] == "request_id") {
                        texts[w] =
                            rows == 1 ? record.request_id : record.request_id + "#" + std::to_string(row);
                        present = true;
                    } else {
                        for (const auto* part : {&record.outputs, &record.inputs}) {
                            auto it = part->is_object() ? part->find(wanted[w]) : part->end();
                            if (part->is_object() && it != part->end()) {
                                present = cell_text(*it, row, texts[w]);
                                break;
                            }
                        }
                    }
                    cells[w] = Cell{texts[w], !present};
                }
                MLO_TRY(callback(cells, line));
            }
        }
        return {};
    }

  private:
    std::vector<serve::RequestRecord> m_records;
    std::string m_model;
    std::vector<std::string> m_columns;
};

} // namespace

Status RowSource::for_each_row_parallel(const std::vector<std::string>& wanted,
                                        const std::vector<RowCallback>& callbacks) const {
    return for_each_row(wanted, callbacks.front());
}

Result<std::unique_ptr<RowSource>> open_file_source(const std::filesystem::path& path) {
    auto reader = TableReader::open(path);
    if (!reader)
        return fail(std::move(reader).error());
    return std::unique_ptr<RowSource>(new FileSource(std::move(*reader)));
}

std::unique_ptr<RowSource> log_source(std::vector<serve::RequestRecord> records, std::string model) {
    return std::make_unique<LogSource>(std::move(records), std::move(model));
}

double percentile(const std::vector<double>& sorted_values, double q) {
    double position = q / 100.0 * static_cast<double>(sorted_values.size() - 1);
    auto below = static_cast<size_t>(std::floor(position));
    size_t above = std::min(below + 1, sorted_values.size() - 1);
    double fraction = position - static_cast<double>(below);
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * fraction;
}

std::vector<VersionHealth> health_by_version(const std::vector<serve::RequestRecord>& records) {
    std::map<std::string, std::vector<double>> latencies;
    std::map<std::string, VersionHealth> health;
    for (const auto& record : records) {
        auto& entry = health[record.version];
        entry.version = record.version;
        ++entry.requests;
        if (record.status >= 400)
            ++entry.errors;
        latencies[record.version].push_back(record.latency_seconds * 1000.0);
    }
    std::vector<VersionHealth> out;
    for (auto& [version, entry] : health) {
        auto& values = latencies[version];
        std::sort(values.begin(), values.end());
        entry.error_rate = static_cast<double>(entry.errors) / static_cast<double>(entry.requests);
        entry.p50_ms = percentile(values, 50);
        entry.p95_ms = percentile(values, 95);
        entry.p99_ms = percentile(values, 99);
        out.push_back(entry);
    }
    return out;
}

} // namespace mlo::monitor
