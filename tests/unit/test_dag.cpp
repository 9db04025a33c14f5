#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/pipeline/dag.hpp>

using mlo::ErrorCode;
using mlo::core::StageConfig;
using mlo::pipeline::Dag;
using Names = std::vector<std::string>;
using NameSet = std::set<std::string>;

namespace {

StageConfig stage(const std::string& name, Names deps, Names outs, Names metrics = {}) {
    StageConfig config;
    config.name = name;
    config.cmd = "run " + name;
    config.deps = std::move(deps);
    config.outs = std::move(outs);
    config.metrics = std::move(metrics);
    return config;
}

// A project directory holding the given source files.
struct Project {
    mlo::test::TempDir dir;
    explicit Project(const Names& files = {"data/raw.csv", "src/a.py", "src/b.py", "src/c.py"}) {
        for (const auto& file : files) {
            std::filesystem::create_directories((dir / file).parent_path());
            std::ofstream(dir / file) << file;
        }
    }
    std::string root() const { return dir.path().string(); }
};

Dag build_ok(const std::vector<StageConfig>& stages, const Project& project) {
    auto dag = Dag::build(stages, project.root());
    if (!dag)
        FAIL(dag.error().message);
    return *dag;
}

std::string build_error(const std::vector<StageConfig>& stages, const Project& project) {
    auto dag = Dag::build(stages, project.root());
    REQUIRE_FALSE(dag);
    CHECK(dag.error().code == ErrorCode::input);
    return dag.error().message;
}

} // namespace

TEST_CASE("paths are normalised before they are compared", "[dag]") {
    using mlo::pipeline::normalize_pipeline_path;
    using mlo::pipeline::path_within;
    CHECK(normalize_pipeline_path("./data//prepared/") == "data/prepared");
    CHECK(normalize_pipeline_path("data/./x") == "data/x");
    CHECK(normalize_pipeline_path("model.pkl") == "model.pkl");
    CHECK(path_within("data/prepared/train.csv", "data/prepared"));
    CHECK(path_within("data/prepared", "data/prepared/"));
    CHECK_FALSE(path_within("data/prepared-old", "data/prepared"));
    CHECK_FALSE(path_within("data", "data/prepared"));
}

TEST_CASE("a linear pipeline", "[dag]") {
    Project project;
    Dag dag = build_ok(
        {stage("train", {"data/prepared/", "src/b.py"}, {"models/model.pkl"}, {"metrics/train.json"}),
         stage("prepare", {"data/raw.csv", "src/a.py"}, {"./data/prepared/"}),
         stage("evaluate", {"models/model.pkl", "src/c.py"}, {"reports/eval.json"})},
        project);
    CHECK(dag.topological_order() == Names{"prepare", "train", "evaluate"});
    CHECK(dag.upstream("train") == NameSet{"prepare"});
    CHECK(dag.downstream("train") == NameSet{"evaluate"});
    CHECK(dag.upstream("prepare").empty());
    CHECK(dag.upstream("nope").empty());
    CHECK(dag.has_stage("train"));
    CHECK_FALSE(dag.has_stage("nope"));
    CHECK(dag.stage("prepare").outs == Names{"data/prepared"}); // stored normalised
    CHECK(dag.producer_of("data/prepared/train.csv") == "prepare");
    CHECK(dag.producer_of("data/prepared") == "prepare");
    CHECK(dag.producer_of("metrics/train.json") == "train");
    CHECK(dag.producer_of("data/raw.csv") == "");
    CHECK(dag.descendants("prepare") == NameSet{"train", "evaluate"});
    CHECK(dag.descendants("evaluate").empty());
}

TEST_CASE("a diamond and independent stages", "[dag]") {
    Project project;
    Dag dag = build_ok({stage("lint", {"src/c.py"}, {"reports/lint.txt"}),
                        stage("join", {"features/a.csv", "features/b.csv"}, {"data/joined.csv"}),
                        stage("feat_b", {"data/raw.csv"}, {"features/b.csv"}),
                        stage("feat_a", {"data/raw.csv"}, {"features/a.csv"}),
                        stage("source", {"src/a.py"}, {"data/raw2.csv"})},
                       project);
    // Among ready stages, file order: lint, feat_b, feat_a, source are ready at once; join waits.
    CHECK(dag.topological_order() == Names{"lint", "feat_b", "feat_a", "join", "source"});
    CHECK(dag.upstream("join") == NameSet{"feat_a", "feat_b"});
    CHECK(dag.descendants("feat_a") == NameSet{"join"});
    CHECK(dag.descendants("lint").empty());
    auto selected = dag.select({"join"});
    REQUIRE(selected);
    CHECK(*selected == Names{"feat_b", "feat_a", "join"});
}

TEST_CASE("edges from a dep inside an out directory and an out inside a dep directory", "[dag]") {
    Project project;
    Dag dag = build_ok({stage("split", {"data/raw.csv"}, {"data/split"}),
                        stage("train", {"data/split/train.csv"}, {"models/a.pkl"}),
                        stage("package", {"models"}, {"dist/bundle.tar"})},
                       project);
    CHECK(dag.upstream("train") == NameSet{"split"});   // dep inside an out directory
    CHECK(dag.upstream("package") == NameSet{"train"}); // an out inside a dep directory
    CHECK(dag.topological_order() == Names{"split", "train", "package"});
}

TEST_CASE("the topological order is stable and follows the file", "[dag]") {
    Project project;
    std::vector<StageConfig> stages = {
        stage("z", {"src/a.py"}, {"out/z"}), stage("y", {"out/z"}, {"out/y"}),
        stage("x", {"src/a.py"}, {"out/x"}), stage("w", {"out/x", "out/z"}, {"out/w"}),
        stage("v", {"src/b.py"}, {"out/v"}),
    };
    Dag dag = build_ok(stages, project);
    Names expected = {"z", "y", "x", "w", "v"};
    CHECK(dag.topological_order() == expected);
    for (int i = 0; i < 5; ++i)
        CHECK(build_ok(stages, project).topological_order() == expected);
    // Moving a stage in the file moves it among the stages that are ready together.
    std::rotate(stages.begin(), stages.begin() + 4, stages.end());
    CHECK(build_ok(stages, project).topological_order() == Names{"v", "z", "y", "x", "w"});
}

TEST_CASE("select adds what the targets need; unknown stages get a suggestion", "[dag]") {
    Project project;
    Dag dag = build_ok({stage("prepare", {"data/raw.csv"}, {"data/prepared"}),
                        stage("train", {"data/prepared"}, {"models/m.pkl"}),
                        stage("evaluate", {"models/m.pkl"}, {"eval.json"}),
                        stage("lint", {"src/a.py"}, {"lint.txt"})},
                       project);
    auto everything = dag.select({});
    REQUIRE(everything);
    CHECK(*everything == Names{"prepare", "train", "evaluate", "lint"});
    auto train = dag.select({"train"});
    REQUIRE(train);
    CHECK(*train == Names{"prepare", "train"});
    auto two = dag.select({"lint", "evaluate", "lint"});
    REQUIRE(two);
    CHECK(*two == Names{"prepare", "train", "evaluate", "lint"});

    auto unknown = dag.select({"tarin", "train", "zzzz"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::usage);
    CHECK(unknown.error().message == "unknown stages 'tarin' (did you mean 'train'?), 'zzzz'");
    CHECK(unknown.error().hint == "stages: prepare, train, evaluate, lint");
    auto one = dag.select({"evalute"});
    REQUIRE_FALSE(one);
    CHECK(one.error().message == "unknown stage 'evalute' (did you mean 'evaluate'?)");
}

TEST_CASE("cycles are named in order", "[dag]") {
    Project project;
    CHECK(build_error({stage("a", {"b.out"}, {"a.out"}), stage("b", {"a.out"}, {"b.out"})}, project) ==
          "pipeline: cycle: a -> b -> a");
    CHECK(build_error({stage("lint", {"src/a.py"}, {"lint.txt"}), stage("c", {"b.out"}, {"c.out"}),
                       stage("a", {"c.out"}, {"a.out"}), stage("b", {"a.out"}, {"b.out"}),
                       stage("after", {"c.out"}, {"after.out"})},
                      project) == "pipeline: cycle: c -> a -> b -> c");
    // A cycle through a directory: 'b' reads inside what 'a' writes and 'a' reads what 'b' writes.
    CHECK(
        build_error({stage("a", {"data/b.csv"}, {"data/a"}), stage("b", {"data/a/part.csv"}, {"data/b.csv"})},
                    project) == "pipeline: cycle: a -> b -> a");
}

TEST_CASE("outs written by two stages or nested are errors", "[dag]") {
    Project project;
    CHECK(
        build_error({stage("a", {"src/a.py"}, {"models/m.pkl"}), stage("b", {"src/b.py"}, {"models/m.pkl/"})},
                    project) == "pipeline: stage 'b': out 'models/m.pkl' is also the out of stage 'a'");
    CHECK(build_error({stage("a", {"src/a.py"}, {"data/a"}), stage("b", {"src/b.py"}, {"data/a/x.csv"})},
                      project) ==
          "pipeline: stage 'b': out 'data/a/x.csv' lies inside out 'data/a' of stage 'a'");
    CHECK(build_error({stage("a", {"src/a.py"}, {"data/a/x.csv"}), stage("b", {"src/b.py"}, {"data/a"})},
                      project) ==
          "pipeline: stage 'b': out 'data/a' contains out 'data/a/x.csv' of stage 'a'");
    CHECK(build_error({stage("a", {"src/a.py"}, {"m.json"}), stage("b", {"src/b.py"}, {}, {"m.json"})},
                      project) == "pipeline: stage 'b': metrics file 'm.json' is also the out of stage 'a'");
    CHECK(build_error({stage("a", {"src/a.py"}, {"out", "out/x"})}, project) ==
          "pipeline: stage 'a': out 'out/x' lies inside its out 'out'");
    CHECK(build_error({stage("a", {"src/a.py"}, {"out", "./out"})}, project) ==
          "pipeline: stage 'a': 'out' is listed twice");
}

TEST_CASE("a stage cannot depend on its own outs", "[dag]") {
    Project project;
    CHECK(build_error({stage("a", {"model.pkl"}, {"model.pkl"})}, project) ==
          "pipeline: stage 'a': dep 'model.pkl' is also its own out");
    CHECK(build_error({stage("a", {"out/x"}, {"out"})}, project) ==
          "pipeline: stage 'a': dep 'out/x' lies inside its own out 'out'");
    CHECK(build_error({stage("a", {"data"}, {"model.pkl"}, {"data/metrics.json"})}, project) ==
          "pipeline: stage 'a': dep 'data' contains its own metrics file 'data/metrics.json'");
}

TEST_CASE("a dep nobody produces must exist", "[dag]") {
    Project project;
    auto dag =
        Dag::build({stage("train", {"data/x.csv", "data/raw.csv", "src/a.py"}, {"m.pkl"})}, project.root());
    REQUIRE_FALSE(dag);
    CHECK(dag.error().message ==
          "pipeline: stage 'train': dep 'data/x.csv' does not exist and no stage produces it");
    CHECK_FALSE(dag.error().hint.empty());
    // A directory on disk is a fine dep, and so is a file a stage produces even before it exists.
    build_ok({stage("a", {"data"}, {"a.out"}), stage("b", {"a.out"}, {"b.out"})}, project);
}

TEST_CASE("every problem is reported together", "[dag]") {
    Project project;
    std::string message = build_error(
        {stage("a", {"b.out", "missing.csv"}, {"a.out"}), stage("b", {"a.out"}, {"b.out"}),
         stage("c", {"c.out", "gone/"}, {"c.out", "shared"}), stage("d", {"src/a.py"}, {"shared/d"})},
        project);
    CHECK(message == "pipeline: 5 problems:\n"
                     "  stage 'd': out 'shared/d' lies inside out 'shared' of stage 'c'\n"
                     "  stage 'a': dep 'missing.csv' does not exist and no stage produces it\n"
                     "  stage 'c': dep 'c.out' is also its own out\n"
                     "  stage 'c': dep 'gone' does not exist and no stage produces it\n"
                     "  cycle: a -> b -> a");
}
