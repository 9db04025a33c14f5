#pragma once

#include <mlo/core/config.hpp>
#include <mlo/serve/kubernetes.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>

namespace mlo::deploy {

// `deploy.NAME` of mlo.yaml with `type: local`: `mlo serve` run in the background on this machine.
struct LocalTarget {
    std::string host = "127.0.0.1";
    int port = 8080; // 0 = any free port, chosen when the server starts and kept while it runs
    std::optional<unsigned> workers; // overrides models.M.serve.workers
    std::string token_file;          // bearer token file (the path is passed on, never the token)
    std::string tls_cert, tls_key;   // PEM files: serve HTTPS
    double drain_seconds = 10;       // how long a version leaving the routing may finish its requests
};

struct Target {
    enum class Type { local, kubernetes };
    std::string name;
    Type type = Type::local;
    LocalTarget local;
    serve::KubernetesTarget kubernetes;
};

// Finds and checks `deploy.NAME`: an unknown target names the ones there are ("did you mean");
// every problem of its settings is reported with its line (ErrorCode::input). Relative file paths
// are resolved against `project_root`.
Result<Target> find_target(const core::Config& config, const std::string& name,
                           const std::filesystem::path& project_root);

} // namespace mlo::deploy
