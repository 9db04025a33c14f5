#pragma once

#include <functional>
#include <mlo/core/project.hpp>
#include <mlo/monitor/monitor_config.hpp>
#include <mlo/registry/registry.hpp>
#include <optional>
#include <string>

namespace mlo::monitor {

struct RetrainOptions {
    std::string why; // the failed gates, for the record ("drift: 3 of 4 features drifted")
    std::string
        stage; // the incumbent's stage and the candidate's promotion target; "" = the last of registry.stages
    std::string
        holdout; // data both versions are scored on (features and monitor.target); "" = monitor.reference
    registry::SignOptions sign; // how the promotion is signed, for stages the access rules guard
};

struct RetrainOutcome {
    std::string run_id;    // the training run ("" when every stage was up to date)
    std::string candidate; // the version registered from it ("" when none was)
    std::string incumbent; // the version the stage held
    std::string metric;    // the first performance gate's metric
    std::optional<double> candidate_score, incumbent_score;
    uint64_t holdout_rows = 0; // rows scored (rows with a missing input or label are left out)
    bool promoted = false;
    std::string reason; // why the candidate was or was not promoted
};

// monitor.on_fail: retrain (SPEC.md section 7): runs the pipeline on the data the workspace now
// references, registers its model as a candidate version, scores the candidate and the version in
// `stage` on the same held-out rows through their own workers (the serve worker protocol, so any
// model type works), and promotes the candidate only when it scores better on the first
// performance gate's metric and the access rules allow it. Every step is in the audit log (the
// registration and the promotion as their tags, the decision as a `retrain` event). A candidate
// that is not better stays registered, unpromoted. Errors: no performance gate or stage, a failed
// training run, a tree too dirty to register from, held-out data without the needed columns.
Result<RetrainOutcome> retrain(core::Project& project, const MonitorConfig& config,
                               const RetrainOptions& options,
                               const std::function<void(const std::string&)>& emit);

} // namespace mlo::monitor
