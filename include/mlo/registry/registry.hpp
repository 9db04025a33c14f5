#pragma once

#include <mlo/core/project.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/registry/model_manifest.hpp>
#include <mlo/registry/registry_state.hpp>
#include <mlo/registry/tag_message.hpp>
#include <mlo/registry/tag_name.hpp>
#include <mlo/util/error.hpp>
#include <mlo/util/progress.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::registry {

// How a registry action is signed (see access.hpp for the rules that may require it).
struct SignOptions {
    bool sign = false;                    // sign with the user's own key(s)
    std::vector<std::string> keys;        // key names under the keys directory; empty = the default key
    std::vector<TagSignature> signatures; // signatures made elsewhere (`--sign-only`), attached as given
    bool sign_only = false;               // sign and report the signatures, create no tag
};

// A tag the registry created (or, with sign_only, would create).
struct RegistryChange {
    std::string tag;     // e.g. "churn-clf#production#3"
    std::string tag_oid; // "" with sign_only
    std::string commit;
    TagFields fields;
    std::string payload; // what was signed
    std::vector<TagSignature> signatures;
};

// The registry of a project: its tags (through the index), the project's config and store.
// Opened once per command; reads only.
class Registry {
  public:
    static Result<Registry> open(core::Project& project);

    core::Project& project() const { return *m_project; }
    const RegistryState& state() const { return m_state; }
    // Model names of mlo.yaml's `models:` section.
    std::vector<std::string> config_models() const;
    // A stage name must be one of registry.stages: ErrorCode::input with "did you mean" otherwise.
    Status check_stage(const std::string& stage) const;
    // resolve() of RegistryState, with the stage checked first.
    Result<const VersionState*> resolve(const ModelRef& ref) const;
    // The version's manifest from the store, checked against the tag (model, version) and read
    // with its hash verified. A tag without a manifest id, a missing or corrupt object is an error
    // naming the tag.
    Result<ModelManifest> manifest(const std::string& model, const VersionState& version) const;

  private:
    Registry(core::Project& project, RegistryState state) : m_project(&project), m_state(std::move(state)) {}
    core::Project* m_project;
    RegistryState m_state;
};

struct RegisterOptions {
    std::string model;    // a key of `models:`
    std::string from_run; // run id, prefix or "latest"; "" = the workspace path
    std::optional<SemVer> version;
    Bump bump = Bump::patch;
    std::string description;
    bool allow_dirty = false;
    SignOptions sign;
};

struct RegisterResult {
    RegistryChange change;
    ModelManifest manifest;
    hash::ObjectId manifest_id;
    std::string same_files_as; // the latest version, when its files are identical; "" otherwise
};

// Registers a new version (SPEC.md section 6): stores the model's files (from the run's outs, or
// the workspace path, whose producing run is looked up among recorded runs) and its manifest,
// then creates the annotated tag MODEL@vX.Y.Z on the commit of the code that made it. A dirty
// tree is ErrorCode::precondition unless allow_dirty; an existing version is refused. Holds the
// store's shared lock.
Result<RegisterResult> register_model(core::Project& project, const RegisterOptions& options,
                                      util::ProgressSink* progress);

// Assigns the version `ref` names to `stage` (tag MODEL#STAGE#N). The access rules for
// `promote` on the stage must be met by the signatures, else ErrorCode::precondition listing what
// is missing; a deregistered version or deprecated model is refused.
Result<RegistryChange> promote(const Registry& registry, const ModelRef& ref, const std::string& stage,
                               const SignOptions& sign);

// Removes the version from `stage` (tag MODEL#STAGE!#N); an empty stage is ErrorCode::input.
Result<RegistryChange> demote(const Registry& registry, const std::string& model, const std::string& stage,
                              const SignOptions& sign);

// Deregisters a version (MODEL@vX.Y.Z!) or, for a bare MODEL, deprecates the model
// (MODEL@deprecated). A version still in a stage is refused: demote it first.
Result<RegistryChange> deprecate(const Registry& registry, const ModelRef& ref, const SignOptions& sign);

// Writes the files of a version into `out_dir` (created; an existing non-empty directory is
// refused), every byte verified against the manifest; the directory appears complete or not at
// all. Returns the manifest.
Result<ModelManifest> get_model(const Registry& registry, const ModelRef& ref,
                                const std::filesystem::path& out_dir);

} // namespace mlo::registry
