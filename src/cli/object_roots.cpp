#include "object_roots.hpp"

#include <mlo/registry/registry.hpp>
#include <mlo/runs/run_store.hpp>

namespace mlo::cli {

namespace {

// Every registered version keeps its manifest and files, deregistered ones included: a version is
// immutable, and its tag may be checked out or served again.
Status add_registry_roots(core::Project& project, std::vector<store::ObjectRoot>& roots) {
    auto registry = registry::Registry::open(project);
    if (!registry) {
        // No git repository means no registry, so nothing to keep for it.
        if (registry.error().code == ErrorCode::precondition)
            return {};
        return fail(std::move(registry).error());
    }
    for (const auto& [name, model] : registry->state().models()) {
        for (const auto& version : model.versions) {
            auto id = hash::ObjectId::parse(version.manifest);
            if (!id)
                continue; // a tag without a manifest refers to nothing in the store
            roots.push_back(store::ObjectRoot{*id, false});
            // A missing or corrupt manifest is fsck's to report (through the root above).
            auto manifest = registry->manifest(name, version);
            if (!manifest)
                continue;
            roots.push_back(store::ObjectRoot{manifest->root, manifest->kind == "directory"});
            for (const auto& file : manifest->files)
                roots.push_back(store::ObjectRoot{file.id, false});
        }
    }
    return {};
}

} // namespace

Result<std::vector<store::ObjectRoot>> object_roots(core::Project& project) {
    auto runs = runs::RunStore::open(project.objects(), project.mlo_dir());
    if (!runs)
        return fail(std::move(runs).error());
    auto roots = (*runs)->referenced_objects();
    if (!roots)
        return fail(std::move(roots).error());
    MLO_TRY(add_registry_roots(project, *roots));
    return roots;
}

} // namespace mlo::cli
