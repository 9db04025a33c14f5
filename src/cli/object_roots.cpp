#include "object_roots.hpp"

#include <mlo/runs/run_store.hpp>

namespace mlo::cli {

Result<std::vector<store::ObjectRoot>> object_roots(core::Project& project) {
    auto runs = runs::RunStore::open(project.objects(), project.mlo_dir());
    if (!runs)
        return fail(std::move(runs).error());
    return (*runs)->referenced_objects();
}

} // namespace mlo::cli
