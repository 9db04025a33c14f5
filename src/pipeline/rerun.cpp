#include <chrono>
#include <mlo/data/tree_reader.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/pipeline/metrics.hpp>
#include <mlo/pipeline/rerun.hpp>
#include <mlo/pipeline/stage_process.hpp>
#include <mlo/runs/run_store.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/file_io.hpp>
#include <set>

namespace mlo::pipeline {

namespace fs = std::filesystem;

bool RerunReport::all_identical() const {
    return std::all_of(outs.begin(), outs.end(), [](const OutComparison& out) { return out.identical; });
}

namespace {

// Writes a stored file or directory at `dest` (replacing what is there), verified.
Status materialize(const store::ObjectStore& objects, const store::Linker& linker, const runs::PathId& item,
                   const fs::path& dest) {
    std::error_code ec;
    fs::remove_all(dest, ec);
    fs::create_directories(dest.parent_path(), ec);
    if (item.kind != "directory")
        return linker.place_file(item.id, dest, false);
    auto tree = data::flatten_stored_tree(objects, item.id);
    if (!tree)
        return fail(std::move(tree).error());
    fs::create_directories(dest, ec);
    for (const auto& dir : tree->dirs)
        fs::create_directories(dest / dir, ec);
    for (const auto& [rel, entry] : tree->files) {
        if (entry.kind == store::EntryKind::symlink)
            MLO_TRY(linker.place_symlink(entry.target, dest / rel));
        else
            MLO_TRY(linker.place_file(entry.id, dest / rel, entry.executable));
    }
    return {};
}

Result<std::optional<store::ScannedTree>> scan(const store::ObjectStore& objects, store::StatCache& cache,
                                               const fs::path& root, const std::string& path) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(root / path, ec)))
        return std::optional<store::ScannedTree>();
    store::ScanOptions options;
    options.store = true;
    auto scanned = store::scan_tree(objects, cache, root, path, options);
    if (!scanned)
        return fail(std::move(scanned).error());
    return std::optional<store::ScannedTree>(std::move(*scanned));
}

// Files that differ between a recorded directory and a produced one.
std::vector<std::string> directory_differences(const store::ObjectStore& objects,
                                               const hash::ObjectId& recorded,
                                               const hash::ObjectId& produced) {
    std::vector<std::string> out;
    auto old_tree = data::flatten_stored_tree(objects, recorded);
    auto new_tree = data::flatten_stored_tree(objects, produced);
    if (!old_tree || !new_tree)
        return out;
    for (const auto& [path, entry] : old_tree->files) {
        auto it = new_tree->files.find(path);
        if (it == new_tree->files.end())
            out.push_back("missing: " + path);
        else if (it->second.id != entry.id)
            out.push_back("differs: " + path);
    }
    for (const auto& [path, entry] : new_tree->files)
        if (!old_tree->files.count(path))
            out.push_back("extra: " + path);
    return out;
}

} // namespace

Result<RerunReport> rerun(core::Project& project, const RerunOptions& options) {
    auto event = [&](const std::string& stage, const std::string& text) {
        if (options.on_event)
            options.on_event(stage, text);
    };
    auto run_store = runs::RunStore::open(project.objects(), project.mlo_dir());
    if (!run_store)
        return fail(std::move(run_store).error());
    auto id = (*run_store)->resolve(options.run);
    if (!id)
        return fail(std::move(id).error());
    auto original = (*run_store)->load(*id);
    if (!original)
        return fail(std::move(original).error());
    if (original->git_commit.empty())
        return fail(ErrorCode::precondition,
                    "run " + *id + " was recorded without a git commit: its code is unknown");
    auto repo = git::Repository::discover(project.root());
    if (!repo)
        return fail(std::move(repo).error());
    if (!repo->resolve_commit(original->git_commit))
        return fail(ErrorCode::precondition,
                    "run " + *id + " was recorded at commit " + original->git_commit.substr(0, 12) +
                        ", which is not in this repository",
                    "fetch it (git fetch) or re-run from a clone that has it");

    auto lock = project.lock_store(util::FileLock::Mode::shared);
    if (!lock)
        return fail(std::move(lock).error());
    RerunReport report;
    report.original_run = *id;
    if (original->git_dirty)
        report.warnings.push_back("run " + *id + " was recorded with uncommitted changes (" +
                                  original->git_diff_hash.substr(0, 19) +
                                  "); the code re-executed is the commit without them");

    runs::RunRecord& run = report.run;
    run.id = runs::new_run_id();
    run.rerun_of = *id;
    run.started_ns = util::unix_time_ns();
    run.git_commit = original->git_commit;
    run.git_branch = original->git_branch;
    run.params = original->params;
    run.params_file = original->params_file;
    run.overrides = original->overrides;
    run.environment = original->environment;

    fs::path scratch = project.mlo_dir() / "tmp" / ("rerun-" + run.id);
    fs::path work = scratch / "work";
    std::error_code ec;
    fs::create_directories(work, ec);
    struct Cleanup {
        fs::path path;
        bool keep;
        ~Cleanup() {
            if (!keep) {
                std::error_code ignored;
                fs::remove_all(path, ignored);
            }
        }
    } cleanup{scratch, options.keep};
    if (options.keep)
        report.scratch = work;

    MLO_TRY(repo->export_tree(original->git_commit, work));
    auto config = core::load_config(work / core::k_project_file);
    if (!config)
        return fail(std::move(config).error().context("mlo.yaml at " + original->git_commit.substr(0, 12)));
    fs::path params_path = work / config->params_file;
    if (original->params_file) {
        auto bytes = project.objects().read_bytes(*original->params_file);
        if (!bytes)
            return fail(std::move(bytes).error().context("the recorded params file"));
        MLO_TRY(util::write_file_atomic(params_path, *bytes));
    }
    auto cache = store::StatCache::open(scratch / "stat.db");
    if (!cache)
        return fail(std::move(cache).error());
    store::Linker linker(project.objects(), store::LinkMode::copy);

    std::set<std::string> produced; // outs written by stages re-executed so far
    bool stop = false;
    for (const auto& recorded : original->stages) {
        runs::StageRun stage = recorded;
        bool executes = recorded.status == "succeeded" || recorded.status == "restored";
        if (!executes || stop) {
            stage.status = stop ? "not run" : "skipped";
            stage.reason = stop ? "an earlier stage failed" : "did not run in " + *id;
            stage.stdout_log.reset();
            stage.stderr_log.reset();
            run.stages.push_back(stage);
            continue;
        }
        // Inputs: each dep as recorded, unless an earlier stage of this re-execution made it.
        for (const auto& dep : recorded.deps) {
            if (produced.count(dep.path))
                continue;
            auto have = scan(project.objects(), **cache, work, dep.path);
            if (!have)
                return fail(std::move(have).error());
            if (*have && (*have)->root.id == dep.id)
                continue; // in the commit's tree, bit-identical
            if (project.objects().contains(dep.id)) {
                MLO_TRY_CTX(materialize(project.objects(), linker, dep, work / dep.path),
                            "restoring dep " + dep.path);
            } else {
                report.warnings.push_back(
                    "stage " + recorded.name + ": dep " + dep.path +
                    " differs from the recorded one and its recorded bytes are not in the store");
            }
        }
        for (const auto& out : recorded.outs) {
            fs::remove_all(work / out.path, ec);
            fs::create_directories((work / out.path).parent_path(), ec);
        }
        event(recorded.name, "re-executing: " + recorded.cmd);
        fs::path metrics_file = scratch / (recorded.name + ".metrics.jsonl");
        stage.started_ns = util::unix_time_ns();
        auto outcome =
            run_stage_command(project.objects(), {run.id, recorded.name, recorded.cmd, work, params_path,
                                                  metrics_file, options.stop_requested, options.on_output});
        if (!outcome)
            return fail(std::move(outcome).error());
        const ProcessResult* result = &outcome->process;
        stage.ended_ns = util::unix_time_ns();
        stage.exit_code = result->exit_code;
        stage.signal = result->signal;
        stage.wall_seconds = result->wall_seconds;
        stage.cpu_seconds = result->cpu_seconds;
        stage.peak_rss_bytes = result->peak_rss_bytes;
        stage.reason = "re-execution of " + *id;
        stage.stdout_log = outcome->stdout_log;
        stage.stderr_log = outcome->stderr_log;
        std::vector<size_t> bad_lines;
        auto steps = read_step_metrics(metrics_file, recorded.name, bad_lines);
        run.step_metrics.insert(run.step_metrics.end(), steps.begin(), steps.end());
        if (result->interrupted || result->exit_code != 0) {
            stage.status = result->interrupted ? "killed" : "failed";
            report.failed = report.failed || !result->interrupted;
            report.interrupted = report.interrupted || result->interrupted;
            stop = true;
        } else {
            stage.status = "succeeded";
        }
        stage.outs.clear();
        for (const auto& out : recorded.outs) {
            OutComparison comparison{recorded.name, out.path, out.id, std::nullopt, false, {}};
            auto made = scan(project.objects(), **cache, work, out.path);
            if (!made)
                return fail(std::move(made).error());
            if (*made) {
                comparison.produced = (*made)->root.id;
                comparison.identical = (*made)->root.id == out.id;
                if (!comparison.identical && out.kind == "directory")
                    comparison.differing_files =
                        directory_differences(project.objects(), out.id, (*made)->root.id);
                stage.outs.push_back({out.path, out.kind, (*made)->root.id, (*made)->root.size});
                if (out.kind == "file" && (out.path.ends_with(".json") || out.path.ends_with(".yaml") ||
                                           out.path.ends_with(".yml")))
                    if (auto values = read_metrics_file(work / out.path))
                        for (const auto& [key, value] : *values)
                            if (original->metrics.count(key))
                                run.metrics[key] = value;
            }
            produced.insert(out.path);
            report.outs.push_back(std::move(comparison));
        }
        run.stages.push_back(std::move(stage));
    }
    add_last_step_values(run.metrics, run.step_metrics);
    run.ended_ns = util::unix_time_ns();
    run.status = report.interrupted ? "KILLED" : report.failed ? "FAILED" : "FINISHED";
    run.tags["rerun_of"] = *id;
    run.tags["verified"] = report.failed || report.interrupted ? "incomplete"
                           : report.all_identical()            ? "identical"
                                                               : "different";
    MLO_TRY((*run_store)->save(run));
    return report;
}

} // namespace mlo::pipeline
