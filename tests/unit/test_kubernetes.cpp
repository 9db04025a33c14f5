#include <catch2/catch.hpp>
#include <map>
#include <mlo/serve/kubernetes.hpp>
#include <string>
#include <yaml-cpp/yaml.h>

using mlo::ErrorCode;
using mlo::serve::canary_split;
using mlo::serve::kubernetes_name;
using mlo::serve::KubernetesRelease;
using mlo::serve::KubernetesTarget;
using mlo::serve::parse_kubernetes_target;
using mlo::serve::render_kubernetes;
using mlo::serve::RenderedFile;

namespace {

const std::string k_manifest = "sha256:" + std::string(64, 'a');

KubernetesTarget parse_target(const std::string& text, const std::string& name = "prod") {
    YAML::Node root = YAML::Load(text);
    auto target = parse_kubernetes_target(name, root["deploy"][name]);
    INFO((target ? std::string() : target.error().message));
    REQUIRE(target);
    return *target;
}

mlo::Error parse_error(const std::string& text, const std::string& name = "prod") {
    YAML::Node root = YAML::Load(text);
    auto target = parse_kubernetes_target(name, root["deploy"][name]);
    REQUIRE_FALSE(target);
    CHECK(target.error().code == ErrorCode::input);
    return target.error();
}

KubernetesRelease release(const std::string& model = "churn-clf", const std::string& version = "v1.2.0") {
    KubernetesRelease r;
    r.model = model;
    r.version = version;
    r.manifest_id = k_manifest;
    r.project = "churn";
    r.git_remote_url = "https://git.example/team/churn.git";
    return r;
}

// The rendered files by name, each YAML one parsed.
struct Rendered {
    std::map<std::string, std::string> text;
    std::map<std::string, YAML::Node> yaml;
};

Rendered render(const KubernetesTarget& target, const KubernetesRelease& r) {
    auto files = render_kubernetes(target, r);
    INFO((files ? std::string() : files.error().message));
    REQUIRE(files);
    Rendered out;
    for (const RenderedFile& file : *files) {
        out.text[file.name] = file.content;
        if (file.name.ends_with(".yaml")) {
            INFO(file.name << ":\n" << file.content);
            REQUIRE_NOTHROW(out.yaml[file.name] = YAML::Load(file.content));
        }
    }
    return out;
}

std::string joined(const YAML::Node& list) {
    std::string out;
    for (const auto& item : list)
        out += item.as<std::string>() + " ";
    return out;
}

std::vector<std::string> strings(const YAML::Node& list) {
    std::vector<std::string> out;
    for (const auto& item : list)
        out.push_back(item.as<std::string>());
    return out;
}

const char* const k_full = R"(deploy:
  prod:
    type: kubernetes
    namespace: ml
    image: registry.example:5000/team/churn-serve:1.4
    replicas: 3
    min_replicas: 2
    max_replicas: 8
    cpu_target_percent: 60
    cpu_request: 250m
    memory_request: 1Gi
    cpu_limit: "1"
    memory_limit: 2Gi
    port: 9000
    remote: origin
    token_secret: churn-token
)";

} // namespace

TEST_CASE("a kubernetes target is read with every key", "[deploy]") {
    KubernetesTarget t = parse_target(k_full);
    CHECK(t.name == "prod");
    CHECK(t.namespace_name == "ml");
    CHECK(t.image == "registry.example:5000/team/churn-serve:1.4");
    CHECK(t.replicas == 3);
    CHECK(t.min_replicas == 2);
    CHECK(t.max_replicas == 8);
    CHECK(t.cpu_target_percent == 60);
    CHECK(t.cpu_request == "250m");
    CHECK(t.memory_request == "1Gi");
    CHECK(t.cpu_limit == "1");
    CHECK(t.memory_limit == "2Gi");
    CHECK(t.port == 9000);
    CHECK(t.remote == "origin");
    CHECK(t.token_secret == "churn-token");
}

TEST_CASE("a kubernetes target has defaults for everything but the image", "[deploy]") {
    // The shape of SPEC.md section 1's example.
    KubernetesTarget t = parse_target("deploy:\n  prod:  {type: kubernetes, namespace: ml, replicas: 3, "
                                      "image: registry.example/churn-serve}\n");
    CHECK(t.namespace_name == "ml");
    CHECK(t.replicas == 3);
    CHECK(t.min_replicas == 0);
    CHECK(t.max_replicas == 0);
    CHECK(t.cpu_target_percent == 70);
    CHECK(t.cpu_request == "500m");
    CHECK(t.memory_request == "512Mi");
    CHECK(t.cpu_limit.empty());
    CHECK(t.memory_limit.empty());
    CHECK(t.port == 8080);
    CHECK(t.remote.empty());
    CHECK(t.token_secret.empty());

    CHECK(parse_target("deploy:\n  k8s: {image: 'busybox@sha256:" + std::string(64, '0') + "'}\n", "k8s")
              .image == "busybox@sha256:" + std::string(64, '0'));
}

TEST_CASE("bad kubernetes targets are rejected naming the problem and its line", "[deploy]") {
    SECTION("missing image") {
        auto error = parse_error("deploy:\n  prod:\n    type: kubernetes\n    replicas: 2\n");
        CHECK(error.message == "mlo.yaml: line 3: deploy.prod: missing required key 'image'");
        CHECK(error.hint.find("Dockerfile") != std::string::npos);
    }
    SECTION("a namespace that is not a DNS-1123 label") {
        auto error = parse_error("deploy:\n  prod:\n    image: churn-serve\n    namespace: Bad_NS\n");
        CHECK(error.message ==
              "mlo.yaml: line 4: deploy.prod.namespace: 'Bad_NS' is not a valid namespace name");
        CHECK(error.hint.find("lowercase") != std::string::npos);
    }
    SECTION("an unknown key gets did-you-mean") {
        auto error = parse_error("deploy:\n  prod:\n    image: churn-serve\n    replica: 3\n");
        CHECK(error.message ==
              "mlo.yaml: line 4: deploy.prod: unknown key 'replica' (did you mean 'replicas'?)");
    }
    SECTION("an unknown key without a close match lists the keys") {
        auto error = parse_error("deploy:\n  prod:\n    image: churn-serve\n    gpus: 1\n");
        CHECK(error.message == "mlo.yaml: line 4: deploy.prod: unknown key 'gpus'");
        CHECK(error.hint.find("token_secret") != std::string::npos);
    }
    SECTION("negative replicas") {
        auto error = parse_error("deploy:\n  prod:\n    image: churn-serve\n    replicas: -2\n");
        CHECK(error.message ==
              "mlo.yaml: line 4: deploy.prod.replicas: must be a whole number from 1 to 1000, not '-2'");
    }
    SECTION("every problem at once, sorted by line") {
        auto error =
            parse_error("deploy:\n  prod:\n    namespace: Bad_NS\n    replica: 3\n    replicas: 2.5\n"
                        "    image: 'Churn Serve'\n    cpu_request: lots\n    port: 80\n"
                        "    token_secret: My_Secret\n    type: local\n");
        CHECK(error.message ==
              "mlo.yaml: 8 problems:\n"
              "  line 3: deploy.prod.namespace: 'Bad_NS' is not a valid namespace name\n"
              "  line 4: deploy.prod: unknown key 'replica' (did you mean 'replicas'?)\n"
              "  line 5: deploy.prod.replicas: must be a whole number from 1 to 1000, not '2.5'\n"
              "  line 6: deploy.prod.image: 'Churn Serve' has a bad path component 'Churn Serve' "
              "(lowercase letters, digits and '.', '_', '-' inside)\n"
              "  line 7: deploy.prod.cpu_request: 'lots' is not a CPU quantity\n"
              "  line 8: deploy.prod.port: must be a whole number from 1024 to 65535, not '80'\n"
              "  line 9: deploy.prod.token_secret: 'My_Secret' is not a valid Secret name\n"
              "  line 10: deploy.prod.type: is 'local', not 'kubernetes'");
    }
    SECTION("image references") {
        for (const char* bad : {"'churn serve'", "'repo/Churn'", "'repo:'", "'repo@sha256:xyz'", "'/churn'",
                                "'repo:tag\"x'", "'-churn'"}) {
            INFO(bad);
            auto error = parse_error(std::string("deploy:\n  prod:\n    image: ") + bad + "\n");
            CHECK(error.message.find("deploy.prod.image:") != std::string::npos);
        }
        for (const char* good : {"churn", "team/churn-serve:v1.0_rc-2", "localhost:5000/churn",
                                 "ghcr.io/a/b/c:latest", "Registry.Example.com/x"}) {
            INFO(good);
            CHECK(parse_target(std::string("deploy:\n  prod:\n    image: ") + good + "\n").image == good);
        }
    }
    SECTION("limits below requests and autoscaler bounds") {
        auto error =
            parse_error("deploy:\n  prod:\n    image: churn\n    cpu_limit: 100m\n    memory_limit: 1Mi\n"
                        "    min_replicas: 5\n    max_replicas: 4\n");
        CHECK(error.message == "mlo.yaml: 3 problems:\n"
                               "  line 4: deploy.prod.cpu_limit: '100m' is below cpu_request '500m'\n"
                               "  line 5: deploy.prod.memory_limit: '1Mi' is below memory_request '512Mi'\n"
                               "  line 7: deploy.prod: max_replicas (4) is below min_replicas (5)");
    }
    SECTION("a duplicate key and a target that is not a map") {
        CHECK(parse_error("deploy:\n  prod:\n    image: a\n    image: b\n").message ==
              "mlo.yaml: line 4: deploy.prod: duplicate key 'image'");
        CHECK(parse_error("deploy:\n  prod: [a]\n").message ==
              "mlo.yaml: line 2: deploy.prod: must be a map, not a list");
    }
}

TEST_CASE("model names map to Kubernetes names", "[deploy]") {
    CHECK(kubernetes_name("churn-clf").value() == "churn-clf");
    CHECK(kubernetes_name("Team/Churn_CLF").value() == "team-churn-clf");
    CHECK(kubernetes_name("a/b_c/d").value() == "a-b-c-d");

    // Long names are cut to leave room for "-canary", and kept apart by a hash of the full name.
    std::string long_a(80, 'a'), long_b = std::string(79, 'a') + "b";
    auto a = kubernetes_name(long_a), b = kubernetes_name(long_b);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->size() == 56);
    CHECK(a->size() + std::string("-canary").size() <= 63);
    CHECK(*a != *b);
    CHECK(a->starts_with(std::string(47, 'a') + "-"));
    CHECK(kubernetes_name(std::string(56, 'x')).value() == std::string(56, 'x'));

    auto digit = kubernetes_name("3d-seg");
    REQUIRE_FALSE(digit);
    CHECK(digit.error().message.find("'3d-seg'") != std::string::npos);
    auto dot = kubernetes_name("churn.v2");
    REQUIRE_FALSE(dot);
    CHECK(dot.error().message == "model 'churn.v2' cannot be named in Kubernetes: it contains '.'");
}

TEST_CASE("canary replicas split round-half-up, at least one each", "[deploy]") {
    auto check = [](unsigned replicas, unsigned percent, unsigned stable, unsigned canary) {
        INFO(percent << "% of " << replicas);
        auto split = canary_split(replicas, percent);
        CHECK(split.stable == stable);
        CHECK(split.canary == canary);
    };
    check(10, 10, 9, 1);
    check(3, 50, 2, 1); // 1.5 stable replicas round up
    check(2, 1, 1, 1);
    check(1, 10, 1, 1);
    check(10, 99, 1, 9);
    check(4, 25, 3, 1);
    check(5, 50, 3, 2);
}

TEST_CASE("a release renders a Deployment, a Service, an autoscaler and a Dockerfile", "[deploy]") {
    KubernetesTarget target = parse_target(k_full);
    KubernetesRelease r = release("team/Churn_clf", "v1.2.0");
    Rendered out = render(target, r);
    REQUIRE(out.text.size() == 4);
    REQUIRE(out.text.count("Dockerfile") == 1);

    const YAML::Node& d = out.yaml.at("deployment-stable.yaml");
    CHECK(d["apiVersion"].as<std::string>() == "apps/v1");
    CHECK(d["kind"].as<std::string>() == "Deployment");
    CHECK(d["metadata"]["name"].as<std::string>() == "team-churn-clf-stable");
    CHECK(d["metadata"]["namespace"].as<std::string>() == "ml");
    CHECK(d["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>() == "team-churn-clf");
    CHECK(d["metadata"]["labels"]["mlo.dev/version"].as<std::string>() == "v1.2.0");
    CHECK(d["metadata"]["labels"]["mlo.dev/track"].as<std::string>() == "stable");
    CHECK(d["metadata"]["annotations"]["mlo.dev/model"].as<std::string>() == "team/Churn_clf");
    CHECK(d["spec"]["replicas"].as<int>() == 3);

    // The selector matches the pod template's labels and leaves the version out (it is immutable).
    const YAML::Node& selector = d["spec"]["selector"]["matchLabels"];
    const YAML::Node& pod = d["spec"]["template"];
    CHECK(selector.size() == 2);
    for (const auto& label : selector)
        CHECK(pod["metadata"]["labels"][label.first.as<std::string>()].as<std::string>() ==
              label.second.as<std::string>());
    CHECK(selector["mlo.dev/track"].as<std::string>() == "stable");
    CHECK(pod["metadata"]["labels"]["mlo.dev/version"].as<std::string>() == "v1.2.0");
    CHECK(pod["metadata"]["annotations"]["mlo.dev/manifest"].as<std::string>() == k_manifest);

    const YAML::Node& spec = pod["spec"];
    REQUIRE(spec["containers"].size() == 1);
    const YAML::Node& server = spec["containers"][0];
    CHECK(server["image"].as<std::string>() == "registry.example:5000/team/churn-serve:1.4");
    CHECK(strings(server["command"]) == std::vector<std::string>{"mlo"});
    CHECK(strings(server["args"]) == std::vector<std::string>{"serve", "team/Churn_clf@v1.2.0", "--host",
                                                              "0.0.0.0", "--port", "9000", "--token-env",
                                                              "MLO_SERVE_TOKEN"});
    CHECK(server["ports"][0]["containerPort"].as<int>() == 9000);
    CHECK(server["ports"][0]["name"].as<std::string>() == "http");
    CHECK(server["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/v2/health/ready");
    CHECK(server["readinessProbe"]["httpGet"]["port"].as<int>() == 9000);
    CHECK(server["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/v2/health/live");
    CHECK(server["livenessProbe"]["httpGet"]["port"].as<int>() == 9000);
    CHECK(server["resources"]["requests"]["cpu"].as<std::string>() == "250m");
    CHECK(server["resources"]["requests"]["memory"].as<std::string>() == "1Gi");
    CHECK(server["resources"]["limits"]["cpu"].as<std::string>() == "1");
    CHECK(server["resources"]["limits"]["memory"].as<std::string>() == "2Gi");

    // The token comes from the Secret's key `token`.
    bool has_token = false;
    for (const auto& env : server["env"])
        if (env["name"].as<std::string>() == "MLO_SERVE_TOKEN") {
            has_token = true;
            CHECK(env["valueFrom"]["secretKeyRef"]["name"].as<std::string>() == "churn-token");
            CHECK(env["valueFrom"]["secretKeyRef"]["key"].as<std::string>() == "token");
        }
    CHECK(has_token);

    // Every mount of the models volume in the server is read-only.
    std::map<std::string, YAML::Node> mounts;
    for (const auto& mount : server["volumeMounts"])
        mounts[mount["name"].as<std::string>()] = static_cast<const YAML::Node&>(mount);
    REQUIRE(mounts.count("models") == 1);
    CHECK(mounts["models"]["mountPath"].as<std::string>() == "/models");
    CHECK(mounts["models"]["readOnly"].as<bool>());

    // The init container fetches the model into the shared volumes.
    REQUIRE(spec["initContainers"].size() == 1);
    const YAML::Node& init = spec["initContainers"][0];
    CHECK(init["image"].as<std::string>() == server["image"].as<std::string>());
    std::string script = joined(init["command"]);
    CHECK(script.find("mlo pull -r \"$MLO_DEPLOY_REMOTE\"") != std::string::npos);
    CHECK(script.find("mlo register get \"$MLO_DEPLOY_REF\" -o \"$out\"") != std::string::npos);
    CHECK(script.find("out=\"/models/$MLO_DEPLOY_MODEL\"") != std::string::npos);
    std::map<std::string, std::string> env;
    for (const auto& item : init["env"])
        env[item["name"].as<std::string>()] = item["value"].as<std::string>();
    CHECK(env["MLO_DEPLOY_REF"] == "team/Churn_clf@v1.2.0");
    CHECK(env["MLO_DEPLOY_MODEL"] == "team/Churn_clf");
    CHECK(env["MLO_DEPLOY_REMOTE"] == "origin");
    CHECK(env["MLO_DEPLOY_GIT_URL"] == "https://git.example/team/churn.git");
    CHECK(env["MLO_DEPLOY_MANIFEST"] == k_manifest);
    bool init_writes_models = false;
    for (const auto& mount : init["volumeMounts"])
        if (mount["name"].as<std::string>() == "models")
            init_writes_models = !mount["readOnly"] || !mount["readOnly"].as<bool>();
    CHECK(init_writes_models);
    std::map<std::string, YAML::Node> volumes;
    for (const auto& volume : spec["volumes"])
        volumes[volume["name"].as<std::string>()] = static_cast<const YAML::Node&>(volume);
    CHECK(volumes["models"]["emptyDir"].IsMap());
    CHECK(volumes["project"]["emptyDir"].IsMap());

    const YAML::Node& s = out.yaml.at("service.yaml");
    CHECK(s["apiVersion"].as<std::string>() == "v1");
    CHECK(s["kind"].as<std::string>() == "Service");
    CHECK(s["metadata"]["name"].as<std::string>() == "team-churn-clf");
    CHECK(s["metadata"]["namespace"].as<std::string>() == "ml");
    CHECK(s["spec"]["selector"].size() == 1);
    CHECK(s["spec"]["selector"]["app.kubernetes.io/name"].as<std::string>() == "team-churn-clf");
    CHECK(s["spec"]["ports"][0]["port"].as<int>() == 9000);
    CHECK(s["spec"]["ports"][0]["targetPort"].as<std::string>() == "http");

    const YAML::Node& h = out.yaml.at("hpa.yaml");
    CHECK(h["apiVersion"].as<std::string>() == "autoscaling/v2");
    CHECK(h["kind"].as<std::string>() == "HorizontalPodAutoscaler");
    CHECK(h["metadata"]["namespace"].as<std::string>() == "ml");
    CHECK(h["spec"]["scaleTargetRef"]["apiVersion"].as<std::string>() == "apps/v1");
    CHECK(h["spec"]["scaleTargetRef"]["kind"].as<std::string>() == "Deployment");
    CHECK(h["spec"]["scaleTargetRef"]["name"].as<std::string>() == "team-churn-clf-stable");
    CHECK(h["spec"]["minReplicas"].as<int>() == 2);
    CHECK(h["spec"]["maxReplicas"].as<int>() == 8);
    const YAML::Node& metric = h["spec"]["metrics"][0];
    CHECK(metric["type"].as<std::string>() == "Resource");
    CHECK(metric["resource"]["name"].as<std::string>() == "cpu");
    CHECK(metric["resource"]["target"]["type"].as<std::string>() == "Utilization");
    CHECK(metric["resource"]["target"]["averageUtilization"].as<int>() == 60);

    const std::string& docker = out.text.at("Dockerfile");
    CHECK(docker.find("FROM debian:12-slim\n") != std::string::npos);
    for (const char* package : {"libgit2-1.5", "git", "python3", "python3-sklearn"})
        CHECK(docker.find(std::string(" ") + package + " ") != std::string::npos);
    CHECK(docker.find("COPY mlo /usr/local/bin/mlo\n") != std::string::npos);
    CHECK(docker.find("docker build -t registry.example:5000/team/churn-serve:1.4") != std::string::npos);
    CHECK(docker.find("EXPOSE 9000\n") != std::string::npos);
    CHECK(docker.find("/opt/mlo/project") == std::string::npos); // cloned from git, not baked in
    CHECK(docker.find('@') == std::string::npos);
    for (const auto& [name, text] : out.text)
        CHECK(text.find("@\n") == std::string::npos);
}

TEST_CASE("defaults render without limits or token, and the autoscaler spans replicas to 3x", "[deploy]") {
    KubernetesTarget target = parse_target("deploy:\n  prod: {image: churn-serve}\n");
    KubernetesRelease r = release();
    r.git_remote_url.clear();
    Rendered out = render(target, r);
    const YAML::Node& d = out.yaml.at("deployment-stable.yaml");
    CHECK(d["metadata"]["name"].as<std::string>() == "churn-clf-stable");
    CHECK(d["metadata"]["namespace"].as<std::string>() == "default");
    CHECK(d["spec"]["replicas"].as<int>() == 2);
    const YAML::Node& server = d["spec"]["template"]["spec"]["containers"][0];
    CHECK(strings(server["args"]) ==
          std::vector<std::string>{"serve", "churn-clf@v1.2.0", "--host", "0.0.0.0", "--port", "8080"});
    CHECK(server["resources"]["requests"]["cpu"].as<std::string>() == "500m");
    CHECK(server["resources"]["requests"]["memory"].as<std::string>() == "512Mi");
    CHECK_FALSE(server["resources"]["limits"]);
    for (const auto& env : server["env"])
        CHECK(env["name"].as<std::string>() != "MLO_SERVE_TOKEN");
    // Without a remote, `mlo pull` uses mlo.yaml's default_remote.
    std::map<std::string, std::string> env;
    for (const auto& item : d["spec"]["template"]["spec"]["initContainers"][0]["env"])
        env[item["name"].as<std::string>()] = item["value"].as<std::string>();
    CHECK(env["MLO_DEPLOY_REMOTE"].empty());
    CHECK(env["MLO_DEPLOY_GIT_URL"].empty());

    const YAML::Node& h = out.yaml.at("hpa.yaml");
    CHECK(h["spec"]["minReplicas"].as<int>() == 2);
    CHECK(h["spec"]["maxReplicas"].as<int>() == 6);
    CHECK(h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"].as<int>() == 70);
    CHECK(out.yaml.at("service.yaml")["spec"]["ports"][0]["port"].as<int>() == 8080);

    // No git remote: the image carries the repository and the build steps say how.
    const std::string& docker = out.text.at("Dockerfile");
    CHECK(docker.find("COPY --chown=10001:10001 project/ /opt/mlo/project/\n") != std::string::npos);
    CHECK(docker.find("git clone --quiet /path/to/the/project \"$ctx/project\"") != std::string::npos);
    CHECK(
        out.text.at("deployment-stable.yaml").find("kubectl delete deployment churn-clf-canary -n default") !=
        std::string::npos);
}

TEST_CASE("a canary renders two Deployments behind one Service", "[deploy]") {
    KubernetesTarget target =
        parse_target("deploy:\n  prod: {image: churn-serve, replicas: 10, namespace: ml}\n");
    KubernetesRelease r = release("churn-clf", "v2.0.0");
    r.canary_percent = 10;
    r.stable_version = "v1.2.0";
    Rendered out = render(target, r);
    REQUIRE(out.yaml.count("deployment-stable.yaml") == 1);
    REQUIRE(out.yaml.count("deployment-canary.yaml") == 1);
    const YAML::Node& stable = out.yaml.at("deployment-stable.yaml");
    const YAML::Node& canary = out.yaml.at("deployment-canary.yaml");

    CHECK(stable["metadata"]["name"].as<std::string>() == "churn-clf-stable");
    CHECK(stable["spec"]["replicas"].as<int>() == 9);
    CHECK(stable["metadata"]["labels"]["mlo.dev/track"].as<std::string>() == "stable");
    CHECK(stable["spec"]["template"]["metadata"]["labels"]["mlo.dev/version"].as<std::string>() == "v1.2.0");
    CHECK(stable["spec"]["template"]["spec"]["containers"][0]["args"][1].as<std::string>() ==
          "churn-clf@v1.2.0");

    CHECK(canary["metadata"]["name"].as<std::string>() == "churn-clf-canary");
    CHECK(canary["spec"]["replicas"].as<int>() == 1);
    CHECK(canary["metadata"]["labels"]["mlo.dev/track"].as<std::string>() == "canary");
    CHECK(canary["spec"]["selector"]["matchLabels"]["mlo.dev/track"].as<std::string>() == "canary");
    CHECK(canary["spec"]["template"]["metadata"]["labels"]["mlo.dev/track"].as<std::string>() == "canary");
    CHECK(canary["spec"]["template"]["metadata"]["labels"]["mlo.dev/version"].as<std::string>() == "v2.0.0");
    CHECK(canary["spec"]["template"]["spec"]["containers"][0]["args"][1].as<std::string>() ==
          "churn-clf@v2.0.0");

    // The Service selects both tracks: its selector is a subset of each pod template's labels.
    const YAML::Node& selector = out.yaml.at("service.yaml")["spec"]["selector"];
    for (const YAML::Node* deployment : {&stable, &canary})
        for (const auto& label : selector)
            CHECK((*deployment)["spec"]["template"]["metadata"]["labels"][label.first.as<std::string>()]
                      .as<std::string>() == label.second.as<std::string>());

    // The split is stated at the top of each manifest.
    const std::string split =
        "# Canary: 10% requested; 1 of 10 pods (10.0%) run churn-clf@v2.0.0 (churn-clf-canary), "
        "9 (90.0%) run churn-clf@v1.2.0 (churn-clf-stable).";
    for (const char* name :
         {"deployment-stable.yaml", "deployment-canary.yaml", "service.yaml", "hpa.yaml"}) {
        INFO(name);
        CHECK(out.text.at(name).find(split) != std::string::npos);
        CHECK(out.text.at(name).starts_with("# Rendered by `mlo deploy churn-clf@v2.0.0 --target prod`"));
    }

    // The autoscaler scales the stable side, from its share of the replicas.
    const YAML::Node& h = out.yaml.at("hpa.yaml");
    CHECK(h["spec"]["scaleTargetRef"]["name"].as<std::string>() == "churn-clf-stable");
    CHECK(h["spec"]["minReplicas"].as<int>() == 9);
    CHECK(h["spec"]["maxReplicas"].as<int>() == 30);

    SECTION("50% of 3 rounds the stable side up") {
        target.replicas = 3;
        r.canary_percent = 50;
        Rendered half = render(target, r);
        CHECK(half.yaml.at("deployment-stable.yaml")["spec"]["replicas"].as<int>() == 2);
        CHECK(half.yaml.at("deployment-canary.yaml")["spec"]["replicas"].as<int>() == 1);
        CHECK(half.text.at("service.yaml").find("1 of 3 pods (33.3%)") != std::string::npos);
    }
    SECTION("1% of 2 keeps one pod on each side") {
        target.replicas = 2;
        r.canary_percent = 1;
        Rendered small = render(target, r);
        CHECK(small.yaml.at("deployment-stable.yaml")["spec"]["replicas"].as<int>() == 1);
        CHECK(small.yaml.at("deployment-canary.yaml")["spec"]["replicas"].as<int>() == 1);
        CHECK(small.text.at("hpa.yaml").find("1 of 2 pods (50.0%)") != std::string::npos);
        CHECK(small.yaml.at("hpa.yaml")["spec"]["minReplicas"].as<int>() == 1);
    }
}

TEST_CASE("releases that cannot be written into a manifest are refused", "[deploy]") {
    KubernetesTarget target = parse_target("deploy:\n  prod: {image: churn-serve}\n");
    auto refused = [&](const KubernetesRelease& r, const std::string& part) {
        auto files = render_kubernetes(target, r);
        REQUIRE_FALSE(files);
        CHECK(files.error().code == ErrorCode::input);
        INFO(files.error().message);
        CHECK(files.error().message.find(part) != std::string::npos);
    };
    KubernetesRelease r = release();
    r.version = "1.2";
    refused(r, "the version");
    r = release();
    r.manifest_id = "sha256:\"; rm -rf /";
    refused(r, "the manifest id");
    r = release();
    r.git_remote_url = "https://alice:s3cret@git.example/churn.git";
    refused(r, "credentials");
    r = release();
    r.git_remote_url = "--upload-pack=touch /tmp/x";
    refused(r, "git remote URL");
    r = release();
    r.model = "3d-seg";
    refused(r, "'3d-seg'");
    r = release("churn-clf", "v2.0.0");
    r.canary_percent = 100;
    r.stable_version = "v1.0.0";
    refused(r, "1 to 99 percent");
    r.canary_percent = 20;
    r.stable_version = "";
    refused(r, "the stable version");
    r.stable_version = "v2.0.0";
    refused(r, "both run v2.0.0");
    target.image = "bad image\"";
    refused(release(), "deploy.prod.image");
}
