#!/usr/bin/env bash
# mlo runs show / compare / diff, and naming runs: ids, prefixes, `latest`, unknown and ambiguous.
source "$(dirname "$0")/lib.sh"

# The fixture, shared by the cases (they only read it): three runs.
#   A  lr 0.1, commit C1, clean
#   B  -S lr=0.2 -S 'note=<script>...' (same commit)
#   C  raw.csv and fit.sh changed and committed (C2)
pipeline_project <<'EOF'
pipeline:
  prep:
    cmd: sort raw.csv >clean.csv
    deps: [raw.csv]
    outs: [clean.csv]
  fit:
    cmd: sh fit.sh ${lr}
    deps: [clean.csv, fit.sh]
    params: [seed]
    outs: [model.txt]
    metrics: [metrics.json]
EOF
cat >fit.sh <<'EOF'
wc -l <clean.csv >model.txt
echo "lr $1" >>model.txt
awk -v lr="$1" 'BEGIN { printf "{\"acc\": %.2f, \"rows\": %d}\n", 1 - lr, 3 }' >metrics.json
for step in 1 2 3; do
    awk -v lr="$1" -v s=$step 'BEGIN { printf "{\"step\": %d, \"loss\": %.2f}\n", s, lr * s }' >>"$MLO_METRICS"
done
echo "fit done"
EOF
printf 'lr: 0.1\nseed: 7\n' >params.yaml
printf 'b,2\na,1\nc,3\n' >raw.csv
"$MLO" -q track raw.csv >/dev/null
commit_all C1
FIXTURE=$REPO
C1=$(git rev-parse HEAD)
"$MLO" -q train >/dev/null 2>&1
A=$(run_id)
RAW_A=$(file_sha raw.csv)
"$MLO" -q train -S lr=0.2 -S 'note=<script>alert(1)</script>' >/dev/null 2>&1
B=$(run_id)
printf 'd,4\n' >>raw.csv
"$MLO" -q track raw.csv >/dev/null
echo 'echo "# v2" >>model.txt' >>fit.sh
commit_all C2
C2=$(git rev-parse HEAD)
"$MLO" -q train >/dev/null 2>&1
C=$(run_id)
[[ $A != "$B" && $B != "$C" ]] || fail "fixture: runs not recorded"

case_show_human() {
    cd "$FIXTURE"
    expect_exit 0 mlo runs show "$A"
    expect_contains "$OUT" "run $A  FINISHED"
    expect_contains "$OUT" "git       $C1 on main"
    expect_not_contains "$OUT" "dirty"
    expect_contains "$OUT" "  lr = 0.1"
    expect_contains "$OUT" "  seed = 7"
    expect_contains "$OUT" "  acc = 0.9"
    expect_contains "$OUT" "  loss = 0.3"
    grep -E '^  prep +succeeded' "$OUT" >/dev/null || fail "no prep row: $(cat "$OUT")"
    grep -E '^  fit +succeeded' "$OUT" >/dev/null || fail "no fit row: $(cat "$OUT")"
    grep -E '^  model.txt  sha256:[0-9a-f]{12}  \(fit\)$' "$OUT" >/dev/null || fail "no model.txt out: $(cat "$OUT")"
    expect_exit 0 mlo runs show "$B"
    expect_contains "$OUT" "overrides -S lr=0.2 -S note=<script>alert(1)</script>"
    grep -E '^  prep +skipped .*up to date' "$OUT" >/dev/null || fail "prep not skipped in B: $(cat "$OUT")"
}

case_show_json() {
    cd "$FIXTURE"
    expect_exit 0 mlo --json runs show "$A"
    expect_json "$OUT" schema mlo.runs.show/1
    expect_json "$OUT" run.id "$A"
    expect_json "$OUT" run.status FINISHED
    expect_json "$OUT" run.git.commit "$C1"
    expect_json "$OUT" run.git.branch main
    expect_json "$OUT" run.git.dirty false
    expect_json "$OUT" run.params '{"lr": "0.1", "seed": "7"}'
    expect_json "$OUT" run.metrics '{"acc": 0.9, "loss": 0.3, "rows": 3.0}'
    expect_json "$OUT" run.step_metrics.# 3
    expect_json "$OUT" run.step_metrics.2 '{"key": "loss", "stage": "fit", "step": 3, "value": 0.3}'
    expect_json "$OUT" run.overrides '[]'
    expect_json "$OUT" run.stages.# 2
    expect_json "$OUT" run.stages.0.name prep
    expect_json "$OUT" run.stages.0.cmd "sort raw.csv >clean.csv"
    expect_json "$OUT" run.stages.0.deps.0.path raw.csv
    expect_json "$OUT" run.stages.0.deps.0.hash "$RAW_A"
    expect_json "$OUT" run.stages.1.cmd "sh fit.sh 0.1"
    # The stage's params: those it lists and those its command uses.
    expect_json "$OUT" run.stages.1.params '{"lr": "0.1", "seed": "7"}'
    expect_json "$OUT" run.stages.1.exit_code 0
    expect_json "$OUT" run.stages.1.outs.0.path model.txt
    expect_json "$OUT" run.stages.1.outs.1.path metrics.json
    python3 - "$OUT" <<'EOF' || fail "run record: $(cat "$OUT")"
import json, sys
run = json.load(open(sys.argv[1]))["run"]
assert 0 < run["started_ns"] <= run["ended_ns"], run
for stage in run["stages"]:
    assert run["started_ns"] <= stage["started_ns"] <= stage["ended_ns"] <= run["ended_ns"], stage
    assert stage["wall_seconds"] >= 0 and stage["cpu_seconds"] >= 0 and stage["peak_rss_bytes"] > 0, stage
env = run["environment"]
assert env["os"] and env["cores"] >= 1 and env["memory_bytes"] > 0 and "mlo" in env["tools"], env
EOF
    # The logs and the params file are objects in the store.
    local log params_file
    log=$(json_get "$OUT" run.stages.1.stdout_log)
    expect_eq "$(cat "$(obj_path "$log")")" "fit done" "fit's stdout log"
    expect_json "$OUT" run.stages.1.stderr_log null
    params_file=$(json_get "$OUT" run.params_file)
    expect_eq "$(cat "$(obj_path "$params_file")")" $'lr: 0.1\nseed: 7' "recorded params file"
    # B: the overrides, and a stage that was up to date.
    expect_exit 0 mlo --json runs show "$B"
    expect_json "$OUT" run.overrides '["lr=0.2", "note=<script>alert(1)</script>"]'
    expect_json "$OUT" run.params.lr 0.2
    expect_json "$OUT" run.stages.0.status skipped
    expect_json "$OUT" run.stages.1.status succeeded
    expect_json "$OUT" run.stages.1.reason "param lr changed (0.1 -> 0.2)"
}

case_naming_runs() {
    cd "$FIXTURE"
    expect_eq "$(run_id latest)" "$C" "latest"
    expect_eq "$(run_id last)" "$C" "last"
    expect_eq "$(run_id "${B:0:18}")" "$B" "a unique prefix"
    expect_exit 0 mlo runs show latest
    expect_contains "$OUT" "run $C  FINISHED"
    expect_exit 2 mlo runs show 20990101-000000-0000
    expect_contains "$ERR" "unknown run '20990101-000000-0000'"
    expect_exit 2 mlo runs show 'no such/run'
    expect_contains "$ERR" "unknown run"
    expect_exit 2 mlo --json runs show 20990101
    expect_contains "$ERR" '"exit_code":2'
    # All three runs share the date: a prefix of it is ambiguous and the candidates are named.
    local prefix=${A:0:8}
    expect_exit 2 mlo runs show "$prefix"
    expect_contains "$ERR" "ambiguous run '$prefix'"
    expect_contains "$ERR" "$A"
    expect_contains "$ERR" "$C"
    expect_exit 2 mlo runs diff "$prefix" "$A"
    expect_exit 2 mlo runs compare "$A" 20990101-000000-0000
    expect_exit 2 mlo runs compare "$A"
    expect_exit 2 mlo runs show
    # No runs at all.
    new_project
    expect_exit 2 mlo runs show latest
    expect_contains "$ERR" "no runs"
    expect_exit 0 mlo runs list
    expect_contains "$ERR" "no runs"
}

case_compare() {
    cd "$FIXTURE"
    expect_exit 0 mlo runs compare "$A" "$B"
    expect_eq "$(head -1 "$OUT" | tr -s ' ')" " key $A $B" "header"
    grep -E "^\* params\.lr +0\.1 +0\.2$" "$OUT" >/dev/null || fail "lr not marked: $(cat "$OUT")"
    grep -E "^  params\.seed +7 +7$" "$OUT" >/dev/null || fail "seed marked: $(cat "$OUT")"
    grep -E "^\* params\.note +- +<script>" "$OUT" >/dev/null || fail "note: $(cat "$OUT")"
    grep -E "^\* metrics\.acc +0\.9 +0\.8$" "$OUT" >/dev/null || fail "acc not marked: $(cat "$OUT")"
    grep -E "^  metrics\.rows +3 +3$" "$OUT" >/dev/null || fail "rows marked: $(cat "$OUT")"
    # --csv: a header row, then one row per key; '-' where a run lacks the key.
    expect_exit 0 mlo runs compare --csv "$A" "$B" "$C"
    python3 - "$OUT" "$A" "$B" "$C" <<'EOF' || fail "CSV: $(cat "$OUT")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["key"] + sys.argv[2:5], rows[0]
table = {r[0]: r[1:] for r in rows[1:]}
assert table["params.lr"] == ["0.1", "0.2", "0.2"], table
assert table["params.seed"] == ["7", "7", "7"], table
assert table["params.note"] == ["-", "<script>alert(1)</script>", "<script>alert(1)</script>"], table
assert table["metrics.acc"] == ["0.9", "0.8", "0.8"], table
assert table["metrics.loss"] == ["0.3", "0.6", "0.6"], table
EOF
    expect_exit 0 mlo --json runs compare "$A" "$B"
    expect_json "$OUT" schema mlo.runs.compare/1
    expect_json "$OUT" runs "[\"$A\", \"$B\"]"
    python3 - "$OUT" <<'EOF' || fail "JSON: $(cat "$OUT")"
import json, sys
rows = {r["key"]: r for r in json.load(open(sys.argv[1]))["rows"]}
assert rows["params.lr"] == {"key": "params.lr", "values": ["0.1", "0.2"], "differs": True}, rows
assert rows["params.seed"]["differs"] is False, rows
assert rows["params.note"]["values"][0] is None, rows
EOF
    # --html: a self-contained page with the run ids and SVG charts, and no script (the param
    # holding "<script>" is escaped).
    local page=$E2E_SCRATCH/compare.html
    expect_exit 0 mlo runs compare "$A" "$B" "$C" --html "$page"
    expect_contains "$ERR" "wrote $page"
    expect_contains "$page" "<svg"
    expect_contains "$page" "$A"
    expect_contains "$page" "$B"
    expect_contains "$page" "$C"
    expect_contains "$page" "loss"
    grep -qi "<script" "$page" && fail "the page holds a <script>"
    grep -Eqi "(src|href)=\"?(https?:)?//" "$page" && fail "the page loads external resources"
    expect_contains "$page" "&lt;script&gt;"
    # The terminal output is still printed.
    expect_contains "$OUT" "params.lr"
}

case_diff() {
    cd "$FIXTURE"
    # A -> B: params and metrics changed; same commit, same data.
    expect_exit 0 mlo runs diff "$A" "$B"
    expect_contains "$OUT" "same commit ${C1:0:12}"
    expect_contains "$OUT" "  lr: 0.1 -> 0.2"
    expect_contains "$OUT" "  note: (none) -> <script>alert(1)</script>"
    expect_contains "$OUT" "  acc: 0.9 -> 0.8"
    expect_contains "$OUT" "  loss: 0.3 -> 0.6"
    expect_not_contains "$OUT" "seed"
    expect_not_contains "$OUT" "rows:"
    sed -n '/^data/,/^params/p' "$OUT" | grep -q "(no changes)" || fail "data changed: $(cat "$OUT")"
    sed -n '/^outs/,$p' "$OUT" | grep -q "model.txt" || fail "model.txt not a changed out: $(cat "$OUT")"
    expect_exit 0 mlo --json runs diff "$A" "$B"
    expect_json "$OUT" schema mlo.runs.diff/1
    expect_json "$OUT" old.id "$A"
    expect_json "$OUT" new.id "$B"
    expect_json "$OUT" data '[]'
    expect_json "$OUT" code '[]'
    expect_json "$OUT" params.0 '{"key": "lr", "new": "0.2", "old": "0.1"}'
    # B -> C: the raw data and the code changed.
    expect_exit 0 mlo runs diff "$B" "$C"
    expect_contains "$OUT" "modified: fit.sh"
    # Ids are shown shortened (sha256: and 12 hex digits).
    local raw_c
    raw_c=$(file_sha raw.csv)
    sed -n '/^data/,/^params/p' "$OUT" | grep -qF "raw.csv: ${RAW_A:0:19} -> ${raw_c:0:19}" ||
        fail "raw.csv change not listed: $(cat "$OUT")"
    sed -n '/^params/,/^metrics/p' "$OUT" | grep -q "(no changes)" || fail "params changed: $(cat "$OUT")"
    expect_exit 0 mlo --json runs diff "$B" "$C"
    expect_json "$OUT" old.commit "$C1"
    expect_json "$OUT" new.commit "$C2"
    python3 - "$OUT" "$RAW_A" <<'EOF' || fail "diff: $(cat "$OUT")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert "fit.sh" in doc["code"], doc["code"]
data = {c["key"]: c for c in doc["data"]}
assert data["raw.csv"]["old"] == sys.argv[2][:19], data
assert "clean.csv" not in data, data  # made by the run itself: an out, not data
assert "clean.csv" in {c["key"] for c in doc["outs"]}, doc["outs"]
assert doc["params"] == [], doc["params"]
EOF
    # A run compared with itself: nothing changed.
    expect_exit 0 mlo --json runs diff "$A" "$A"
    expect_json "$OUT" params '[]'
    expect_json "$OUT" metrics '[]'
    expect_json "$OUT" data '[]'
}

# dirty: false for a run started on a clean commit (the run's own .gitignore and mlo.lock writes do
# not count), true with the diff's hash when a tracked file had uncommitted changes.
case_dirty() {
    cd "$FIXTURE"
    expect_exit 0 mlo --json runs show "$C"
    expect_json "$OUT" run.git.dirty false
    expect_json "$OUT" run.git.diff_hash ""
    expect_exit 0 mlo --json runs show "$A"
    expect_json "$OUT" run.git.dirty false
    # (B is dirty: A's .gitignore entries for its outs were not committed before B ran.)
    expect_exit 0 mlo runs list --filter "attributes.dirty = false"
    expect_contains "$OUT" "$A"
    expect_contains "$OUT" "$C"
    # A fresh project whose first run adds .gitignore entries for its outs.
    pipeline_project <<'EOF'
pipeline:
  s:
    cmd: echo out >out/file.txt
    outs: [out/file.txt]
EOF
    commit_all
    expect_exit 0 mlo train
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.git.dirty false
    # An uncommitted change to a tracked file makes the next run dirty.
    echo "# edited" >>mlo.yaml
    expect_exit 0 mlo train --force
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.git.dirty true
    [[ $(json_get "$OUT" run.git.diff_hash) == sha256:* ]] || fail "no diff hash"
    expect_exit 0 mlo runs list --filter "attributes.dirty = true"
    expect_contains "$OUT" "$(git rev-parse --short=8 HEAD)+"
}

run_case "show (human)" case_show_human
run_case "show --json" case_show_json
run_case "latest, prefixes, unknown and ambiguous runs" case_naming_runs
run_case "compare: marked differences, --csv, --json, --html" case_compare
run_case "diff: params, metrics, data and code" case_diff
run_case "dirty flag" case_dirty
finish
