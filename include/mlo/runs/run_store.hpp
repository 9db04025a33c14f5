#pragma once

#include <filesystem>
#include <memory>
#include <mlo/runs/run_filter.hpp>
#include <mlo/runs/run_record.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/util/error.hpp>
#include <string>
#include <vector>

namespace mlo::runs {

// A row of `mlo runs list`: the run's attributes plus the params and metrics asked for.
struct RunSummary {
    std::string id;
    std::string status;
    int64_t started_ns = 0, ended_ns = 0;
    std::string git_commit, git_branch;
    bool dirty = false;
    std::string stages;
    std::map<std::string, std::string> params;
    std::map<std::string, double> metrics;
};

struct RunQuery {
    std::string filter; // MLflow-style, see run_filter.hpp
    std::string order;  // "metrics.acc desc"; default newest first
    size_t limit = 0;   // 0 = all
};

// Where runs live: each run record is an object in the store and `.mlo/refs/runs/<id>` holds its
// object id (written atomically). `.mlo/index.db` (SQLite) indexes params, metrics, tags and
// attributes for fast filtered queries. The index is derived: when it is missing, damaged or out
// of step with the refs (a different number of runs), it is rebuilt from the refs and objects.
class RunStore {
  public:
    static Result<std::unique_ptr<RunStore>> open(const store::ObjectStore& objects,
                                                  const std::filesystem::path& mlo_dir);
    ~RunStore();

    // Stores the record, writes its ref and indexes it.
    Result<hash::ObjectId> save(const RunRecord& run);

    // Resolves a run id, a unique prefix of one, or "latest" (the newest run). Unknown or ambiguous
    // is ErrorCode::input naming the candidates.
    Result<std::string> resolve(const std::string& name);
    Result<RunRecord> load(const std::string& id);

    Result<std::vector<RunSummary>> query(const RunQuery& query);

    // The object id of run `id`'s record, from its ref (a push sends refs).
    Result<hash::ObjectId> record_of(const std::string& id) const;
    // Adds the ref of a run brought from elsewhere (a fetch): `id` must be a valid run id and
    // `record` a record of that run present in the store (checked, so a remote cannot plant a
    // ref to anything else). An existing ref is left alone: runs are immutable.
    Status add_ref(const std::string& id, const hash::ObjectId& record);

    // Ids of all runs (from the refs), sorted.
    Result<std::vector<std::string>> all_ids() const;
    // Objects every run refers to (records, logs, params files, step metrics, deps and outs) for gc
    // and fsck; directory outs are marked as trees to expand.
    Result<std::vector<store::ObjectRoot>> referenced_objects();

  private:
    struct Impl;
    explicit RunStore(std::unique_ptr<Impl> impl);
    Status ensure_index();
    std::unique_ptr<Impl> m_impl;
};

} // namespace mlo::runs
