#!/usr/bin/env bash
# mlo train: pipeline validation (cycles, clashing outs, missing deps), stage selection, ${key}
# templates in commands, and what a stage command sees (cwd, MLO_* variables).
source "$(dirname "$0")/lib.sh"

# Nothing ran and nothing was written: no stage left a trace in calls.log, no mlo.lock, no run,
# and git sees the work tree as committed.
expect_nothing_ran() {
    [[ ! -e calls.log ]] || fail "a stage ran: $(cat calls.log)"
    [[ ! -e mlo.lock ]] || fail "mlo.lock was written"
    expect_eq "$(run_count)" 0 "runs recorded"
    expect_eq "$(git status --porcelain)" "" "git status"
}

# Three kinds of mistakes at once: all reported in one error, exit 2, nothing run.
case_dag_errors_together() {
    pipeline_project <<'EOF'
pipeline:
  a:
    cmd: echo a >>calls.log; echo a >a.out
    deps: [b.out]
    outs: [a.out]
  b:
    cmd: echo b >>calls.log; echo b >b.out
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: echo c >>calls.log; echo c >shared.out
    outs: [shared.out]
  d:
    cmd: echo d >>calls.log; echo d >shared.out
    outs: [shared.out]
  e:
    cmd: echo e >>calls.log; echo e >e.out
    deps: [nowhere.txt]
    outs: [e.out]
  fine:
    cmd: echo fine >>calls.log; echo fine >fine.out
    outs: [fine.out]
EOF
    commit_all pipeline
    expect_exit 2 mlo train
    expect_contains "$ERR" "mlo: error: pipeline: 3 problems"
    expect_contains "$ERR" "cycle: a -> b -> a"
    expect_contains "$ERR" "stage 'd': out 'shared.out' is also the out of stage 'c'"
    expect_contains "$ERR" "stage 'e': dep 'nowhere.txt' does not exist and no stage produces it"
    expect_eq "$(wc -c <"$OUT")" 0 "stdout of a failed train"
    expect_nothing_ran
    # The whole pipeline is validated even when only a healthy stage is asked for, and by
    # --dry-run and --json alike.
    expect_exit 2 mlo train fine
    expect_contains "$ERR" "3 problems"
    expect_exit 2 mlo train --dry-run
    expect_contains "$ERR" "cycle: a -> b -> a"
    expect_exit 2 mlo --json train
    expect_contains "$ERR" "nowhere.txt"
    expect_nothing_ran
    [[ ! -e fine.out ]] || fail "the healthy stage ran"
}

# Each mistake alone is still caught: a longer cycle, a stage reading its own out, an out
# inside another stage's out directory.
case_dag_errors_alone() {
    pipeline_project <<'EOF'
pipeline:
  x:
    cmd: echo x >>calls.log; echo x >x.out
    deps: [z.out]
    outs: [x.out]
  y:
    cmd: echo y >>calls.log; echo y >y.out
    deps: [x.out]
    outs: [y.out]
  z:
    cmd: echo z >>calls.log; echo z >z.out
    deps: [y.out]
    outs: [z.out]
EOF
    commit_all
    expect_exit 2 mlo train
    expect_contains "$ERR" "cycle: x -> y -> z -> x"
    expect_nothing_ran

    pipeline_project <<'EOF'
pipeline:
  self:
    cmd: echo s >>calls.log; echo s >>self.out
    deps: [self.out]
    outs: [self.out]
EOF
    commit_all
    expect_exit 2 mlo train
    expect_contains "$ERR" "stage 'self': dep 'self.out' is also its own out"
    expect_nothing_ran

    pipeline_project <<'EOF'
pipeline:
  dir:
    cmd: echo d >>calls.log; mkdir -p out && echo d >out/a
    outs: [out/]
  inner:
    cmd: echo i >>calls.log; echo i >out/b
    outs: [out/b]
EOF
    commit_all
    expect_exit 2 mlo train
    expect_contains "$ERR" "stage 'inner': out 'out/b' lies inside out 'out' of stage 'dir'"
    expect_nothing_ran

    # A dep that exists but that no stage produces is an ordinary input, not an error.
    pipeline_project <<'EOF'
pipeline:
  reads:
    cmd: cat input.txt >copy.out
    deps: [input.txt]
    outs: [copy.out]
EOF
    echo data >input.txt
    commit_all
    expect_exit 0 mlo train
    expect_eq "$(cat copy.out)" data "copy.out"
}

# `mlo train b` runs b and what it needs (a), not the unrelated c.
case_stage_selection() {
    pipeline_project <<'EOF'
pipeline:
  a:
    cmd: echo a >>calls.log; echo a >a.out
    outs: [a.out]
  b:
    cmd: echo b >>calls.log; cat a.out >b.out; echo b >>b.out
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: echo c >>calls.log; echo c >c.out
    outs: [c.out]
EOF
    commit_all
    expect_exit 0 mlo --json train b
    expect_json "$OUT" stages.# 2
    expect_json "$OUT" stages.0.stage a
    expect_json "$OUT" stages.0.action succeeded
    expect_json "$OUT" stages.1.stage b
    expect_json "$OUT" run.status FINISHED
    expect_eq "$(cat calls.log)" $'a\nb' "stages run"
    [[ ! -e c.out ]] || fail "c ran"
    grep -q '^  c:' mlo.lock && fail "c is in mlo.lock"
    grep -q '^  a:' mlo.lock || fail "a is not in mlo.lock"
    grep -q '^  b:' mlo.lock || fail "b is not in mlo.lock"
    # The run records the selected stages only.
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.stages.# 2
    # Selecting c now runs c only; b and a are not even looked at.
    expect_exit 0 mlo --json train c
    expect_json "$OUT" stages.# 1
    expect_json "$OUT" stages.0.stage c
    expect_eq "$(cat calls.log)" $'a\nb\nc' "stages run"
    # Up to date: nothing runs, no run recorded.
    expect_exit 0 mlo train b
    expect_eq "$(run_count)" 2 "runs"
    # Selecting two stages that share an upstream stage runs it once.
    echo changed >a.out
    rm c.out
    expect_exit 0 mlo --json train b c
    expect_json "$OUT" stages.# 3
    expect_eq "$(grep -c . calls.log)" 3 "nothing re-executed: all three come back from the run cache"
    expect_eq "$(cat a.out)" a "a.out restored"
}

case_unknown_stage() {
    pipeline_project <<'EOF'
pipeline:
  prepare:
    cmd: echo p >>calls.log; echo p >p.out
    outs: [p.out]
EOF
    commit_all
    expect_exit 2 mlo train prepair
    expect_contains "$ERR" "unknown stage 'prepair'"
    expect_contains "$ERR" "did you mean 'prepare'"
    expect_exit 2 mlo train prepare nothing
    expect_contains "$ERR" "unknown stage 'nothing'"
    expect_nothing_ran
}

# ${a.b} expands to the parameter's value; $${ is a literal ${; the keys a command uses are
# tracked like `params:`; an unknown key is an input error before anything runs.
case_templates() {
    pipeline_project <<'EOF'
pipeline:
  t:
    cmd: echo t >>calls.log; echo "lr=${train.lr} model=${model} opt=${train.opt.name} literal=$${E2E_LITERAL}" >t.out
    outs: [t.out]
EOF
    cat >params.yaml <<'EOF'
model: forest
train:
  lr: 0.05
  opt:
    name: adam
unused: 1
EOF
    commit_all
    E2E_LITERAL=from-the-environment expect_exit 0 mlo train
    expect_eq "$(cat t.out)" "lr=0.05 model=forest opt=adam literal=from-the-environment" "t.out"
    # mlo.lock holds the resolved command and the referenced params.
    expect_contains mlo.lock 'cmd: echo t >>calls.log; echo "lr=0.05 model=forest opt=adam literal=${E2E_LITERAL}" >t.out'
    expect_contains mlo.lock 'train.lr: "0.05"'
    expect_contains mlo.lock 'model: "forest"'
    # A key used only in the command is tracked: changing it re-runs the stage.
    sed -i 's/lr: 0.05/lr: 0.5/' params.yaml
    expect_exit 0 mlo --json train
    expect_json "$OUT" stages.0.action succeeded
    expect_contains "$OUT" "param train.lr changed (0.05 -> 0.5)"
    expect_contains t.out "lr=0.5 "
    # A key the command does not use is not.
    sed -i 's/unused: 1/unused: 2/' params.yaml
    expect_exit 0 mlo --json train
    expect_json "$OUT" stages.0.action skip
    expect_json "$OUT" run null
    expect_eq "$(grep -c . calls.log)" 2 "runs of t"

    # Unknown keys: exit 2 naming every one of them, nothing run, nothing written.
    pipeline_project <<'EOF'
pipeline:
  first:
    cmd: echo first >>calls.log; echo 1 >first.out
    outs: [first.out]
  second:
    cmd: echo second >>calls.log; echo "${nope} ${train.nope}" >second.out
    deps: [first.out]
    outs: [second.out]
EOF
    echo "train: {lr: 1}" >params.yaml
    commit_all
    expect_exit 2 mlo train
    expect_contains "$ERR" "unknown parameter 'nope'"
    expect_contains "$ERR" "unknown parameter 'train.nope'"
    expect_nothing_ran
}

# A stage runs in the project root (wherever mlo was started) and sees MLO_RUN_ID, MLO_STAGE,
# MLO_PARAMS (the params file) and MLO_METRICS (a file it may append JSON lines to).
case_stage_environment() {
    pipeline_project <<'EOF'
pipeline:
  envdump:
    cmd: >-
      pwd >cwd.out;
      printf '%s\n' "$MLO_RUN_ID" "$MLO_STAGE" >env.out;
      cp "$MLO_PARAMS" params.seen;
      test -w "$(dirname "$MLO_METRICS")" && echo '{"step": 1, "seen": 1}' >>"$MLO_METRICS";
      echo "$MLO_METRICS" >metrics-path.out
    outs: [cwd.out, env.out, params.seen, metrics-path.out]
EOF
    printf 'a: 1\nb: {c: x}\n' >params.yaml
    mkdir -p sub/dir
    commit_all
    cd sub/dir
    expect_exit 0 mlo --json train
    cd "$REPO"
    local id
    id=$(json_get "$OUT" run.id)
    expect_eq "$(cat cwd.out)" "$REPO" "stage cwd"
    expect_eq "$(sed -n 1p env.out)" "$id" "MLO_RUN_ID"
    expect_eq "$(sed -n 2p env.out)" envdump "MLO_STAGE"
    expect_file_eq params.seen params.yaml
    [[ $(cat metrics-path.out) = /* ]] || fail "MLO_METRICS is not an absolute path: $(cat metrics-path.out)"
    # The line appended to MLO_METRICS was read: it is the run's metric.
    expect_exit 0 mlo --json runs show "$id"
    expect_json "$OUT" run.metrics.seen 1.0
    expect_json "$OUT" run.step_metrics.0.stage envdump
    # MLO_PARAMS is the params file with -S overrides applied.
    expect_exit 0 mlo -C "$REPO" train --force -S b.c=y
    expect_file_eq params.seen params.yaml
    expect_contains params.seen "c: y"
}

run_case "DAG errors all listed at once; nothing runs" case_dag_errors_together
run_case "each DAG error alone" case_dag_errors_alone
run_case "stage selection runs what the stage needs" case_stage_selection
run_case "unknown stage" case_unknown_stage
run_case "\${key} templates in commands" case_templates
run_case "stage cwd and MLO_* environment" case_stage_environment
finish
