#pragma once

#include <map>
#include <mlo/core/config.hpp>
#include <mlo/util/error.hpp>
#include <set>
#include <string>
#include <vector>

namespace mlo::pipeline {

// The pipeline as a graph. Edges come from paths: stage B depends on stage A when one of B's deps
// equals one of A's outs or lies inside it (dep `data/prepared/train.csv`, out `data/prepared/`),
// or an out of A lies inside a dep directory of B. A stage's metrics files count as outs here.
// Paths are compared after normalisation (trailing '/' dropped, no "./"), and the stages kept by
// the Dag hold normalised deps, outs and metrics.
class Dag {
  public:
    // Builds and validates the graph. Collects every problem before failing (ErrorCode::input,
    // one line per problem): a cycle (naming the stages on it in order), two stages writing the
    // same out or overlapping outs, a stage whose out is also its own dep, and a dep that no stage
    // produces and that does not exist under `project_root`.
    static Result<Dag> build(const std::vector<core::StageConfig>& stages, const std::string& project_root);

    const std::vector<core::StageConfig>& stages() const { return m_stages; }
    // `name` must be a stage (has_stage); an unknown name throws std::out_of_range (a bug).
    const core::StageConfig& stage(const std::string& name) const;
    bool has_stage(const std::string& name) const;

    // Direct upstream stages of `name` (the stages producing its deps); empty for an unknown name.
    const std::set<std::string>& upstream(const std::string& name) const;
    // Direct downstream stages.
    const std::set<std::string>& downstream(const std::string& name) const;

    // All stages in a topological order, stable: among ready stages, file order.
    std::vector<std::string> topological_order() const;

    // `targets` plus every stage they transitively need, in topological order. An unknown stage is
    // ErrorCode::usage with did-you-mean. Empty `targets` selects everything.
    Result<std::vector<std::string>> select(const std::vector<std::string>& targets) const;

    // Every stage downstream of `name`, transitively (what a failure of `name` must stop).
    std::set<std::string> descendants(const std::string& name) const;

    // The stage whose outs contain `path` (equal or inside), or "" if none.
    std::string producer_of(const std::string& path) const;

  private:
    std::vector<core::StageConfig> m_stages;
    std::map<std::string, size_t> m_index;
    std::map<std::string, std::set<std::string>> m_up, m_down;
};

// Normalises a pipeline path: drops "./" and trailing '/', collapses "//".
std::string normalize_pipeline_path(const std::string& path);
// Whether `inner` equals `outer` or lies inside it (both normalised).
bool path_within(const std::string& inner, const std::string& outer);

} // namespace mlo::pipeline
