#include "progress_line.hpp"

#include <fmt/core.h>

namespace mlo::cli {

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

void ProgressLine::begin(const std::string& phase, uint64_t items_total, uint64_t bytes_total) {
    if (!m_enabled)
        return;
    std::lock_guard lock(m_mutex);
    m_phase = phase;
    m_items_total = items_total;
    m_bytes_total = bytes_total;
    m_items = 0;
    m_bytes = 0;
    m_start = m_last_draw = std::chrono::steady_clock::now();
    m_drawn = false;
}

void ProgressLine::advance(uint64_t items, uint64_t bytes) {
    if (!m_enabled)
        return;
    m_items += items;
    m_bytes += bytes;
    auto now = std::chrono::steady_clock::now();
    if (now - m_start < std::chrono::seconds(1) || now - m_last_draw < std::chrono::milliseconds(100))
        return;
    std::unique_lock lock(m_mutex, std::try_to_lock);
    if (lock.owns_lock())
        draw(false);
}

void ProgressLine::end() {
    if (!m_enabled)
        return;
    std::lock_guard lock(m_mutex);
    if (m_drawn)
        draw(true);
}

void ProgressLine::draw(bool final) {
    auto now = std::chrono::steady_clock::now();
    m_last_draw = now;
    m_drawn = true;
    double seconds = std::chrono::duration<double>(now - m_start).count();
    uint64_t items = m_items, bytes = m_bytes;
    double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
    std::string eta;
    if (!final && rate > 0 && m_bytes_total > bytes)
        eta = fmt::format(", ETA {:.0f}s", static_cast<double>(m_bytes_total - bytes) / rate);
    fmt::print(stderr, "\r\033[K{}: {}/{} files, {} of {}, {}/s{}{}", m_phase, items, m_items_total,
               human_bytes(bytes), human_bytes(m_bytes_total), human_bytes(static_cast<uint64_t>(rate)), eta,
               final ? "\n" : "");
    std::fflush(stderr);
}

} // namespace mlo::cli
