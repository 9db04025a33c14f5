#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <mlo/pipeline/params.hpp>
#include <nlohmann/json.hpp>

using mlo::ErrorCode;
using mlo::pipeline::expand_template;
using mlo::pipeline::Params;
using mlo::pipeline::template_keys;

namespace {

Params parse_ok(const std::string& text) {
    auto params = Params::parse(text, "params.yaml");
    if (!params)
        FAIL(params.error().message);
    return *params;
}

std::string value_of(const Params& params, const std::string& key) {
    auto value = params.value(key);
    if (!value)
        FAIL(value.error().message);
    return *value;
}

const char* const k_params = "prepare:\n"
                             "  split: 0.2\n"
                             "  seed: 42\n"
                             "train:\n"
                             "  lr: 0.10\n"
                             "  depth: 3\n"
                             "  name: \"forest\"\n"
                             "  layers: [64, 32]\n"
                             "  opt:\n"
                             "    kind: adam\n"
                             "    beta: 0.9\n"
                             "flag: true\n"
                             "nothing:\n";

} // namespace

TEST_CASE("dotted keys reach leaves and keep the scalar text as written", "[params]") {
    Params params = parse_ok(k_params);
    CHECK(value_of(params, "prepare.split") == "0.2");
    CHECK(value_of(params, "train.lr") == "0.10");
    CHECK(value_of(params, "train.depth") == "3");
    CHECK(value_of(params, "train.name") == "forest");
    CHECK(value_of(params, "train.opt.kind") == "adam");
    CHECK(value_of(params, "flag") == "true");
    CHECK(value_of(params, "nothing") == "null");
    CHECK(value_of(params, "train.layers") == "[64,32]");
    CHECK(params.contains("train.opt"));
    CHECK(params.contains("train.opt.beta"));
    CHECK_FALSE(params.contains("train.opt.gamma"));
    CHECK_FALSE(params.contains("train.lr.x"));
    CHECK_FALSE(params.contains("train..lr"));
}

TEST_CASE("an unknown parameter is an input error with a suggestion", "[params]") {
    Params params = parse_ok(k_params);
    auto value = params.value("train.lrr");
    REQUIRE_FALSE(value);
    CHECK(value.error().code == ErrorCode::input);
    CHECK(value.error().message == "unknown parameter 'train.lrr' (did you mean 'train.lr'?)");
    CHECK_THAT(value.error().hint, Catch::Contains("params.yaml"));
    auto far = params.value("zzz.qqq");
    REQUIRE_FALSE(far);
    CHECK(far.error().message == "unknown parameter 'zzz.qqq'");
    // A leaf has no children.
    CHECK_FALSE(params.value("train.lr.x"));
}

TEST_CASE("a subtree is compact JSON with sorted keys, stable under reordering", "[params]") {
    Params params = parse_ok(k_params);
    CHECK(value_of(params, "train") ==
          R"({"depth":3,"layers":[64,32],"lr":0.10,"name":"forest","opt":{"beta":0.9,"kind":"adam"}})");
    Params reordered = parse_ok("train:\n"
                                "  opt: {beta: 0.9, kind: adam}\n"
                                "  name: \"forest\"\n"
                                "  layers:\n"
                                "    - 64\n"
                                "    - 32\n"
                                "  depth: 3\n"
                                "  lr: 0.10\n");
    CHECK(value_of(reordered, "train") == value_of(params, "train"));
    // Changing any leaf changes the subtree's value.
    Params changed = parse_ok("train:\n  opt: {beta: 0.95, kind: adam}\n  name: forest\n  layers: [64, 32]\n"
                              "  depth: 3\n  lr: 0.10\n");
    CHECK(value_of(changed, "train") != value_of(params, "train"));
    // The canonical form is valid JSON, whatever the scalars look like.
    Params odd = parse_ok("t:\n  a: yes\n  b: \"3\"\n  c: 0x1F\n  d: .5\n  e: \"quote\\\" and \\\\ slash\"\n"
                          "  f: ~\n  g: -1.5e3\n  h: {}\n  i: []\n");
    std::string json = value_of(odd, "t");
    CHECK(json == R"({"a":"yes","b":"3","c":"0x1F","d":".5","e":"quote\" and \\ slash","f":null,"g":-1.5e3,)"
                  R"("h":{},"i":[]})");
    CHECK_NOTHROW(nlohmann::json::parse(json));
}

TEST_CASE("flatten lists every leaf under a key", "[params]") {
    Params params = parse_ok(k_params);
    std::map<std::string, std::string> train = {{"train.depth", "3"},      {"train.layers", "[64,32]"},
                                                {"train.lr", "0.10"},      {"train.name", "forest"},
                                                {"train.opt.beta", "0.9"}, {"train.opt.kind", "adam"}};
    CHECK(params.flatten("train") == train);
    CHECK(params.flatten("train.lr") == std::map<std::string, std::string>{{"train.lr", "0.10"}});
    CHECK(params.flatten("missing").empty());
    auto all = params.flatten();
    CHECK(all.size() == 10);
    CHECK(all.at("prepare.seed") == "42");
    CHECK(all.at("flag") == "true");
    CHECK(all.at("nothing") == "null");
}

TEST_CASE("overrides replace values, create maps and keep numbers numbers", "[params]") {
    Params params = parse_ok(k_params);
    REQUIRE(params.apply_override("train.lr=0.2"));
    REQUIRE(params.apply_override("train.opt.kind='sgd'"));
    REQUIRE(params.apply_override("eval.metrics.top_k=5"));
    REQUIRE(params.apply_override("train.layers=[128, 64, 32]"));
    REQUIRE(params.apply_override("nothing.inner=1")); // a null becomes a map
    REQUIRE(params.apply_override("label=0.5"));
    REQUIRE(params.apply_override("note="));
    CHECK(value_of(params, "train.lr") == "0.2");
    CHECK(value_of(params, "train.opt.kind") == "sgd");
    CHECK(value_of(params, "eval.metrics.top_k") == "5");
    CHECK(value_of(params, "eval") == R"({"metrics":{"top_k":5}})");
    CHECK(value_of(params, "train.layers") == "[128,64,32]");
    CHECK(value_of(params, "note") == "");
    // A map can be replaced by a scalar.
    REQUIRE(params.apply_override("prepare=off"));
    CHECK(value_of(params, "prepare") == "off");
    CHECK_FALSE(params.contains("prepare.split"));

    std::string text = params.serialize();
    CHECK_THAT(text, Catch::Contains("lr: 0.2\n"));
    CHECK_THAT(text, Catch::Contains("kind: \"sgd\"\n"));
    CHECK_THAT(text, Catch::Contains("label: 0.5\n"));
    CHECK_THAT(text, Catch::Contains("name: \"forest\"\n")); // a quoted string stays a string
    CHECK_THAT(text, Catch::Contains("nothing:\n  inner: 1\n"));
    // The written file reads back to the same values.
    Params again = parse_ok(text);
    CHECK(again.flatten() == params.flatten());
    CHECK(again.serialize() == text);
}

TEST_CASE("a quoted number stays a string when written back", "[params]") {
    Params params = parse_ok("version: \"1.0\"\nsteps: 100\nempty: {}\nnone: ~\n");
    REQUIRE(params.apply_override("steps=200"));
    CHECK(params.serialize() == "version: \"1.0\"\nsteps: 200\nempty: {}\nnone: null\n");
}

TEST_CASE("copies of a parameter set do not see each other's overrides", "[params]") {
    Params original = parse_ok("base: &b {lr: 0.1}\ntrain: *b\n");
    Params copy = original;
    REQUIRE(copy.apply_override("train.lr=0.5"));
    CHECK(value_of(copy, "train.lr") == "0.5");
    CHECK(value_of(copy, "base.lr") == "0.1"); // an alias is a copy, not a shared value
    CHECK(value_of(original, "train.lr") == "0.1");
}

TEST_CASE("malformed overrides are usage errors", "[params]") {
    Params params = parse_ok(k_params);
    auto error_of = [&](const std::string& assignment) {
        auto status = params.apply_override(assignment);
        REQUIRE_FALSE(status);
        CHECK(status.error().code == ErrorCode::usage);
        return status.error().message;
    };
    CHECK_THAT(error_of("train.lr"), Catch::Contains("expected key=value"));
    CHECK_THAT(error_of("=3"), Catch::Contains("not a parameter key"));
    CHECK_THAT(error_of("train..lr=3"), Catch::Contains("not a parameter key"));
    CHECK_THAT(error_of("train.=3"), Catch::Contains("not a parameter key"));
    CHECK_THAT(error_of("train.lr.x=3"), Catch::Contains("'train.lr' is a value, not a map"));
    CHECK_THAT(error_of("train.lr=[unclosed"), Catch::Contains("malformed override 'train.lr=[unclosed'"));
    // Nothing was changed by the failures.
    CHECK(value_of(params, "train.lr") == "0.10");
}

TEST_CASE("the params file: missing is empty, malformed names file and line", "[params]") {
    mlo::test::TempDir dir;
    auto missing = Params::load(dir / "params.yaml");
    REQUIRE(missing);
    CHECK(missing->flatten().empty());
    CHECK(missing->serialize() == "{}\n");
    REQUIRE(missing->apply_override("a.b=1"));
    CHECK(missing->serialize() == "a:\n  b: 1\n");

    { std::ofstream(dir / "params.yaml") << "train:\n  lr: 0.1\n"; }
    auto loaded = Params::load(dir / "params.yaml");
    REQUIRE(loaded);
    CHECK(value_of(*loaded, "train.lr") == "0.1");

    auto error_of = [](const std::string& text) {
        auto params = Params::parse(text, "params.yaml");
        REQUIRE_FALSE(params);
        CHECK(params.error().code == ErrorCode::input);
        return params.error().message;
    };
    CHECK_THAT(error_of("train:\n  lr: [0.1\n"), Catch::StartsWith("params.yaml: line "));
    CHECK_THAT(error_of("- a\n- b\n"), Catch::StartsWith("params.yaml: line 1: the top level must be a map"));
    CHECK(error_of("a: 1\nb:\n  c: 1\n  c: 2\n") == "params.yaml: line 4: duplicate key 'c'");
    CHECK_THAT(error_of("a: 1\na: 2\n? [x]\n: 3\n"), Catch::StartsWith("params.yaml: 2 problems:"));
    CHECK(parse_ok("").flatten().empty());
    CHECK(parse_ok("# only a comment\n").flatten().empty());
}

TEST_CASE("templates expand parameters", "[params]") {
    Params params = parse_ok(k_params);
    auto expanded =
        expand_template("python3 prepare.py --split ${prepare.split} --seed ${ prepare.seed }", params);
    REQUIRE(expanded);
    CHECK(*expanded == "python3 prepare.py --split 0.2 --seed 42");
    auto subtree = expand_template("train '${train.opt}'", params);
    REQUIRE(subtree);
    CHECK(*subtree == R"(train '{"beta":0.9,"kind":"adam"}')");
    auto plain = expand_template("echo $HOME $$ ${prepare.split}$", params);
    REQUIRE(plain);
    CHECK(*plain == "echo $HOME $$ 0.2$");
}

TEST_CASE("templates: $${ is a literal ${", "[params]") {
    Params params = parse_ok(k_params);
    auto escaped = expand_template("echo $${HOME} ${train.depth} $${train.lr}", params);
    REQUIRE(escaped);
    CHECK(*escaped == "echo ${HOME} 3 ${train.lr}");
    CHECK(template_keys("echo $${HOME} ${train.depth} ${a.b} ${train.depth}") ==
          std::vector<std::string>{"train.depth", "a.b"});
}

TEST_CASE("templates: every unknown key is reported together", "[params]") {
    Params params = parse_ok(k_params);
    auto result =
        expand_template("train --lr ${train.lrr} --x ${nope} --y ${train.lrr} ${train.depth}", params);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::input);
    CHECK(result.error().message ==
          "in command 'train --lr ${train.lrr} --x ${nope} --y ${train.lrr} ${train.depth}': 2 problems:\n"
          "  unknown parameter 'train.lrr' (did you mean 'train.lr'?)\n"
          "  unknown parameter 'nope'");
}

TEST_CASE("templates: unterminated and empty references are errors", "[params]") {
    Params params = parse_ok(k_params);
    auto unterminated = expand_template("run ${train.lr --fast", params);
    REQUIRE_FALSE(unterminated);
    CHECK(unterminated.error().message ==
          "in command 'run ${train.lr --fast': unterminated '${' at column 5");
    auto empty = expand_template("run ${} ${missing}", params);
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error().message, Catch::Contains("2 problems") &&
                                          Catch::Contains("empty '${}' at column 5") &&
                                          Catch::Contains("unknown parameter 'missing'"));
}
