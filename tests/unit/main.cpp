#define CATCH_CONFIG_MAIN
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

namespace mlo::test {
bool g_current_case_failed = false;

// Remembers whether the running test case has a failed assertion, so TempDir can keep its folder.
struct FailureListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    void testCaseStarting(const Catch::TestCaseInfo&) override { g_current_case_failed = false; }
    bool assertionEnded(const Catch::AssertionStats& stats) override {
        if (!stats.assertionResult.isOk())
            g_current_case_failed = true;
        return true;
    }
};
} // namespace mlo::test

// Catch2 2.13 pastes the argument into a name, so it must be unqualified.
using mlo::test::FailureListener;
CATCH_REGISTER_LISTENER(FailureListener)
