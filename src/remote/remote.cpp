#include "libcurl_api.hpp"

#include <algorithm>
#include <mlo/remote/directory_remote.hpp>
#include <mlo/remote/s3_remote.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <thread>

namespace mlo::remote {

std::string object_key(const ObjectId& id) {
    std::string hex = id.hex();
    return "objects/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

unsigned default_jobs() {
    return std::max(8u, 4 * std::max(1u, std::thread::hardware_concurrency()));
}

Result<core::RemoteConfig> choose_remote(const core::Config& config, const std::string& name) {
    if (config.remotes.empty())
        return fail(ErrorCode::usage, "no remote is configured",
                    "add one to mlo.yaml, e.g. remotes: {origin: {url: s3://bucket/prefix}}");
    std::vector<std::string> known;
    for (const auto& [remote_name, remote_config] : config.remotes)
        known.push_back(remote_name);
    std::string chosen = name;
    if (chosen.empty())
        chosen = config.default_remote;
    if (chosen.empty()) {
        if (config.remotes.size() != 1)
            return fail(ErrorCode::usage, "more than one remote and no default_remote",
                        "pick one with -r NAME, or set default_remote in mlo.yaml");
        chosen = config.remotes.begin()->first;
    }
    auto it = config.remotes.find(chosen);
    if (it == config.remotes.end()) {
        std::string all;
        for (const auto& known_name : known)
            all += (all.empty() ? "" : ", ") + known_name;
        return fail(ErrorCode::usage, "no remote named '" + chosen + "'" + util::did_you_mean(chosen, known),
                    "remotes: " + all);
    }
    if (it->second.url.empty())
        return fail(ErrorCode::input, "remote '" + chosen + "' has no url in mlo.yaml");
    return it->second;
}

Result<std::unique_ptr<Remote>> open_remote(const core::RemoteConfig& config, const fs::path& project_root) {
    unsigned jobs = config.jobs > 0 ? static_cast<unsigned>(config.jobs) : default_jobs();
    if (!is_s3_url(config.url)) {
        if (config.url.find("://") != std::string::npos)
            return fail(
                ErrorCode::input, "remote '" + config.name + "': unsupported url '" + config.url + "'",
                "a remote is a directory (url: /mnt/share/mlo) or a bucket (url: s3://bucket/prefix)");
        fs::path root = config.url;
        if (root.is_relative())
            root = project_root / root;
        return std::unique_ptr<Remote>(
            std::make_unique<DirectoryRemote>(config.name, root.lexically_normal(), jobs));
    }
    S3Remote::Settings settings;
    settings.name = config.name;
    settings.url = config.url;
    settings.jobs = jobs;
    auto location = parse_s3_url(config.url);
    if (!location)
        return fail(std::move(location).error().context("remote '" + config.name + "'"));
    settings.location = *location;
    if (!config.endpoint.empty()) {
        auto endpoint = parse_endpoint(config.endpoint);
        if (!endpoint)
            return fail(std::move(endpoint).error().context("remote '" + config.name + "'"));
        settings.endpoint = *endpoint;
    }
    auto env = AwsEnvironment::process();
    settings.region = resolve_aws_region(config.region, config.profile, env);
    auto credentials = resolve_aws_credentials(config.profile, env);
    if (!credentials)
        return fail(std::move(credentials).error().context("remote '" + config.name + "'"));
    settings.credentials = std::move(*credentials);
    MLO_TRY(detail::load_libcurl());
    return std::unique_ptr<Remote>(std::make_unique<S3Remote>(std::move(settings)));
}

} // namespace mlo::remote
