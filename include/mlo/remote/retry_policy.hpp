#pragma once

#include <chrono>
#include <cstdint>

namespace mlo::remote {

// How a failed request is classified.
enum class Outcome {
    success,
    retry,   // worth another attempt: 5xx, 429, a dropped or refused connection, a timeout
    give_up, // will fail the same way again: 4xx (bad credentials, missing object...)
};

// Classifies an HTTP status (0 = no response: a transport error).
Outcome classify_http_status(long status);

// Exponential backoff with full jitter (AWS's recommendation): attempt n (0-based) waits a random
// time in [0, min(max_delay, base_delay * 2^n)], so parallel clients that failed together do not
// retry together. After `max_attempts` attempts the last error stands.
struct RetryPolicy {
    int max_attempts = 6;
    std::chrono::milliseconds base_delay{100};
    std::chrono::milliseconds max_delay{5000};

    bool should_retry(int attempts_made, Outcome outcome) const {
        return outcome == Outcome::retry && attempts_made < max_attempts;
    }
    // The ceiling of the wait before attempt `attempt` + 1 (the jitter draws below it).
    std::chrono::milliseconds ceiling(int attempt) const;
    // A jittered wait: `random01` in [0, 1) scales the ceiling.
    std::chrono::milliseconds delay(int attempt, double random01) const;
};

} // namespace mlo::remote
