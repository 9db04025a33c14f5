#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mlo/core/project.hpp>
#include <mlo/serve/batcher.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/serve/serve_config.hpp>
#include <mlo/serve/signature.hpp>
#include <mlo/serve/worker_pool.hpp>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace mlo::serve {

// One registered version being served: its files materialised read-only, its workers warmed up,
// its batcher, and the count of requests it is answering. A server holds one per version that may
// take traffic (two during a blue/green switch or a canary).
class ServedVersion {
  public:
    // Materialises MODEL@VERSION into `run_dir` (verified against its manifest), starts its workers
    // with MLO_MODEL_DIR, and warms each one up with a row built from the signature: a worker that
    // dies or does not answer fails the start (everything started is stopped and removed); a worker
    // that answers the neutral row with an error is loaded and counts as warm.
    static Result<std::shared_ptr<ServedVersion>> start(core::Project& project, const std::string& model,
                                                        const std::string& version, ServeConfig config,
                                                        const std::filesystem::path& run_dir,
                                                        ServerMetrics& metrics,
                                                        const std::function<void(const std::string&)>& emit);
    ~ServedVersion(); // shutdown(0) if not done

    ServedVersion(const ServedVersion&) = delete;
    ServedVersion& operator=(const ServedVersion&) = delete;

    const std::string& version() const { return m_version; }
    const Signature& signature() const { return m_signature; }
    const std::set<std::string>& pii_fields() const { return m_pii_fields; }
    const ServeConfig& config() const { return m_config; }
    Batcher& batcher() { return *m_batcher; }

    // Requests accepted and not yet answered, so that a version leaving the routing table is
    // stopped only once it has answered everything it accepted. try_begin_request fails once
    // shutdown has begun (the caller picks from the newer table); the check and the count are one
    // atomic step, so no request slips in between them.
    bool try_begin_request();
    void end_request() { m_requests.fetch_sub(1); }
    long in_flight() const { return static_cast<long>(m_requests.load() & ~k_closed); }

    // Closes the version to new requests, waits up to `drain_seconds` for those in flight to be
    // answered, then stops the batcher (whatever is still queued gets 503) and the workers and
    // removes the materialised files. Must not be called from a request callback. Idempotent.
    void shutdown(double drain_seconds);

  private:
    ServedVersion() = default;

    std::string m_model, m_version;
    ServeConfig m_config;
    Signature m_signature;
    std::set<std::string> m_pii_fields;
    std::filesystem::path m_run_dir;
    std::unique_ptr<WorkerPool> m_pool;
    std::unique_ptr<Batcher> m_batcher;
    static constexpr uint64_t k_closed = uint64_t{1} << 63; // set in m_requests by shutdown()
    std::atomic<uint64_t> m_requests{0};
    bool m_stopped = false;
};

// The index of the weight that request number `ticket` goes to, so that over any run of
// sum(weights) consecutive tickets each index gets exactly its weight, interleaved rather than in
// blocks (a 10% canary sees requests at once). weights.size() when every weight is 0.
size_t weighted_pick(std::span<const unsigned> weights, uint64_t ticket);

// Which served versions take traffic, and in what share. Immutable once built: a server swaps
// whole tables, so a request sees one consistent table.
class RoutingTable {
  public:
    struct Route {
        std::shared_ptr<ServedVersion> target;
        unsigned weight = 0; // share of the requests that name no version; 0 = only by name
    };
    explicit RoutingTable(std::vector<Route> routes);

    const std::vector<Route>& routes() const { return m_routes; }
    bool empty() const { return m_routes.empty(); }
    // The version with the largest weight (the first on a tie): what metadata describes.
    const std::shared_ptr<ServedVersion>& primary() const;
    // The version serving the request numbered `ticket` (a counter; see weighted_pick). Null when
    // every weight is 0.
    std::shared_ptr<ServedVersion> pick(uint64_t ticket) const;
    // The version named VERSION, or null.
    std::shared_ptr<ServedVersion> find(const std::string& version) const;

  private:
    std::vector<Route> m_routes;
    std::vector<unsigned> m_weights;
};

} // namespace mlo::serve
