#include <algorithm>
#include <cstdio>
#include <mlo/registry/registry.hpp>
#include <mlo/registry/registry_index.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <system_error>

namespace mlo::registry {

namespace fs = std::filesystem;

Result<Registry> Registry::open(core::Project& project) {
    auto tags = load_registry_tags(project.root(), project.mlo_dir());
    if (!tags)
        return fail(std::move(tags).error());
    return Registry(project, RegistryState(std::move(*tags)));
}

std::vector<std::string> Registry::config_models() const {
    std::vector<std::string> names;
    for (const auto& [name, model] : m_project->config().models)
        names.push_back(name);
    return names;
}

Status Registry::check_stage(const std::string& stage) const {
    const auto& stages = m_project->config().registry_stages;
    if (std::find(stages.begin(), stages.end(), stage) != stages.end())
        return {};
    std::string listed;
    for (const auto& name : stages)
        listed += (listed.empty() ? "" : ", ") + name;
    return fail(ErrorCode::input, "unknown stage '" + stage + "'" + util::did_you_mean(stage, stages),
                stages.empty() ? "list the stages in mlo.yaml: `registry: {stages: [staging, production]}`"
                               : "stages (registry.stages in mlo.yaml): " + listed);
}

Result<const VersionState*> Registry::resolve(const ModelRef& ref) const {
    if (!ref.stage.empty())
        MLO_TRY(check_stage(ref.stage));
    return m_state.resolve(ref, config_models());
}

Result<ModelManifest> Registry::manifest(const std::string& model, const VersionState& version) const {
    std::string tag = model + "@" + version.version.str();
    if (version.manifest.empty())
        return fail(ErrorCode::input,
                    "tag " + tag + " carries no model manifest (it was not made by mlo register)");
    auto id = hash::ObjectId::parse(version.manifest);
    if (!id)
        return fail(ErrorCode::input, "tag " + tag + ": manifest id: " + id.error().message);
    auto bytes = m_project->objects().read_bytes(*id);
    if (!bytes) {
        Error error = std::move(bytes).error().context("model manifest of " + tag);
        if (error.code == ErrorCode::input)
            error.hint = "fetch it from a remote with `mlo pull`";
        return fail(std::move(error));
    }
    auto manifest = ModelManifest::parse(*bytes);
    if (!manifest)
        return fail(std::move(manifest).error().context(tag));
    if (manifest->model != model || manifest->version != version.version.str())
        return fail(ErrorCode::failure, "tag " + tag + " names the manifest of " + manifest->model + "@" +
                                            manifest->version + " (the tag was made or altered by hand)");
    return manifest;
}

Result<ModelManifest> get_model(const Registry& registry, const ModelRef& ref, const fs::path& out_dir) {
    auto version = registry.resolve(ref);
    if (!version)
        return fail(std::move(version).error());
    auto manifest = registry.manifest(ref.model, **version);
    if (!manifest)
        return fail(std::move(manifest).error());

    std::error_code ec;
    if (fs::exists(out_dir, ec) && !(fs::is_directory(out_dir, ec) && fs::is_empty(out_dir, ec)))
        return fail(ErrorCode::input, out_dir.string() + " exists and is not an empty directory",
                    "choose a new directory with -o");
    // Everything is written below a temp directory beside the target, then renamed into place: an
    // interrupted or refused get leaves no partial model where a server might load it.
    fs::path parent = out_dir.parent_path().empty() ? fs::path(".") : out_dir.parent_path();
    fs::create_directories(parent, ec);
    if (ec)
        return fail(system_error("creating " + parent.string(), ec.value()));
    fs::path temp = util::temp_path_beside(out_dir);
    fs::create_directory(temp, ec);
    if (ec)
        return fail(system_error("creating " + temp.string(), ec.value()));
    auto cleanup = [&] {
        std::error_code ignored;
        fs::remove_all(temp, ignored);
    };
    store::Linker linker(registry.project().objects(), store::LinkMode::copy);
    for (const auto& file : manifest->files) {
        fs::path dest = temp / file.path;
        fs::create_directories(dest.parent_path(), ec);
        if (!registry.project().objects().contains(file.id)) {
            cleanup();
            return fail(ErrorCode::input,
                        "file " + file.path + " of " + ref.model + "@" + manifest->version + " (" +
                            file.id.str() + ") is not in the store",
                        "fetch it from a remote with `mlo pull`");
        }
        if (auto placed = linker.place_file(file.id, dest, file.executable); !placed) {
            cleanup();
            return fail(std::move(placed).error().context("file " + file.path + " of " + ref.model + "@" +
                                                          manifest->version));
        }
    }
    if (fs::exists(out_dir, ec))
        fs::remove(out_dir, ec); // the empty directory checked above
    if (::rename(temp.c_str(), out_dir.c_str()) != 0) {
        int saved = errno;
        cleanup();
        return fail(system_error("moving the model into " + out_dir.string(), saved));
    }
    (void)util::fsync_directory(parent);
    return manifest;
}

} // namespace mlo::registry
