// The stored reference summary: what is encoded comes back whole, and damaged or foreign bytes are
// refused without touching the columns.
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mlo/monitor/reference_summary.hpp>
#include <mlo/util/file_io.hpp>

using namespace mlo::monitor;

namespace {

std::vector<ColumnState> sample_columns() {
    std::vector<ColumnState> columns(2);
    columns[0].name = "age";
    columns[0].kind = ColumnKind::numeric;
    columns[0].reference_numeric.values = {3, 1, 2, 2, 5.5, -0.25};
    columns[0].reference_numeric.missing = 4;
    columns[0].reference_numeric.finish();
    columns[1].name = "plan";
    columns[1].kind = ColumnKind::categorical;
    for (std::string_view value : {"basic", "pro", "basic", "a much longer category value"})
        columns[1].reference_categories.add(value);
    columns[1].reference_categories.add_missing();
    return columns;
}

std::vector<ColumnState> blank_columns() {
    std::vector<ColumnState> columns(2);
    columns[0].name = "age";
    columns[1].name = "plan";
    return columns;
}

ReferenceSummary sample_summary() {
    ReferenceSummary summary;
    summary.rows = 10;
    summary.performance.rows = 3;
    summary.performance.confusion.add("0", "1");
    summary.performance.confusion.add("1", "1");
    summary.performance.regression.add(3, 2.5);
    summary.performance.roc_truth = {"0", "1"};
    summary.performance.roc_scores = {0.25, 0.75};
    return summary;
}

// What store_reference_summary writes for `columns`.
std::string stored_bytes(const std::vector<ColumnState>& columns) {
    mlo::test::TempDir dir;
    store_reference_summary(dir.path(), "key", sample_summary(), columns);
    auto bytes = mlo::util::read_file(reference_summary_path(dir.path(), "key"));
    REQUIRE(bytes);
    return *bytes;
}

} // namespace

TEST_CASE("a stored reference summary decodes to what was written") {
    auto columns = sample_columns();
    std::string bytes = stored_bytes(columns);
    auto decoded = blank_columns();
    ReferenceSummary summary;
    REQUIRE(decode_reference_summary(bytes, summary, decoded));
    CHECK(summary.rows == 10);
    CHECK(summary.performance.rows == 3);
    CHECK(summary.performance.confusion.pairs == sample_summary().performance.confusion.pairs);
    CHECK(summary.performance.regression.absolute == 0.5);
    CHECK(summary.performance.roc_truth == std::vector<std::string>{"0", "1"});
    CHECK(summary.performance.roc_scores == std::vector<double>{0.25, 0.75});
    const auto& age = decoded[0].reference_numeric;
    CHECK(decoded[0].kind == ColumnKind::numeric);
    CHECK(age.distinct == columns[0].reference_numeric.distinct);
    CHECK(age.cumulative == columns[0].reference_numeric.cumulative);
    CHECK(age.display_edges == columns[0].reference_numeric.display_edges);
    CHECK(age.standard_deviation == columns[0].reference_numeric.standard_deviation);
    CHECK(age.count == 6);
    CHECK(age.missing == 4);
    CHECK(decoded[1].kind == ColumnKind::categorical);
    CHECK(decoded[1].reference_categories.counts == columns[1].reference_categories.counts);
    CHECK(decoded[1].reference_categories.total == 4);
    CHECK(decoded[1].reference_categories.missing == 1);
}

TEST_CASE("a damaged, truncated or foreign reference summary is refused and changes nothing") {
    std::string bytes = stored_bytes(sample_columns());
    auto refused = [](std::string_view candidate, std::vector<ColumnState> columns) {
        ReferenceSummary summary;
        summary.rows = 99;
        bool decoded = decode_reference_summary(candidate, summary, columns);
        return !decoded && summary.rows == 99 && columns[0].reference_numeric.distinct.empty() &&
               columns[1].reference_categories.counts.empty();
    };
    for (size_t at : {bytes.size() / 2, bytes.size() - 1, size_t{60}}) {
        std::string flipped = bytes;
        flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
        CHECK(refused(flipped, blank_columns()));
    }
    CHECK(refused(bytes.substr(0, bytes.size() - 8), blank_columns()));
    CHECK(refused(bytes + "x", blank_columns()));
    CHECK(refused("", blank_columns()));
    auto renamed = blank_columns();
    renamed[1].name = "tier";
    CHECK(refused(bytes, std::move(renamed)));
    auto fewer = blank_columns();
    fewer.pop_back();
    ReferenceSummary summary;
    CHECK_FALSE(decode_reference_summary(bytes, summary, fewer));
}

TEST_CASE("no summary key for a file changed just now, or missing") {
    mlo::test::TempDir dir;
    auto path = dir.path() / "reference.csv";
    std::ofstream(path) << "a\n1\n";
    CHECK(reference_summary_key(path, "settings").empty()); // written this instant
    auto old = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(5);
    std::filesystem::last_write_time(path, old);
    // Setting the time changed the inode's change time just now: still too fresh.
    CHECK(reference_summary_key(path, "settings").empty());
    CHECK(reference_summary_key(dir.path() / "missing.csv", "settings").empty());
}
