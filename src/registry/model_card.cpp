#include <fmt/format.h>
#include <mlo/registry/model_card.hpp>
#include <mlo/registry/model_manifest.hpp>

namespace mlo::registry {

namespace {

using nlohmann::json;

std::vector<std::string> signers_of(const TagMessage& message) {
    std::vector<std::string> out;
    for (const auto& signature : message.signatures)
        out.push_back(signature.signer);
    return out;
}

template <typename Map, typename T = typename Map::mapped_type>
std::vector<Change<T>> changes(const Map& before, const Map& after) {
    std::vector<Change<T>> out;
    for (const auto& [key, value] : before) {
        auto it = after.find(key);
        if (it == after.end())
            out.push_back(Change<T>{key, value, std::nullopt});
        else if (!(it->second == value))
            out.push_back(Change<T>{key, value, it->second});
    }
    for (const auto& [key, value] : after)
        if (before.find(key) == before.end())
            out.push_back(Change<T>{key, std::nullopt, value});
    std::sort(out.begin(), out.end(), [](const Change<T>& a, const Change<T>& b) { return a.key < b.key; });
    return out;
}

template <typename T> json change_json(const std::vector<Change<T>>& items) {
    json out = json::array();
    for (const auto& item : items)
        out.push_back({{"key", item.key},
                       {"before", item.before ? json(*item.before) : json()},
                       {"after", item.after ? json(*item.after) : json()}});
    return out;
}

std::string markdown_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|' || c == '*' || c == '_' || c == '`' || c == '<' || c == '>' || c == '[' || c == ']')
            out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

std::string human_size(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

} // namespace

Result<ModelCard> model_card(const Registry& registry, const ModelRef& ref) {
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    auto manifest = registry.manifest(ref.model, **version);
    if (!manifest)
        return fail(std::move(manifest).error());
    const ModelState& model = *registry.state().find(ref.model);
    ModelCard card;
    card.manifest = std::move(*manifest);
    card.manifest_id = (*version)->manifest;
    card.tag = (*version)->registered->tag.name;
    card.registered_by = (*version)->registered->tag.tagger_email;
    card.signers = signers_of((*version)->registered->message);
    card.stages = model.stages_of((*version)->version.str());
    card.deregistered = (*version)->deregistered != nullptr;
    card.deprecated = model.deprecated != nullptr;
    for (const auto& event : model.events) {
        if (event.version != card.manifest.version)
            continue;
        card.history.push_back(
            StageHistoryItem{event.stage, event.assign, event.entry->tag.name, event.entry->tag.tagger_email,
                             utc_timestamp(event.entry->tag.time), signers_of(event.entry->message)});
    }
    return card;
}

json card_to_json(const ModelCard& card) {
    json history = json::array();
    for (const auto& item : card.history)
        history.push_back({{"stage", item.stage},
                           {"action", item.assign ? "promote" : "demote"},
                           {"tag", item.tag},
                           {"by", item.by},
                           {"time", item.time},
                           {"signers", item.signers}});
    return json{{"tag", card.tag},
                {"manifest_id", card.manifest_id},
                {"manifest", card.manifest.to_json()},
                {"registered_by", card.registered_by},
                {"signers", card.signers},
                {"stages", card.stages},
                {"deregistered", card.deregistered},
                {"deprecated", card.deprecated},
                {"history", history}};
}

std::string card_to_markdown(const ModelCard& card) {
    const ModelManifest& m = card.manifest;
    std::string out = fmt::format("# Model card: {} {}\n\n", markdown_escape(m.model), m.version);
    if (!m.description.empty())
        out += markdown_escape(m.description) + "\n\n";
    out += "## Details\n\n| | |\n| --- | --- |\n";
    out += fmt::format("| Version | {}{} |\n", m.version, card.deregistered ? " (deregistered)" : "");
    out += fmt::format("| Type | {} |\n", m.type.empty() ? "-" : markdown_escape(m.type));
    std::string stages;
    for (const auto& stage : card.stages)
        stages += (stages.empty() ? "" : ", ") + stage;
    out += fmt::format("| Stages | {} |\n", stages.empty() ? "-" : stages);
    out += fmt::format("| Registered | {} by {} |\n", m.created,
                       markdown_escape(m.author_name + " <" + m.author_email + ">"));
    out += fmt::format("| Tag | `{}` |\n| Manifest | `{}` |\n", card.tag, card.manifest_id);
    if (card.deprecated)
        out += "| Status | the model is deprecated |\n";

    out += "\n## Lineage\n\n";
    const Lineage& lineage = m.lineage;
    out += fmt::format("- Run: {}\n", lineage.run.empty() ? "none recorded" : "`" + lineage.run + "`");
    out += fmt::format("- Code: commit `{}`{}{}\n", lineage.commit,
                       lineage.branch.empty() ? "" : " on " + lineage.branch,
                       lineage.dirty ? " with uncommitted changes (registered with --allow-dirty)" : "");
    if (!lineage.data.empty()) {
        out += "\n| Input | Id |\n| --- | --- |\n";
        for (const auto& ref : lineage.data)
            out += fmt::format("| {} | `{}` |\n", markdown_escape(ref.path), ref.id.str().substr(0, 19));
    }
    if (!lineage.metrics.empty()) {
        out += "\n## Metrics\n\n| Metric | Value |\n| --- | --- |\n";
        for (const auto& [key, value] : lineage.metrics)
            out += fmt::format("| {} | {:.6g} |\n", markdown_escape(key), value);
    }
    if (!lineage.params.empty()) {
        out += "\n## Parameters\n\n| Parameter | Value |\n| --- | --- |\n";
        for (const auto& [key, value] : lineage.params)
            out += fmt::format("| {} | {} |\n", markdown_escape(key), markdown_escape(value));
    }
    if (m.signature.is_object()) {
        out += "\n## Signature\n\n| Field | Direction | Type |\n| --- | --- | --- |\n";
        for (const char* direction : {"inputs", "outputs"}) {
            auto fields = m.signature.find(direction);
            if (fields == m.signature.end() || !fields->is_array())
                continue;
            for (const auto& field : *fields)
                out += fmt::format("| {} | {} | {}{} |\n", markdown_escape(field.value("name", "")),
                                   direction, markdown_escape(field.value("type", "")),
                                   field.value("pii", false) ? " (PII)" : "");
        }
    }
    out += "\n## Files\n\n| File | Size | Id |\n| --- | --- | --- |\n";
    for (const auto& file : m.files)
        out += fmt::format("| {} | {} | `{}` |\n", markdown_escape(file.path), human_size(file.size),
                           file.id.str().substr(0, 19));
    out += "\n## History\n\n";
    out += fmt::format(
        "- {} registered by {}{}\n", m.created, card.registered_by,
        card.signers.empty() ? "" : ", signed by " + fmt::format("{}", fmt::join(card.signers, ", ")));
    for (const auto& item : card.history)
        out += fmt::format(
            "- {} {} {} by {}{}\n", item.time, item.assign ? "promoted to" : "demoted from", item.stage,
            item.by,
            item.signers.empty() ? "" : ", signed by " + fmt::format("{}", fmt::join(item.signers, ", ")));
    return out;
}

Result<VersionDiff> diff_versions(const Registry& registry, const ModelRef& before_ref,
                                  const ModelRef& after_ref) {
    if (before_ref.model != after_ref.model)
        return fail(ErrorCode::usage,
                    "compare two versions of one model, not " + before_ref.model + " and " + after_ref.model);
    auto before = model_card(registry, before_ref);
    if (!before)
        return fail(std::move(before).error());
    auto after = model_card(registry, after_ref);
    if (!after)
        return fail(std::move(after).error());
    const ModelManifest& a = before->manifest;
    const ModelManifest& b = after->manifest;
    VersionDiff diff;
    diff.model = a.model;
    diff.before = a.version;
    diff.after = b.version;
    diff.metrics = changes(a.lineage.metrics, b.lineage.metrics);
    diff.params = changes(a.lineage.params, b.lineage.params);
    auto ids = [](const auto& items) {
        std::map<std::string, std::string> out;
        for (const auto& item : items)
            out[item.path] = item.id.str();
        return out;
    };
    diff.data = changes(ids(a.lineage.data), ids(b.lineage.data));
    diff.files = changes(ids(a.files), ids(b.files));
    diff.commit_before = a.lineage.commit;
    diff.commit_after = b.lineage.commit;
    if (!a.lineage.commit.empty() && !b.lineage.commit.empty() && a.lineage.commit != b.lineage.commit) {
        auto repo = git::Repository::discover(registry.project().root());
        if (!repo)
            return fail(std::move(repo).error());
        auto changed = repo->changed_files(a.lineage.commit, b.lineage.commit);
        if (!changed)
            return fail(std::move(changed).error().context("comparing the code of " + a.version + " and " +
                                                           b.version));
        diff.code = std::move(*changed);
    }
    return diff;
}

json diff_to_json(const VersionDiff& diff) {
    return json{
        {"model", diff.model},
        {"before", diff.before},
        {"after", diff.after},
        {"metrics", change_json(diff.metrics)},
        {"params", change_json(diff.params)},
        {"data", change_json(diff.data)},
        {"files", change_json(diff.files)},
        {"code", {{"before", diff.commit_before}, {"after", diff.commit_after}, {"changed", diff.code}}}};
}

} // namespace mlo::registry
