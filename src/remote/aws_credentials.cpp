// The AWS credential chain, reduced to what a command-line tool on a workstation or a CI runner
// meets: explicit profile, environment variables, shared credentials and config files. (Instance
// metadata and SSO are not read: a CI job exports variables, a workstation has the files.)
#include <algorithm>
#include <cstdlib>
#include <mlo/remote/aws_credentials.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::remote {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view text) {
    size_t begin = text.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos)
        return {};
    size_t end = text.find_last_not_of(" \t\r");
    return std::string(text.substr(begin, end - begin + 1));
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::optional<std::string> nonempty_env(const AwsEnvironment& env, const std::string& name) {
    auto value = env.getenv ? env.getenv(name) : std::nullopt;
    if (value && value->empty())
        return std::nullopt;
    return value;
}

fs::path credentials_file(const AwsEnvironment& env) {
    if (auto path = nonempty_env(env, "AWS_SHARED_CREDENTIALS_FILE"))
        return *path;
    return env.home / ".aws" / "credentials";
}

fs::path config_file(const AwsEnvironment& env) {
    if (auto path = nonempty_env(env, "AWS_CONFIG_FILE"))
        return *path;
    return env.home / ".aws" / "config";
}

IniFile read_ini(const AwsEnvironment& env, const fs::path& path) {
    auto text = env.read_file ? env.read_file(path) : std::nullopt;
    return text ? parse_ini(*text) : IniFile{};
}

// The keys of `profile` in a file: credentials use "[name]", config "[profile name]" (and
// "[default]").
std::optional<AwsCredentials> keys_in(const IniFile& ini, const std::string& section,
                                      const std::string& source) {
    auto it = ini.find(section);
    if (it == ini.end())
        return std::nullopt;
    auto key = it->second.find("aws_access_key_id");
    auto secret = it->second.find("aws_secret_access_key");
    if (key == it->second.end() || secret == it->second.end() || key->second.empty() ||
        secret->second.empty())
        return std::nullopt;
    AwsCredentials credentials{key->second, secret->second, {}, source};
    if (auto token = it->second.find("aws_session_token"); token != it->second.end())
        credentials.session_token = token->second;
    return credentials;
}

std::string config_section(const std::string& profile) {
    return profile == "default" ? profile : "profile " + profile;
}

std::optional<AwsCredentials> profile_keys(const AwsEnvironment& env, const std::string& profile) {
    auto from_credentials = keys_in(read_ini(env, credentials_file(env)), profile,
                                    "profile '" + profile + "' in " + credentials_file(env).string());
    if (from_credentials)
        return from_credentials;
    return keys_in(read_ini(env, config_file(env)), config_section(profile),
                   "profile '" + profile + "' in " + config_file(env).string());
}

} // namespace

AwsEnvironment AwsEnvironment::process() {
    AwsEnvironment env;
    env.getenv = [](const std::string& name) -> std::optional<std::string> {
        if (const char* value = std::getenv(name.c_str()))
            return std::string(value);
        return std::nullopt;
    };
    env.read_file = [](const fs::path& path) -> std::optional<std::string> {
        auto text = util::read_file(path);
        if (!text)
            return std::nullopt;
        return std::move(*text);
    };
    const char* home = std::getenv("HOME");
    env.home = home ? home : "/";
    return env;
}

IniFile parse_ini(std::string_view text) {
    IniFile ini;
    std::string section;
    bool in_section = false;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        if (line.empty() || line[0] == '#' || line[0] == ';')
            continue;
        if (line.front() == '[') {
            if (line.back() != ']') {
                in_section = false;
                continue;
            }
            section = trim(std::string_view(line).substr(1, line.size() - 2));
            in_section = true;
            ini[section];
            continue;
        }
        size_t equals = line.find('=');
        if (!in_section || equals == std::string::npos)
            continue;
        ini[section][lower(trim(std::string_view(line).substr(0, equals)))] =
            trim(std::string_view(line).substr(equals + 1));
    }
    return ini;
}

Result<AwsCredentials> resolve_aws_credentials(const std::string& config_profile, const AwsEnvironment& env) {
    if (!config_profile.empty()) {
        if (auto keys = profile_keys(env, config_profile))
            return *keys;
        return fail(ErrorCode::usage,
                    "no credentials for profile '" + config_profile + "' in " +
                        credentials_file(env).string() + " or " + config_file(env).string(),
                    "add aws_access_key_id and aws_secret_access_key to [" + config_profile + "] of " +
                        credentials_file(env).string());
    }
    auto key = nonempty_env(env, "AWS_ACCESS_KEY_ID");
    auto secret = nonempty_env(env, "AWS_SECRET_ACCESS_KEY");
    if (key && secret) {
        AwsCredentials credentials{*key, *secret, nonempty_env(env, "AWS_SESSION_TOKEN").value_or(""),
                                   "environment"};
        return credentials;
    }
    std::string profile = nonempty_env(env, "AWS_PROFILE").value_or("default");
    if (auto keys = profile_keys(env, profile))
        return *keys;
    return fail(ErrorCode::usage,
                "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and profile '" +
                    profile + "' has none in " + credentials_file(env).string() + " or " +
                    config_file(env).string(),
                "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'aws configure'");
}

std::string resolve_aws_region(const std::string& config_region, const std::string& config_profile,
                               const AwsEnvironment& env) {
    if (!config_region.empty())
        return config_region;
    if (auto region = nonempty_env(env, "AWS_REGION"))
        return *region;
    if (auto region = nonempty_env(env, "AWS_DEFAULT_REGION"))
        return *region;
    std::string profile =
        !config_profile.empty() ? config_profile : nonempty_env(env, "AWS_PROFILE").value_or("default");
    IniFile config = read_ini(env, config_file(env));
    if (auto section = config.find(config_section(profile)); section != config.end())
        if (auto region = section->second.find("region");
            region != section->second.end() && !region->second.empty())
            return region->second;
    return "us-east-1";
}

} // namespace mlo::remote
