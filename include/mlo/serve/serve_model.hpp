#pragma once

#include <functional>
#include <mlo/core/project.hpp>
#include <mlo/registry/tag_name.hpp>
#include <optional>
#include <string>

namespace mlo::serve {

struct ServeRequest {
    registry::ModelRef ref; // MODEL, MODEL@vX.Y.Z or MODEL#STAGE
    std::string host = "127.0.0.1";
    int port = 8080;                 // 0 = any free port
    std::optional<unsigned> workers; // overrides models.M.serve.workers
    std::string token;               // bearer token ("" = none); never logged
    std::string tls_cert_file, tls_key_file;
    std::filesystem::path ready_file; // written (JSON: pid, port, url, model, version) once ready
    double drain_seconds = 10;
    // Under `mlo deploy`: the target's state directory. The versions to serve and their weights come
    // from its desired.json (at start and on SIGHUP; see deployment_files.hpp), and the server
    // writes applied.json and traffic.json there. Empty: serve `ref` alone.
    std::filesystem::path deployment_dir;
};

// Serves a registered version in the foreground (SPEC.md section 6): materialises its files
// (verified) read-only, starts the workers from models.M.serve.cmd with MLO_MODEL_DIR, warms each
// one up with a request built from the signature, then answers HTTP until SIGINT or SIGTERM, and
// shuts down gracefully (requests in flight are answered). Under a deployment it holds several
// versions at once and moves traffic between them on SIGHUP without dropping a request. `on_event` receives
// one-line messages for the operator (listening, worker restarts); they never contain request data or the
// token.
Status serve_model(core::Project& project, const ServeRequest& request,
                   const std::function<void(const std::string&)>& on_event);

} // namespace mlo::serve
