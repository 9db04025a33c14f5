#pragma once

#include <mlo/core/project.hpp>
#include <mlo/data/pointers.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/util/progress.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlo::data {

struct CheckoutOptions {
    std::optional<std::string> rev; // read pointers from this git revision instead of the workspace
    bool force = false;             // overwrite workspace changes that are not saved in the store
    util::ProgressSink* progress = nullptr;
};

struct CheckoutItem {
    std::string path;
    std::string action; // "unchanged", "updated", "created"
    uint64_t files_written = 0;
    uint64_t files_removed = 0;
};

struct CheckoutReport {
    std::vector<CheckoutItem> items;
    std::string rev_commit; // resolved commit when --rev was given
    std::string link_mode;  // the mode actually used
};

// Makes the workspace data match the pointers (from the workspace, or at `rev` read through git
// without touching branches or the pointer files). Every object is verified while it is written;
// a corrupt or missing object stops the checkout before that path is touched. Content in the
// workspace that would be overwritten or deleted and is not in the store is refused unless
// `force`, listing every such file. Holds the store's shared lock.
Result<CheckoutReport> checkout(core::Project& project, const std::vector<std::string>& paths,
                                const CheckoutOptions& options);

// Checks out exactly these refs (e.g. a stage's outs restored from the run cache); same rules.
Result<CheckoutReport> checkout_refs(core::Project& project, const std::vector<PointerRef>& refs,
                                     const CheckoutOptions& options);

// The pointers at a git revision (pointer files and mlo.lock outs) (all `*.mlo` files of its tree), sorted by
// data path.
Result<std::vector<PointerRef>> pointers_at_revision(const git::Repository& repo, const std::string& commit);

} // namespace mlo::data
