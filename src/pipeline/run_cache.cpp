#include <mlo/hash/sha256.hpp>
#include <mlo/pipeline/run_cache.hpp>
#include <mlo/util/file_io.hpp>
#include <nlohmann/json.hpp>

namespace mlo::pipeline {

using nlohmann::json;

namespace {
json paths_to_json(const std::vector<LockedPath>& items) {
    json out = json::array();
    for (const auto& item : items)
        out.push_back({{"path", item.path},
                       {"kind", item.kind},
                       {"hash", item.id.str()},
                       {"size", item.size},
                       {"files", item.files}});
    return out;
}

std::optional<std::vector<LockedPath>> paths_from_json(const json& items) {
    std::vector<LockedPath> out;
    for (const auto& item : items) {
        auto id = hash::ObjectId::parse(item.at("hash").get<std::string>());
        if (!id)
            return std::nullopt;
        out.push_back({item.at("path").get<std::string>(), item.at("kind").get<std::string>(), *id,
                       item.at("size").get<uint64_t>(), item.at("files").get<uint64_t>()});
    }
    return out;
}
} // namespace

hash::ObjectId StageInputs::key() const {
    json deps_json = json::array();
    for (const auto& dep : deps)
        deps_json.push_back({dep.path, dep.id.str()});
    json doc = {{"cmd", cmd}, {"deps", deps_json}, {"params", params}, {"outs", outs}, {"metrics", metrics}};
    return hash::sha256_of(doc.dump());
}

std::filesystem::path RunCache::path_of(const hash::ObjectId& key) const {
    std::string hex = key.hex();
    return m_dir / hex.substr(0, 2) / hex.substr(2);
}

std::optional<RunCache::Entry> RunCache::find(const hash::ObjectId& key) const {
    auto text = util::read_file(path_of(key));
    if (!text)
        return std::nullopt;
    try {
        json doc = json::parse(*text);
        auto outs = paths_from_json(doc.at("outs"));
        auto metrics = paths_from_json(doc.at("metrics"));
        if (!outs || !metrics)
            return std::nullopt;
        Entry entry{std::move(*outs), std::move(*metrics), std::nullopt};
        if (doc.contains("step_metrics") && doc["step_metrics"].is_string())
            if (auto id = hash::ObjectId::parse(doc["step_metrics"].get<std::string>()))
                entry.step_metrics = *id;
        return entry;
    } catch (const json::exception&) {
        return std::nullopt; // a damaged entry is a miss
    }
}

Status RunCache::save(const hash::ObjectId& key, const Entry& entry) const {
    auto path = path_of(key);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    json doc = {{"outs", paths_to_json(entry.outs)}, {"metrics", paths_to_json(entry.metrics)}};
    if (entry.step_metrics)
        doc["step_metrics"] = entry.step_metrics->str();
    return util::write_file_atomic(path, doc.dump());
}

} // namespace mlo::pipeline
