#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mlo/util/error.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace mlo::util {

// Runs task(i) for i in [0, count) on `threads` threads (0 = one per core), handing out indexes
// through an atomic counter so uneven tasks balance themselves. Stops handing out work after the
// first error and returns it; tasks already running finish.
inline Status parallel_for(size_t count, unsigned threads, const std::function<Status(size_t)>& task) {
    if (threads == 0)
        threads = std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(count, 1)));
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::optional<Error> first_error;
    auto work = [&] {
        for (;;) {
            size_t i = next.fetch_add(1);
            if (i >= count || failed.load())
                return;
            if (auto ok = task(i); !ok) {
                std::lock_guard lock(mutex);
                if (!first_error)
                    first_error = std::move(ok).error();
                failed = true;
                return;
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(work);
    work();
    for (auto& thread : pool)
        thread.join();
    if (first_error)
        return tl::unexpected<Error>(std::move(*first_error));
    return {};
}

} // namespace mlo::util
