#include <mlo/monitor/check_report.hpp>

namespace mlo::monitor {

std::string status_name(TestStatus status) {
    switch (status) {
    case TestStatus::success:
        return "SUCCESS";
    case TestStatus::fail:
        return "FAIL";
    case TestStatus::warning:
        return "WARNING";
    case TestStatus::error:
        return "ERROR";
    case TestStatus::skipped:
        return "SKIPPED";
    }
    return "ERROR";
}

bool CheckReport::all_passed() const {
    return count(TestStatus::fail) == 0 && count(TestStatus::error) == 0;
}

uint64_t CheckReport::count(TestStatus status) const {
    uint64_t n = 0;
    for (const auto& test : tests)
        n += test.status == status ? 1 : 0;
    return n;
}

} // namespace mlo::monitor
