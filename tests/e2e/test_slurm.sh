#!/usr/bin/env bash
# executor: slurm — stages submitted with sbatch to a real single-node Slurm cluster that this
# script starts (tests/e2e/slurm_cluster.sh) and stops: the DAG as job dependencies, logs in the
# run record, failed, cancelled and interrupted jobs, and bad `slurm:` options.
source "$(dirname "$0")/lib.sh"

CLUSTER_SCRIPT=$MLO_SOURCE_DIR/tests/e2e/slurm_cluster.sh
CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-slurm.XXXXXX")
cluster_rc=0
cluster_env=$("$CLUSTER_SCRIPT" start "$CLUSTER_DIR") || cluster_rc=$?
trap '_rc=$?; "$CLUSTER_SCRIPT" stop "$CLUSTER_DIR" >/dev/null 2>&1; rm -rf "$CLUSTER_DIR"; (exit $_rc); _e2e_on_exit' EXIT
if ((cluster_rc == 77)); then
    echo "skipped: Slurm is not installed (scripts/install-deps.sh installs it)"
    exit 77
fi
((cluster_rc == 0)) || fail "the test cluster did not start"
eval "$cluster_env" # SLURM_CONF
export PATH=$PATH:/usr/sbin

# The record of the latest run, as JSON, in $E2E_SCRATCH/run.json.
show_run() {
    mlo --json runs show "${1:-latest}" >"$E2E_SCRATCH/run.json" || fail "runs show failed"
}
stage_field() { # STAGE FIELD (dotted, inside the stage's record)
    python3 - "$E2E_SCRATCH/run.json" "$1" "$2" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
run = doc.get("run", doc)
stage = next(s for s in run["stages"] if s["name"] == sys.argv[2])
value = stage
for part in sys.argv[3].split("."):
    value = value[part] if not isinstance(value, list) else value[int(part)]
print(value if isinstance(value, str) else json.dumps(value))
EOF
}
# The text of a stored log object.
log_text() { cat "$(obj_path "$1")"; }
# The state Slurm gives a job.
job_state() { scontrol show job -o "$1" | tr ' ' '\n' | sed -n 's/^JobState=//p'; }
# Waits until a job named mlo-*-STAGE is in the queue and prints its id.
queued_job() {
    local id="" deadline=$((SECONDS + 30))
    while [[ -z $id ]]; do
        ((SECONDS < deadline)) || fail "no job for stage $1 was queued"
        id=$(squeue -h -o '%i %j' | awk -v s="-$1" 'substr($2, length($2) - length(s) + 1) == s {print $1}')
        [[ -n $id ]] || sleep 0.1
    done
    echo "$id"
}

# prepare -> train -> evaluate. prepare ends only once train and evaluate are both queued, which
# they can only be as jobs depending on prepare's and train's: the whole DAG is in Slurm's queue
# before its first job ends.
three_stage_pipeline() {
    pipeline_project <<'EOF'
pipeline:
  prepare:
    executor: slurm
    cmd: >-
      for i in $(seq 300); do
      n=$(squeue -h -o %j | grep -c -e '-train$' -e '-evaluate$');
      [ "$n" -ge 2 ] && break; sleep 0.1; done;
      echo "prepared in job $SLURM_JOB_ID"; echo 1,2,3 >data.csv
    outs: [data.csv]
    slurm: {cpus: 1, time: "5:00", mem: 100M}
  train:
    executor: slurm
    cmd: >-
      echo "training on $(cat data.csv)"; echo "a warning" >&2; echo model-$SLURM_JOB_ID >model.bin
    deps: [data.csv]
    outs: [model.bin]
    slurm:
      partition: debug
      time: "0-00:05:00"
  evaluate:
    executor: slurm
    cmd: >-
      printf '{"acc": 0.93}\n' >metrics.json; echo evaluated
    deps: [model.bin]
    metrics: [metrics.json]
EOF
    commit_all pipeline
}

case_dag_as_job_dependencies() {
    three_stage_pipeline
    expect_exit 0 mlo train
    expect_contains "$ERR" "submitted as Slurm job"
    show_run
    expect_eq "$(json_get "$E2E_SCRATCH/run.json" run.status)" FINISHED "run status"
    local prepare train evaluate
    prepare=$(stage_field prepare executor.job_id)
    train=$(stage_field train executor.job_id)
    evaluate=$(stage_field evaluate executor.job_id)
    [[ -n $prepare && -n $train && -n $evaluate ]] || fail "job ids not recorded"
    expect_eq "$(stage_field train executor.after)" "[\"$prepare\"]" "train waited for prepare's job"
    expect_eq "$(stage_field evaluate executor.after)" "[\"$train\"]" "evaluate waited for train's job"
    expect_exit 0 mlo runs show latest
    expect_contains "$OUT" "jobs"
    grep -Eq "^ +train +slurm +$train +COMPLETED +$prepare\$" "$OUT" || fail "runs show: train's job line: $(cat "$OUT")"
    for stage in prepare train evaluate; do
        expect_eq "$(stage_field $stage executor.job_state)" COMPLETED "$stage job state"
        expect_eq "$(stage_field $stage status)" succeeded "$stage status"
    done
    # The slurm: options reached sbatch, and the jobs are named after the project and stage.
    local project
    project=$(sed -n 's/^project: *//p' mlo.yaml)
    scontrol show job -o "$prepare" >"$E2E_SCRATCH/job.txt"
    expect_contains "$E2E_SCRATCH/job.txt" "JobName=mlo-$project-prepare "
    expect_contains "$E2E_SCRATCH/job.txt" "TimeLimit=00:05:00"
    expect_contains "$E2E_SCRATCH/job.txt" "MinMemoryNode=100M"
    scontrol show job -o "$train" >"$E2E_SCRATCH/job.txt"
    expect_contains "$E2E_SCRATCH/job.txt" "Partition=debug"
    # Slurm ran them: the job ids the jobs saw are the recorded ones.
    expect_eq "$(cat model.bin)" "model-$train" "model.bin"
    # Logs, stdout and stderr, came back into the run record.
    expect_eq "$(log_text "$(stage_field prepare stdout_log)")" "prepared in job $prepare" "prepare's log"
    expect_eq "$(log_text "$(stage_field train stdout_log)")" "training on 1,2,3" "train's stdout"
    expect_eq "$(log_text "$(stage_field train stderr_log)")" "a warning" "train's stderr"
    # Outs are hashed and recorded as for local stages: deps, outs, metrics, mlo.lock.
    expect_eq "$(stage_field train deps.0.path)" data.csv "train's dep"
    expect_eq "$(stage_field train outs.0.path)" model.bin "train's out"
    expect_eq "$(json_get "$E2E_SCRATCH/run.json" run.metrics.acc)" 0.93 "metric"
    expect_contains mlo.lock "model.bin"
    # Up to date now: nothing is submitted again.
    expect_exit 0 mlo train
    expect_not_contains "$ERR" "submitted"
    expect_eq "$(run_count)" 1 "runs after a no-op train"
}

case_failed_job_fails_the_run() {
    pipeline_project <<'EOF'
pipeline:
  prepare:
    cmd: echo 1 >data.csv
    outs: [data.csv]
  train:
    cmd: echo boom >&2; exit 3
    deps: [data.csv]
    outs: [model.bin]
  evaluate:
    cmd: echo never >evaluated.txt
    deps: [model.bin]
    outs: [evaluated.txt]
EOF
    commit_all pipeline
    # No stage says `executor: slurm`; --executor sends them all there.
    expect_exit 1 mlo train --executor slurm
    show_run
    expect_eq "$(json_get "$E2E_SCRATCH/run.json" run.status)" FAILED "run status"
    expect_eq "$(stage_field train status)" failed "train status"
    expect_eq "$(stage_field train executor.job_state)" FAILED "train job state"
    local train
    train=$(stage_field train executor.job_id)
    expect_contains <(stage_field train reason) "Slurm job $train ended FAILED (exit code 3)"
    expect_eq "$(log_text "$(stage_field train stderr_log)")" "boom" "train's stderr"
    expect_eq "$(stage_field evaluate status)" "not run" "evaluate status"
    [[ ! -e evaluated.txt ]] || fail "evaluate ran after train failed"
    # prepare succeeded: its lock entry is kept.
    expect_contains mlo.lock "data.csv"
}

# A stage whose job is cancelled from outside (scancel) fails the run with the state CANCELLED.
case_cancelled_job() {
    pipeline_project <<'EOF'
pipeline:
  slow:
    executor: slurm
    cmd: echo started; sleep 120; echo late >slow.out
    outs: [slow.out]
EOF
    commit_all pipeline
    "$MLO" train >"$OUT" 2>"$ERR" &
    local pid=$! job rc=0
    job=$(queued_job slow)
    scancel "$job"
    wait "$pid" || rc=$?
    expect_eq "$rc" 1 "exit status of mlo train"
    show_run
    expect_eq "$(json_get "$E2E_SCRATCH/run.json" run.status)" FAILED "run status"
    expect_eq "$(stage_field slow executor.job_state)" CANCELLED "job state"
    expect_contains <(stage_field slow reason) "Slurm job $job ended CANCELLED"
}

# Ctrl-C: mlo cancels the jobs it submitted and records the run as KILLED.
case_interrupt_cancels_jobs() {
    pipeline_project <<'EOF'
pipeline:
  slow:
    executor: slurm
    cmd: echo started >started.txt; sleep 120; echo late >slow.out
    outs: [slow.out]
EOF
    commit_all pipeline
    "$MLO" train >"$OUT" 2>"$ERR" &
    local pid=$! job rc=0
    job=$(queued_job slow)
    wait_for_file started.txt 30
    kill -INT "$pid"
    wait "$pid" || rc=$?
    expect_eq "$rc" 130 "exit status of an interrupted train"
    expect_eq "$(job_state "$job")" CANCELLED "the job after Ctrl-C"
    show_run
    expect_eq "$(json_get "$E2E_SCRATCH/run.json" run.status)" KILLED "run status"
    expect_eq "$(stage_field slow status)" killed "stage status"
}

case_bad_slurm_options() {
    pipeline_project <<'EOF'
pipeline:
  train:
    cmd: echo hi
    executor: kubernetes
    slurm:
      partition: "gpu; rm -rf /"
      time: soon
      cpus: -2
      mem: lots
      gpus: "a100:x"
      nodes: 4
EOF
    commit_all pipeline
    expect_exit 2 mlo train
    expect_contains "$ERR" "line 11: pipeline.train.executor: unknown executor 'kubernetes'"
    expect_contains "$ERR" "line 13: pipeline.train.slurm.partition: 'gpu; rm -rf /' is not a partition name"
    expect_contains "$ERR" "line 14: pipeline.train.slurm.time: 'soon' is not a time limit"
    expect_contains "$ERR" "line 15: pipeline.train.slurm.cpus: must be a positive integer"
    expect_contains "$ERR" "line 16: pipeline.train.slurm.mem: 'lots' is not a memory size"
    expect_contains "$ERR" "line 17: pipeline.train.slurm.gpus: 'a100:x' is not a GPU count"
    expect_contains "$ERR" "line 18: pipeline.train.slurm: unknown key 'nodes'"
    expect_exit 2 mlo train --executor pbs
}

# Where neither scontrol nor sacct can tell (a job scontrol has forgotten, no accounting), the exit
# status the batch script recorded decides. Both are replaced by versions that know nothing.
case_no_scontrol_no_sacct() {
    pipeline_project <<'EOF'
pipeline:
  ok:
    executor: slurm
    cmd: echo fine >ok.out
    outs: [ok.out]
  broken:
    executor: slurm
    cmd: exit 4
    deps: [ok.out]
    outs: [broken.out]
EOF
    commit_all pipeline
    local fakes=$REPO/.fakes
    mkdir "$fakes"
    printf '#!/bin/sh\necho "slurm_load_jobs error: Invalid job id specified" >&2\nexit 1\n' >"$fakes/scontrol"
    printf '#!/bin/sh\necho "Slurm accounting storage is disabled" >&2\nexit 1\n' >"$fakes/sacct"
    chmod +x "$fakes/scontrol" "$fakes/sacct"
    PATH=$fakes:$PATH expect_exit 1 mlo train
    show_run
    expect_eq "$(stage_field ok executor.job_state)" COMPLETED "ok's state from its exit status"
    expect_eq "$(stage_field ok status)" succeeded "ok's status"
    expect_eq "$(stage_field broken executor.job_state)" FAILED "broken's state from its exit status"
    expect_contains <(stage_field broken reason) "ended FAILED (exit code 4)"
}

# A job sbatch refuses (an unknown partition) fails its stage with sbatch's words; nothing hangs.
case_refused_submission() {
    pipeline_project <<'EOF'
pipeline:
  train:
    executor: slurm
    cmd: echo hi >out.txt
    outs: [out.txt]
    slurm: {partition: nosuch}
EOF
    commit_all pipeline
    expect_exit 1 mlo train
    show_run
    expect_eq "$(stage_field train executor.job_state)" NOT_SUBMITTED "state"
    expect_contains <(stage_field train reason) "sbatch refused it: sbatch: error: invalid partition specified: nosuch"
}

run_case "a 3-stage DAG as Slurm job dependencies, logs and outs recorded" case_dag_as_job_dependencies
run_case "a failed job fails the run with its state" case_failed_job_fails_the_run
run_case "a job cancelled with scancel fails the run as CANCELLED" case_cancelled_job
run_case "Ctrl-C cancels the submitted jobs" case_interrupt_cancels_jobs
run_case "without scontrol and sacct the job's exit status decides" case_no_scontrol_no_sacct
run_case "a job sbatch refuses fails its stage" case_refused_submission
run_case "bad slurm options are rejected with their lines" case_bad_slurm_options
finish
