#pragma once

#include <map>
#include <mlo/git/repository.hpp>
#include <mlo/registry/tag_message.hpp>
#include <mlo/registry/tag_name.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::registry {

// A registry tag as read from git, parsed.
struct RegistryEntry {
    RegistryTag name;
    git::TagInfo tag;
    TagMessage message;
};

// One registered version of a model.
struct VersionState {
    SemVer version;
    const RegistryEntry* registered = nullptr;   // the MODEL@vX.Y.Z tag
    const RegistryEntry* deregistered = nullptr; // the MODEL@vX.Y.Z! tag, if any
    std::string manifest; // "sha256:..." from the tag message, "" if the tag carries none
};

// A stage assignment or unassignment, in counter order.
struct StageEvent {
    const RegistryEntry* entry = nullptr;
    std::string stage;
    uint64_t counter = 0;
    bool assign = true;
    std::string version; // the version assigned (for an unassignment: the one removed), "" if unknown
};

struct ModelState {
    std::string name;
    std::vector<VersionState> versions; // ascending
    std::vector<StageEvent> events;     // ascending counter
    const RegistryEntry* deprecated = nullptr;
    uint64_t max_counter = 0;
    std::map<std::string, const StageEvent*> stages; // stage -> its winning assignment

    const VersionState* find_version(const SemVer& version) const;
    // Highest version, deregistered ones included (a number is never reused).
    std::optional<SemVer> latest_version() const;
    // Highest version that is not deregistered.
    const VersionState* latest_active() const;
    // The stages `version` currently holds.
    std::vector<std::string> stages_of(const std::string& version) const;
};

// The registry as the tags describe it. Resolution follows GTO: versions are registered by
// MODEL@vX.Y.Z tags; a stage holds the version of its assignment with the highest counter N
// (`MODEL#STAGE#N`), unless that event is an unassignment (`MODEL#STAGE!#N`) — never by tag time,
// which a clock can fake. Entries are owned here; pointers stay valid while the state lives.
class RegistryState {
  public:
    explicit RegistryState(std::vector<git::TagInfo> tags);
    RegistryState(RegistryState&&) = default;
    RegistryState(const RegistryState&) = delete; // entries point into each other

    const std::vector<RegistryEntry>& entries() const { return m_entries; }
    const std::map<std::string, ModelState>& models() const { return m_models; }
    const ModelState* find(const std::string& model) const;

    // The version a reference names: MODEL@vX.Y.Z, MODEL#STAGE (its current version), or MODEL
    // (the latest version that is not deregistered). Unknown model, version or empty stage is
    // ErrorCode::input with a did-you-mean over `config_models` and the registered ones.
    Result<const VersionState*> resolve(const ModelRef& ref,
                                        const std::vector<std::string>& config_models = {}) const;

  private:
    std::vector<RegistryEntry> m_entries;
    std::map<std::string, ModelState> m_models;
};

} // namespace mlo::registry
