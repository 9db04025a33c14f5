#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mlo::remote {

// Secrets: never written to mlo.yaml, never printed, never part of an error message.
struct AwsCredentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token; // "" unless temporary credentials
    std::string
        source; // where they came from, for messages: "environment", "profile 'x' in ~/.aws/credentials"
};

// What the chain reads: environment variables and files (injectable for tests).
struct AwsEnvironment {
    std::function<std::optional<std::string>(const std::string&)> getenv;
    std::function<std::optional<std::string>(const std::filesystem::path&)> read_file; // nullopt = absent
    std::filesystem::path home;

    // The process's environment, HOME and files.
    static AwsEnvironment process();
};

// An INI file as the AWS tools read it: section -> key -> value. In ~/.aws/config sections are
// "profile NAME" (and "default"); in ~/.aws/credentials they are "NAME". Keys are lower-cased,
// values trimmed; comment lines (# ;) and lines outside a section are skipped.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile parse_ini(std::string_view text);

// The standard AWS chain, the way the AWS CLI resolves it:
//  1. a profile named in the remote's config (`profile:`) is used alone: its keys from the
//     credentials file, else from the config file;
//  2. otherwise AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//  3. otherwise the profile AWS_PROFILE (or "default") from the credentials file, then the
//     config file.
// Files: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, AWS_CONFIG_FILE or ~/.aws/config.
// Nothing found is ErrorCode::usage saying where it looked (no value is ever included).
Result<AwsCredentials> resolve_aws_credentials(const std::string& config_profile, const AwsEnvironment& env);

// The region: the remote's `region:`, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region
// in the config file, else "us-east-1".
std::string resolve_aws_region(const std::string& config_region, const std::string& config_profile,
                               const AwsEnvironment& env);

} // namespace mlo::remote
