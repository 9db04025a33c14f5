#!/usr/bin/env bash
# mlo train --rerun RUN --verify (re-execute a recorded run, compare its outputs) and the
# determinism of mlo.lock.
source "$(dirname "$0")/lib.sh"

# A deterministic pipeline: raw.txt (tracked by mlo, not git) -> data/ (a directory out) -> model.
# Optionally a non-deterministic stage `stamp`.
rerun_project() {
    new_project
    cat >>mlo.yaml <<'EOF'
pipeline:
  prep:
    cmd: mkdir data && sort raw.txt >data/sorted.txt && uniq -c data/sorted.txt >data/counts.txt && echo "${prep.tag}" >data/tag.txt
    deps: [raw.txt, src/]
    outs: [data/]
  train:
    cmd: sh src/train.sh
    deps: [data/, src/]
    params: [train]
    outs: [model.txt]
    metrics: [eval.json]
EOF
    if [[ ${1:-} == with-stamp ]]; then
        cat >>mlo.yaml <<'EOF'
  stamp:
    cmd: date +%s%N >stamp.txt
    outs: [stamp.txt]
EOF
    fi
    mkdir src
    cat >src/train.sh <<'EOF'
wc -l <data/sorted.txt >model.txt
echo "lr=$(grep 'lr:' "$MLO_PARAMS" | tr -d ' ')" >>model.txt
echo "{\"rows\": $(wc -l <data/sorted.txt)}" >eval.json
echo '{"step": 1, "loss": 0.5}' >>"$MLO_METRICS"
EOF
    printf 'prep:\n  tag: v1\ntrain:\n  lr: 0.1\n' >params.yaml
    printf 'pear\napple\npear\nfig\n' >raw.txt
    "$MLO" -q track raw.txt >/dev/null
    commit_all "pipeline"
}

case_verify_identical() {
    rerun_project
    expect_exit 0 mlo train
    local id
    id=$(run_id)
    # The workspace moves on (data, params, code): the rerun uses what the run recorded.
    printf 'kiwi\n' >>raw.txt
    echo "train: {lr: 0.9}" >params.yaml
    echo 'echo changed >model.txt' >src/train.sh
    expect_exit 0 mlo train --rerun "$id" --verify
    expect_contains "$OUT" "re-executed $id as run"
    expect_contains "$OUT" "identical    data"
    expect_contains "$OUT" "identical    model.txt"
    expect_contains "$OUT" "all outputs are bit-identical to the recorded run"
    expect_not_contains "$ERR" "uncommitted"
    expect_exit 0 mlo --json train --rerun "${id:0:18}" --verify
    expect_json "$OUT" schema mlo.train.rerun/1
    expect_json "$OUT" rerun_of "$id"
    expect_json "$OUT" identical true
    expect_json "$OUT" run.status FINISHED
    expect_json "$OUT" outs.# 3
    local new
    new=$(json_get "$OUT" run.id)
    # The workspace was not touched by the re-execution.
    expect_eq "$(cat model.txt | head -1)" 4 "model.txt"
    expect_contains src/train.sh "echo changed"
    expect_contains raw.txt kiwi
    # The re-execution is a run of its own, pointing at the original.
    expect_exit 0 mlo --json runs show "$new"
    expect_json "$OUT" run.rerun_of "$id"
    expect_json "$OUT" run.tags.verified identical
    expect_json "$OUT" run.metrics.rows 4.0
    expect_exit 0 mlo runs list --filter "tags.rerun_of = '$id'"
    expect_contains "$OUT" "$new"
    expect_not_contains "$OUT" "$id "
}

# A non-deterministic stage: exit 1 naming the out that differs (and only that one).
case_verify_differs() {
    rerun_project with-stamp
    expect_exit 0 mlo train
    local id
    id=$(run_id)
    expect_exit 1 mlo train --rerun "$id" --verify
    expect_contains "$OUT" "differs      stamp.txt (stamp)"
    expect_contains "$OUT" "identical    model.txt (train)"
    expect_contains "$OUT" "outputs differ from the recorded run"
    expect_exit 1 mlo --json train --rerun "$id" --verify
    expect_json "$OUT" identical false
    python3 - "$OUT" <<'EOF' || fail "outs: $(cat "$OUT")"
import json, sys
outs = {o["path"]: o for o in json.load(open(sys.argv[1]))["outs"]}
assert not outs["stamp.txt"]["identical"] and outs["stamp.txt"]["produced"], outs["stamp.txt"]
assert outs["stamp.txt"]["produced"] != outs["stamp.txt"]["recorded"]
assert outs["model.txt"]["identical"] and outs["data"]["identical"], outs
EOF
    # Without --verify the re-execution itself succeeded: exit 0.
    expect_exit 0 mlo train --rerun "$id"
    # A directory out that differs lists the files inside it.
    sed -i 's|echo "${prep.tag}" >data/tag.txt|date +%N >data/tag.txt|' mlo.yaml
    commit_all "non-deterministic prep"
    expect_exit 0 mlo train prep
    expect_exit 1 mlo train --rerun latest --verify
    expect_contains "$OUT" "differs      data (prep)"
    expect_contains "$OUT" "differs: tag.txt"
    expect_not_contains "$OUT" "sorted.txt"
}

case_rerun_errors() {
    rerun_project
    expect_exit 2 mlo train --rerun 20990101-000000-abcd --verify
    expect_contains "$ERR" "unknown run '20990101-000000-abcd'"
    expect_exit 2 mlo train --rerun latest
    expect_contains "$ERR" "no runs"
    expect_exit 0 mlo train
    expect_exit 0 mlo train --force
    local prefix
    prefix=$(run_id)
    prefix=${prefix:0:4}
    expect_exit 2 mlo train --rerun "$prefix" --verify
    expect_contains "$ERR" "ambiguous run '$prefix'"
    expect_exit 2 mlo train --rerun "no/such run"
    # --rerun re-executes a run as it was: no stages, -S, --force or --dry-run with it.
    expect_exit 2 mlo train --rerun latest prep
    expect_exit 2 mlo train --rerun latest -S train.lr=1
    expect_exit 2 mlo train --rerun latest --dry-run
    expect_exit 2 mlo train --verify
    expect_contains "$ERR" "--rerun"
    expect_eq "$(run_count)" 2 "runs"
}

# Same inputs in two fresh repositories (at different paths, with different clocks and run ids):
# byte-identical mlo.lock. Running again from scratch (outs deleted, --force) gives the same bytes.
case_lock_determinism() {
    rerun_project
    expect_exit 0 mlo train
    local first=$REPO
    rerun_project
    expect_exit 0 mlo train
    [[ $first != "$REPO" ]] || fail "one repository"
    expect_file_eq "$first/mlo.lock" mlo.lock
    cp mlo.lock "$E2E_SCRATCH/lock"
    rm -rf data model.txt eval.json
    expect_exit 0 mlo train --force
    expect_file_eq "$E2E_SCRATCH/lock" mlo.lock
    # The lock holds no absolute path, timestamp or run id.
    expect_not_contains mlo.lock "$REPO"
    expect_not_contains mlo.lock "$(run_id)"
    expect_not_contains mlo.lock "$(date +%Y-%m-%d)"
}

run_case "--rerun --verify: identical outputs" case_verify_identical
run_case "--rerun --verify: a non-deterministic out" case_verify_differs
run_case "--rerun errors" case_rerun_errors
run_case "mlo.lock is deterministic" case_lock_determinism
finish
