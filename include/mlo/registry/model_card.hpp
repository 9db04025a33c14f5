#pragma once

#include <mlo/registry/registry.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::registry {

// One stage event of a version: who promoted or demoted it, when, and who signed.
struct StageHistoryItem {
    std::string stage;
    bool assign = true;
    std::string tag;
    std::string by;   // tagger email
    std::string time; // UTC
    std::vector<std::string> signers;
};

// Everything `mlo register show` tells about a version.
struct ModelCard {
    ModelManifest manifest;
    std::string manifest_id;
    std::string tag;
    std::string registered_by;        // tagger email of the version tag
    std::vector<std::string> signers; // of the version tag
    std::vector<std::string> stages;  // stages it holds now
    bool deregistered = false;
    bool deprecated = false; // the whole model
    std::vector<StageHistoryItem> history;
};

Result<ModelCard> model_card(const Registry& registry, const ModelRef& ref);
nlohmann::json card_to_json(const ModelCard& card);
// The card as a Markdown document (Hugging Face / Google model-card style sections).
std::string card_to_markdown(const ModelCard& card);

// What changed between two versions of a model.
template <typename T> struct Change {
    std::string key;
    std::optional<T> before, after;
};
struct VersionDiff {
    std::string model, before, after; // versions
    std::vector<Change<double>> metrics;
    std::vector<Change<std::string>> params;
    std::vector<Change<std::string>> data;  // path -> id
    std::vector<Change<std::string>> files; // model files: path -> id
    std::string commit_before, commit_after;
    std::vector<std::string> code; // files changed in git between the two commits
};

// Compares two versions (every key present in either, changed ones only).
Result<VersionDiff> diff_versions(const Registry& registry, const ModelRef& before, const ModelRef& after);
nlohmann::json diff_to_json(const VersionDiff& diff);

} // namespace mlo::registry
