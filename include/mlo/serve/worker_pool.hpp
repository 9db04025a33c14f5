#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace mlo::serve {

// How to run a model's workers (SPEC.md section 6, "The worker protocol"). Workers are numbered
// from 1 in every message and callback.
struct WorkerOptions {
    std::string command;                    // run with /bin/sh -c, like stage commands
    std::filesystem::path cwd;              // working directory; empty: mlo's current directory
    std::map<std::string, std::string> env; // added to the inherited environment (e.g. MLO_MODEL_DIR)
    unsigned workers = 1;
    double ready_timeout_seconds = 60; // time to print {"ready": true}; <= 0 waits forever
    // Each stderr line of a worker (for the deployment log). May be null. Called from the pool thread.
    std::function<void(unsigned worker, const std::string& line)> on_stderr;
    // "worker 1 was killed by signal 9 (SIGKILL); restarting it in 0.1 s" etc. May be null. Called
    // from the pool thread.
    std::function<void(const std::string& event)> on_event;
};

struct WorkerResult {
    bool ok = false;
    nlohmann::json outputs; // on ok: the "outputs" object of the worker's answer
    // 200 on ok; on failure: 503 worker died/unavailable, 500 the worker answered {"error": ...} (or
    // answered without an "outputs" object), 504 timeout.
    int status = 0;
    std::string error;          // on failure: a message naming what happened
    double compute_seconds = 0; // from writing the request to reading the answer
};

// A fixed number of long-lived worker processes speaking newline-delimited JSON on stdin/stdout,
// restarted when they die. One pool thread does all the I/O and calls every callback; the methods
// are thread-safe. See worker_pool.cpp for the design.
class WorkerPool {
  public:
    // Spawns `workers` processes (each `/bin/sh -c command` in its own process group) and waits until
    // each printed {"ready": true}. ErrorCode::input for options that cannot work (no command, zero
    // workers, a missing working directory, a bad env name); ErrorCode::failure, naming the worker and
    // quoting its last stderr lines, for a worker that exits, prints another stdout line or times out
    // before it is ready (the other workers are then killed); ErrorCode::internal if a process cannot
    // be spawned at all.
    static Result<std::unique_ptr<WorkerPool>> start(const WorkerOptions& options);
    ~WorkerPool(); // stop()
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Sends {"id": <unique>, "inputs": inputs} to the least-busy live worker (requests are pipelined)
    // and calls `done` exactly once, from the pool thread, with the answer matched by id. Never waits
    // for a worker. A worker dying with the request in flight gives 503 naming its exit status (and
    // is restarted); no live worker gives 503 at once; `timeout_seconds` > 0 bounds the wait (504; the
    // late answer is dropped). After stop() has finished, `done` runs at once on the caller's thread.
    void submit(nlohmann::ordered_json inputs, std::function<void(WorkerResult)> done,
                double timeout_seconds = 0);

    unsigned live_workers() const; // workers ready for requests now
    uint64_t restarts() const;     // deaths (and failed respawns) after start() that led to a restart

    // Closes the workers' stdin, sends SIGTERM to every worker's process group, waits up to
    // `grace_seconds` for them to exit, then SIGKILLs the groups; every request in flight gets 503
    // "server shutting down". Blocks until every worker is reaped. Idempotent. Called from a pool
    // callback it only requests the stop (the destructor waits).
    void stop(double grace_seconds = 5);

  private:
    struct Impl; // the state shared with the pool thread (worker_pool.cpp)
    explicit WorkerPool(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace mlo::serve
