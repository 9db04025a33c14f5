#pragma once

#include <cstdint>
#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::serve {

// The files through which `mlo deploy` steers a `mlo serve --deployment DIR` it started. Each is a
// small JSON document replaced atomically (written beside, then renamed), so a reader never sees
// half of one:
//   desired.json  written by deploy: which versions take what share of the traffic. The server
//                 reads it at start and on SIGHUP.
//   applied.json  written by the server after acting on a desired generation: ok, or the error
//                 that kept it on the previous routing.
//   traffic.json  written by the server every second: per-version counters for canary gates.
//   server.json   written by the server once it listens and is ready (pid, port, url, model).

struct Route {
    std::string version; // "v1.2.0"
    unsigned weight = 0; // share in percent of requests that name no version
};

struct DesiredState {
    uint64_t generation = 0; // increases with every write; the server echoes it in applied.json
    std::string model;
    std::vector<Route> routes;
};

struct AppliedState {
    uint64_t generation = 0;
    bool ok = false;
    std::string error;         // when !ok: why the server kept its previous routing
    std::vector<Route> routes; // what is routed now
};

struct VersionTraffic {
    std::string version;
    unsigned weight = 0;
    uint64_t requests = 0, errors = 0;        // since the version started; errors are 5xx answers
    std::vector<uint64_t> latency_cumulative; // see ServerMetrics::VersionStats
};

struct TrafficSnapshot {
    int64_t time_ns = 0;
    std::vector<VersionTraffic> versions;
    const VersionTraffic* find(const std::string& version) const;
};

struct ServerInfo {
    int64_t pid = 0;
    int port = 0;
    std::string url, model;
};

Result<DesiredState> read_desired_state(const std::filesystem::path& file);
Status write_desired_state(const std::filesystem::path& file, const DesiredState& state);
Result<AppliedState> read_applied_state(const std::filesystem::path& file);
Status write_applied_state(const std::filesystem::path& file, const AppliedState& state);
Result<TrafficSnapshot> read_traffic(const std::filesystem::path& file);
Status write_traffic(const std::filesystem::path& file, const TrafficSnapshot& snapshot);
Result<ServerInfo> read_server_info(const std::filesystem::path& file);

// What a version served between two snapshots: requests, 5xx errors and the p99 latency
// (histogram_quantile over the bucket deltas; 0 without requests). A version missing from
// `before` counts from zero.
struct TrafficWindow {
    uint64_t requests = 0, errors = 0;
    double p99_seconds = 0;
    double error_rate() const { return requests == 0 ? 0 : static_cast<double>(errors) / requests; }
};
TrafficWindow traffic_between(const TrafficSnapshot& before, const TrafficSnapshot& after,
                              const std::string& version);

} // namespace mlo::serve
