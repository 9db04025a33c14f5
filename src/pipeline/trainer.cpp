// mlo train: the scheduler and the per-stage decisions.
//
// The DAG is validated first (all problems at once). Then the selected stages run under a simple
// scheduler: the main thread starts every stage whose upstream stages are done, up to `jobs` at a
// time, each on its own thread, and waits for one to finish. A stage's decision is made only when
// it is about to start — after its upstream stages ran — because only then are its deps' ids
// known. Per stage:
//
//   1. resolve the command (${key} templates) and the tracked params;
//   2. hash the deps and the outs (stat cache: unchanged files cost a stat);
//   3. compare with mlo.lock: same command, deps, params and outs present and unchanged → skip;
//   4. else look the exact inputs up in the run cache → restore the outs from the store;
//   5. else run the command, then store the outs and remember them in the run cache.
//
// Step 5 goes through a StageExecutor: local processes, or Slurm batch jobs. A batch executor can
// take a stage before its upstream stages have finished, handing their job ids over as
// dependencies, so the whole DAG reaches the cluster's queue at once. Such a chained stage cannot
// be skipped or restored (its deps do not exist yet): it always runs, and its deps are hashed
// once its job has ended.
//
// mlo.lock is written once at the end, atomically, with the new entries of the stages that
// succeeded merged into the previous file: a failed stage keeps its last good entry.
#include <condition_variable>
#include <fmt/core.h>
#include <mlo/data/checkout.hpp>
#include <mlo/data/gitignore.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/pipeline/dag.hpp>
#include <mlo/pipeline/environment.hpp>
#include <mlo/pipeline/metrics.hpp>
#include <mlo/pipeline/params.hpp>
#include <mlo/pipeline/run_cache.hpp>
#include <mlo/pipeline/stage_executor.hpp>
#include <mlo/pipeline/stage_process.hpp>
#include <mlo/pipeline/trainer.hpp>
#include <mlo/runs/run_store.hpp>
#include <mlo/store/lock_file.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/clock.hpp>
#include <mlo/util/file_io.hpp>
#include <mutex>
#include <set>
#include <thread>

namespace mlo::pipeline {

namespace fs = std::filesystem;

namespace {

// Hashes a dep or out as it is in the workspace; nullopt when it does not exist.
Result<std::optional<LockedPath>> hash_path(core::Project& project, store::StatCache& cache,
                                            const std::string& path, bool store_it) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(project.root() / path, ec)))
        return std::optional<LockedPath>();
    store::ScanOptions options;
    options.store = store_it;
    // All cores: in a chain of stages nothing else runs, and in a wide DAG the extra threads only
    // wait their turn.
    options.threads = 0;
    auto scan = store::scan_tree(project.objects(), cache, project.root(), path, options);
    if (!scan)
        return fail(std::move(scan).error());
    LockedPath locked;
    locked.path = path;
    locked.kind = scan->root.kind == store::EntryKind::directory ? "directory" : "file";
    locked.id = scan->root.id;
    locked.size = scan->root.size;
    locked.files = scan->root.kind == store::EntryKind::directory ? scan->root.files : 0;
    return std::optional<LockedPath>(locked);
}

runs::PathId to_path_id(const LockedPath& locked) {
    return {locked.path, locked.kind, locked.id, locked.size};
}

// Why a stage must run given its lock entry, or "" when it is up to date.
std::string reason_to_run(const LockedStage* locked, const StageInputs& inputs,
                          const std::vector<std::optional<LockedPath>>& current_outs) {
    if (locked == nullptr)
        return "never ran";
    std::map<std::string, hash::ObjectId> old_deps;
    for (const auto& dep : locked->deps)
        old_deps[dep.path] = dep.id;
    for (const auto& dep : inputs.deps) {
        auto it = old_deps.find(dep.path);
        if (it == old_deps.end())
            return "dep " + dep.path + " added";
        if (it->second != dep.id)
            return "dep " + dep.path + " changed";
    }
    if (old_deps.size() != inputs.deps.size())
        return "deps changed";
    for (const auto& [key, value] : inputs.params) {
        auto it = locked->params.find(key);
        if (it == locked->params.end())
            return "param " + key + " added";
        if (it->second != value)
            return "param " + key + " changed (" + it->second + " -> " + value + ")";
    }
    for (const auto& [key, value] : locked->params)
        if (!inputs.params.count(key))
            return "param " + key + " removed";
    if (locked->cmd != inputs.cmd)
        return "command changed";
    std::map<std::string, hash::ObjectId> old_outs;
    for (const auto& out : locked->outs)
        old_outs[out.path] = out.id;
    for (const auto& out : locked->metrics)
        old_outs[out.path] = out.id;
    std::vector<std::string> all_outs = inputs.outs;
    all_outs.insert(all_outs.end(), inputs.metrics.begin(), inputs.metrics.end());
    if (old_outs.size() != all_outs.size())
        return "outs changed";
    for (size_t i = 0; i < all_outs.size(); ++i) {
        auto it = old_outs.find(all_outs[i]);
        if (it == old_outs.end())
            return "out " + all_outs[i] + " added";
        if (!current_outs[i])
            return "out " + all_outs[i] + " missing";
        if (current_outs[i]->id != it->second)
            return "out " + all_outs[i] + " changed";
    }
    return "";
}

enum class State { pending, running, done };

std::string join_ids(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids)
        out += (out.empty() ? "" : ", ") + id;
    return out;
}

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? "no message" : line;
}

struct StageWork {
    const core::StageConfig* config = nullptr;
    State state = State::pending;
    bool ok = false; // succeeded, restored or skipped
    runs::StageRun record;
    std::optional<LockedStage> new_lock; // set when the stage's lock entry changes
    std::map<std::string, double> file_metrics;
    std::vector<runs::StepMetric> step_metrics;
    std::vector<std::string> after; // chained: job ids of upstream stages in flight at its start
    std::string job_id;             // its batch job, once submitted (guarded by m_done_mutex)
    bool holds_slot = false;        // counts against --jobs (local stages)
};

class Trainer {
  public:
    Trainer(core::Project& project, const TrainOptions& options) : m_project(project), m_options(options) {}

    Result<TrainReport> run();

  private:
    Status prepare();
    Result<StageInputs> resolve_inputs(const core::StageConfig& stage, bool hash_deps = true);
    Status execute_stage(StageWork& work);
    Status finish_stage(StageWork& work);
    Status run_command(StageWork& work, StageInputs& inputs, bool hash_deps_after);
    StageExecutor& executor_for(const std::string& stage);
    std::string abandon_reason(const std::string& stage);
    Result<LockedStage> collect_outs(StageWork& work, const StageInputs& inputs);
    Status restore_outs(const RunCache::Entry& entry);
    void event(const std::string& stage, const std::string& text) {
        if (m_options.on_event)
            m_options.on_event(stage, text);
    }
    bool stop_requested() const { return m_options.stop_requested && m_options.stop_requested->load(); }

    core::Project& m_project;
    const TrainOptions& m_options;
    store::StatCache* m_cache = nullptr;
    std::optional<Dag> m_dag;
    std::optional<Params> m_params;
    fs::path m_params_path;
    LockFile m_lock;
    std::unique_ptr<RunCache> m_run_cache;
    std::string m_run_id;
    fs::path m_run_tmp;
    std::mutex m_mutex;      // guards m_works' records when stages finish concurrently
    std::mutex m_done_mutex; // guards the scheduler's view: StageWork::state and job_id
    std::map<std::string, StageWork> m_works;
    std::unique_ptr<StageExecutor> m_local = make_local_executor();
    std::unique_ptr<StageExecutor> m_slurm = make_slurm_executor();

    // HEAD and the uncommitted diff, read once, before the first write of this run (see run()).
    struct GitState {
        std::string commit, branch, diff_hash;
        bool dirty = false;
    } m_git;
    std::once_flag m_git_once;
    void capture_git_state() {
        std::call_once(m_git_once, [this] {
            auto repo = git::Repository::discover(m_project.root());
            if (!repo)
                return;
            if (auto head = repo->head()) {
                m_git.commit = head->commit;
                m_git.branch = head->branch;
            }
            // mlo.lock is what runs write, not part of the code they ran.
            if (auto diff = repo->diff_against_head({"mlo.lock"}); diff && !diff->empty()) {
                m_git.dirty = true;
                m_git.diff_hash = hash::sha256_of(*diff).str();
            }
        });
    }
};

Status Trainer::prepare() {
    auto cache = m_project.stat_cache();
    if (!cache)
        return fail(std::move(cache).error());
    m_cache = *cache;
    auto dag = Dag::build(m_project.config().pipeline, m_project.root().string());
    if (!dag)
        return fail(std::move(dag).error());
    m_dag.emplace(std::move(*dag));
    if (m_dag->stages().empty())
        return fail(ErrorCode::input, "mlo.yaml has no pipeline stages",
                    "add a `pipeline:` section (see man mlo-train)");
    m_params_path = m_project.root() / m_project.config().params_file;
    auto params = Params::load(m_params_path);
    if (!params)
        return fail(std::move(params).error());
    m_params.emplace(std::move(*params));
    for (const auto& assignment : m_options.overrides)
        MLO_TRY(m_params->apply_override(assignment));
    auto lock = LockFile::load(m_project.root() / "mlo.lock");
    if (!lock)
        return fail(std::move(lock).error());
    m_lock = std::move(*lock);
    m_run_cache = std::make_unique<RunCache>(m_project.mlo_dir() / "cache" / "runs");
    return {};
}

StageExecutor& Trainer::executor_for(const std::string& stage) {
    const std::string& name = m_options.executor.empty() ? m_dag->stage(stage).executor : m_options.executor;
    return name == "slurm" ? *m_slurm : *m_local;
}

// A chained stage's result is unwanted once one of its upstream stages has failed.
std::string Trainer::abandon_reason(const std::string& stage) {
    std::lock_guard guard(m_done_mutex);
    for (const auto& up : m_dag->upstream(stage)) {
        auto it = m_works.find(up);
        if (it != m_works.end() && it->second.state == State::done && !it->second.ok)
            return "upstream stage " + up + " failed";
    }
    return {};
}

Result<StageInputs> Trainer::resolve_inputs(const core::StageConfig& stage, bool hash_deps) {
    StageInputs inputs;
    auto cmd = expand_template(stage.cmd, *m_params);
    if (!cmd)
        return fail(std::move(cmd).error().context("stage '" + stage.name + "'"));
    inputs.cmd = *cmd;
    std::set<std::string> keys(stage.params.begin(), stage.params.end());
    for (const auto& key : template_keys(stage.cmd))
        keys.insert(key);
    for (const auto& key : keys) {
        auto value = m_params->value(key);
        if (!value)
            return fail(std::move(value).error().context("stage '" + stage.name + "'"));
        inputs.params[key] = *value;
    }
    for (const auto& dep : hash_deps ? stage.deps : std::vector<std::string>{}) {
        std::string path = normalize_pipeline_path(dep);
        auto hashed = hash_path(m_project, *m_cache, path, false);
        if (!hashed)
            return fail(std::move(hashed).error());
        if (!*hashed)
            return fail(ErrorCode::input, "stage '" + stage.name + "': dep " + path + " does not exist");
        inputs.deps.push_back(**hashed);
    }
    std::sort(inputs.deps.begin(), inputs.deps.end(),
              [](const LockedPath& a, const LockedPath& b) { return a.path < b.path; });
    for (const auto& out : stage.outs)
        inputs.outs.push_back(normalize_pipeline_path(out));
    for (const auto& metric : stage.metrics)
        inputs.metrics.push_back(normalize_pipeline_path(metric));
    std::sort(inputs.outs.begin(), inputs.outs.end());
    std::sort(inputs.metrics.begin(), inputs.metrics.end());
    return inputs;
}

Status Trainer::restore_outs(const RunCache::Entry& entry) {
    std::vector<data::PointerRef> refs;
    for (const auto* list : {&entry.outs, &entry.metrics})
        for (const auto& out : *list) {
            store::Pointer pointer;
            pointer.path = fs::path(out.path).filename().string();
            pointer.kind = out.kind == "directory" ? store::EntryKind::directory : store::EntryKind::file;
            pointer.id = out.id;
            pointer.size = out.size;
            pointer.files = out.files;
            refs.push_back({out.path, pointer});
        }
    data::CheckoutOptions options;
    options.force = true; // outs are products of the stage: replacing them loses nothing
    auto report = data::checkout_refs(m_project, refs, options);
    if (!report)
        return fail(std::move(report).error());
    return {};
}

Result<LockedStage> Trainer::collect_outs(StageWork& work, const StageInputs& inputs) {
    LockedStage locked;
    locked.cmd = inputs.cmd;
    locked.deps = inputs.deps;
    locked.params = inputs.params;
    for (const auto* list : {&inputs.outs, &inputs.metrics}) {
        for (const auto& path : *list) {
            auto hashed = hash_path(m_project, *m_cache, path, true);
            if (!hashed)
                return fail(std::move(hashed).error());
            if (!*hashed)
                return fail(ErrorCode::failure, "stage '" + work.config->name +
                                                    "' succeeded but did not produce its out " + path);
            (list == &inputs.outs ? locked.outs : locked.metrics).push_back(**hashed);
        }
    }
    for (const auto& metric : inputs.metrics) {
        auto values = read_metrics_file(m_project.root() / metric);
        if (!values)
            return fail(std::move(values).error().context("stage '" + work.config->name + "'"));
        work.file_metrics.insert(values->begin(), values->end());
    }
    return locked;
}

Status Trainer::run_command(StageWork& work, StageInputs& inputs, bool hash_deps_after) {
    const auto& stage = *work.config;
    // Outs are the stage's products: remove stale ones so the command cannot pass by leaving an
    // old file in place, and create their parent directories.
    for (const auto* list : {&inputs.outs, &inputs.metrics})
        for (const auto& out : *list) {
            std::error_code ec;
            fs::remove_all(m_project.root() / out, ec);
            fs::create_directories((m_project.root() / out).parent_path(), ec);
        }
    fs::path metrics_file = m_run_tmp / (stage.name + ".metrics.jsonl");
    StageExecutor& executor = executor_for(stage.name);
    ExecutorStage request;
    request.command = {m_run_id,
                       stage.name,
                       inputs.cmd,
                       m_project.root(),
                       m_params_path,
                       metrics_file,
                       m_options.stop_requested,
                       m_options.on_output};
    request.slurm = stage.slurm;
    request.job_name = "mlo-" + m_project.config().project + "-" + stage.name;
    request.scratch = m_run_tmp;
    request.after = work.after;
    request.on_submitted = [&](const std::string& job_id) {
        event(stage.name,
              "submitted as Slurm job " + job_id +
                  (work.after.empty() ? std::string() : " (after job " + join_ids(work.after) + ")"));
        std::lock_guard guard(m_done_mutex);
        work.job_id = job_id;
    };
    if (!work.after.empty())
        request.abandon_reason = [this, name = stage.name] { return abandon_reason(name); };
    auto outcome = executor.run(m_project.objects(), request);
    if (!outcome)
        return fail(std::move(outcome).error());
    const ProcessResult* result = &outcome->process;
    auto& record = work.record;
    if (executor.name() != "local") {
        record.executor = executor.name();
        record.job_id = outcome->job_id;
        record.job_state = outcome->job_state;
        record.job_after = outcome->job_after;
    }
    if (!work.after.empty() && outcome->abandoned.empty() && !result->interrupted &&
        outcome->job_state != "COMPLETED") {
        // Slurm may cancel a job whose upstream job failed before mlo has seen that failure: wait
        // for the upstream stages (their jobs have ended) to tell "not run" from a failure.
        for (;;) {
            {
                std::lock_guard guard(m_done_mutex);
                const auto& ups = m_dag->upstream(stage.name);
                if (std::all_of(ups.begin(), ups.end(), [&](const std::string& up) {
                        auto it = m_works.find(up);
                        return it == m_works.end() || it->second.state == State::done;
                    }))
                    break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        outcome->abandoned = abandon_reason(stage.name);
    }
    if (!outcome->abandoned.empty()) {
        record.status = "not run";
        record.reason = outcome->abandoned;
        return {};
    }
    record.exit_code = result->exit_code;
    record.signal = result->signal;
    record.wall_seconds = result->wall_seconds;
    record.cpu_seconds = result->cpu_seconds;
    record.peak_rss_bytes = result->peak_rss_bytes;
    record.stdout_log = outcome->stdout_log;
    record.stderr_log = outcome->stderr_log;
    std::vector<size_t> bad_lines;
    auto step_text = util::read_file(metrics_file);
    std::optional<hash::ObjectId> step_object;
    if (step_text && !step_text->empty()) {
        work.step_metrics = parse_step_metrics(*step_text, stage.name, bad_lines);
        if (auto stored = m_project.objects().put_bytes(*step_text))
            step_object = stored->id;
    }
    if (!bad_lines.empty())
        event(stage.name,
              fmt::format("warning: {} line(s) of MLO_METRICS were not JSON objects (first: line {})",
                          bad_lines.size(), bad_lines.front()));
    if (result->interrupted) {
        record.status = "killed";
        return {};
    }
    if (!outcome->job_state.empty() && outcome->job_state != "COMPLETED") {
        record.status = "failed";
        record.reason += outcome->job_id.empty()
                             ? "; sbatch refused it: " + first_line(result->stderr_text)
                             : fmt::format("; Slurm job {} ended {} (exit code {})", outcome->job_id,
                                           outcome->job_state, result->exit_code);
        return {};
    }
    if (result->exit_code != 0) {
        record.status = "failed";
        record.reason += result->signal ? fmt::format("; killed by signal {}", result->signal)
                                        : fmt::format("; exited with {}", result->exit_code);
        return {};
    }
    if (hash_deps_after) {
        // A chained stage started before its deps existed: hash them now that they do.
        auto resolved = resolve_inputs(stage);
        if (!resolved) {
            record.status = "failed";
            record.reason += "; " + resolved.error().message;
            return {};
        }
        inputs = std::move(*resolved);
        for (const auto& dep : inputs.deps)
            record.deps.push_back(to_path_id(dep));
    }
    auto locked = collect_outs(work, inputs);
    if (!locked) {
        record.status = "failed";
        record.reason += "; " + locked.error().message;
        event(stage.name, locked.error().message);
        return {};
    }
    record.status = "succeeded";
    work.ok = true;
    work.new_lock = *locked;
    (void)m_run_cache->save(inputs.key(), {locked->outs, locked->metrics, step_object});
    return {};
}

Status Trainer::execute_stage(StageWork& work) {
    const auto& stage = *work.config;
    auto& record = work.record;
    record.name = stage.name;
    record.started_ns = util::unix_time_ns();
    if (m_options.dry_run) {
        // Deps produced by a stage that would run are not known yet: this one runs too.
        for (const auto& up : m_dag->upstream(stage.name)) {
            auto it = m_works.find(up);
            if (it != m_works.end() && it->second.record.status == "would run") {
                record.status = "would run";
                record.reason = "upstream stage " + up + " will run";
                work.ok = true;
                return {};
            }
        }
    }
    if (!work.after.empty()) {
        // Chained behind upstream jobs still in flight: it must run, and its deps do not exist yet.
        auto partial = resolve_inputs(stage, false);
        if (!partial) {
            record.status = "failed";
            record.reason = partial.error().message;
            record.ended_ns = util::unix_time_ns();
            return {};
        }
        record.cmd = partial->cmd;
        record.params = partial->params;
        record.reason = "upstream jobs " + join_ids(work.after) + " will produce its deps";
        event(stage.name, "running: " + record.reason);
        capture_git_state();
        MLO_TRY(run_command(work, *partial, true));
        return finish_stage(work);
    }
    auto inputs = resolve_inputs(stage);
    if (!inputs) {
        record.status = "failed";
        record.reason = inputs.error().message;
        record.ended_ns = util::unix_time_ns();
        event(stage.name, "failed: " + inputs.error().message);
        return {};
    }
    record.cmd = inputs->cmd;
    record.params = inputs->params;
    for (const auto& dep : inputs->deps)
        record.deps.push_back(to_path_id(dep));

    std::vector<std::optional<LockedPath>> current_outs;
    std::vector<std::string> all_outs = inputs->outs;
    all_outs.insert(all_outs.end(), inputs->metrics.begin(), inputs->metrics.end());
    for (const auto& out : all_outs) {
        auto hashed = hash_path(m_project, *m_cache, out, false);
        if (!hashed)
            return fail(std::move(hashed).error());
        current_outs.push_back(*hashed);
    }
    auto locked_it = m_lock.stages.find(stage.name);
    const LockedStage* locked = locked_it == m_lock.stages.end() ? nullptr : &locked_it->second;
    std::string reason = m_options.force ? "forced" : reason_to_run(locked, *inputs, current_outs);

    if (reason.empty()) {
        record.status = "skipped";
        record.reason = "up to date";
        for (const auto& out : locked->outs)
            record.outs.push_back(to_path_id(out));
        for (const auto& out : locked->metrics) {
            record.outs.push_back(to_path_id(out));
            if (auto values = read_metrics_file(m_project.root() / out.path))
                work.file_metrics.insert(values->begin(), values->end());
        }
        work.ok = true;
        record.ended_ns = util::unix_time_ns();
        event(stage.name, "up to date");
        return {};
    }
    record.reason = reason;
    if (m_options.dry_run) {
        record.status = "would run";
        work.ok = true;
        return {};
    }
    if (!m_options.force) {
        if (auto cached = m_run_cache->find(inputs->key())) {
            bool complete = true;
            for (const auto* list : {&cached->outs, &cached->metrics})
                for (const auto& out : *list)
                    complete = complete && m_project.objects().contains(out.id);
            if (complete)
                capture_git_state();
            if (complete && restore_outs(*cached)) {
                record.status = "restored";
                record.reason = reason + "; same inputs ran before: restored from the run cache";
                LockedStage entry{inputs->cmd, inputs->deps, inputs->params, cached->outs, cached->metrics};
                for (const auto& out : cached->metrics)
                    if (auto values = read_metrics_file(m_project.root() / out.path))
                        work.file_metrics.insert(values->begin(), values->end());
                if (cached->step_metrics)
                    if (auto text = m_project.objects().read_bytes(*cached->step_metrics)) {
                        std::vector<size_t> ignored;
                        work.step_metrics = parse_step_metrics(*text, stage.name, ignored);
                    }
                for (const auto* list : {&cached->outs, &cached->metrics})
                    for (const auto& out : *list)
                        record.outs.push_back(to_path_id(out));
                work.new_lock = std::move(entry);
                work.ok = true;
                record.ended_ns = util::unix_time_ns();
                event(stage.name, "restored from the run cache (" + reason + ")");
                return {};
            }
        }
    }
    event(stage.name, "running: " + reason);
    capture_git_state();
    MLO_TRY(run_command(work, *inputs, false));
    return finish_stage(work);
}

Status Trainer::finish_stage(StageWork& work) {
    auto& record = work.record;
    if (work.new_lock) {
        for (const auto* list : {&work.new_lock->outs, &work.new_lock->metrics})
            for (const auto& out : *list)
                record.outs.push_back(to_path_id(out));
    }
    record.ended_ns = util::unix_time_ns();
    event(work.config->name, record.status == "succeeded"
                                 ? fmt::format("succeeded in {:.2f}s", record.wall_seconds)
                                 : record.status + ": " + record.reason);
    return {};
}

Result<TrainReport> Trainer::run() {
    MLO_TRY(prepare());
    auto selected = m_dag->select(m_options.targets);
    if (!selected)
        return fail(std::move(selected).error());
    // Fix (e2e test_train_dag "templates"): an unknown ${key} or `params:` key is bad input, like a
    // DAG error: report every one (exit 2) before anything runs or is written. Before, it surfaced
    // only when the stage came up, as a FAILED run after its upstream stages had already run.
    {
        std::vector<std::string> problems;
        std::string hint;
        for (const auto& name : *selected) {
            const auto& stage = m_dag->stage(name);
            auto note = [&](const Error& error) {
                problems.push_back("stage '" + name + "': " + error.message);
                hint = error.hint.empty() ? hint : error.hint;
            };
            if (auto cmd = expand_template(stage.cmd, *m_params); !cmd)
                note(cmd.error());
            for (const auto& key : stage.params)
                if (auto value = m_params->value(key); !value)
                    note(value.error());
        }
        if (problems.size() == 1)
            return fail(ErrorCode::input, problems[0], hint);
        if (!problems.empty()) {
            std::string message = "pipeline params: " + std::to_string(problems.size()) + " problems:";
            for (const auto& problem : problems)
                message += "\n  " + problem;
            return fail(ErrorCode::input, message, hint);
        }
    }

    if (!m_options.executor.empty() && m_options.executor != "local" && m_options.executor != "slurm")
        return fail(ErrorCode::usage, "unknown executor '" + m_options.executor + "'",
                    "executors: local, slurm");
    if (!m_options.dry_run)
        for (const auto& name : *selected)
            MLO_TRY(executor_for(name).check_available());

    TrainReport report;
    int64_t started = util::unix_time_ns();
    m_run_id = runs::new_run_id();
    // The code a run ran is the work tree as it was when the run started: read before -S rewrites
    // params.yaml (the run records overrides itself) and before stages write .gitignore entries,
    // metrics files or mlo.lock. Without -S it is read only when a stage is about to run or be
    // restored: a no-op train records no run and never needs git (loading libgit2 costs ~15 ms).
    if (!m_options.dry_run && !m_options.overrides.empty())
        capture_git_state();
    if (!m_options.dry_run) {
        if (!m_options.overrides.empty())
            MLO_TRY_CTX(util::write_file_atomic(m_params_path, m_params->serialize()),
                        "writing -S overrides");
        m_run_tmp = m_project.mlo_dir() / "tmp" / ("run-" + m_run_id);
        std::error_code ec;
        fs::create_directories(m_run_tmp, ec);
    }
    for (const auto& name : *selected) {
        m_works[name].config = &m_dag->stage(name);
        m_works[name].record.name = name;
    }

    unsigned jobs = m_options.jobs ? m_options.jobs : std::max(1u, std::thread::hardware_concurrency());
    if (m_options.dry_run)
        jobs = 1;
    std::condition_variable done_signal;
    size_t running = 0;
    std::optional<Error> fatal;
    std::vector<std::thread> threads;
    std::vector<std::string> order; // execution order for the record

    auto blocked_by = [&](const std::string& name) -> std::string {
        for (const auto& up : m_dag->upstream(name)) {
            auto it = m_works.find(up);
            if (it != m_works.end() && it->second.state == State::done && !it->second.ok)
                return up;
        }
        return {};
    };
    auto ready = [&](const std::string& name) {
        for (const auto& up : m_dag->upstream(name)) {
            auto it = m_works.find(up);
            if (it != m_works.end() && it->second.state != State::done)
                return false;
        }
        return true;
    };
    auto chains = [&](const std::string& name) {
        return !m_options.dry_run && executor_for(name).chains_jobs();
    };
    // For a stage on a batch executor whose unfinished upstream stages are all submitted jobs on
    // it: their job ids, to submit it right away behind them. nullopt when it must wait.
    auto chain_after = [&](const std::string& name) -> std::optional<std::vector<std::string>> {
        if (!chains(name))
            return std::nullopt;
        std::vector<std::string> after;
        for (const auto& up : m_dag->upstream(name)) {
            auto it = m_works.find(up);
            if (it == m_works.end() || it->second.state == State::done)
                continue;
            if (it->second.state != State::running || !chains(up) || it->second.job_id.empty())
                return std::nullopt;
            after.push_back(it->second.job_id);
        }
        return after;
    };

    std::unique_lock lock(m_done_mutex);
    for (;;) {
        bool progressed = true;
        while (progressed) {
            progressed = false;
            for (const auto& name : *selected) {
                auto& work = m_works[name];
                if (work.state != State::pending)
                    continue;
                std::optional<std::vector<std::string>> after;
                if (!ready(name) && !(after = chain_after(name)))
                    continue;
                std::string failed_up = blocked_by(name);
                if (!failed_up.empty() || fatal || stop_requested()) {
                    work.state = State::done;
                    work.record.status = "not run";
                    work.record.reason = !failed_up.empty() ? "upstream stage " + failed_up + " failed"
                                         : stop_requested() ? "interrupted"
                                                            : "stopped by an error";
                    order.push_back(name);
                    progressed = true;
                    continue;
                }
                // Stages on a batch executor wait in the cluster's queue, not in a local slot.
                work.holds_slot = !chains(name);
                if (work.holds_slot && running >= jobs)
                    continue;
                work.state = State::running;
                work.after = after ? *after : std::vector<std::string>{};
                running += work.holds_slot ? 1 : 0;
                order.push_back(name);
                threads.emplace_back([&, name] {
                    auto ok = execute_stage(m_works[name]);
                    std::lock_guard guard(m_done_mutex);
                    if (!ok && !fatal)
                        fatal = std::move(ok).error();
                    m_works[name].state = State::done;
                    running -= m_works[name].holds_slot ? 1 : 0;
                    done_signal.notify_all();
                });
                progressed = true;
            }
        }
        bool all_done = std::all_of(selected->begin(), selected->end(), [&](const std::string& name) {
            return m_works[name].state == State::done;
        });
        if (all_done)
            break;
        done_signal.wait_for(lock, std::chrono::milliseconds(200));
    }
    lock.unlock();
    for (auto& thread : threads)
        thread.join();
    if (!m_run_tmp.empty()) {
        std::error_code ec;
        fs::remove_all(m_run_tmp, ec);
    }
    (void)m_cache->flush();
    if (fatal)
        return fail(std::move(*fatal));

    bool anything_happened = false;
    for (const auto& name : order) {
        auto& work = m_works[name];
        std::string action = work.record.status == "skipped"     ? "skip"
                             : work.record.status == "restored"  ? "restore"
                             : work.record.status == "would run" ? "run"
                                                                 : work.record.status;
        report.decisions.push_back({name, action, work.record.reason});
        anything_happened = anything_happened || work.record.status != "skipped";
        report.failed = report.failed || work.record.status == "failed";
        report.interrupted = report.interrupted || work.record.status == "killed" ||
                             (work.record.status == "not run" && work.record.reason == "interrupted");
    }
    if (m_options.dry_run || !anything_happened)
        return report;

    // mlo.lock: previous entries, replaced by those of stages that produced new ones.
    bool lock_changed = false;
    for (const auto& name : order) {
        auto& work = m_works[name];
        if (work.new_lock) {
            m_lock.stages[name] = *work.new_lock;
            lock_changed = true;
            for (const auto& out : work.new_lock->outs) {
                fs::path out_path(out.path);
                (void)data::ensure_ignored(m_project.root() / out_path.parent_path(),
                                           out_path.filename().string());
            }
        }
    }
    if (lock_changed)
        MLO_TRY_CTX(util::write_file_atomic(m_project.root() / "mlo.lock", m_lock.serialize()),
                    "writing mlo.lock");

    runs::RunRecord run;
    run.id = m_run_id;
    run.status = report.interrupted ? "KILLED" : report.failed ? "FAILED" : "FINISHED";
    run.started_ns = started;
    run.ended_ns = util::unix_time_ns();
    capture_git_state(); // normally done already, before the first stage wrote anything
    run.git_commit = m_git.commit;
    run.git_branch = m_git.branch;
    run.git_dirty = m_git.dirty;
    run.git_diff_hash = m_git.diff_hash;
    run.params = m_params->flatten();
    run.overrides = m_options.overrides;
    if (auto stored = m_project.objects().put_bytes(m_params->serialize()))
        run.params_file = stored->id;
    run.tags = m_options.tags;
    std::vector<std::string> commands;
    for (const auto& name : order) {
        auto& work = m_works[name];
        run.stages.push_back(work.record);
        commands.push_back(work.record.cmd);
        for (const auto& [key, value] : work.file_metrics)
            run.metrics[key] = value;
        run.step_metrics.insert(run.step_metrics.end(), work.step_metrics.begin(), work.step_metrics.end());
    }
    add_last_step_values(run.metrics, run.step_metrics);
    run.environment = capture_environment(commands);
    auto run_store = runs::RunStore::open(m_project.objects(), m_project.mlo_dir());
    if (!run_store)
        return fail(std::move(run_store).error());
    MLO_TRY((*run_store)->save(run));
    report.run = std::move(run);
    return report;
}

} // namespace

Result<TrainReport> train(core::Project& project, const TrainOptions& options) {
    auto store_lock = project.lock_store(util::FileLock::Mode::shared);
    if (!store_lock)
        return fail(std::move(store_lock).error());
    std::optional<util::FileLock> train_lock;
    if (!options.dry_run) {
        auto acquired =
            util::FileLock::acquire(project.mlo_dir() / "train.lock", util::FileLock::Mode::exclusive, false);
        if (!acquired)
            return fail(ErrorCode::precondition, "another 'mlo train' is running in this project",
                        "wait for it to finish; two trainings would overwrite each other's outs");
        train_lock.emplace(std::move(*acquired));
    }
    Trainer trainer(project, options);
    return trainer.run();
}

} // namespace mlo::pipeline
