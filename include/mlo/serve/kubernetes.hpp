#pragma once

#include <mlo/util/error.hpp>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mlo::serve {

// `deploy.NAME` of mlo.yaml with `type: kubernetes`.
struct KubernetesTarget {
    std::string name; // the target's key in mlo.yaml
    std::string namespace_name = "default";
    std::string image; // the serving image (built from the rendered Dockerfile); required
    unsigned replicas = 2;
    unsigned min_replicas = 0, max_replicas = 0; // HPA; 0 = replicas and 3*replicas
    unsigned cpu_target_percent = 70;
    std::string cpu_request = "500m", memory_request = "512Mi", cpu_limit, memory_limit; // limits optional
    int port = 8080;
    std::string remote;       // the mlo remote the init container pulls from; "" = mlo.yaml's default_remote
    std::string token_secret; // optional: a Secret whose key `token` holds the bearer token
};

// Reads and checks `deploy.NAME`: unknown keys (with "did you mean"), types and ranges, DNS-1123
// names (namespace, Secret), the image reference's grammar, resource quantities, HPA bounds.
// Every problem is collected and reported at once with its line, as ErrorCode::input.
Result<KubernetesTarget> parse_kubernetes_target(const std::string& name, const YAML::Node& node);

// What one render deploys.
struct KubernetesRelease {
    std::string model, version, manifest_id; // what is deployed (manifest_id "sha256:...")
    std::string project;                     // mlo.yaml's project name
    std::string git_remote_url;  // where the init container clones the repository ("" = baked into the image)
    unsigned canary_percent = 0; // 0 = a plain release; 1-99 = a canary of `version` beside `stable_version`
    std::string stable_version;
};

struct RenderedFile {
    std::string name; // a plain file name: "deployment-stable.yaml", "service.yaml", "Dockerfile"...
    std::string content;
};

// The Kubernetes object name of a model: lowercased, '/' and '_' turned into '-'. A result longer
// than 56 characters (so that "-stable"/"-canary" still fit a 63-character DNS label) is cut and
// given a hash suffix. A name with other characters, or not starting with a letter (Service names
// are RFC 1035 labels), is ErrorCode::input naming it.
Result<std::string> kubernetes_name(const std::string& model);

// How a canary splits `replicas`: the stable Deployment gets round-half-up(replicas * (100-P) / 100)
// replicas and the canary the rest, each at least 1 (so 1 replica becomes 1 + 1).
struct CanarySplit {
    unsigned stable = 0, canary = 0;
};
CanarySplit canary_split(unsigned replicas, unsigned canary_percent);

// Renders the manifests from templates/deploy/kubernetes: `deployment-stable.yaml` (plus
// `deployment-canary.yaml` for a canary), `service.yaml`, `hpa.yaml` and the serving image's
// `Dockerfile`. Pure: reads nothing but the embedded templates. Release values that cannot be
// written safely into a manifest (a version that is not a label value, a bad manifest id, a URL
// carrying credentials) are ErrorCode::input.
Result<std::vector<RenderedFile>> render_kubernetes(const KubernetesTarget& target,
                                                    const KubernetesRelease& release);

} // namespace mlo::serve
