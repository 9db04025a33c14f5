// Dynamic batching.
//
// Models score a batch of rows for little more than the cost of one row (vectorised numpy, one
// Python call instead of many), so under concurrent load the server groups requests. The rule is
// adaptive, the one of most serving systems: a batch is what accumulated while the workers were
// busy. A request that finds a worker free is sent at once, alone if nothing else is waiting, so a
// lightly loaded server adds no delay at all. Only while every worker has a batch of ours does a
// request wait in the queue; the moment a batch is answered, its callback (on the pool's thread)
// sends whatever queued meanwhile, up to max_size rows, as the next batch. The busier the
// workers, the larger the batches, with no timer in the path.
//
// max_delay_ms bounds that wait: a worker stuck on a long batch must not hold the queue, so a
// request queued for max_delay_ms is sent anyway (the pool pipelines it into the least-busy
// worker's stdin), and so is a queue that already holds max_size rows, since it cannot grow. A
// timer thread enforces the bound. It ticks only while batches are in flight (every max_delay_ms,
// at least 1 ms apart) and sleeps otherwise; it is woken only when a request is queued while it
// sleeps, so it costs no context switch per request.
//
// Fewer thread handoffs: nothing waits for a dispatcher thread. submit sends from the caller's
// thread (the HTTP thread) and an answered batch sends the next one from the pool's thread, and
// the pool writes the request line straight into the worker's pipe from there.
//
// A request is never split across calls, so a single request larger than max_size goes alone.
// When the answer comes, each request gets its own row range of every output column. With
// max_size 1 there is no queue and no timer: requests go straight to the pool, which pipelines
// them.
//
// Lifetime: batches in flight hold the shared State, so a Batcher destroyed before its pool
// (several versions served in one process, the old one retired) leaves nothing dangling; the
// late answers are delivered and nothing new is sent.

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mlo/serve/batcher.hpp>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

namespace mlo::serve {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

Clock::duration milliseconds(double ms) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

WorkerResult shutting_down() {
    WorkerResult result;
    result.status = 503;
    result.error = "server shutting down";
    return result;
}

struct Pending {
    Columns inputs;
    std::function<void(BatchAnswer)> done;
    Clock::time_point arrived;
};

using Group = std::vector<Pending>;

// Each request's row range of a batch and its reply function.
struct Slot {
    size_t begin, end;
    std::function<void(BatchAnswer)> done;
    double queue_seconds;
};

// A batch answer that does not have one value per row cannot be split back.
void check_splittable(WorkerResult& result, size_t requests, size_t total_rows) {
    if (!result.ok || requests <= 1)
        return;
    bool whole = result.outputs.is_object();
    if (whole)
        for (const auto& column : result.outputs)
            whole = whole && column.is_array() && column.size() == total_rows;
    if (whole)
        return;
    result.ok = false;
    result.status = 500;
    result.error = "the worker's outputs do not have one value for each of the batch's " +
                   std::to_string(total_rows) + " rows";
}

void answer_slots(std::vector<Slot>& slots, const WorkerResult& result) {
    for (auto& slot : slots) {
        WorkerResult own;
        own.ok = result.ok;
        own.status = result.status;
        own.error = result.error;
        own.compute_seconds = result.compute_seconds;
        if (result.ok)
            own.outputs =
                slots.size() == 1 ? result.outputs : slice_columns(result.outputs, slot.begin, slot.end);
        slot.done(BatchAnswer{std::move(own), slot.queue_seconds});
    }
}

} // namespace

struct Batcher::State : std::enable_shared_from_this<State> {
    WorkerPool& pool;
    BatchOptions options;
    Clock::duration delay;
    Clock::duration tick;

    std::mutex mutex;
    std::condition_variable wake_timer;
    std::deque<Pending> queue; // guarded by mutex, as everything below
    size_t queued_rows = 0;
    size_t in_flight = 0;      // batches sent and not yet answered
    bool timer_asleep = false; // waiting without a deadline until notified
    bool stopping = false;
    std::thread timer;

    State(WorkerPool& p, BatchOptions o)
        : pool(p), options(std::move(o)), delay(milliseconds(std::max(0.0, options.max_delay_ms))),
          tick(std::max(delay, Clock::duration(std::chrono::milliseconds(1)))) {}

    // Whether the queue's head may go now. Called with the lock held.
    bool may_send(Clock::time_point now) const {
        if (queue.empty())
            return false;
        if (queued_rows >= options.max_size || now - queue.front().arrived >= delay)
            return true;
        // A worker without a batch of ours is a free one. With no live worker at all the pool
        // answers 503 at once, which beats waiting for a restart.
        return in_flight < std::max(1u, pool.live_workers());
    }

    // Takes the head of the queue: as many whole requests as fit max_size (at least one).
    Group take_group() {
        Group group;
        size_t rows = 0;
        while (!queue.empty()) {
            size_t next = queue.front().inputs.rows;
            if (!group.empty() && rows + next > options.max_size)
                break;
            rows += next;
            queued_rows -= next;
            group.push_back(std::move(queue.front()));
            queue.pop_front();
        }
        return group;
    }

    // Sends every batch the rules allow now. Sending happens outside the lock, and the pool may
    // answer at once on this thread (no worker ready, pool stopped): that answer's pump is left to
    // this loop rather than recursing once per queued batch.
    void pump() {
        thread_local const State* t_pumping = nullptr;
        if (t_pumping == this)
            return;
        struct Guard {
            const State*& slot;
            ~Guard() { slot = nullptr; }
        } guard{t_pumping = this};
        for (;;) {
            Group group;
            bool wake = false;
            {
                std::lock_guard lock(mutex);
                if (stopping || !may_send(Clock::now())) {
                    // Left waiting: the timer must watch the delay.
                    wake = !stopping && !queue.empty() && timer_asleep;
                    if (wake)
                        timer_asleep = false;
                } else {
                    group = take_group();
                    ++in_flight;
                }
            }
            if (group.empty()) {
                if (wake)
                    wake_timer.notify_one();
                return;
            }
            send(std::move(group));
        }
    }

    void send(Group group) {
        std::vector<const Columns*> parts;
        parts.reserve(group.size());
        for (const auto& pending : group)
            parts.push_back(&pending.inputs);
        Columns merged = group.size() == 1 ? std::move(group.front().inputs) : concat_columns(parts);
        if (options.on_batch)
            options.on_batch(merged.rows, group.size());
        auto dispatched = Clock::now();
        std::vector<Slot> slots;
        slots.reserve(group.size());
        size_t begin = 0;
        for (auto& pending : group) {
            size_t rows = group.size() == 1 ? merged.rows : pending.inputs.rows;
            slots.push_back(Slot{begin, begin + rows, std::move(pending.done),
                                 std::chrono::duration<double>(dispatched - pending.arrived).count()});
            begin += rows;
        }
        size_t total_rows = merged.rows;
        pool.submit(
            std::move(merged.columns),
            [self = shared_from_this(), slots = std::move(slots), total_rows](WorkerResult result) mutable {
                self->answered();
                check_splittable(result, slots.size(), total_rows);
                answer_slots(slots, result);
            },
            options.timeout_seconds);
    }

    // A batch came back: its worker is free, so what queued meanwhile goes now, before the answers
    // are written (the worker computes while this thread serialises the responses).
    void answered() {
        {
            std::lock_guard lock(mutex);
            --in_flight;
        }
        pump();
    }

    void enqueue(Columns inputs, std::function<void(BatchAnswer)> done, Clock::time_point arrived) {
        {
            std::unique_lock lock(mutex);
            if (stopping) {
                lock.unlock();
                done(BatchAnswer{shutting_down(), 0});
                return;
            }
            queued_rows += inputs.rows;
            queue.push_back(Pending{std::move(inputs), std::move(done), arrived});
        }
        pump();
    }

    // Enforces max_delay_ms: sleeps until the queue's head is due, ticks while batches are in
    // flight (a request may queue behind them at any moment) and sleeps until notified when
    // nothing is in flight or queued.
    void timer_loop() {
        // Batches this thread sends are written into worker pipes from here (WorkerPool::submit),
        // which it does only on a thread where a dead worker's pipe gives EPIPE, not SIGPIPE.
        sigset_t pipe_only;
        ::sigemptyset(&pipe_only);
        ::sigaddset(&pipe_only, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
        std::unique_lock lock(mutex);
        while (!stopping) {
            if (queue.empty() && in_flight == 0) {
                timer_asleep = true;
                wake_timer.wait(lock, [&] { return stopping || !timer_asleep; });
                continue;
            }
            auto now = Clock::now();
            auto until = queue.empty() ? now + tick : queue.front().arrived + delay;
            if (until > now) {
                wake_timer.wait_until(lock, until);
                continue; // re-check: the queue may have been sent meanwhile
            }
            lock.unlock();
            pump();
            lock.lock();
        }
    }
};

Batcher::Batcher(WorkerPool& pool, BatchOptions options)
    : m_state(std::make_shared<State>(pool, std::move(options))) {
    // Without a delay nothing waits for company, so nothing needs a timer.
    if (m_state->options.max_size > 1 && m_state->delay > Clock::duration::zero())
        m_state->timer = std::thread([state = m_state.get()] { state->timer_loop(); });
}

Batcher::~Batcher() {
    std::deque<Pending> left;
    {
        std::lock_guard lock(m_state->mutex);
        m_state->stopping = true;
        left.swap(m_state->queue);
        m_state->queued_rows = 0;
    }
    m_state->wake_timer.notify_all();
    if (m_state->timer.joinable())
        m_state->timer.join();
    for (auto& pending : left)
        pending.done(BatchAnswer{shutting_down(), seconds_since(pending.arrived)});
}

void Batcher::submit(Columns inputs, std::function<void(BatchAnswer)> done) {
    auto arrived = Clock::now();
    if (m_state->options.max_size > 1) {
        m_state->enqueue(std::move(inputs), std::move(done), arrived);
        return;
    }
    size_t rows = inputs.rows;
    if (m_state->options.on_batch)
        m_state->options.on_batch(rows, 1);
    m_state->pool.submit(
        std::move(inputs.columns),
        [done = std::move(done), arrived](WorkerResult result) {
            double total = seconds_since(arrived);
            double queue = std::max(0.0, total - result.compute_seconds);
            done(BatchAnswer{std::move(result), queue});
        },
        m_state->options.timeout_seconds);
}

} // namespace mlo::serve
