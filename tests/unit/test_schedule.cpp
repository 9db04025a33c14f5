#include <catch2/catch.hpp>
#include <mlo/core/schedule.hpp>

using mlo::ErrorCode;
using namespace mlo::core;

TEST_CASE("schedule intervals", "[schedule]") {
    CHECK(*parse_interval("15m") == 900);
    CHECK(*parse_interval("1h") == 3600);
    CHECK(*parse_interval("2d") == 172800);
    CHECK(*parse_interval("30s") == 30);
    for (const char* bad : {"", "h", "0h", "1w", "-1h", "1.5h", "99999999999h"}) {
        auto parsed = parse_interval(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == ErrorCode::usage);
    }
}

TEST_CASE("schedule names come from the command or --name", "[schedule]") {
    auto spec = make_schedule("churn", "/p", "", "mlo monitor check --json", "1h");
    REQUIRE(spec);
    CHECK(spec->name == "monitor-check-json");
    CHECK(schedule_unit_name(*spec) == "mlo-churn-monitor-check-json");
    CHECK_FALSE(make_schedule("churn", "/p", "bad name", "x", "1h"));
    CHECK_FALSE(make_schedule("churn", "/p", "", "a\nb", "1h"));
    CHECK_FALSE(make_schedule("churn", "/p", "", "  ", "1h"));
}

TEST_CASE("systemd units escape what systemd would expand", "[schedule]") {
    auto spec = make_schedule("churn", "/home/me/100%", "t", R"(echo "a\b" $HOME 50%)", "1h");
    REQUIRE(spec);
    std::string service = render_systemd_service(*spec);
    CHECK(service.find(R"(ExecStart=/bin/sh -c "echo \"a\\b\" $$HOME 50%%")") != std::string::npos);
    CHECK(service.find("WorkingDirectory=/home/me/100%%\n") != std::string::npos);
    std::string timer = render_systemd_timer(*spec);
    CHECK(timer.find("OnUnitActiveSec=3600s") != std::string::npos);
    CHECK(timer.find("Unit=mlo-churn-t.service") != std::string::npos);
}

TEST_CASE("cron entries: exact intervals only, % escaped, directory quoted", "[schedule]") {
    auto spec = make_schedule("churn", "/home/me/it's", "t", "date +%s", "6h");
    REQUIRE(spec);
    auto entry = render_cron_entry(*spec);
    REQUIRE(entry);
    CHECK(entry->find("0 */6 * * * cd '/home/me/it'\\''s' && date +\\%s\n") != std::string::npos);
    CHECK(entry->rfind("# mlo-schedule mlo-churn-t every=6h: date +%s\n", 0) == 0);
    for (const char* bad : {"7m", "5h", "2d", "30s"}) {
        auto odd = make_schedule("churn", "/p", "t", "x", bad);
        REQUIRE(odd);
        CHECK_FALSE(render_cron_entry(*odd));
    }
}
