#!/usr/bin/env bash
# monitor.on_fail: retrain and mlo monitor watch. The model is a one-feature threshold classifier
# trained by a tiny pipeline; the world changes (the label now flips at x > 7 instead of x > 5),
# labelled traffic shows the accuracy drop, and the check retrains on refreshed data, registers a
# candidate, scores candidate and production on the held-out file through their workers, and
# promotes the candidate only when it is better and the access rules allow.
source "$(dirname "$0")/lib.sh"

# gen FILE CUT: x = 0.0 .. 9.9 (100 rows), label = x > CUT, pred = x > 5 (the deployed model).
gen() {
    awk -v cut="$2" 'BEGIN { print "x,label,pred"; for (i = 0; i < 100; i++) { x = i / 10;
        printf "%.1f,%d,%d\n", x, (x > cut), (x > 5) } }' >"$1"
}

retrain_project() {
    pipeline_project <<'EOF2'
pipeline:
  train:
    cmd: /usr/bin/python3 train.py
    deps: [data/train.csv, train.py]
    outs: [models/model.json]
models:
  clf:
    path: models/model.json
    type: threshold
    signature:
      inputs: [{name: x, type: double}]
      outputs: [{name: pred, type: int64}]
    serve:
      cmd: /usr/bin/python3 worker.py
registry:
  stages: [production]
monitor:
  model: clf
  reference: data/holdout.csv
  target: label
  prediction: pred
  features: {x: numeric}
  performance: {accuracy: {min: 0.9}}
  on_fail: retrain
EOF2
    mkdir -p data
    cat >train.py <<'EOF2'
import csv, json, os
rows = [(float(r["x"]), int(r["label"])) for r in csv.DictReader(open("data/train.csv"))]
# The cut that classifies the most training rows right.
best = max((sum((x > c) == bool(y) for x, y in rows), c) for c in sorted({x for x, _ in rows}))[1]
os.makedirs("models", exist_ok=True)
json.dump({"cut": best}, open("models/model.json", "w"))
EOF2
    cat >worker.py <<'EOF2'
import json, os
from mlo_worker import serve
cut = json.load(open(os.path.join(os.environ["MLO_MODEL_DIR"], "model.json")))["cut"]
serve(lambda inputs: {"pred": [int(x > cut) for x in inputs["x"]]})
EOF2
    gen data/train.csv 5
    gen data/holdout.csv 5
    mlo -q track data/train.csv data/holdout.csv
    commit_all "data"
    mlo -q train
    commit_all "trained"
    mlo -q register clf >/dev/null
    mlo -q register promote clf@v0.0.1 --to production >/dev/null
    # Labelled traffic from the changed world: the deployed model (cut 5) is right on 80 of 100.
    gen current.csv 7
}

# refresh_data: the new world reaches the training and held-out data.
refresh_data() {
    gen data/train.csv 7
    gen data/holdout.csv 7
    mlo -q track data/train.csv data/holdout.csv
    commit_all "refreshed data"
}

production_version() {
    mlo --json register list >"$E2E_SCRATCH/list.json"
    json_get "$E2E_SCRATCH/list.json" models.0.stages.production
}

case_retrain_promotes_a_better_candidate() {
    retrain_project
    refresh_data
    expect_exit 1 mlo monitor check --current current.csv
    expect_contains "$OUT" "FAILED"
    expect_contains "$ERR" "retraining clf because performance:accuracy failed"
    expect_contains "$ERR" "registered the candidate clf@v0.0.2"
    expect_contains "$ERR" "accuracy on 100 held-out rows: candidate v0.0.2 1, v0.0.1 (production) 0.8"
    expect_contains "$ERR" "promoted to production"
    expect_eq "$(production_version)" v0.0.2 "production after retraining"
    expect_exit 0 mlo --json audit log
    expect_contains "$OUT" '"retrain"'
    expect_exit 0 mlo audit verify
    # The candidate's lineage: the retraining run, and why it was made.
    expect_exit 0 mlo register show 'clf#production'
    expect_contains "$OUT" "retrained by mlo monitor: performance:accuracy failed"
}
run_case "a failed gate retrains, and the better candidate is promoted" case_retrain_promotes_a_better_candidate

case_nothing_to_retrain_on() {
    retrain_project
    expect_exit 1 mlo monitor check --current current.csv
    expect_contains "$ERR" "nothing to retrain on"
    expect_eq "$(production_version)" v0.0.1 "production"
    expect_eq "$(git tag -l 'clf@*' | wc -l)" 1 "versions"
    # --no-retrain only checks.
    expect_exit 1 mlo monitor check --current current.csv --no-retrain
    expect_not_contains "$ERR" "retraining"
}
run_case "unchanged inputs: nothing to retrain on, nothing registered" case_nothing_to_retrain_on

case_worse_candidate_and_guarded_stage() {
    retrain_project
    # Refreshed training data that is wrong (cut 2): the candidate scores worse on the held-out rows.
    gen data/train.csv 2
    mlo -q track data/train.csv
    commit_all "bad refresh"
    expect_exit 1 mlo monitor check --current current.csv
    expect_contains "$ERR" "the candidate does not score better than v0.0.1; not promoted"
    expect_eq "$(production_version)" v0.0.1 "production after a worse candidate"
    # A better candidate for a stage that needs a signature stays unpromoted without one.
    refresh_data
    cat >>mlo.yaml <<'EOF2'
access:
  keys: {alice@example.com: "ed25519:MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="}
  rules:
    - {action: promote, stage: production, signers: [alice@example.com], min: 1}
EOF2
    commit_all "guard production"
    expect_exit 1 mlo monitor check --current current.csv
    expect_contains "$ERR" "better, but not promoted"
    expect_eq "$(production_version)" v0.0.1 "production under the access rule"
}
run_case "a worse candidate, and a guarded stage, are not promoted" case_worse_candidate_and_guarded_stage

case_watch() {
    retrain_project
    expect_exit 1 mlo monitor watch --current current.csv --every 1s --count 2 --no-retrain
    expect_contains "$ERR" "check 1 at"
    expect_contains "$ERR" "check 2 at"
    expect_exit 2 mlo monitor watch --current current.csv --every soon
    expect_contains "$ERR" "is not a duration"
    # SIGTERM between checks ends the watch cleanly.
    "$MLO" monitor watch --current data/holdout.csv --every 1h >"$E2E_SCRATCH/watch.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do grep -q PASSED "$E2E_SCRATCH/watch.out" && break; sleep 0.1; done
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    expect_eq "$rc" 0 "watch exit status after SIGTERM"
    expect_contains "$E2E_SCRATCH/watch.out" "stopped"
}
run_case "monitor watch repeats the check and stops on SIGTERM" case_watch

finish
