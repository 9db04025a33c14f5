#include <algorithm>
#include <cmath>
#include <fmt/core.h>
#include <mlo/runs/run_compare.hpp>
#include <mlo/util/html.hpp>
#include <set>

namespace mlo::runs {

std::string format_number(double value) {
    if (std::isnan(value))
        return "nan";
    return fmt::format("{:.6g}", value);
}

std::vector<ComparisonRow> compare_runs(const std::vector<RunRecord>& runs) {
    std::set<std::string> param_keys, metric_keys;
    for (const auto& run : runs) {
        for (const auto& [key, value] : run.params)
            param_keys.insert(key);
        for (const auto& [key, value] : run.metrics)
            metric_keys.insert(key);
    }
    std::vector<ComparisonRow> rows;
    auto add_rows = [&](const std::set<std::string>& keys, const std::string& prefix, auto get) {
        for (const auto& key : keys) {
            ComparisonRow row;
            row.key = prefix + key;
            for (const auto& run : runs)
                row.values.push_back(get(run, key));
            for (size_t i = 1; i < row.values.size(); ++i)
                row.differs = row.differs || row.values[i] != row.values[0];
            rows.push_back(std::move(row));
        }
    };
    add_rows(param_keys, "params.",
             [](const RunRecord& run, const std::string& key) -> std::optional<std::string> {
                 auto it = run.params.find(key);
                 return it == run.params.end() ? std::nullopt : std::optional<std::string>(it->second);
             });
    add_rows(metric_keys, "metrics.",
             [](const RunRecord& run, const std::string& key) -> std::optional<std::string> {
                 auto it = run.metrics.find(key);
                 return it == run.metrics.end() ? std::nullopt
                                                : std::optional<std::string>(format_number(it->second));
             });
    return rows;
}

RunDiff diff_runs(const RunRecord& old_run, const RunRecord& new_run) {
    RunDiff diff;
    diff.old_id = old_run.id;
    diff.new_id = new_run.id;
    diff.old_commit = old_run.git_commit;
    diff.new_commit = new_run.git_commit;
    diff.old_dirty = old_run.git_dirty;
    diff.new_dirty = new_run.git_dirty;
    auto compare_maps = [](const auto& a, const auto& b, auto show, std::vector<RunDiff::Change>& out) {
        std::set<std::string> keys;
        for (const auto& [key, value] : a)
            keys.insert(key);
        for (const auto& [key, value] : b)
            keys.insert(key);
        for (const auto& key : keys) {
            auto ia = a.find(key);
            auto ib = b.find(key);
            std::string va = ia == a.end() ? "" : show(ia->second);
            std::string vb = ib == b.end() ? "" : show(ib->second);
            if (va != vb)
                out.push_back({key, va, vb});
        }
    };
    compare_maps(
        old_run.params, new_run.params, [](const std::string& v) { return v; }, diff.params);
    compare_maps(
        old_run.metrics, new_run.metrics, [](double v) { return format_number(v); }, diff.metrics);
    auto collect = [](const RunRecord& run, bool deps) {
        std::map<std::string, std::string> out;
        for (const auto& stage : run.stages)
            for (const auto& item : deps ? stage.deps : stage.outs)
                out[item.path] = item.id.str();
        return out;
    };
    // Data: deps that are not outs of the same run are the run's inputs.
    auto old_deps = collect(old_run, true), new_deps = collect(new_run, true);
    auto old_outs = collect(old_run, false), new_outs = collect(new_run, false);
    for (const auto& [path, id] : old_outs)
        old_deps.erase(path);
    for (const auto& [path, id] : new_outs)
        new_deps.erase(path);
    auto short_id = [](const std::string& id) { return id.substr(0, std::min<size_t>(id.size(), 19)); };
    compare_maps(old_deps, new_deps, short_id, diff.data);
    compare_maps(old_outs, new_outs, short_id, diff.outs);
    return diff;
}

namespace {

const char* k_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// One line chart: x = step, y = value, a polyline per run.
std::string line_chart(const std::string& key, const std::vector<RunRecord>& runs) {
    constexpr double width = 560, height = 300, left = 60, right = 20, top = 30, bottom = 40;
    double min_x = INFINITY, max_x = -INFINITY, min_y = INFINITY, max_y = -INFINITY;
    std::vector<std::vector<std::pair<double, double>>> series(runs.size());
    for (size_t r = 0; r < runs.size(); ++r) {
        for (const auto& step : runs[r].step_metrics) {
            if (step.key != key || !std::isfinite(step.value))
                continue;
            series[r].emplace_back(static_cast<double>(step.step), step.value);
            min_x = std::min(min_x, static_cast<double>(step.step));
            max_x = std::max(max_x, static_cast<double>(step.step));
            min_y = std::min(min_y, step.value);
            max_y = std::max(max_y, step.value);
        }
        std::sort(series[r].begin(), series[r].end());
    }
    if (!std::isfinite(min_x))
        return "";
    if (max_x == min_x)
        max_x = min_x + 1;
    if (max_y == min_y) {
        max_y += 0.5;
        min_y -= 0.5;
    }
    auto sx = [&](double x) { return left + (x - min_x) / (max_x - min_x) * (width - left - right); };
    auto sy = [&](double y) {
        return height - bottom - (y - min_y) / (max_y - min_y) * (height - top - bottom);
    };
    std::string svg = fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)", width, height);
    svg += fmt::format(R"(<title>{}</title><text x="{}" y="18" font-weight="bold">{}</text>)",
                       util::escape_html(key), left, util::escape_html(key));
    svg += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#888"/>)", left, height - bottom,
                       width - right);
    svg += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#888"/>)", left, top,
                       height - bottom);
    for (int i = 0; i <= 4; ++i) {
        double y = min_y + (max_y - min_y) * i / 4;
        svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>)", left - 4,
                           sy(y) + 4, format_number(y));
        double x = min_x + (max_x - min_x) * i / 4;
        svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>)", sx(x),
                           height - bottom + 16, format_number(x));
    }
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">step</text>)",
                       (left + width - right) / 2, height - 6);
    for (size_t r = 0; r < series.size(); ++r) {
        if (series[r].empty())
            continue;
        std::string points;
        for (const auto& [x, y] : series[r])
            points += fmt::format("{:.1f},{:.1f} ", sx(x), sy(y));
        svg += fmt::format(
            R"(<polyline fill="none" stroke-width="2" stroke="{}" points="{}"><title>{}</title></polyline>)",
            k_colors[r % 10], points, util::escape_html(runs[r].id));
    }
    svg += "</svg>";
    return svg;
}

} // namespace

std::string comparison_html(const std::vector<RunRecord>& runs) {
    std::string html =
        R"(<!DOCTYPE html><html><head><meta charset="utf-8"><title>mlo runs compare</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
tr.diff td{background:#fff3cd}.charts{display:flex;flex-wrap:wrap;gap:1em}.key{display:inline-block;width:12px;height:12px;margin-right:4px}
</style></head><body><h1>Run comparison</h1>)";
    html += "<p>";
    for (size_t r = 0; r < runs.size(); ++r)
        html +=
            fmt::format(R"(<span class="key" style="background:{}"></span>{} ({}) &nbsp; )", k_colors[r % 10],
                        util::escape_html(runs[r].id), util::escape_html(runs[r].status));
    html += "</p><h2>Parameters and final metrics</h2><table><tr><th>key</th>";
    for (const auto& run : runs)
        html += "<th>" + util::escape_html(run.id) + "</th>";
    html += "</tr>";
    for (const auto& row : compare_runs(runs)) {
        html += row.differs ? R"(<tr class="diff">)" : "<tr>";
        html += "<td>" + util::escape_html(row.key) + "</td>";
        for (const auto& value : row.values)
            html += "<td>" + util::escape_html(value.value_or("")) + "</td>";
        html += "</tr>";
    }
    html += "</table>";
    std::set<std::string> step_keys;
    for (const auto& run : runs)
        for (const auto& step : run.step_metrics)
            step_keys.insert(step.key);
    if (!step_keys.empty()) {
        html += R"(<h2>Step metrics</h2><div class="charts">)";
        for (const auto& key : step_keys)
            html += "<figure>" + line_chart(key, runs) + "</figure>";
        html += "</div>";
    }
    html += "</body></html>\n";
    return html;
}

} // namespace mlo::runs
