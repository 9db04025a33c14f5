// The HTML report: one file with inline CSS and SVG, no script and no external resource, so it can
// be attached to a CI run or mailed. Columns are drawn from their binned shares (the report never
// sees a raw row): reference and current bars overlaid with transparency, on a shared scale.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <mlo/monitor/report_render.hpp>
#include <mlo/util/html.hpp>

namespace mlo::monitor {

namespace {

std::string format_score(const std::optional<double>& value) {
    return value ? fmt::format("{:.6g}", *value) : "—";
}

std::string status_cell(const std::string& status) {
    return fmt::format("<td class=\"status {}\">{}</td>", status, status);
}

std::string histogram_svg(const ColumnReport& column) {
    const auto& h = column.histogram;
    if (h.labels.empty())
        return {};
    constexpr double width = 560, height = 180, left = 40, bottom = 40, top = 10;
    double peak = 0;
    for (size_t i = 0; i < h.labels.size(); ++i)
        peak = std::max({peak, h.reference[i], h.current[i]});
    if (peak <= 0)
        peak = 1;
    double plot_width = width - left - 10, plot_height = height - bottom - top;
    double bar = plot_width / static_cast<double>(h.labels.size());
    std::string svg =
        fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
                    "aria-label=\"{} reference and current distribution\">",
                    width, height, util::escape_html(column.name));
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>", left,
                       top + plot_height, left + plot_width, top + plot_height);
    svg += fmt::format("<text x=\"2\" y=\"{}\" font-size=\"10\">{:.0f}%</text>", top + 8, peak * 100);
    for (size_t i = 0; i < h.labels.size(); ++i) {
        double x = left + bar * static_cast<double>(i);
        for (auto [share, colour] :
             {std::pair{h.reference[i], "#1f77b4"}, std::pair{h.current[i], "#ff7f0e"}}) {
            double bar_height = share / peak * plot_height;
            svg +=
                fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                            "fill-opacity=\"0.55\"><title>{}: {:.2f}%</title></rect>",
                            x + 1, top + plot_height - bar_height, std::max(bar - 2, 1.0), bar_height, colour,
                            util::escape_html(h.labels[i]), share * 100);
        }
        // Label every bin when they fit, else every k-th.
        size_t every = std::max<size_t>(1, h.labels.size() / 8);
        if (i % every == 0)
            svg += fmt::format(
                "<text x=\"{:.1f}\" y=\"{}\" font-size=\"9\" transform=\"rotate(20 {:.1f} {})\">{}</text>",
                x + 2, top + plot_height + 12, x + 2, top + plot_height + 12,
                util::escape_html(h.labels[i].size() > 24 ? h.labels[i].substr(0, 24) + "…" : h.labels[i]));
    }
    svg += "</svg>";
    return svg;
}

constexpr const char* k_style = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
.status{font-weight:bold}.SUCCESS{color:#1a7f37}.FAIL,.ERROR{color:#cf222e}.WARNING{color:#9a6700}.SKIPPED{color:#666}
.legend span{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em;opacity:.55}
.column{margin:1em 0 2em}.small{color:#666;font-size:.9em}
)";

} // namespace

std::string report_html(const CheckReport& report) {
    std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
    html += fmt::format("<title>mlo monitor: {}</title><style>{}</style></head><body>",
                        util::escape_html(report.model.empty() ? report.current : report.model), k_style);
    html += fmt::format("<h1>mlo monitor{}</h1>",
                        report.model.empty() ? "" : ": " + util::escape_html(report.model));
    std::string verdict = report.all_passed() ? "SUCCESS" : "FAIL";
    html += fmt::format("<p class=\"status {}\">{}</p>", verdict,
                        report.all_passed() ? "All gates passed"
                                            : "A gate failed or a column could not be tested");
    html += fmt::format("<p class=\"small\">Reference: {} ({} rows). Current: {} ({} rows).</p>",
                        util::escape_html(report.reference), report.reference_rows,
                        util::escape_html(report.current), report.current_rows);

    html += "<h2>Tests</h2><table><tr><th>test</th><th>status</th><th>detail</th></tr>";
    for (const auto& test : report.tests)
        html += fmt::format("<tr><td>{}</td>{}<td>{}</td></tr>", util::escape_html(test.name),
                            status_cell(status_name(test.status)), util::escape_html(test.description));
    html += "</table>";

    html += "<h2>Drift</h2>";
    html += fmt::format("<p>{} of {} features drifted; dataset drift when the share reaches {:.3g}.</p>",
                        report.drifted_features, report.tested_features, report.drift_share_threshold);
    html +=
        "<table><tr><th>column</th><th>type</th><th>method</th><th>score</th><th>threshold</th><th>drift</th>"
        "<th>n_ref</th><th>n_cur</th><th>n_unique</th><th>missing</th></tr>";
    for (const auto& c : report.columns)
        html += fmt::format(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.6g}</td>{}<td>{}</td><td>{}</td>"
            "<td>{}{}</td><td>{:.2f}%</td></tr>",
            util::escape_html(c.name), c.is_prediction ? " (prediction)" : "",
            c.kind == ColumnKind::numeric ? "numeric" : "categorical", util::escape_html(c.method),
            format_score(c.score), c.threshold,
            status_cell(!c.error.empty() ? "ERROR"
                        : c.drifted      ? "WARNING"
                                         : "SUCCESS"),
            c.n_ref, c.n_cur, c.n_unique, c.n_unique_exact ? "" : "+", c.missing_share * 100);
    html += "</table>";
    html += "<p class=\"legend\"><span style=\"background:#1f77b4\"></span>reference"
            "<span style=\"background:#ff7f0e\"></span>current</p>";
    for (const auto& c : report.columns) {
        html += fmt::format("<div class=\"column\"><h3>{}</h3>", util::escape_html(c.name));
        if (!c.error.empty())
            html += fmt::format("<p class=\"status ERROR\">{}</p>", util::escape_html(c.error));
        else
            html += fmt::format("<p class=\"small\">{} = {} (threshold {:.6g})</p>",
                                util::escape_html(c.method), format_score(c.score), c.threshold) +
                    histogram_svg(c);
        html += "</div>";
    }

    html += "<h2>Performance</h2>";
    if (report.metrics.empty()) {
        html += "<p class=\"small\">No performance gates configured (monitor.performance).</p>";
    } else {
        html += fmt::format("<p class=\"small\">{} labelled rows.</p>", report.labelled_rows);
        html +=
            "<table><tr><th>metric</th><th>current</th><th>reference</th><th>gate</th><th>status</th></tr>";
        for (const auto& m : report.metrics)
            html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                                util::escape_html(m.metric), format_score(m.value),
                                format_score(m.reference_value), util::escape_html(m.condition),
                                status_cell(status_name(m.status)));
        html += "</table>";
    }

    html += "<h2>Health</h2>";
    if (report.health.empty()) {
        html += "<p class=\"small\">No serve log was read (the current data came from a file).</p>";
    } else {
        html +=
            "<table><tr><th>version</th><th>requests</th><th>errors</th><th>error rate</th><th>p50 ms</th>"
            "<th>p95 ms</th><th>p99 ms</th></tr>";
        for (const auto& v : report.health)
            html += fmt::format(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}%</td><td>{:.3g}</td><td>{:.3g}</td>"
                "<td>{:.3g}</td></tr>",
                util::escape_html(v.version), v.requests, v.errors, v.error_rate * 100, v.p50_ms, v.p95_ms,
                v.p99_ms);
        html += "</table>";
    }
    html += "</body></html>\n";
    return html;
}

} // namespace mlo::monitor
