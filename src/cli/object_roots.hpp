#pragma once

#include <mlo/core/project.hpp>
#include <vector>

namespace mlo::cli {

// Everything outside the workspace and git history that gc must keep and fsck must find: what
// recorded runs and registered model versions refer to. One place, so gc and fsck can never disagree.
Result<std::vector<store::ObjectRoot>> object_roots(core::Project& project);

} // namespace mlo::cli
