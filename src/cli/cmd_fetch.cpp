// mlo fetch and mlo pull: bring objects from a remote into the store (pull then checks out).
//
// A fresh clone knows its pointers and its registry (git tags) but none of the runs, so a fetch
// goes in three steps: the run refs the remote has and this project lacks, with their records;
// then the metadata the local scope names (run records, model manifests), which says what else
// is needed; then the data of the scope.
#include "command.hpp"
#include "remote_options.hpp"

#include <mlo/data/checkout.hpp>
#include <mlo/remote/directory_remote.hpp>
#include <mlo/remote/sync.hpp>
#include <mlo/runs/run_store.hpp>
#include <mlo/util/parallel.hpp>
#include <mutex>
#include <set>

namespace mlo::cli {
namespace {

struct FetchTotals {
    uint64_t objects = 0, downloaded = 0, downloaded_bytes = 0, runs = 0;
    std::set<std::string> missing, corrupt;

    void add(const remote::FetchReport& report) {
        objects += report.objects;
        downloaded += report.downloaded;
        downloaded_bytes += report.downloaded_bytes;
        missing.insert(report.missing_on_remote.begin(), report.missing_on_remote.end());
        corrupt.insert(report.corrupt.begin(), report.corrupt.end());
    }
};

// The runs on the remote that this project lacks (all of them, or those `wanted` names: an id
// or a unique prefix). Their records are fetched and their refs added.
Status fetch_runs(Context& context, remote::Remote& remote, const std::vector<std::string>& wanted, bool all,
                  FetchTotals& totals) {
    auto store = runs::RunStore::open(context.project->objects(), context.project->mlo_dir());
    if (!store)
        return fail(std::move(store).error());
    auto local = (*store)->all_ids();
    if (!local)
        return fail(std::move(local).error());
    std::set<std::string> have(local->begin(), local->end());
    auto names = remote.list_refs("runs");
    if (!names)
        return fail(std::move(names).error());
    std::vector<std::string> todo;
    for (const auto& name : *names) {
        // Run ids are [A-Za-z0-9-]; anything else in a listing is not a run of mlo's, and is
        // never used to build a request or a path.
        if (have.count(name) || !remote::is_safe_ref_path(name) ||
            name.find_first_of("._") != std::string::npos)
            continue;
        bool selected = all;
        for (const auto& want : wanted)
            selected = selected || (want != "latest" && name.compare(0, want.size(), want) == 0);
        if (selected)
            todo.push_back(name);
    }
    std::vector<std::optional<hash::ObjectId>> records(todo.size());
    MLO_TRY(util::parallel_for(todo.size(), remote.jobs(), [&](size_t i) -> Status {
        auto text = remote.get_ref("runs/" + todo[i]);
        if (!text)
            return fail(std::move(text).error());
        if (!*text)
            return {};
        std::string value = **text;
        while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
            value.pop_back();
        auto id = hash::ObjectId::parse(value);
        if (!id)
            return fail(ErrorCode::failure, "remote '" + remote.name() + "': refs/runs/" + todo[i] +
                                                " does not hold an object id");
        records[i] = *id;
        return {};
    }));
    std::vector<store::ObjectRoot> roots;
    for (const auto& record : records)
        if (record)
            roots.push_back({*record, false});
    auto report = remote::fetch(remote, context.project->objects(), roots, context.progress_sink());
    if (!report)
        return fail(std::move(report).error());
    totals.add(*report);
    for (size_t i = 0; i < todo.size(); ++i) {
        if (!records[i] || !context.project->objects().contains(*records[i]))
            continue; // missing or corrupt on the remote: reported with the totals
        MLO_TRY((*store)->add_ref(todo[i], *records[i]));
        ++totals.runs;
    }
    return {};
}

class FetchCommand : public Command {
  public:
    explicit FetchCommand(bool checkout) : m_checkout(checkout) {}

    void define(CLI::App& app) override {
        m_options.define(app, m_checkout ? "pull from" : "fetch from");
        if (m_checkout)
            app.add_flag("-f,--force", m_force, "Discard workspace changes that are not saved in the store");
    }

    Result<int> run(Context& context) override {
        auto request = m_options.request(context);
        if (!request)
            return fail(std::move(request).error());
        auto remote = m_options.open(context);
        if (!remote)
            return fail(std::move(remote).error());
        // A fresh clone has mlo.yaml but no .mlo/ (git ignores it).
        MLO_TRY(context.project->objects().create());
        std::optional<Scope> scope;
        FetchTotals totals;
        {
            // gc must not delete what is arriving (a fetched object is unreferenced until its
            // ref or pointer is there).
            auto lock = context.project->lock_store(util::FileLock::Mode::shared);
            if (!lock)
                return fail(std::move(lock).error());
            if (request->everything() || !request->runs.empty())
                MLO_TRY(fetch_runs(context, **remote, request->runs, request->everything(), totals));
            auto first = local_scope(*context.project, *request);
            if (!first)
                return fail(std::move(first).error());
            std::vector<store::ObjectRoot> metadata;
            for (const auto& id : first->plan.metadata)
                metadata.push_back({id, false});
            auto report =
                remote::fetch(**remote, context.project->objects(), metadata, context.progress_sink());
            if (!report)
                return fail(std::move(report).error());
            totals.add(*report);
            auto second = local_scope(*context.project, *request);
            if (!second)
                return fail(std::move(second).error());
            scope = std::move(*second);
            auto roots = scope->plan.data;
            report = remote::fetch(**remote, context.project->objects(), roots, context.progress_sink());
            if (!report)
                return fail(std::move(report).error());
            totals.add(*report);
        }

        std::vector<std::string> missing(totals.missing.begin(), totals.missing.end());
        std::vector<std::string> corrupt(totals.corrupt.begin(), totals.corrupt.end());
        std::optional<data::CheckoutReport> checkout;
        bool complete = missing.empty() && corrupt.empty();
        if (m_checkout && complete && !scope->workspace.empty()) {
            data::CheckoutOptions options;
            options.force = m_force;
            options.progress = context.progress_sink();
            auto report = data::checkout_refs(*context.project, scope->workspace, options);
            if (!report)
                return fail(std::move(report).error());
            checkout = std::move(*report);
        }

        if (context.out.json()) {
            nlohmann::json doc = {{"remote", (*remote)->name()},
                                  {"objects", totals.objects},
                                  {"downloaded", totals.downloaded},
                                  {"downloaded_bytes", totals.downloaded_bytes},
                                  {"runs", totals.runs},
                                  {"missing_on_remote", missing},
                                  {"corrupt", corrupt}};
            if (checkout) {
                nlohmann::json items = nlohmann::json::array();
                for (const auto& item : checkout->items)
                    items.push_back({{"path", item.path}, {"action", item.action}});
                doc["checkout"] = items;
            }
            context.out.json_result(m_checkout ? "mlo.pull/1" : "mlo.fetch/1", doc);
        } else {
            context.out.line(fmt::format("fetched {} objects ({}) and {} runs from {}", totals.downloaded,
                                         human_bytes(totals.downloaded_bytes), totals.runs,
                                         (*remote)->name()));
            if (checkout)
                for (const auto& item : checkout->items) {
                    if (item.action == "unchanged")
                        context.out.detail("unchanged " + item.path);
                    else
                        context.out.line(fmt::format("{} {} ({} written, {} removed)", item.action, item.path,
                                                     item.files_written, item.files_removed));
                }
        }
        if (!complete) {
            print_some(context.out, "not on remote '" + (*remote)->name() + "':", missing);
            print_some(context.out,
                       "corrupt on remote '" + (*remote)->name() + "' (detected, not stored):", corrupt);
            return fail(ErrorCode::failure,
                        std::to_string(missing.size() + corrupt.size()) +
                            " objects could not be fetched from remote '" + (*remote)->name() + "' (" +
                            std::to_string(missing.size()) + " missing, " + std::to_string(corrupt.size()) +
                            " corrupt)",
                        std::string("push them from a store that has them intact ('mlo push --rescan')") +
                            (m_checkout ? "; nothing was checked out" : ""));
        }
        return 0;
    }

  private:
    RemoteOptions m_options;
    bool m_checkout;
    bool m_force = false;
};

} // namespace

std::unique_ptr<Command> make_fetch_command() {
    return std::make_unique<FetchCommand>(false);
}

std::unique_ptr<Command> make_pull_command() {
    return std::make_unique<FetchCommand>(true);
}

} // namespace mlo::cli
