#include <algorithm>
#include <mlo/registry/registry_state.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <set>

namespace mlo::registry {

const VersionState* ModelState::find_version(const SemVer& version) const {
    auto it = std::lower_bound(
        versions.begin(), versions.end(), version,
        [](const VersionState& state, const SemVer& wanted) { return state.version < wanted; });
    return it != versions.end() && it->version == version ? &*it : nullptr;
}

std::optional<SemVer> ModelState::latest_version() const {
    if (versions.empty())
        return std::nullopt;
    return versions.back().version;
}

const VersionState* ModelState::latest_active() const {
    for (auto it = versions.rbegin(); it != versions.rend(); ++it)
        if (!it->deregistered)
            return &*it;
    return nullptr;
}

std::vector<std::string> ModelState::stages_of(const std::string& version) const {
    std::vector<std::string> out;
    for (const auto& [stage, event] : stages)
        if (event->version == version)
            out.push_back(stage);
    return out;
}

RegistryState::RegistryState(std::vector<git::TagInfo> tags) {
    m_entries.reserve(tags.size());
    for (auto& tag : tags) {
        auto name = RegistryTag::parse(tag.name);
        if (!name)
            continue;
        TagMessage message = parse_tag_message(tag.message);
        m_entries.push_back(RegistryEntry{std::move(*name), std::move(tag), std::move(message)});
    }
    // Versions first, so stage events can be tied to them. A lightweight tag carries no author,
    // message or manifest: it stays in entries() for `audit verify` to report, but registers and
    // assigns nothing.
    for (const auto& entry : m_entries) {
        if (!entry.tag.annotated)
            continue;
        ModelState& model = m_models[entry.name.model];
        model.name = entry.name.model;
        if (entry.name.kind == TagKind::deprecate_model)
            model.deprecated = &entry;
        if (entry.name.kind == TagKind::register_version)
            model.versions.push_back(
                VersionState{entry.name.version, &entry, nullptr, entry.message.fields.manifest});
    }
    for (auto& [name, model] : m_models)
        std::sort(model.versions.begin(), model.versions.end(),
                  [](const VersionState& a, const VersionState& b) { return a.version < b.version; });
    for (const auto& entry : m_entries) {
        if (!entry.tag.annotated)
            continue;
        ModelState& model = m_models[entry.name.model];
        if (entry.name.kind == TagKind::deregister_version) {
            for (auto& version : model.versions)
                if (version.version == entry.name.version)
                    version.deregistered = &entry;
            continue;
        }
        if (entry.name.kind != TagKind::assign && entry.name.kind != TagKind::unassign)
            continue;
        StageEvent event{&entry, entry.name.stage, entry.name.counter, entry.name.kind == TagKind::assign,
                         entry.message.fields.version};
        if (event.version.empty()) {
            // A tag made by GTO or by hand carries no version field: like GTO, take the version
            // registered on the commit the tag points at (the highest, if several).
            for (auto it = model.versions.rbegin(); it != model.versions.rend(); ++it)
                if (it->registered->tag.target_oid == entry.tag.target_oid) {
                    event.version = it->version.str();
                    break;
                }
        }
        model.max_counter = std::max(model.max_counter, event.counter);
        model.events.push_back(std::move(event));
    }
    for (auto& [name, model] : m_models) {
        // Equal counters cannot come from mlo (tag creation refuses an existing name only, but N
        // is per model, so two stages may share one); the tag name breaks the tie deterministically.
        std::sort(model.events.begin(), model.events.end(), [](const StageEvent& a, const StageEvent& b) {
            return a.counter != b.counter ? a.counter < b.counter : a.entry->tag.name < b.entry->tag.name;
        });
        std::map<std::string, const StageEvent*> winners;
        for (const auto& event : model.events)
            winners[event.stage] = &event;
        for (const auto& [stage, event] : winners)
            if (event->assign && !event->version.empty())
                model.stages[stage] = event;
    }
}

const ModelState* RegistryState::find(const std::string& model) const {
    auto it = m_models.find(model);
    return it == m_models.end() ? nullptr : &it->second;
}

Result<const VersionState*> RegistryState::resolve(const ModelRef& ref,
                                                   const std::vector<std::string>& config_models) const {
    const ModelState* model = find(ref.model);
    if (model == nullptr || model->versions.empty()) {
        std::set<std::string> names(config_models.begin(), config_models.end());
        for (const auto& [name, state] : m_models)
            if (!state.versions.empty())
                names.insert(name);
        bool configured =
            std::find(config_models.begin(), config_models.end(), ref.model) != config_models.end();
        if (configured)
            return fail(ErrorCode::input, "model '" + ref.model + "' has no registered versions",
                        "register one with `mlo register " + ref.model + "`");
        return fail(ErrorCode::input,
                    "unknown model '" + ref.model + "'" +
                        util::did_you_mean(ref.model, std::vector<std::string>(names.begin(), names.end())),
                    "models are listed under `models:` in mlo.yaml; see `mlo register list`");
    }
    if (ref.version) {
        if (const VersionState* version = model->find_version(*ref.version))
            return version;
        std::vector<std::string> known;
        for (const auto& version : model->versions)
            known.push_back(version.version.str());
        return fail(
            ErrorCode::input,
            "model '" + ref.model + "' has no version " + ref.version->str() +
                util::did_you_mean(ref.version->str(), known),
            "registered versions: " + (known.size() > 8 ? "..., " : std::string()) + [&] {
                std::string text;
                for (size_t i = known.size() > 8 ? known.size() - 8 : 0; i < known.size(); ++i)
                    text += (text.empty() ? "" : ", ") + known[i];
                return text;
            }());
    }
    if (!ref.stage.empty()) {
        auto it = model->stages.find(ref.stage);
        if (it == model->stages.end())
            return fail(
                ErrorCode::input, "model '" + ref.model + "' has no version in stage '" + ref.stage + "'",
                "promote one with `mlo register promote " + ref.model + "@vX.Y.Z --to " + ref.stage + "`");
        auto version = SemVer::parse(it->second->version);
        const VersionState* state = version ? model->find_version(*version) : nullptr;
        if (state == nullptr)
            return fail(ErrorCode::input,
                        "stage '" + ref.stage + "' of model '" + ref.model + "' names version '" +
                            it->second->version + "', which is not registered",
                        "run `mlo audit verify` to see how the tags disagree");
        return state;
    }
    if (const VersionState* latest = model->latest_active())
        return latest;
    return fail(ErrorCode::input, "every version of model '" + ref.model + "' is deregistered");
}

} // namespace mlo::registry
