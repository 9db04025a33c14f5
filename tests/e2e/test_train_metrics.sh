#!/usr/bin/env bash
# mlo train: step metrics appended to $MLO_METRICS and metrics files (`metrics:`), as the run
# records them (`mlo runs show --json`): step_metrics, and final metrics.
source "$(dirname "$0")/lib.sh"

# step_values RUN_JSON KEY: "stage:step=value ..." of the step metrics with KEY, in record order.
step_values() {
    python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))["run"]
print(" ".join("%s:%d=%s" % (m["stage"], m["step"], m["value"]) for m in run["step_metrics"] if m["key"] == sys.argv[2]))
' "$1" "$2"
}

case_step_metrics() {
    pipeline_project <<'EOF'
pipeline:
  fit:
    cmd: sh fit.sh >model.txt
    deps: [fit.sh]
    outs: [model.txt]
  score:
    cmd: >-
      echo '{"step": 0, "auc": 0.7}' >>"$MLO_METRICS"; cat model.txt >score.txt
    deps: [model.txt]
    outs: [score.txt]
EOF
    cat >fit.sh <<'EOF'
for step in 0 1 2; do
    echo "{\"step\": $step, \"loss\": 0.$((9 - 3 * step)), \"epoch_time\": 1.5}" >>"$MLO_METRICS"
done
echo 'this line is not JSON' >>"$MLO_METRICS"
echo '{"step": 3, "acc": 0.5, "note": "strings are not metrics"}' >>"$MLO_METRICS"
echo '{"step": 10, "acc": 0.75}' >>"$MLO_METRICS"
echo '{"step": 4, "acc": 0.6}' >>"$MLO_METRICS"
echo fitted
EOF
    commit_all
    expect_exit 0 mlo --json train
    expect_contains "$ERR" "1 line(s) of MLO_METRICS were not JSON objects (first: line 4)"
    # Final metrics: each key's value at its highest step (not the last line written).
    expect_json "$OUT" run.metrics '{"acc": 0.75, "auc": 0.7, "epoch_time": 1.5, "loss": 0.3}'
    local id
    id=$(json_get "$OUT" run.id)
    expect_exit 0 mlo --json runs show "$id"
    expect_json "$OUT" run.metrics.loss 0.3
    expect_json "$OUT" run.metrics.acc 0.75
    expect_eq "$(step_values "$OUT" loss)" "fit:0=0.9 fit:1=0.6 fit:2=0.3" "loss steps"
    expect_eq "$(step_values "$OUT" acc)" "fit:3=0.5 fit:10=0.75 fit:4=0.6" "acc steps"
    expect_eq "$(step_values "$OUT" auc)" "score:0=0.7" "auc steps"
    expect_eq "$(step_values "$OUT" note)" "" "string values"
    expect_exit 0 mlo runs show "$id"
    expect_contains "$OUT" "loss = 0.3"
    expect_contains "$OUT" "acc = 0.75"
    # Each run starts with an empty MLO_METRICS file: re-running fit does not add to old lines.
    expect_exit 0 mlo --json train --force
    id=$(json_get "$OUT" run.id)
    expect_exit 0 mlo --json runs show "$id"
    expect_eq "$(step_values "$OUT" loss)" "fit:0=0.9 fit:1=0.6 fit:2=0.3" "loss steps"
    # A run restored from the run cache keeps the step metrics the stages logged.
    rm model.txt score.txt
    expect_exit 0 mlo --json train
    expect_json "$OUT" stages.0.action restore
    expect_json "$OUT" run.metrics.loss 0.3
    id=$(json_get "$OUT" run.id)
    expect_exit 0 mlo --json runs show "$id"
    expect_eq "$(step_values "$OUT" loss)" "fit:0=0.9 fit:1=0.6 fit:2=0.3" "restored loss steps"
}

# Metrics files: JSON (nested keys flattened with dots) and YAML; numbers and booleans count,
# strings do not; a metrics file beats a step metric of the same name; a stage that is up to date
# still contributes its metrics files to the run.
case_metrics_files() {
    pipeline_project <<'EOF'
pipeline:
  evaluate:
    cmd: sh evaluate.sh
    deps: [evaluate.sh]
    metrics: [metrics/eval.json]
  report:
    cmd: "printf 'summary:\\n  rows: ${rows}\\n  ratio: 0.5\\n' >report.yaml"
    metrics: [report.yaml]
EOF
    cat >evaluate.sh <<'EOF'
cat >metrics/eval.json <<'JSON'
{"val": {"acc": 0.9, "f1": {"macro": 0.7, "micro": 0.8}}, "n": 10, "ok": true, "model": "forest",
 "per_class": [0.1, 0.2]}
JSON
echo '{"step": 1, "val.acc": 0.1, "loss": 0.4}' >>"$MLO_METRICS"
EOF
    echo "rows: 100" >params.yaml
    commit_all
    expect_exit 0 mlo --json train
    expect_json "$OUT" run.metrics.val.acc 0.9
    expect_json "$OUT" run.metrics.val.f1.macro 0.7
    expect_json "$OUT" run.metrics.val.f1.micro 0.8
    expect_json "$OUT" run.metrics.n 10.0
    expect_json "$OUT" run.metrics.ok 1.0
    expect_json "$OUT" run.metrics.loss 0.4
    expect_json "$OUT" run.metrics.summary.rows 100.0
    expect_json "$OUT" run.metrics.summary.ratio 0.5
    expect_not_contains "$OUT" '"model"'
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.metrics.val.f1.macro 0.7
    # The metrics files are outs of the run and entries in mlo.lock.
    expect_contains mlo.lock "path: metrics/eval.json"
    expect_contains mlo.lock "hash: $(file_sha metrics/eval.json)"
    # Only report runs; evaluate is up to date and its file's metrics are still in the run.
    expect_exit 0 mlo --json train -S rows=200
    expect_json "$OUT" stages.0.action skip
    expect_json "$OUT" stages.1.action succeeded
    expect_json "$OUT" run.metrics.summary.rows 200.0
    expect_json "$OUT" run.metrics.val.acc 0.9
    # A metrics file edited by hand is a changed out.
    echo '{"val": {"acc": 0}}' >metrics/eval.json
    expect_exit 0 mlo --json train
    expect_contains "$OUT" "out metrics/eval.json changed"
    expect_json "$OUT" run.metrics.val.acc 0.9
}

# A metrics file that is not JSON fails its stage, naming the file.
case_bad_metrics_file() {
    pipeline_project <<'EOF'
pipeline:
  evaluate:
    cmd: >-
      echo '{"acc": 0.9' >eval.json
    metrics: [eval.json]
EOF
    commit_all
    expect_exit 1 mlo --json train
    expect_json "$OUT" run.status FAILED
    expect_json "$OUT" stages.0.action failed
    expect_contains "$OUT" "eval.json"
    if [[ -e mlo.lock ]] && grep -q evaluate mlo.lock; then
        fail "the failed stage is in mlo.lock"
    fi
}

run_case "step metrics from MLO_METRICS" case_step_metrics
run_case "metrics files, nested keys flattened" case_metrics_files
run_case "a malformed metrics file" case_bad_metrics_file
finish
