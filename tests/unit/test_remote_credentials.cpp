#include <catch2/catch.hpp>
#include <map>
#include <mlo/remote/aws_credentials.hpp>

using namespace mlo::remote;
namespace fs = std::filesystem;

namespace {

// An environment made of a variable map and in-memory files under HOME=/home/u.
struct FakeEnvironment {
    std::map<std::string, std::string> vars;
    std::map<std::string, std::string> files;

    AwsEnvironment get() const {
        AwsEnvironment env;
        env.getenv = [this](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        env.read_file = [this](const fs::path& path) -> std::optional<std::string> {
            auto it = files.find(path.string());
            return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        env.home = "/home/u";
        return env;
    }
};

const char* k_credentials = R"(# a comment
[default]
aws_access_key_id = AKDEFAULT
aws_secret_access_key = secret/default+x=

[work]
AWS_ACCESS_KEY_ID=AKWORK
aws_secret_access_key=secretwork
aws_session_token = tokenwork
; another comment
[broken]
aws_access_key_id = AKONLY
)";

const char* k_config = R"([default]
region = eu-west-1
[profile work]
region = ap-south-1
[profile cfgonly]
aws_access_key_id = AKCFG
aws_secret_access_key = secretcfg
)";

} // namespace

TEST_CASE("parse_ini reads sections, lower-cases keys, trims values and skips comments", "[remote]") {
    auto ini = parse_ini(k_credentials);
    REQUIRE(ini.size() == 3);
    CHECK(ini["default"]["aws_secret_access_key"] == "secret/default+x=");
    CHECK(ini["work"]["aws_access_key_id"] == "AKWORK");
    CHECK(ini["work"]["aws_session_token"] == "tokenwork");
    CHECK(ini["broken"].count("aws_secret_access_key") == 0);
    CHECK(parse_ini("key = outside any section\n[s]\nk=v\r\n")["s"]["k"] == "v");
    CHECK(parse_ini("key = outside\n").empty());
}

TEST_CASE("environment variables come before the shared credentials file", "[remote]") {
    FakeEnvironment fake;
    fake.files["/home/u/.aws/credentials"] = k_credentials;
    fake.vars = {
        {"AWS_ACCESS_KEY_ID", "AKENV"}, {"AWS_SECRET_ACCESS_KEY", "secretenv"}, {"AWS_SESSION_TOKEN", "tok"}};
    auto credentials = resolve_aws_credentials("", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKENV");
    CHECK(credentials->secret_access_key == "secretenv");
    CHECK(credentials->session_token == "tok");
    CHECK(credentials->source == "environment");

    // Only one of the pair set: the environment does not count.
    fake.vars.erase("AWS_SECRET_ACCESS_KEY");
    credentials = resolve_aws_credentials("", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKDEFAULT");
}

TEST_CASE("AWS_PROFILE picks the profile; a profile in mlo.yaml beats the environment", "[remote]") {
    FakeEnvironment fake;
    fake.files["/home/u/.aws/credentials"] = k_credentials;
    fake.files["/home/u/.aws/config"] = k_config;
    fake.vars = {{"AWS_PROFILE", "work"}};
    auto credentials = resolve_aws_credentials("", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKWORK");
    CHECK(credentials->session_token == "tokenwork");
    CHECK(credentials->source == "profile 'work' in /home/u/.aws/credentials");

    fake.vars = {{"AWS_ACCESS_KEY_ID", "AKENV"}, {"AWS_SECRET_ACCESS_KEY", "secretenv"}};
    credentials = resolve_aws_credentials("work", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKWORK");

    // Keys may live in the config file too, under [profile NAME].
    credentials = resolve_aws_credentials("cfgonly", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKCFG");
    CHECK(credentials->source == "profile 'cfgonly' in /home/u/.aws/config");
}

TEST_CASE("the file locations follow AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE", "[remote]") {
    FakeEnvironment fake;
    fake.files["/etc/creds"] = "[default]\naws_access_key_id=AKX\naws_secret_access_key=sx\n";
    fake.files["/etc/conf"] = "[default]\nregion=sa-east-1\n";
    fake.vars = {{"AWS_SHARED_CREDENTIALS_FILE", "/etc/creds"}, {"AWS_CONFIG_FILE", "/etc/conf"}};
    auto credentials = resolve_aws_credentials("", fake.get());
    REQUIRE(credentials);
    CHECK(credentials->access_key_id == "AKX");
    CHECK(resolve_aws_region("", "", fake.get()) == "sa-east-1");
}

TEST_CASE("no credentials is a usage error that names where it looked and no value", "[remote]") {
    FakeEnvironment fake;
    fake.files["/home/u/.aws/credentials"] = k_credentials;
    fake.vars = {{"AWS_PROFILE", "broken"}, {"AWS_SECRET_ACCESS_KEY", "must-not-appear"}};
    auto credentials = resolve_aws_credentials("", fake.get());
    REQUIRE_FALSE(credentials);
    CHECK(credentials.error().code == mlo::ErrorCode::usage);
    CHECK_THAT(credentials.error().message, Catch::Contains("profile 'broken'"));
    CHECK_THAT(credentials.error().message, Catch::Contains("/home/u/.aws/credentials"));
    CHECK_THAT(credentials.error().message + credentials.error().hint, !Catch::Contains("must-not-appear"));
    CHECK_THAT(credentials.error().message, !Catch::Contains("AKONLY"));

    auto missing = resolve_aws_credentials("nope", fake.get());
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("profile 'nope'"));
}

TEST_CASE("the region: mlo.yaml, then AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1", "[remote]") {
    FakeEnvironment fake;
    CHECK(resolve_aws_region("", "", fake.get()) == "us-east-1");
    fake.files["/home/u/.aws/config"] = k_config;
    CHECK(resolve_aws_region("", "", fake.get()) == "eu-west-1");
    CHECK(resolve_aws_region("", "work", fake.get()) == "ap-south-1");
    fake.vars = {{"AWS_PROFILE", "work"}};
    CHECK(resolve_aws_region("", "", fake.get()) == "ap-south-1");
    fake.vars["AWS_DEFAULT_REGION"] = "us-west-1";
    CHECK(resolve_aws_region("", "", fake.get()) == "us-west-1");
    fake.vars["AWS_REGION"] = "us-west-2";
    CHECK(resolve_aws_region("", "", fake.get()) == "us-west-2");
    CHECK(resolve_aws_region("eu-north-1", "", fake.get()) == "eu-north-1");
}
