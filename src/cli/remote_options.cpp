#include "remote_options.hpp"

namespace mlo::cli {

void RemoteOptions::define(CLI::App& app, const std::string& verb) {
    app.add_option("targets", targets,
                   "Only these tracked paths, or registered versions (MODEL@vX.Y.Z, MODEL#STAGE)")
        ->option_text("PATH|MODEL@v...");
    app.add_option("-r,--remote", remote, "The remote to " + verb + " (default: default_remote)")
        ->option_text("NAME");
    app.add_option("--run", runs, "Only this recorded run (id, prefix or 'latest'); repeatable")
        ->option_text("RUN");
    app.add_flag("--all-commits", all_commits, "Also the data of every commit of every branch and tag");
    app.add_option("-j,--jobs", jobs,
                   "Transfers at once (default: the remote's jobs, else 4 per core, at least 8)")
        ->option_text("N");
}

Result<ScopeRequest> RemoteOptions::request(Context& context) const {
    ScopeRequest request;
    std::vector<std::string> paths;
    split_targets(*context.project, targets, paths, request.models);
    for (const auto& path : paths) {
        auto rel = context.project->relative_path(path, context.cwd);
        if (!rel)
            return fail(std::move(rel).error());
        request.paths.push_back(*rel);
    }
    request.runs = runs;
    request.all_commits = all_commits;
    return request;
}

Result<std::unique_ptr<remote::Remote>> RemoteOptions::open(Context& context) const {
    auto config = remote::choose_remote(context.project->config(), remote);
    if (!config)
        return fail(std::move(config).error());
    if (jobs > 0)
        config->jobs = static_cast<int>(jobs);
    return remote::open_remote(*config, context.project->root());
}

void print_some(const Output& out, const std::string& title, const std::vector<std::string>& items) {
    if (items.empty())
        return;
    out.warning(title);
    for (size_t i = 0; i < items.size() && i < 10; ++i)
        out.warning("  " + items[i]);
    if (items.size() > 10)
        out.warning("  ... and " + std::to_string(items.size() - 10) + " more");
}

} // namespace mlo::cli
