#include <mlo/serve/deployment_files.hpp>
#include <mlo/serve/metrics.hpp>
#include <mlo/util/file_io.hpp>
#include <nlohmann/json.hpp>

namespace mlo::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Result<json> read_json(const fs::path& file) {
    auto text = util::read_file(file);
    if (!text)
        return fail(std::move(text).error());
    json document = json::parse(*text, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return fail(ErrorCode::input, file.string() + " is not a JSON object",
                    "it is written by mlo; remove it and deploy again");
    return document;
}

Status write_json(const fs::path& file, const json& document) {
    return util::write_file_atomic(file, document.dump(2) + "\n");
}

json routes_json(const std::vector<Route>& routes) {
    json out = json::array();
    for (const auto& route : routes)
        out.push_back({{"version", route.version}, {"weight", route.weight}});
    return out;
}

// Throws json::exception on a wrong shape; callers turn that into an input error.
std::vector<Route> routes_from(const json& array) {
    std::vector<Route> out;
    for (const auto& item : array)
        out.push_back(Route{item.at("version").get<std::string>(), item.at("weight").get<unsigned>()});
    return out;
}

template <typename T, typename F> Result<T> parse_as(const fs::path& file, F&& parse) {
    auto document = read_json(file);
    if (!document)
        return fail(std::move(document).error());
    try {
        return parse(*document);
    } catch (const json::exception& error) {
        return fail(ErrorCode::input, file.string() + " is malformed: " + error.what(),
                    "it is written by mlo; remove it and deploy again");
    }
}

} // namespace

const VersionTraffic* TrafficSnapshot::find(const std::string& version) const {
    for (const auto& entry : versions)
        if (entry.version == version)
            return &entry;
    return nullptr;
}

Result<DesiredState> read_desired_state(const fs::path& file) {
    return parse_as<DesiredState>(file, [](const json& document) {
        DesiredState state;
        state.generation = document.at("generation").get<uint64_t>();
        state.model = document.at("model").get<std::string>();
        state.routes = routes_from(document.at("routes"));
        return state;
    });
}

Status write_desired_state(const fs::path& file, const DesiredState& state) {
    return write_json(
        file,
        {{"generation", state.generation}, {"model", state.model}, {"routes", routes_json(state.routes)}});
}

Result<AppliedState> read_applied_state(const fs::path& file) {
    return parse_as<AppliedState>(file, [](const json& document) {
        AppliedState state;
        state.generation = document.at("generation").get<uint64_t>();
        state.ok = document.at("ok").get<bool>();
        state.error = document.value("error", "");
        state.routes = routes_from(document.at("routes"));
        return state;
    });
}

Status write_applied_state(const fs::path& file, const AppliedState& state) {
    json document = {
        {"generation", state.generation}, {"ok", state.ok}, {"routes", routes_json(state.routes)}};
    if (!state.error.empty())
        document["error"] = state.error;
    return write_json(file, document);
}

Result<TrafficSnapshot> read_traffic(const fs::path& file) {
    return parse_as<TrafficSnapshot>(file, [](const json& document) {
        TrafficSnapshot snapshot;
        snapshot.time_ns = document.at("time_ns").get<int64_t>();
        for (const auto& item : document.at("versions")) {
            VersionTraffic entry;
            entry.version = item.at("version").get<std::string>();
            entry.weight = item.at("weight").get<unsigned>();
            entry.requests = item.at("requests").get<uint64_t>();
            entry.errors = item.at("errors").get<uint64_t>();
            entry.latency_cumulative = item.at("latency_cumulative").get<std::vector<uint64_t>>();
            snapshot.versions.push_back(std::move(entry));
        }
        return snapshot;
    });
}

Status write_traffic(const fs::path& file, const TrafficSnapshot& snapshot) {
    json versions = json::array();
    for (const auto& entry : snapshot.versions)
        versions.push_back({{"version", entry.version},
                            {"weight", entry.weight},
                            {"requests", entry.requests},
                            {"errors", entry.errors},
                            {"latency_cumulative", entry.latency_cumulative}});
    return write_json(file, {{"time_ns", snapshot.time_ns}, {"versions", versions}});
}

Result<ServerInfo> read_server_info(const fs::path& file) {
    return parse_as<ServerInfo>(file, [](const json& document) {
        ServerInfo info;
        info.pid = document.at("pid").get<int64_t>();
        info.port = document.at("port").get<int>();
        info.url = document.at("url").get<std::string>();
        info.model = document.at("model").get<std::string>();
        return info;
    });
}

TrafficWindow traffic_between(const TrafficSnapshot& before, const TrafficSnapshot& after,
                              const std::string& version) {
    TrafficWindow window;
    const VersionTraffic* end = after.find(version);
    if (end == nullptr)
        return window;
    const VersionTraffic* start = before.find(version);
    auto minus = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
    window.requests = minus(end->requests, start ? start->requests : 0);
    window.errors = minus(end->errors, start ? start->errors : 0);
    std::vector<uint64_t> buckets = end->latency_cumulative;
    if (start && start->latency_cumulative.size() == buckets.size())
        for (size_t i = 0; i < buckets.size(); ++i)
            buckets[i] = minus(buckets[i], start->latency_cumulative[i]);
    if (buckets.size() == k_latency_buckets.size() + 1 && window.requests > 0) {
        double p99 = ServerMetrics::histogram_quantile(0.99, k_latency_buckets, buckets);
        window.p99_seconds = std::isnan(p99) ? 0 : p99;
    }
    return window;
}

} // namespace mlo::serve
