#pragma once

#include <compare>
#include <cstdint>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mlo::registry {

// A model version: vMAJOR.MINOR.PATCH, digits without leading zeros (GTO's default).
struct SemVer {
    uint64_t major = 0, minor = 0, patch = 0;

    // Parses "v1.2.3"; anything else is ErrorCode::input saying what a version looks like.
    static Result<SemVer> parse(std::string_view text);
    std::string str() const;
    auto operator<=>(const SemVer&) const = default;
};

enum class Bump { patch, minor, major };

// The version after `latest` (none: the first version, v0.0.1 as in GTO).
SemVer next_version(const std::optional<SemVer>& latest, Bump bump);

// GTO's tag grammar, which mlo's registry tags follow so that GTO tooling can read them:
//   MODEL@vX.Y.Z      register a version        MODEL@vX.Y.Z!     deregister it
//   MODEL#STAGE#N     assign a stage            MODEL#STAGE!#N    unassign it
//   MODEL@deprecated  deprecate the whole model
// N counts the model's stage events; the event with the highest N wins.
enum class TagKind { register_version, deregister_version, assign, unassign, deprecate_model };

struct RegistryTag {
    TagKind kind = TagKind::register_version;
    std::string model;
    SemVer version;       // register_version, deregister_version
    std::string stage;    // assign, unassign
    uint64_t counter = 0; // assign, unassign

    // The tag name, e.g. "churn-clf#production#3".
    std::string str() const;
    // Parses a tag name; nullopt for tags that are not registry tags (release tags, typos...).
    static std::optional<RegistryTag> parse(std::string_view name);
};

// [a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])? — model and stage names.
bool valid_name(std::string_view name);

// What a user writes to pick a version: MODEL, MODEL@vX.Y.Z, MODEL#STAGE or MODEL@latest.
struct ModelRef {
    std::string model;
    std::optional<SemVer> version;
    std::string stage; // "" unless MODEL#STAGE
    bool latest() const { return !version && stage.empty(); }
    std::string str() const;
    // Parses; ErrorCode::usage naming the problem and the accepted forms.
    static Result<ModelRef> parse(std::string_view text);
};

} // namespace mlo::registry
