#pragma once

#include <chrono>
#include <cstdint>

namespace mlo::util {

// Wall-clock time in nanoseconds since the Unix epoch (run records, stat cache stamps).
inline int64_t unix_time_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace mlo::util
