#include <algorithm>
#include <mlo/remote/retry_policy.hpp>

namespace mlo::remote {

Outcome classify_http_status(long status) {
    if (status >= 200 && status < 300)
        return Outcome::success;
    // No response at all (connection refused, reset, timed out), throttling, server errors, and
    // 408 (the server timed the request out): all transient.
    if (status == 0 || status == 408 || status == 429 || status >= 500)
        return Outcome::retry;
    return Outcome::give_up;
}

std::chrono::milliseconds RetryPolicy::ceiling(int attempt) const {
    auto delay = base_delay;
    for (int i = 0; i < attempt && delay < max_delay; ++i)
        delay *= 2;
    return std::min(delay, max_delay);
}

std::chrono::milliseconds RetryPolicy::delay(int attempt, double random01) const {
    random01 = std::clamp(random01, 0.0, 1.0);
    return std::chrono::milliseconds(
        static_cast<long long>(static_cast<double>(ceiling(attempt).count()) * random01));
}

} // namespace mlo::remote
