#pragma once

#include <functional>
#include <memory>
#include <mlo/serve/protocols.hpp>
#include <mlo/serve/worker_pool.hpp>

namespace mlo::serve {

// What a request got back: the worker's result restricted to the request's own rows, and how long
// it waited in the batch queue.
struct BatchAnswer {
    WorkerResult result;
    double queue_seconds = 0;
};

struct BatchOptions {
    size_t max_size = 1; // rows per worker call; 1 = every request goes alone
    // The longest a request waits for company while every worker is busy (a request that finds a
    // worker idle goes at once). 0 = never wait: send whatever is queued as soon as it arrives.
    double max_delay_ms = 5;
    double timeout_seconds = 30; // per worker call
    // Called once per worker call with its rows and requests (for the batch-size metrics).
    std::function<void(size_t rows, size_t requests)> on_batch;
};

// Dynamic batching: concurrent requests are grouped into one worker call and the answer is split
// back by row ranges. See batcher.cpp for the rules.
class Batcher {
  public:
    Batcher(WorkerPool& pool, BatchOptions options);
    // Stops the delay timer; requests still queued are answered with 503. Batches already sent are
    // answered by the pool (which the Batcher may die before).
    ~Batcher();
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Queues `inputs` (validated columns); `done` is called exactly once, possibly on the caller's
    // thread (a worker that cannot take the request, a Batcher being destroyed) but usually later
    // from the pool's thread.
    void submit(Columns inputs, std::function<void(BatchAnswer)> done);

    struct State; // shared with the callbacks of batches in flight (batcher.cpp)

  private:
    std::shared_ptr<State> m_state;
};

} // namespace mlo::serve
