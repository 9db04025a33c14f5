// Dynamic batching.
//
// Models score a batch of rows for little more than the cost of one row (vectorised numpy,
// one Python call instead of many), so under concurrent load the server groups requests: the
// first request to arrive opens a batch and waits at most max_delay_ms; requests arriving
// meanwhile join it until it holds max_size rows; then the whole group goes to a worker as one
// call. A request is never split across calls, so a single request larger than max_size goes
// alone. The dispatcher does not wait for the answer: it hands the call to the worker pool and
// opens the next batch at once, so several batches can be in flight on different workers. When
// the answer comes, each request gets its own row range of every output column.
//
// With max_size 1 there is no queue and no dispatcher thread: requests go straight to the pool,
// adding nothing to their latency.

#include <mlo/serve/batcher.hpp>

namespace mlo::serve {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

Batcher::Batcher(WorkerPool& pool, BatchOptions options) : m_pool(pool), m_options(std::move(options)) {
    if (m_options.max_size > 1)
        m_dispatcher = std::thread([this] { dispatch_loop(); });
}

Batcher::~Batcher() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_dispatcher.joinable())
        m_dispatcher.join();
    for (auto& pending : m_queue) {
        WorkerResult result;
        result.status = 503;
        result.error = "server shutting down";
        pending.done(BatchAnswer{std::move(result), seconds_since(pending.arrived)});
    }
}

void Batcher::submit(Columns inputs, std::function<void(BatchAnswer)> done) {
    auto arrived = std::chrono::steady_clock::now();
    if (m_options.max_size <= 1) {
        size_t rows = inputs.rows;
        if (m_options.on_batch)
            m_options.on_batch(rows, 1);
        m_pool.submit(
            std::move(inputs.columns),
            [done = std::move(done), arrived](WorkerResult result) {
                double total = seconds_since(arrived);
                double queue = std::max(0.0, total - result.compute_seconds);
                done(BatchAnswer{std::move(result), queue});
            },
            m_options.timeout_seconds);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) {
            WorkerResult result;
            result.status = 503;
            result.error = "server shutting down";
            done(BatchAnswer{std::move(result), 0});
            return;
        }
        m_queued_rows += inputs.rows;
        m_queue.push_back(Pending{std::move(inputs), std::move(done), arrived});
    }
    m_wake.notify_one();
}

void Batcher::dispatch_loop() {
    auto delay = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double, std::milli>(m_options.max_delay_ms));
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_stopping)
            return;
        // The batch opened when its first request arrived; wait until it is full or due.
        auto deadline = m_queue.front().arrived + delay;
        m_wake.wait_until(lock, deadline, [&] { return m_stopping || m_queued_rows >= m_options.max_size; });
        if (m_stopping)
            return;
        std::vector<Pending> group;
        size_t rows = 0;
        while (!m_queue.empty()) {
            size_t next = m_queue.front().inputs.rows;
            if (!group.empty() && rows + next > m_options.max_size)
                break;
            rows += next;
            m_queued_rows -= next;
            group.push_back(std::move(m_queue.front()));
            m_queue.pop_front();
        }
        lock.unlock();
        send(std::move(group));
        lock.lock();
    }
}

void Batcher::send(std::vector<Pending> group) {
    std::vector<const Columns*> parts;
    for (const auto& pending : group)
        parts.push_back(&pending.inputs);
    Columns merged = group.size() == 1 ? std::move(group.front().inputs) : concat_columns(parts);
    if (m_options.on_batch)
        m_options.on_batch(merged.rows, group.size());
    auto dispatched = std::chrono::steady_clock::now();
    // The callback owns the group: each request's row range and reply function.
    struct Slot {
        size_t begin, end;
        std::function<void(BatchAnswer)> done;
        double queue_seconds;
    };
    std::vector<Slot> slots;
    size_t begin = 0;
    for (auto& pending : group) {
        size_t rows = group.size() == 1 ? merged.rows : pending.inputs.rows;
        slots.push_back(Slot{begin, begin + rows, std::move(pending.done),
                             std::chrono::duration<double>(dispatched - pending.arrived).count()});
        begin += rows;
    }
    size_t total_rows = merged.rows;
    m_pool.submit(
        std::move(merged.columns),
        [slots = std::move(slots), total_rows](WorkerResult result) mutable {
            // A batch answer that does not have one value per row cannot be split back.
            if (result.ok && slots.size() > 1) {
                bool whole = result.outputs.is_object();
                if (whole)
                    for (const auto& column : result.outputs)
                        whole = whole && column.is_array() && column.size() == total_rows;
                if (!whole) {
                    result.ok = false;
                    result.status = 500;
                    result.error = "the worker's outputs do not have one value for each of the batch's " +
                                   std::to_string(total_rows) + " rows";
                }
            }
            for (auto& slot : slots) {
                WorkerResult own;
                own.ok = result.ok;
                own.status = result.status;
                own.error = result.error;
                own.compute_seconds = result.compute_seconds;
                if (result.ok)
                    own.outputs = slots.size() == 1 ? result.outputs
                                                    : slice_columns(result.outputs, slot.begin, slot.end);
                slot.done(BatchAnswer{std::move(own), slot.queue_seconds});
            }
        },
        m_options.timeout_seconds);
}

} // namespace mlo::serve
