#pragma once

#include <atomic>
#include <chrono>
#include <mlo/util/progress.hpp>
#include <mutex>
#include <string>

namespace mlo::cli {

// Draws "phase: items/total, bytes, rate, ETA" on one stderr line, redrawn at most 10 times a
// second, only when stderr is a terminal and output is neither --json nor --quiet (SPEC.md 3).
// Nothing is drawn for work that finishes within the first second.
class ProgressLine : public util::ProgressSink {
  public:
    explicit ProgressLine(bool enabled) : m_enabled(enabled) {}
    void begin(const std::string& phase, uint64_t items_total, uint64_t bytes_total) override;
    void advance(uint64_t items, uint64_t bytes) override;
    void end() override;

  private:
    void draw(bool final);
    bool m_enabled;
    std::mutex m_mutex;
    std::string m_phase;
    uint64_t m_items_total = 0, m_bytes_total = 0;
    std::atomic<uint64_t> m_items{0}, m_bytes{0};
    std::chrono::steady_clock::time_point m_start, m_last_draw;
    bool m_drawn = false;
};

std::string human_bytes(uint64_t bytes);

} // namespace mlo::cli
