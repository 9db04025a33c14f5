#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/core/config.hpp>
#include <sstream>

using mlo::ErrorCode;
using mlo::core::Config;
using mlo::core::LinkMode;
using mlo::core::load_config;
using mlo::core::parse_config;

namespace {

// The example of SPEC.md section 1, verbatim.
const char* const k_spec_example = R"(project: churn
store:
  link: auto                 # auto | reflink | hardlink | symlink | copy
params: params.yaml          # default parameter file for stages
remotes:
  origin: {url: s3://ml-bucket/churn, endpoint: http://127.0.0.1:9000, region: us-east-1}
  nas:    {url: /mnt/nas/mlo}
default_remote: origin
pipeline:                    # a DAG; edges come from deps/outs
  prepare:
    cmd: python3 src/prepare.py --split ${prepare.split}
    deps: [data/raw.csv, src/prepare.py]
    params: [prepare.split]
    outs: [data/prepared/]
  train:
    cmd: python3 src/train.py
    deps: [data/prepared/, src/train.py]
    params: [train]          # a whole subtree of params.yaml
    outs: [models/churn.pkl]
    metrics: [metrics/train.json]
models:
  churn-clf:
    path: models/churn.pkl   # file or directory produced by a stage or tracked by hand
    type: sklearn            # free-form flavor recorded in the manifest
    signature:
      inputs:  [{name: tenure, type: double}, {name: plan, type: string}]
      outputs: [{name: churn, type: int64}]
    serve:
      cmd: python3 src/serve.py          # a worker speaking the worker protocol (section 6)
      workers: 2
      batch: {max_size: 64, max_delay_ms: 5}
registry:
  stages: [staging, production]
deploy:
  local: {type: local, port: 8080}
  prod:  {type: kubernetes, namespace: ml, replicas: 3, image: registry.example/churn-serve}
monitor:
  model: churn-clf
  reference: data/prepared/valid.csv     # tracked dataset used as the baseline
  target: churned
  prediction: churn
  features: {tenure: numeric, plan: categorical}
  drift: {share: 0.5}
  performance: {accuracy: {min: 0.80}, recall: {min: 0.70}}
  on_fail: retrain
access:
  keys: {alice@example.com: "ed25519:<base64 public key>"}
  rules:
    - {action: promote, stage: production, signers: [alice@example.com], min: 1}
)";

std::string error_of(const std::string& text) {
    auto result = parse_config(text);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::input);
    return result.error().message;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

} // namespace

TEST_CASE("the SPEC example parses with every field", "[config]") {
    auto result = parse_config(k_spec_example);
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result);
    const Config& config = *result;

    CHECK(config.project == "churn");
    CHECK(config.link == LinkMode::auto_);
    CHECK(config.params_file == "params.yaml");

    REQUIRE(config.remotes.size() == 2);
    const auto& origin = config.remotes.at("origin");
    CHECK(origin.name == "origin");
    CHECK(origin.url == "s3://ml-bucket/churn");
    CHECK(origin.endpoint == "http://127.0.0.1:9000");
    CHECK(origin.region == "us-east-1");
    CHECK(origin.profile.empty());
    CHECK(origin.jobs == 0);
    CHECK(config.remotes.at("nas").url == "/mnt/nas/mlo"); // remote urls may be absolute
    CHECK(config.default_remote == "origin");

    REQUIRE(config.pipeline.size() == 2);
    const auto& prepare = config.pipeline[0];
    CHECK(prepare.name == "prepare");
    CHECK(prepare.cmd == "python3 src/prepare.py --split ${prepare.split}");
    CHECK(prepare.deps == std::vector<std::string>{"data/raw.csv", "src/prepare.py"});
    CHECK(prepare.params == std::vector<std::string>{"prepare.split"});
    CHECK(prepare.outs == std::vector<std::string>{"data/prepared/"});
    CHECK(prepare.metrics.empty());
    CHECK(prepare.executor.empty());
    const auto& train = config.pipeline[1];
    CHECK(train.name == "train");
    CHECK(train.params == std::vector<std::string>{"train"});
    CHECK(train.outs == std::vector<std::string>{"models/churn.pkl"});
    CHECK(train.metrics == std::vector<std::string>{"metrics/train.json"});
    CHECK_FALSE(train.always_changed);

    REQUIRE(config.models.size() == 1);
    const auto& model = config.models.at("churn-clf");
    CHECK(model.name == "churn-clf");
    CHECK(model.path == "models/churn.pkl");
    CHECK(model.type == "sklearn");
    REQUIRE(model.signature.IsMap());
    CHECK(model.signature["inputs"].size() == 2);
    CHECK(model.signature["inputs"][1]["name"].as<std::string>() == "plan");
    CHECK(model.signature["outputs"][0]["type"].as<std::string>() == "int64");
    REQUIRE(model.serve.IsMap());
    CHECK(model.serve["workers"].as<int>() == 2);
    CHECK(model.serve["batch"]["max_size"].as<int>() == 64);

    CHECK(config.registry_stages == std::vector<std::string>{"staging", "production"});

    REQUIRE(config.deploy.IsMap());
    CHECK(config.deploy["prod"]["replicas"].as<int>() == 3);
    REQUIRE(config.monitor.IsMap());
    CHECK(config.monitor["on_fail"].as<std::string>() == "retrain");
    CHECK(config.monitor["performance"]["recall"]["min"].as<double>() == Approx(0.70));
    // Kept nodes still carry their marks so later layers can name lines.
    CHECK(config.monitor["target"].Mark().line + 1 == 40);
    REQUIRE(config.access.rules.size() == 1);
    CHECK(config.access.rules[0].action == "promote");
    CHECK(config.access.rules[0].stage == "production");
    CHECK(config.access.rules[0].min == 1);
}

TEST_CASE("a minimal file needs only a project", "[config]") {
    auto result = parse_config("project: x\n");
    REQUIRE(result);
    CHECK(result->project == "x");
    CHECK(result->link == LinkMode::auto_);
    CHECK(result->params_file == "params.yaml");
    CHECK(result->remotes.empty());
    CHECK(result->default_remote.empty());
    CHECK(result->pipeline.empty());
    CHECK(result->models.empty());
    CHECK(result->registry_stages.empty());
    CHECK(result->deploy.IsNull());
    CHECK(result->monitor.IsNull());
    CHECK(result->access.keys.empty());
    CHECK(result->access.rules.empty());
}

TEST_CASE("empty sections read as absent", "[config]") {
    auto result = parse_config("project: x\npipeline:\nmodels:\nmonitor:\n");
    REQUIRE(result);
    CHECK(result->pipeline.empty());
    CHECK(result->monitor.IsNull());
}

TEST_CASE("a missing project is reported", "[config]") {
    auto result = parse_config("store: {link: copy}\n");
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::input);
    CHECK(result.error().message == "mlo.yaml: missing required key 'project'");
    CHECK_THAT(result.error().hint, Catch::Contains("project: <name>"));

    CHECK_THAT(error_of(""), Catch::Contains("empty"));
    CHECK(error_of("project: ''\n") == "mlo.yaml: line 1: project: must be a non-empty string, not ''");
    CHECK(error_of("project: 'a b'\n") == "mlo.yaml: line 1: project: 'a b' is not a valid name");
    CHECK(error_of("project: -x\n") == "mlo.yaml: line 1: project: '-x' is not a valid name");
    CHECK(parse_config("project: churn_v2.1-a\n"));
}

TEST_CASE("an unknown top-level key gets a did-you-mean", "[config]") {
    auto message = error_of("project: x\n"
                            "pipline:\n"
                            "  train: {cmd: make}\n");
    CHECK(message == "mlo.yaml: line 2: unknown key 'pipline' (did you mean 'pipeline'?)");

    // Without a close match the hint lists the keys instead.
    auto result = parse_config("project: x\nzzzzzz: 1\n");
    REQUIRE_FALSE(result);
    CHECK(result.error().message == "mlo.yaml: line 2: unknown key 'zzzzzz'");
    CHECK_THAT(result.error().hint, Catch::Contains("project, store, params"));
}

TEST_CASE("unknown keys are rejected inside sections", "[config]") {
    CHECK(error_of("project: x\nstore: {lnik: copy}\n") ==
          "mlo.yaml: line 2: store: unknown key 'lnik' (did you mean 'link'?)");
    CHECK(error_of("project: x\npipeline:\n  train:\n    cmd: make\n    dep: [a]\n") ==
          "mlo.yaml: line 5: pipeline.train: unknown key 'dep' (did you mean 'deps'?)");
    CHECK(error_of("project: x\nmonitor:\n  model: m\n  referense: a.csv\n") ==
          "mlo.yaml: line 4: monitor: unknown key 'referense' (did you mean 'reference'?)");
    CHECK(error_of("project: x\naccess:\n  rule: []\n") ==
          "mlo.yaml: line 3: access: unknown key 'rule' (did you mean 'rules'?)");
    CHECK(error_of("project: x\nremotes:\n  o: {url: /x, jbos: 2}\n") ==
          "mlo.yaml: line 3: remotes.o: unknown key 'jbos' (did you mean 'jobs'?)");
    CHECK(error_of("project: x\nregistry: {stage: [a]}\n") ==
          "mlo.yaml: line 2: registry: unknown key 'stage' (did you mean 'stages'?)");
}

TEST_CASE("model names that mlo register reads as subcommands are refused", "[config]") {
    CHECK(error_of("project: x\nmodels:\n  list: {path: m.pkl}\n") ==
          "mlo.yaml: line 3: models: 'list' is reserved (a subcommand of mlo register)");
    CHECK(parse_config("project: x\nmodels:\n  lists: {path: m.pkl}\n"));
}

TEST_CASE("access rules are checked against stages and keys", "[config]") {
    std::string head = "project: x\nregistry: {stages: [staging, production]}\naccess:\n"
                       "  keys: {alice: \"ed25519:AAAA\"}\n  rules:\n";
    auto ok = parse_config(head + "    - {action: promote, stage: production, signers: [alice], min: 1}\n"
                                  "    - {action: register}\n");
    REQUIRE(ok);
    REQUIRE(ok->access.rules.size() == 2);
    CHECK(ok->access.rules[0].signers == std::vector<std::string>{"alice"});
    CHECK(ok->access.rules[0].line == 6);
    CHECK(ok->access.rules[1].stage.empty());
    CHECK(ok->access.rules[1].min == 1);
    CHECK(ok->access.keys.at("alice") == "ed25519:AAAA");

    CHECK(error_of(head + "    - {action: promte, stage: production}\n") ==
          "mlo.yaml: line 6: access.rules.action: unknown action 'promte' (did you mean 'promote'?)");
    CHECK(error_of(head + "    - {action: promote, stage: prod}\n") ==
          "mlo.yaml: line 6: access.rules: stage 'prod' is not in registry.stages");
    CHECK(error_of(head + "    - {action: promote, stage: production, signers: [alic]}\n") ==
          "mlo.yaml: line 6: access.rules: signer 'alic' has no key in access.keys (did you mean 'alice'?)");
    CHECK(error_of(head + "    - {action: promote, signers: [alice], min: 2}\n") ==
          "mlo.yaml: line 6: access.rules: min 2 is more than the 1 signers listed");
    CHECK(error_of(head + "    - {action: promote, min: 0}\n") ==
          "mlo.yaml: line 6: access.rules.min: must be a whole number of at least 1, not '0'");
    CHECK(error_of(head + "    - {stage: production}\n") ==
          "mlo.yaml: line 6: access.rules: a rule is missing required key 'action'");
    CHECK(error_of("project: x\naccess:\n  keys: {bob: \"rsa:xyz\"}\n") ==
          "mlo.yaml: line 3: access.keys.bob: must be \"ed25519:<base64>\"");
}

TEST_CASE("several problems are reported together, sorted by line", "[config]") {
    auto result = parse_config("project: x\n"            // 1
                               "store:\n"                // 2
                               "  link: fast\n"          // 3
                               "pipline: {}\n"           // 4
                               "pipeline:\n"             // 5
                               "  train:\n"              // 6
                               "    deps: [/etc/data]\n" // 7
                               "    outs: [../out]\n"    // 8
                               "remotes:\n"              // 9
                               "  o: {url: /x, jobs: 0}\n"
                               "default_remote: origin\n"); // 11
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::input);
    auto lines = lines_of(result.error().message);
    REQUIRE(lines.size() == 8);
    CHECK(lines[0] == "mlo.yaml: 7 problems:");
    CHECK_THAT(lines[1], Catch::StartsWith("  line 3: store.link: unknown link mode 'fast'"));
    CHECK(lines[2] == "  line 4: unknown key 'pipline' (did you mean 'pipeline'?)");
    CHECK(lines[3] == "  line 6: pipeline.train: missing required key 'cmd'");
    CHECK(lines[4] == "  line 7: pipeline.train.deps: '/etc/data' is an absolute path");
    CHECK(lines[5] == "  line 8: pipeline.train.outs: '../out' leaves the project ('..')");
    CHECK(lines[6] == "  line 10: remotes.o.jobs: must be a positive integer, not '0'");
    CHECK_THAT(lines[7], Catch::StartsWith("  line 11: default_remote: 'origin' is not a remote"));
    // Distinct hints, one per line.
    CHECK_THAT(result.error().hint, Catch::Contains("relative to the directory holding mlo.yaml"));
    CHECK_THAT(result.error().hint, Catch::Contains("cmd: python3"));
}

TEST_CASE("a bad link mode lists the valid ones", "[config]") {
    auto message = error_of("project: x\nstore:\n  link: fast\n");
    CHECK(message == "mlo.yaml: line 3: store.link: unknown link mode 'fast' (valid: auto, reflink, "
                     "hardlink, symlink, copy)");
    CHECK_THAT(error_of("project: x\nstore: {link: hardlnk}\n"),
               Catch::Contains("(did you mean 'hardlink'?)"));

    for (auto mode :
         {LinkMode::auto_, LinkMode::reflink, LinkMode::hardlink, LinkMode::symlink, LinkMode::copy}) {
        auto parsed = mlo::store::parse_link_mode(mlo::store::to_string(mode));
        REQUIRE(parsed);
        CHECK(*parsed == mode);
    }
    auto parsed = parse_config("project: x\nstore: {link: symlink}\n");
    REQUIRE(parsed);
    CHECK(parsed->link == LinkMode::symlink);
    CHECK(mlo::store::to_string(LinkMode::auto_) == "auto");
    CHECK_FALSE(mlo::store::parse_link_mode("Copy"));
}

TEST_CASE("a stage without cmd is reported", "[config]") {
    CHECK(error_of("project: x\npipeline:\n  train:\n    deps: [a.py]\n") ==
          "mlo.yaml: line 3: pipeline.train: missing required key 'cmd'");
    CHECK(error_of("project: x\npipeline:\n  train: {cmd: [make]}\n") ==
          "mlo.yaml: line 3: pipeline.train.cmd: must be a non-empty string, not a list");
    CHECK(error_of("project: x\npipeline:\n  train: make\n") ==
          "mlo.yaml: line 3: pipeline.train: must be a map, not 'make'");
    CHECK(error_of("project: x\npipeline:\n  'bad name': {cmd: make}\n") ==
          "mlo.yaml: line 3: pipeline: 'bad name' is not a valid stage name");
}

TEST_CASE("stage fields are read and type-checked", "[config]") {
    auto result = parse_config("project: x\n"
                               "pipeline:\n"
                               "  train:\n"
                               "    cmd: make\n"
                               "    executor: slurm\n"
                               "    slurm: {partition: gpu}\n"
                               "    desc: trains\n"
                               "    always_changed: true\n"
                               "  eval:\n"
                               "    cmd: make eval\n"
                               "    executor: local\n");
    REQUIRE(result);
    const auto& train = result->pipeline.at(0);
    CHECK(train.executor == "slurm");
    CHECK(train.executor_options["partition"].as<std::string>() == "gpu");
    CHECK(train.desc == "trains");
    CHECK(train.always_changed);
    CHECK(result->pipeline.at(1).executor.empty()); // "local" is the default

    CHECK(error_of("project: x\npipeline:\n  t: {cmd: m, always_changed: maybe}\n") ==
          "mlo.yaml: line 3: pipeline.t.always_changed: must be true or false, not 'maybe'");
    CHECK(error_of("project: x\npipeline:\n  t: {cmd: m, deps: a.py}\n") ==
          "mlo.yaml: line 3: pipeline.t.deps: must be a list of strings, not 'a.py'");
    CHECK(error_of("project: x\npipeline:\n  t: {cmd: m, outs: [[a]]}\n") ==
          "mlo.yaml: line 3: pipeline.t.outs: entries must be non-empty strings, not a list");
    CHECK_THAT(error_of("project: x\npipeline:\n  t:\n    cmd: m\n    params:\n      - {other.yaml: [a]}\n"),
               Catch::Contains("line 6: pipeline.t.params: params from another file"));
    CHECK(error_of("project: x\npipeline:\n  t: {cmd: m, slurm: gpu}\n") ==
          "mlo.yaml: line 3: pipeline.t.slurm: must be a map, not 'gpu'");
}

TEST_CASE("absolute and '..' paths are rejected", "[config]") {
    CHECK(error_of(
              "project: x\npipeline:\n  t:\n    cmd: m\n    deps:\n      - ok.py\n      - /abs/data.csv\n") ==
          "mlo.yaml: line 7: pipeline.t.deps: '/abs/data.csv' is an absolute path");
    CHECK(error_of("project: x\npipeline:\n  t: {cmd: m, metrics: [a/../../m.json]}\n") ==
          "mlo.yaml: line 3: pipeline.t.metrics: 'a/../../m.json' leaves the project ('..')");
    CHECK(error_of("project: x\nmodels:\n  m:\n    path: ../models/m.pkl\n") ==
          "mlo.yaml: line 4: models.m.path: '../models/m.pkl' leaves the project ('..')");
    CHECK(error_of("project: x\nparams: /etc/params.yaml\n") ==
          "mlo.yaml: line 2: params: '/etc/params.yaml' is an absolute path");
    // A name that merely contains dots is fine.
    auto result = parse_config("project: x\npipeline:\n  t: {cmd: m, outs: [a..b/c, ./d/, ..e]}\n");
    REQUIRE(result);
    CHECK(result->pipeline[0].outs.size() == 3);
}

TEST_CASE("malformed YAML is reported with its line", "[config]") {
    auto result = parse_config("project: x\npipeline:\n  train: {cmd: make\n", "custom.yaml");
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::input);
    CHECK(result.error().message == "custom.yaml: line 4: end of map flow not found");

    auto tabs = parse_config("project: x\nstore:\n\tlink: copy\n");
    REQUIRE_FALSE(tabs);
    CHECK_THAT(tabs.error().message, Catch::StartsWith("mlo.yaml: line 3: "));
    CHECK_THAT(tabs.error().hint, Catch::Contains("tab"));

    CHECK_THAT(error_of("project: x\nproject: y\n"),
               Catch::Equals("mlo.yaml: line 2: duplicate key 'project'"));
}

TEST_CASE("default_remote must name a remote", "[config]") {
    auto result = parse_config("project: x\n"
                               "default_remote: orign\n"
                               "remotes:\n"
                               "  origin: {url: s3://b/p, jobs: 8}\n");
    REQUIRE_FALSE(result);
    CHECK(result.error().message ==
          "mlo.yaml: line 2: default_remote: 'orign' is not a remote (did you mean 'origin'?)");
    CHECK(result.error().hint == "remotes: origin");

    CHECK(error_of("project: x\ndefault_remote: origin\n") ==
          "mlo.yaml: line 2: default_remote: 'origin' is not a remote");

    // Defined after default_remote is fine: the check waits for every remote.
    auto ok =
        parse_config("project: x\ndefault_remote: origin\nremotes:\n  origin: {url: s3://b/p, jobs: 8}\n");
    REQUIRE(ok);
    CHECK(ok->default_remote == "origin");
    CHECK(ok->remotes.at("origin").jobs == 8);

    CHECK(error_of("project: x\nremotes:\n  o: {region: eu}\n") ==
          "mlo.yaml: line 3: remotes.o: missing required key 'url'");
}

TEST_CASE("the top level must be a map", "[config]") {
    CHECK_THAT(error_of("- project: x\n"),
               Catch::StartsWith("mlo.yaml: line 1: the top level must be a map"));
    CHECK_THAT(error_of("just text\n"), Catch::Contains("not 'just text'"));
    CHECK(error_of("project: x\nstore: copy\n") == "mlo.yaml: line 2: store: must be a map, not 'copy'");
    CHECK(error_of("project: x\ndeploy: [a]\n") == "mlo.yaml: line 2: deploy: must be a map, not a list");
    CHECK(error_of("project: x\ndeploy:\n  local: 8080\n") ==
          "mlo.yaml: line 3: deploy.local: must be a map, not '8080'");
}

TEST_CASE("pipeline stages keep file order", "[config]") {
    auto result = parse_config("project: x\n"
                               "pipeline:\n"
                               "  zeta: {cmd: a}\n"
                               "  alpha: {cmd: b}\n"
                               "  mid: {cmd: c}\n"
                               "  beta: {cmd: d}\n");
    REQUIRE(result);
    std::vector<std::string> names;
    for (const auto& stage : result->pipeline)
        names.push_back(stage.name);
    CHECK(names == std::vector<std::string>{"zeta", "alpha", "mid", "beta"});
}

TEST_CASE("models and registry names and signatures are checked", "[config]") {
    CHECK(error_of("project: x\nmodels:\n  -bad-: {path: m.pkl}\n") ==
          "mlo.yaml: line 3: models: '-bad-' is not a valid model name");
    CHECK(parse_config("project: x\nmodels:\n  team/churn_v2: {path: m.pkl}\n"));
    CHECK(error_of("project: x\nmodels:\n  m: {type: sklearn}\n") ==
          "mlo.yaml: line 3: models.m: missing required key 'path'");

    auto message = error_of("project: x\n"
                            "models:\n"
                            "  m:\n"
                            "    path: m.pkl\n"
                            "    signature:\n"
                            "      inputs:\n"
                            "        - {name: a, type: double, pii: yes}\n"
                            "        - {name: a, type: double}\n"
                            "        - {type: string, pii: sometimes}\n"
                            "      outptus: []\n");
    auto lines = lines_of(message);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "mlo.yaml: 4 problems:");
    CHECK(lines[1] == "  line 8: models.m.signature.inputs: duplicate field name 'a'");
    CHECK(lines[2] == "  line 9: models.m.signature.inputs.pii: must be true or false, not 'sometimes'");
    CHECK(lines[3] == "  line 9: models.m.signature.inputs: an entry is missing required key 'name'");
    CHECK(lines[4] == "  line 10: models.m.signature: unknown key 'outptus' (did you mean 'outputs'?)");

    CHECK(error_of("project: x\nregistry:\n  stages: [staging, 'prod#1', staging]\n") ==
          "mlo.yaml: 2 problems:\n"
          "  line 3: registry.stages: 'prod#1' is not a valid stage name\n"
          "  line 3: registry.stages: duplicate stage 'staging'");
}

TEST_CASE("load_config reads a file and names it in errors", "[config]") {
    mlo::test::TempDir dir;
    {
        std::ofstream out(dir / "mlo.yaml");
        out << "project: demo\nstor: {}\n";
    }
    auto result = load_config(dir / "mlo.yaml");
    REQUIRE_FALSE(result);
    CHECK(result.error().message == "mlo.yaml: line 2: unknown key 'stor' (did you mean 'store'?)");
    {
        std::ofstream out(dir / "mlo.yaml");
        out << k_spec_example;
    }
    auto ok = load_config(dir / "mlo.yaml");
    REQUIRE(ok);
    CHECK(ok->project == "churn");

    auto missing = load_config(dir / "nope.yaml");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::input);
    CHECK_THAT(missing.error().message, Catch::Contains("nope.yaml") && Catch::Contains("No such file"));
}

TEST_CASE("slurm options are parsed and checked with their lines", "[config]") {
    auto good =
        parse_config("project: x\npipeline:\n  train:\n    cmd: run\n    executor: slurm\n"
                     "    slurm: {partition: gpu, time: '1-02:00:00', cpus: 8, mem: 16G, gpus: 'a100:2'}\n");
    REQUIRE(good);
    const auto& stage = good->pipeline.at(0);
    CHECK(stage.executor == "slurm");
    CHECK(stage.slurm.partition == "gpu");
    CHECK(stage.slurm.time == "1-02:00:00");
    CHECK(stage.slurm.cpus == 8);
    CHECK(stage.slurm.mem == "16G");
    CHECK(stage.slurm.gpus == "a100:2");

    auto bad = parse_config("project: x\npipeline:\n  train:\n    cmd: run\n    executor: pbs\n"
                            "    slurm:\n      cpus: 0\n      time: '1:2:3:4'\n      mem: 12X\n");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::input);
    const auto& message = bad.error().message;
    CHECK(message.find("line 5: pipeline.train.executor: unknown executor 'pbs'") != std::string::npos);
    CHECK(message.find("line 7: pipeline.train.slurm.cpus") != std::string::npos);
    CHECK(message.find("line 8: pipeline.train.slurm.time") != std::string::npos);
    CHECK(message.find("line 9: pipeline.train.slurm.mem") != std::string::npos);
}
