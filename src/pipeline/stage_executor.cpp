#include <mlo/pipeline/stage_executor.hpp>

namespace mlo::pipeline {

namespace {

class LocalExecutor : public StageExecutor {
  public:
    std::string name() const override { return "local"; }
    bool chains_jobs() const override { return false; }
    Status check_available() const override { return {}; }
    Result<StageOutcome> run(const store::ObjectStore& objects, const ExecutorStage& stage) override {
        return run_stage_command(objects, stage.command);
    }
};

} // namespace

std::unique_ptr<StageExecutor> make_local_executor() {
    return std::make_unique<LocalExecutor>();
}

} // namespace mlo::pipeline
