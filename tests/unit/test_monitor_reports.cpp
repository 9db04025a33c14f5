// The three renderings of a check: JSON fields, Prometheus escaping, HTML escaping and no raw rows.
#include <catch2/catch.hpp>
#include <mlo/monitor/report_render.hpp>

using namespace mlo::monitor;

namespace {

CheckReport sample_report() {
    CheckReport report;
    report.model = "churn";
    report.reference = "ref.csv";
    report.current = "cur.csv";
    report.reference_rows = 10;
    report.current_rows = 20;
    ColumnReport plan;
    plan.name = "plan \"<b>\"\n";
    plan.kind = ColumnKind::categorical;
    plan.method = "chisquare";
    plan.threshold = 0.05;
    plan.score = 0.01;
    plan.drifted = true;
    plan.n_ref = 10;
    plan.n_cur = 20;
    plan.n_unique = 2;
    plan.histogram = Histogram{{"<script>alert(1)</script>", "b"}, {0.5, 0.5}, {0.9, 0.1}};
    report.columns.push_back(plan);
    ColumnReport empty;
    empty.name = "age";
    empty.method = "ks";
    empty.error = "the current data has no values in 'age' (20 rows, all missing)";
    report.columns.push_back(empty);
    report.tested_features = 1;
    report.drifted_features = 1;
    report.dataset_drift = true;
    report.tests = {{"drift:plan", TestStatus::warning, "d"},
                    {"drift:age", TestStatus::error, "e"},
                    {"dataset_drift", TestStatus::fail, "f"}};
    report.health = {VersionHealth{"v1", 10, 1, 0.1, 1, 2, 3}};
    return report;
}

} // namespace

TEST_CASE("JSON: summary counts by status, columns with their fields, null scores") {
    auto json = report_json(sample_report());
    CHECK(json["summary"]["all_passed"] == false);
    CHECK(json["summary"]["counts"]["WARNING"] == 1);
    CHECK(json["summary"]["counts"]["ERROR"] == 1);
    CHECK(json["summary"]["counts"]["FAIL"] == 1);
    CHECK(json["summary"]["counts"]["SUCCESS"] == 0);
    CHECK(json["summary"]["counts"]["SKIPPED"] == 0);
    CHECK(json["columns"][0]["method"] == "chisquare");
    CHECK(json["columns"][0]["status"] == "WARNING");
    CHECK(json["columns"][1]["score"].is_null());
    CHECK(json["columns"][1]["status"] == "ERROR");
    CHECK(json["dataset_drift"]["share"] == 1.0);
    CHECK(json["health"][0]["latency_ms"]["p99"] == 3.0);
}

TEST_CASE("Prometheus: label values escaped, errored columns without a score") {
    auto text = report_prometheus(sample_report());
    CHECK(
        text.find(
            "mlo_monitor_feature_drift_score{feature=\"plan \\\"<b>\\\"\\n\",method=\"chisquare\"} 0.01\n") !=
        std::string::npos);
    CHECK(text.find("mlo_monitor_feature_drift_score{feature=\"age\"") == std::string::npos);
    CHECK(text.find("mlo_monitor_dataset_drift 1\n") != std::string::npos);
    CHECK(text.find("mlo_monitor_latency_ms{version=\"v1\",quantile=\"0.99\"} 3\n") != std::string::npos);
    CHECK(text.find("# TYPE mlo_monitor_requests_total counter\n") != std::string::npos);
}

TEST_CASE("HTML: self-contained, every text escaped") {
    auto html = report_html(sample_report());
    CHECK(html.find("<script") == std::string::npos); // a category named <script> stays text
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("plan &quot;&lt;b&gt;&quot;") != std::string::npos);
    CHECK(html.find("<svg") != std::string::npos);
    // The only URL is the SVG namespace name, which is never fetched.
    std::string without_namespace = html;
    for (size_t at; (at = without_namespace.find("http://www.w3.org/2000/svg")) != std::string::npos;)
        without_namespace.erase(at, 26);
    CHECK(without_namespace.find("http") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos); // nothing loaded from elsewhere
    CHECK(html.find("the current data has no values in &#39;age&#39;") != std::string::npos);
}
