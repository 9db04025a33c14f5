#!/usr/bin/env bash
# mlo runs show / compare --fail-if: metric gates for CI (exit 1 naming the metric and its values).
source "$(dirname "$0")/lib.sh"

# Two runs: GOOD (acc 0.95) and BAD (acc 0.85, model 'tree').
pipeline_project <<'EOF2'
pipeline:
  fit:
    cmd: >-
      printf '{"acc": %s, "f1 score": 0.5}\n' ${acc} >metrics.json
    params: [model]
    metrics: [metrics.json]
EOF2
printf 'acc: 0.95\nmodel: lr\n' >params.yaml
commit_all fixture
FIXTURE=$REPO
"$MLO" -q train >/dev/null 2>&1
GOOD=$(run_id)
"$MLO" -q train -S acc=0.85 -S model=tree >/dev/null 2>&1
BAD=$(run_id)
[[ $GOOD != "$BAD" ]] || fail "fixture: runs not recorded"

case_show_gate() {
    cd "$FIXTURE"
    expect_exit 0 mlo runs show "$GOOD" --fail-if "metrics.acc < 0.9"
    expect_not_contains "$ERR" "gate failed"
    expect_exit 1 mlo runs show "$BAD" --fail-if "metrics.acc < 0.9"
    expect_contains "$ERR" "mlo: gate failed: run $BAD: metrics.acc = 0.85 (--fail-if \"metrics.acc < 0.9\")"
    # The run is still shown: the gate only sets the exit status.
    expect_contains "$OUT" "run $BAD"
    # The filter grammar: or, params, quoted keys.
    expect_exit 1 mlo runs show "$GOOD" --fail-if "metrics.acc < 0.5 or params.model = 'lr'"
    expect_contains "$ERR" "params.model = lr"
    expect_exit 0 mlo runs show "$GOOD" --fail-if 'metrics.`f1 score` < 0.4'
    # --json carries the verdict.
    expect_exit 1 mlo --json runs show "$BAD" --fail-if "metrics.acc < 0.9"
    expect_eq "$(json_get "$OUT" gates.0.failed)" true "gate verdict in JSON"
    expect_eq "$(json_get "$OUT" gates.0.values.0)" "metrics.acc = 0.85" "gate values in JSON"
}

# A missing metric fails the gate: a CI gate must not pass because a metric went missing.
case_missing_metric_fails() {
    cd "$FIXTURE"
    expect_exit 1 mlo runs show "$GOOD" --fail-if "metrics.auc < 0.9"
    expect_contains "$ERR" "metrics.auc is missing from run $GOOD"
}

case_bad_condition() {
    cd "$FIXTURE"
    expect_exit 2 mlo runs show "$GOOD" --fail-if "metrics.acc <"
    expect_contains "$ERR" "--fail-if: bad filter at column"
    expect_exit 2 mlo runs show "$GOOD" --fail-if "baseline.metrics.acc > 0"
    expect_contains "$ERR" "needs a baseline run"
}

case_compare_gate() {
    cd "$FIXTURE"
    expect_exit 0 mlo runs compare "$BAD" "$GOOD" --fail-if "metrics.acc < baseline.metrics.acc"
    expect_exit 1 mlo runs compare "$GOOD" "$BAD" --fail-if "metrics.acc < baseline.metrics.acc"
    expect_contains "$ERR" "run $BAD: baseline.metrics.acc = 0.95, metrics.acc = 0.85"
    # The comparison table is still printed.
    expect_contains "$OUT" "metrics.acc"
    expect_exit 1 mlo runs compare "$GOOD" "$BAD" --fail-if "params.model != baseline.params.model"
    expect_exit 2 mlo runs compare "$GOOD" "$BAD" --fail-if "metrics.acc < baseline.metrics.nope"
    expect_contains "$ERR" "has no metric 'nope'"
}

run_case "runs show --fail-if" case_show_gate
run_case "a metric missing from the run fails the gate" case_missing_metric_fails
run_case "a malformed condition is a usage error" case_bad_condition
run_case "runs compare --fail-if against the baseline run" case_compare_gate
finish
