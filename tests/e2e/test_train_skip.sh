#!/usr/bin/env bash
# mlo train: when a stage runs (command, dep, tracked param or out changed, out missing) and when
# it does not; the run cache; -S overrides; --force; --dry-run.
source "$(dirname "$0")/lib.sh"

# Two stages. Each appends its name to calls.log (outside the outs), so the log counts executions.
two_stage_project() {
    pipeline_project <<'EOF'
pipeline:
  prepare:
    cmd: echo prepare >>calls.log; sort raw.txt >data/prepared.txt; echo "split ${prepare.split}" >>data/prepared.txt
    deps: [raw.txt]
    outs: [data/prepared.txt]
  train:
    cmd: echo train >>calls.log; sh src/train.sh
    deps: [data/prepared.txt, src/train.sh]
    params: [train]
    outs: [model.txt]
EOF
    cat >params.yaml <<'EOF'
prepare:
  split: 0.2
train:
  lr: 0.1
  epochs: 3
notes: hello
EOF
    printf 'b\na\nc\n' >raw.txt
    mkdir src
    echo 'cat data/prepared.txt >model.txt; echo "model v1" >>model.txt' >src/train.sh
    commit_all "pipeline"
    expect_exit 0 mlo train
    expect_eq "$(cat calls.log)" $'prepare\ntrain' "first train"
    : >calls.log
}

# calls: what ran since the last reset, on one line.
calls() {
    tr '\n' ' ' <calls.log | sed 's/ $//'
}

# train_json ARGS...: mlo --json train ARGS, expecting exit 0 (the report is in $OUT).
train_json() {
    expect_exit 0 mlo --json train "$@"
}

# action STAGE: the action `mlo --json train` reported for STAGE (from $OUT).
action() {
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(s["action"] for s in doc["stages"] if s["stage"] == sys.argv[2]))' "$OUT" "$1"
}

reason() {
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(s["reason"] for s in doc["stages"] if s["stage"] == sys.argv[2]))' "$OUT" "$1"
}

case_up_to_date() {
    two_stage_project
    local lock_before runs_before
    lock_before=$(cat mlo.lock)
    runs_before=$(run_count)
    expect_exit 0 mlo train
    expect_contains "$OUT" "up to date"
    expect_contains "$ERR" "everything is up to date; no run recorded"
    train_json
    expect_eq "$(action prepare) $(action train)" "skip skip" "actions"
    expect_json "$OUT" run null
    # Touching files (new mtimes, same bytes), committing, and running from a subdirectory change
    # nothing either.
    touch raw.txt src/train.sh data/prepared.txt model.txt
    commit_all "lock"
    mkdir -p sub
    (cd sub && "$MLO" -q train >/dev/null)
    expect_eq "$(calls)" "" "stages run"
    expect_eq "$(run_count)" "$runs_before" "runs recorded"
    expect_eq "$(cat mlo.lock)" "$lock_before" "mlo.lock"
}

case_command_changed() {
    two_stage_project
    sed -i 's|sh src/train.sh|sh src/train.sh; true|' mlo.yaml
    train_json
    expect_eq "$(action prepare) $(action train)" "skip succeeded" "actions"
    expect_eq "$(reason train)" "command changed" "reason"
    expect_eq "$(calls)" "train" "stages run"
    expect_contains mlo.lock "cmd: echo train >>calls.log; sh src/train.sh; true"
}

case_dep_changed() {
    two_stage_project
    # A dep's bytes change: its stage runs; the downstream stage runs because its dep changed.
    printf 'b\na\nc\nd\n' >raw.txt
    train_json
    expect_eq "$(action prepare) $(action train)" "succeeded succeeded" "actions"
    expect_eq "$(reason prepare)" "dep raw.txt changed" "reason"
    expect_eq "$(reason train)" "dep data/prepared.txt changed" "reason"
    expect_eq "$(calls)" "prepare train" "stages run"
    : >calls.log
    # prepare runs again but produces the same bytes: train is up to date (ids, not timestamps).
    printf 'd\nc\nb\na\n' >raw.txt
    train_json
    expect_eq "$(action prepare) $(action train)" "succeeded skip" "actions"
    expect_eq "$(calls)" "prepare" "stages run"
    : >calls.log
    # A dep of the second stage only.
    echo 'echo "model v2" >model.txt' >src/train.sh
    train_json
    expect_eq "$(action prepare) $(action train)" "skip succeeded" "actions"
    expect_eq "$(reason train)" "dep src/train.sh changed" "reason"
    expect_eq "$(cat model.txt)" "model v2" "model.txt"
    # The dep ids in mlo.lock are the files' sha256.
    expect_contains mlo.lock "hash: $(file_sha src/train.sh)"
    expect_contains mlo.lock "hash: $(file_sha raw.txt)"
}

case_params() {
    two_stage_project
    # A tracked key (named in the command's ${...}).
    sed -i 's/split: 0.2/split: 0.25/' params.yaml
    train_json
    expect_eq "$(action prepare) $(action train)" "succeeded succeeded" "actions"
    expect_eq "$(reason prepare)" "param prepare.split changed (0.2 -> 0.25)" "reason"
    expect_contains mlo.lock 'prepare.split: "0.25"'
    : >calls.log
    # A leaf inside a tracked subtree (`params: [train]`).
    sed -i 's/epochs: 3/epochs: 4/' params.yaml
    train_json
    expect_eq "$(action prepare) $(action train)" "skip succeeded" "actions"
    expect_contains "$OUT" 'param train changed ({\"epochs\":3,\"lr\":0.1} -> {\"epochs\":4,\"lr\":0.1})'
    expect_eq "$(calls)" "train" "stages run"
    : >calls.log
    # A new key in the subtree changes it too.
    printf 'train:\n  lr: 0.1\n  epochs: 4\n  seed: 7\nprepare:\n  split: 0.25\nnotes: hello\n' >params.yaml
    train_json
    expect_eq "$(action train)" "succeeded" "a key added to train"
    : >calls.log
    # Untracked keys: changed, added, removed, and the file's key order: nothing runs, no run.
    local runs_before lock_before
    runs_before=$(run_count)
    lock_before=$(cat mlo.lock)
    printf 'notes: changed\nextra: {deep: 1}\nprepare:\n  split: 0.25\ntrain:\n  seed: 7\n  epochs: 4\n  lr: 0.1\n' >params.yaml
    train_json
    expect_eq "$(action prepare) $(action train)" "skip skip" "actions"
    expect_json "$OUT" run null
    sed -i '/^notes:/d' params.yaml
    expect_exit 0 mlo train
    expect_eq "$(calls)" "" "stages run"
    expect_eq "$(run_count)" "$runs_before" "runs"
    expect_eq "$(cat mlo.lock)" "$lock_before" "mlo.lock"
}

case_out_changed_or_missing() {
    two_stage_project
    local model
    model=$(cat model.txt)
    echo "edited by hand" >model.txt
    train_json
    expect_eq "$(action prepare)" "skip" "prepare"
    [[ $(action train) =~ ^(succeeded|restore)$ ]] || fail "train was not brought back: $(action train)"
    expect_contains "$OUT" "out model.txt changed"
    expect_eq "$(cat model.txt)" "$model" "model.txt"
    expect_json "$OUT" run.status FINISHED
    rm model.txt
    train_json
    [[ $(action train) =~ ^(succeeded|restore)$ ]] || fail "train was not brought back: $(action train)"
    expect_contains "$OUT" "out model.txt missing"
    expect_eq "$(cat model.txt)" "$model" "model.txt"
    # The upstream out missing: prepare comes back and train, whose dep is the same again, stays.
    rm -r data
    train_json
    [[ $(action prepare) =~ ^(succeeded|restore)$ ]] || fail "prepare: $(action prepare)"
    expect_eq "$(reason prepare | cut -d';' -f1)" "out data/prepared.txt missing" "reason"
    expect_eq "$(action train)" "skip" "train"
    [[ -f data/prepared.txt ]] || fail "data/prepared.txt not restored"
    # --force executes the stages even though everything is up to date.
    : >calls.log
    train_json --force
    expect_eq "$(action prepare) $(action train)" "succeeded succeeded" "actions"
    expect_eq "$(reason train)" "forced" "reason"
    expect_eq "$(calls)" "prepare train" "stages run"
}

# Change a param, train, change it back, train: the second time the stages are restored from the
# run cache without executing (calls.log, outside the outs, does not grow), and the workspace and
# mlo.lock are byte-identical to the first time.
case_run_cache_restore() {
    two_stage_project
    local lock1 prepared1 model1
    lock1=$(cat mlo.lock)
    prepared1=$(file_sha data/prepared.txt)
    model1=$(file_sha model.txt)
    sed -i 's/split: 0.2/split: 0.3/' params.yaml
    train_json
    expect_eq "$(calls)" "prepare train" "stages run for split 0.3"
    [[ $(file_sha data/prepared.txt) != "$prepared1" ]] || fail "split had no effect"
    : >calls.log
    sed -i 's/split: 0.3/split: 0.2/' params.yaml
    train_json
    expect_eq "$(action prepare) $(action train)" "restore restore" "actions"
    expect_contains "$OUT" "restored from the run cache"
    expect_eq "$(calls)" "" "stages executed"
    expect_eq "$(file_sha data/prepared.txt)" "$prepared1" "data/prepared.txt"
    expect_eq "$(file_sha model.txt)" "$model1" "model.txt"
    expect_eq "$(cat mlo.lock)" "$lock1" "mlo.lock"
    # The restoring run is recorded, its stages as restored.
    expect_json "$OUT" run.status FINISHED
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.stages.0.status restored
    expect_json "$OUT" run.stages.1.status restored
    # The restored file can be edited without touching the store (it is not a link into it).
    echo x >>model.txt
    expect_exit 0 mlo fsck
}

case_overrides() {
    two_stage_project
    train_json -S train.lr=0.5 -S new.key=abc
    expect_eq "$(action prepare) $(action train)" "skip succeeded" "actions"
    expect_eq "$(reason train)" 'param train changed ({"epochs":3,"lr":0.1} -> {"epochs":3,"lr":0.5})' "reason"
    local id
    id=$(json_get "$OUT" run.id)
    # Written to params.yaml (other keys kept, in order).
    expect_contains params.yaml "lr: 0.5"
    expect_contains params.yaml "split: 0.2"
    expect_contains params.yaml "key: abc"
    expect_eq "$(head -1 params.yaml)" "prepare:" "first key of params.yaml"
    # Recorded in the run.
    expect_exit 0 mlo --json runs show "$id"
    expect_json "$OUT" run.overrides '["train.lr=0.5", "new.key=abc"]'
    expect_json "$OUT" run.params.train.lr 0.5
    expect_json "$OUT" run.params.new.key abc
    expect_json "$OUT" run.stages.1.params.train '{"epochs":3,"lr":0.5}'
    expect_exit 0 mlo runs show "$id"
    expect_contains "$OUT" "overrides -S train.lr=0.5 -S new.key=abc"
    # The same override again: nothing to do. A string stays a string.
    train_json -S train.lr=0.5
    expect_json "$OUT" run null
    train_json -S "train.lr='0.5'"
    expect_eq "$(action train)" "succeeded" "lr as a string"
    expect_contains params.yaml 'lr: "0.5"'
    expect_contains mlo.lock 'train: "{\"epochs\":3,\"lr\":\"0.5\"}"'
    # Each -S takes one value: a stage named after an override is a stage.
    train_json -S prepare.split=0.3 prepare -S new.key=def
    expect_json "$OUT" stages.# 1
    expect_json "$OUT" stages.0.action succeeded
    expect_contains params.yaml "split: 0.3"
    expect_contains params.yaml "key: def"
    # Bad overrides: exit 2, params.yaml untouched, nothing run or recorded.
    local params runs
    params=$(cat params.yaml)
    runs=$(run_count)
    : >calls.log
    expect_exit 2 mlo train -S noequals
    expect_exit 2 mlo train -S train.lr.x=1
    expect_exit 2 mlo train -S "=1"
    expect_eq "$(cat params.yaml)" "$params" "params.yaml"
    expect_eq "$(run_count)" "$runs" "runs"
    expect_eq "$(calls)" "" "stages run"
}

case_dry_run() {
    two_stage_project
    printf 'z\n' >>raw.txt
    sed -i 's/lr: 0.1/lr: 0.2/' params.yaml
    local lock params status runs store
    lock=$(file_sha mlo.lock)
    params=$(file_sha params.yaml)
    status=$(git status --porcelain)
    runs=$(run_count)
    store=$(store_listing)
    local prepared model
    prepared=$(file_sha data/prepared.txt)
    model=$(file_sha model.txt)
    expect_exit 0 mlo train --dry-run -S train.epochs=9
    expect_contains "$OUT" "prepare"
    expect_contains "$OUT" "dep raw.txt changed"
    expect_contains "$OUT" "upstream stage prepare will run"
    expect_exit 0 mlo --json train -n
    expect_json "$OUT" schema mlo.train/1
    expect_json "$OUT" dry_run true
    expect_json "$OUT" run null
    expect_eq "$(action prepare) $(action train)" "run run" "planned actions"
    expect_eq "$(reason prepare)" "dep raw.txt changed" "reason"
    # Only train is stale: the plan says why.
    git checkout -q raw.txt
    expect_exit 0 mlo --json train -n
    expect_eq "$(action prepare) $(action train)" "skip run" "planned actions"
    expect_eq "$(reason train)" 'param train changed ({"epochs":3,"lr":0.1} -> {"epochs":3,"lr":0.2})' "reason"
    printf 'z\n' >>raw.txt
    # Nothing changed: no stage ran, no file written, no run, no object stored.
    expect_eq "$(calls)" "" "stages run"
    expect_eq "$(file_sha mlo.lock)" "$lock" "mlo.lock"
    expect_eq "$(file_sha params.yaml)" "$params" "params.yaml"
    expect_eq "$(file_sha data/prepared.txt)" "$prepared" "data/prepared.txt"
    expect_eq "$(file_sha model.txt)" "$model" "model.txt"
    expect_eq "$(git status --porcelain)" "$status" "git status"
    expect_eq "$(run_count)" "$runs" "runs"
    expect_eq "$(store_listing)" "$store" "store"
    # The real train does what the dry run said.
    train_json
    expect_eq "$(action prepare) $(action train)" "succeeded succeeded" "actions"
}

run_case "up to date: a second train does nothing" case_up_to_date
run_case "command changed" case_command_changed
run_case "dep changed" case_dep_changed
run_case "tracked and untracked params" case_params
run_case "out changed or missing; --force" case_out_changed_or_missing
run_case "run-cache restore" case_run_cache_restore
run_case "-S overrides" case_overrides
run_case "--dry-run" case_dry_run
finish
