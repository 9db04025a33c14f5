#pragma once

#include <filesystem>
#include <functional>
#include <mlo/deploy/target.hpp>
#include <mlo/serve/deployment_files.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>

namespace mlo::deploy {

// The background `mlo serve --deployment DIR` of a local target, and the files it is steered
// through (see serve/deployment_files.hpp). DIR is .mlo/deploy/TARGET.
class LocalServer {
  public:
    explicit LocalServer(std::filesystem::path dir) : m_dir(std::move(dir)) {}

    const std::filesystem::path& dir() const { return m_dir; }
    std::filesystem::path log_file() const { return m_dir / "server.log"; }

    // The server, if one is running for this target: server.json names a live process that is
    // this target's `mlo serve` (not a reused pid).
    std::optional<serve::ServerInfo> running() const;

    // Starts the server detached (its own session, stdout and stderr appended to server.log) from
    // `project_root`, serving `routes` of `model`, and waits up to `timeout_seconds` until it is
    // ready. A server that exits or refuses first is ErrorCode::failure quoting its log's last lines.
    Result<serve::ServerInfo> start(const std::string& model, const std::vector<serve::Route>& routes,
                                    const LocalTarget& target, const std::filesystem::path& project_root,
                                    double timeout_seconds);

    // Writes the next desired generation, signals the server, and waits up to `timeout_seconds`
    // for it to act: a refusal (a version that would not start) is ErrorCode::failure with the
    // server's reason, and the routing is unchanged.
    Result<serve::AppliedState> apply(const serve::ServerInfo& server, const std::string& model,
                                      const std::vector<serve::Route>& routes, double timeout_seconds);

    // The routing the server last applied, and its newest traffic counters.
    Result<serve::AppliedState> applied() const;
    Result<serve::TrafficSnapshot> traffic() const;
    // Waits for a traffic snapshot written after `after_ns` (the server writes one each second).
    Result<serve::TrafficSnapshot> fresh_traffic(int64_t after_ns, double timeout_seconds) const;

    // SIGTERM, then waits up to `timeout_seconds` for the drain; SIGKILL after that. Removes
    // server.json.
    Status stop(const serve::ServerInfo& server, double timeout_seconds);

    // The last `lines` lines of server.log.
    std::string log_tail(size_t lines) const;

  private:
    uint64_t next_generation() const;
    std::filesystem::path m_dir;
};

} // namespace mlo::deploy
