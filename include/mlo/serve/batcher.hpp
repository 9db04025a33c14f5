#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mlo/serve/protocols.hpp>
#include <mlo/serve/worker_pool.hpp>
#include <mutex>
#include <thread>

namespace mlo::serve {

// What a request got back: the worker's result restricted to the request's own rows, and how long
// it waited in the batch queue.
struct BatchAnswer {
    WorkerResult result;
    double queue_seconds = 0;
};

struct BatchOptions {
    size_t max_size = 1;         // rows per worker call; 1 = every request goes alone
    double max_delay_ms = 5;     // how long the first request of a batch may wait for company
    double timeout_seconds = 30; // per worker call
    // Called once per worker call with its rows and requests (for the batch-size metrics).
    std::function<void(size_t rows, size_t requests)> on_batch;
};

// Dynamic batching: concurrent requests are grouped into one worker call and the answer is split
// back by row ranges. See batcher.cpp for the rules.
class Batcher {
  public:
    Batcher(WorkerPool& pool, BatchOptions options);
    ~Batcher(); // stops the dispatcher; requests still queued are answered with 503
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Queues `inputs` (validated columns); `done` is called exactly once, from another thread.
    void submit(Columns inputs, std::function<void(BatchAnswer)> done);

  private:
    struct Pending {
        Columns inputs;
        std::function<void(BatchAnswer)> done;
        std::chrono::steady_clock::time_point arrived;
    };
    void dispatch_loop();
    void send(std::vector<Pending> group);

    WorkerPool& m_pool;
    BatchOptions m_options;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Pending> m_queue;
    size_t m_queued_rows = 0;
    bool m_stopping = false;
    std::thread m_dispatcher;
};

} // namespace mlo::serve
