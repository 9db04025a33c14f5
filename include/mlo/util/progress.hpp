#pragma once

#include <cstdint>
#include <string>

namespace mlo::util {

// Where long-running library work reports how far it is. The CLI draws it on stderr when stderr is
// a terminal; everything else passes nullptr or a NullProgress. Implementations must be
// thread-safe: workers report from several threads.
class ProgressSink {
  public:
    virtual ~ProgressSink() = default;
    // Starts a phase ("hashing", "checking out") with the totals known so far (0 = unknown).
    virtual void begin(const std::string& phase, uint64_t items_total, uint64_t bytes_total) = 0;
    virtual void advance(uint64_t items, uint64_t bytes) = 0;
    virtual void end() = 0;
};

} // namespace mlo::util
