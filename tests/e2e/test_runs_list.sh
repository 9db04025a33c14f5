#!/usr/bin/env bash
# mlo runs list: order, --filter (every operator, precedence, in/not in, is null, like, backticks,
# attributes), bad filters, --sort, --limit, --columns, --csv, --json, and the index rebuilt
# after it is deleted.
source "$(dirname "$0")/lib.sh"

# The fixture, shared by the cases (they only read it, or delete the derived index): five runs,
# oldest first R1..R5.
#
#   run  model  lr    acc (and "f1 score")  extra  status
#   R1   lr     0.1   0.8                   -      FINISHED
#   R2   rf     0.01  0.95                  -      FINISHED
#   R3   lr     0.5   0.7                   -      FINISHED
#   R4   svm    0.2   0.9                   on     FINISHED
#   R5   rf     0.3   (none)                on     FAILED
pipeline_project <<'EOF'
pipeline:
  fit:
    cmd: sh fit.sh ${model} ${lr} ${quality} ${fail}
    deps: [fit.sh]
    metrics: [metrics.json]
EOF
cat >fit.sh <<'EOF'
model=$1 lr=$2 quality=$3 fail=$4
if [ "$fail" = 1 ]; then echo "failing on purpose" >&2; exit 1; fi
printf '{"acc": %s, "f1 score": %s, "lr_seen": %s}\n' "$quality" "$quality" "$lr" >metrics.json
for step in 0 1 2; do echo "{\"step\": $step, \"loss\": 0.$((9 - step))}" >>"$MLO_METRICS"; done
EOF
printf 'model: none\nlr: 0\nquality: 0\nfail: 0\n' >params.yaml
commit_all fixture
FIXTURE=$REPO
fixture_run() {
    local rc=0
    "$MLO" -q train -S "model=$1" -S "lr=$2" -S "quality=$3" -S "fail=$4" "${@:5}" >/dev/null 2>&1 || rc=$?
    [[ $rc == 0 || $4 == 1 ]] || fail "fixture run failed: $*"
    run_id
}
R1=$(fixture_run lr 0.1 0.8 0)
R2=$(fixture_run rf 0.01 0.95 0)
R3=$(fixture_run lr 0.5 0.7 0)
R4=$(fixture_run svm 0.2 0.9 0 -S extra=on)
R5=$(fixture_run rf 0.3 0.85 1)
declare -A LABEL=(["$R1"]=R1 ["$R2"]=R2 ["$R3"]=R3 ["$R4"]=R4 ["$R5"]=R5)

# listed ARGS...: the labels of the runs `mlo --json runs list ARGS` prints, in its order.
listed() {
    expect_exit 0 mlo --json runs list "$@"
    local id labels=()
    for id in $(python3 -c '
import json, sys
print(" ".join(r["id"] for r in json.load(open(sys.argv[1]))["runs"]))' "$OUT"); do
        labels+=("${LABEL[$id]:-$id}")
    done
    echo "${labels[*]}"
}

# expect_filter FILTER EXPECTED: the filter selects exactly EXPECTED (labels, newest first).
expect_filter() {
    local got
    got=$(listed --filter "$1")
    expect_eq "$got" "$2" "runs matching: $1"
}

case_list_order() {
    cd "$FIXTURE"
    expect_eq "$(listed)" "R5 R4 R3 R2 R1" "newest first"
    expect_exit 0 mlo runs list
    # A header and one row per run, newest first, with the run's status and its metrics.
    expect_eq "$(head -1 "$OUT" | tr -s ' ')" "id status started duration commit metrics.acc metrics.f1 score metrics.loss metrics.lr_seen" "header"
    expect_eq "$(sed -n 2p "$OUT" | cut -d' ' -f1)" "$R5" "first row"
    expect_eq "$(tail -1 "$OUT" | cut -d' ' -f1)" "$R1" "last row"
    expect_eq "$(grep -c . "$OUT")" 6 "lines"
    grep "^$R5 " "$OUT" | grep -q FAILED || fail "R5 is not FAILED: $(cat "$OUT")"
    grep "^$R2 " "$OUT" | grep -q " 0.95 " || fail "R2's acc is not shown: $(cat "$OUT")"
}

case_filter_operators() {
    cd "$FIXTURE"
    expect_filter "metrics.acc > 0.85" "R4 R2"
    expect_filter "metrics.acc >= 0.9" "R4 R2"
    expect_filter "metrics.acc < 0.8" "R3"
    expect_filter "metrics.acc <= 0.8" "R3 R1"
    expect_filter "metrics.acc = 0.8" "R1"
    # A run without the metric (R5) matches neither = nor != (MLflow's semantics).
    expect_filter "metrics.acc != 0.8" "R4 R3 R2"
    expect_filter "metrics.acc <> 0.8" "R4 R3 R2"
    expect_filter "params.model = 'lr'" "R3 R1"
    expect_filter 'params.model = "rf"' "R5 R2"
    expect_filter "params.model != 'lr'" "R5 R4 R2"
    # Params compare numerically with a bare number, as text with a quoted one.
    expect_filter "params.lr < 0.2" "R2 R1"
    expect_filter "params.lr >= 0.2" "R5 R4 R3"
    expect_filter "params.lr = 1e-2" "R2"
    expect_filter "params.lr = '0.01'" "R2"
    expect_filter "params.lr = '1e-2'" ""
}

case_filter_in_null_like() {
    cd "$FIXTURE"
    expect_filter "params.model in ('rf', 'svm')" "R5 R4 R2"
    expect_filter "params.model not in ('rf', 'svm')" "R3 R1"
    expect_filter "metrics.acc in (0.7, 0.95)" "R3 R2"
    expect_filter "metrics.acc not in (0.7, 0.95)" "R4 R1"
    expect_filter "params.extra is null" "R3 R2 R1"
    expect_filter "params.extra is not null" "R5 R4"
    expect_filter "metrics.acc is null" "R5"
    expect_filter "params.model like 'r%'" "R5 R2"
    expect_filter "params.model like 'R%'" ""
    expect_filter "params.model ilike 'R%'" "R5 R2"
    expect_filter "params.model like '_f'" "R5 R2"
    expect_filter "params.model not like '%v%'" "R5 R3 R2 R1"
    # Backticks (and double quotes) for a key with a space.
    expect_filter 'metrics.`f1 score` > 0.85' "R4 R2"
    expect_filter 'metrics."f1 score" <= 0.8' "R3 R1"
    expect_filter 'metrics.`f1 score` is null' "R5"
    # Tags: none set by a plain train.
    expect_filter "tags.rerun_of is null" "R5 R4 R3 R2 R1"
}

case_filter_logic() {
    cd "$FIXTURE"
    # and binds tighter than or: rf or (lr and acc > 0.75).
    expect_filter "params.model = 'rf' or params.model = 'lr' and metrics.acc > 0.75" "R5 R2 R1"
    expect_filter "(params.model = 'rf' or params.model = 'lr') and metrics.acc > 0.75" "R2 R1"
    expect_filter "metrics.acc > 0.75 and params.model = 'lr' or params.model = 'svm'" "R4 R1"
    expect_filter "metrics.acc > 0.75 and (params.model = 'lr' or params.model = 'svm')" "R4 R1"
    expect_filter "metrics.acc > 0.8 and params.lr < 0.2" "R2"
    expect_filter "not params.model = 'lr'" "R5 R4 R2"
    # not of a condition is also true for runs lacking the key.
    expect_filter "not metrics.acc > 0.85" "R5 R3 R1"
    expect_filter "not (params.model = 'rf' or metrics.acc < 0.8)" "R4 R1"
    # Keywords ignore case.
    expect_filter "params.model IN ('rf') AND metrics.acc > 0.9 Or params.model Is Null" "R2"
}

case_filter_attributes() {
    cd "$FIXTURE"
    expect_filter "attributes.status = 'FAILED'" "R5"
    expect_filter "attributes.status = 'failed'" "R5"
    expect_filter "attributes.status != 'FAILED'" "R4 R3 R2 R1"
    expect_filter "attributes.status in ('FAILED', 'KILLED') or metrics.acc < 0.75" "R5 R3"
    expect_filter "attributes.run_id = '$R3'" "R3"
    expect_filter "attributes.id like '${R4:0:9}%' and attributes.run_id in ('$R4', '$R1')" "R4 R1"
    expect_filter "attributes.branch = 'main'" "R5 R4 R3 R2 R1"
    expect_filter "attributes.stages like '%fit%'" "R5 R4 R3 R2 R1"
    expect_filter "attributes.git_commit = '$(git rev-parse HEAD)'" "R5 R4 R3 R2 R1"
    expect_filter "attributes.commit like '$(git rev-parse --short=8 HEAD)%'" "R5 R4 R3 R2 R1"
    expect_filter "attributes.start_time > 0 and attributes.duration >= 0" "R5 R4 R3 R2 R1"
}

# A filter that cannot be parsed: exit 2, the column in the message, a caret under it.
case_bad_filter() {
    cd "$FIXTURE"
    expect_exit 2 mlo runs list --filter "metrics.acc >"
    expect_contains "$ERR" "bad filter at column 14: expected a value after '>'"
    expect_exit 2 mlo runs list --filter "metrics.acc == 0.9"
    expect_contains "$ERR" "bad filter at column 13"
    expect_contains "$ERR" "            ^"
    expect_exit 2 mlo runs list --filter "params.model = 'lr' and"
    expect_contains "$ERR" "column 24"
    expect_exit 2 mlo runs list --filter "metrix.acc > 1"
    expect_contains "$ERR" "column 1"
    expect_contains "$ERR" "did you mean"
    expect_exit 2 mlo runs list --filter "attributes.colour = 'x'"
    expect_contains "$ERR" "column 12: unknown attribute 'colour'"
    expect_exit 2 mlo runs list --filter "(metrics.acc > 1"
    expect_contains "$ERR" "column 1"
    expect_exit 2 mlo runs list --filter "params.model = 'lr"
    expect_contains "$ERR" "column 16: unterminated string"
    expect_exit 2 mlo --json runs list --filter "metrics.acc >"
    expect_contains "$ERR" '"exit_code":2'
    expect_contains "$ERR" "column 14"
    expect_exit 2 mlo runs list --sort "metrics.acc sideways"
    expect_exit 2 mlo runs list --limit -1
    expect_contains "$ERR" "--limit"
    expect_exit 2 mlo runs list --limit two
}

case_sort_limit() {
    cd "$FIXTURE"
    expect_eq "$(listed --sort 'metrics.acc desc')" "R2 R4 R1 R3 R5" "acc desc (R5 has none: last)"
    expect_eq "$(listed --sort 'metrics.acc asc')" "R3 R1 R4 R2 R5" "acc asc"
    expect_eq "$(listed --sort 'metrics.acc')" "R3 R1 R4 R2 R5" "acc (asc by default)"
    expect_eq "$(listed --sort 'params.lr')" "R2 R1 R4 R5 R3" "lr numerically"
    expect_eq "$(listed --sort 'params.model, metrics.acc desc')" "R1 R3 R2 R5 R4" "two keys"
    expect_eq "$(listed --limit 2)" "R5 R4" "--limit"
    expect_eq "$(listed --limit 0)" "R5 R4 R3 R2 R1" "--limit 0"
    expect_eq "$(listed --limit 9223372036854775808)" "R5 R4 R3 R2 R1" "a limit beyond int64"
    expect_eq "$(listed --sort 'metrics.acc desc' --limit 2)" "R2 R4" "sort then limit"
    expect_eq "$(listed --filter "params.model != 'svm'" --sort 'params.lr desc' --limit 3)" "R3 R5 R1" "filter, sort, limit"
}

case_columns_csv_json() {
    cd "$FIXTURE"
    expect_exit 0 mlo runs list --columns params.model,metrics.acc --limit 2
    expect_eq "$(head -1 "$OUT" | tr -s ' ')" "id status started duration commit params.model metrics.acc" "header"
    expect_exit 0 mlo runs list --csv --columns "params.model, metrics.acc,params.extra, metrics.\`f1 score\`"
    python3 - "$OUT" "$R1" "$R5" <<'EOF' || fail "CSV: $(cat "$OUT")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
header = rows[0]
assert header[:5] == ["id", "status", "started", "duration", "commit"], header
assert header[5:] == ["params.model", "metrics.acc", "params.extra", "metrics.f1 score"], header
assert len(rows) == 6, rows
assert all(len(r) == len(header) for r in rows), rows
by_id = {r[0]: dict(zip(header, r)) for r in rows[1:]}
r1, r5 = by_id[sys.argv[2]], by_id[sys.argv[3]]
assert r1["status"] == "FINISHED" and r1["params.model"] == "lr" and r1["metrics.acc"] == "0.8", r1
assert r1["params.extra"] == "" and r1["metrics.f1 score"] == "0.8", r1
assert r5["status"] == "FAILED" and r5["metrics.acc"] == "" and r5["params.extra"] == "on", r5
assert rows[1][0] == sys.argv[3], "newest first"
EOF
    # A key with a space, unquoted or in double quotes, as a column.
    expect_exit 0 mlo runs list --csv --columns 'metrics.f1 score,metrics."f1 score"' --limit 1 --sort metrics.acc
    expect_eq "$(head -1 "$OUT")" "id,status,started,duration,commit,metrics.f1 score,metrics.f1 score" "header"
    expect_eq "$(sed -n 2p "$OUT" | cut -d, -f1,6,7)" "$R3,0.7,0.7" "row"
    expect_exit 0 mlo --json runs list --limit 1
    expect_json "$OUT" schema mlo.runs.list/1
    expect_json "$OUT" runs.# 1
    expect_json "$OUT" runs.0.id "$R5"
    expect_json "$OUT" runs.0.status FAILED
    expect_json "$OUT" runs.0.params.model rf
    expect_json "$OUT" runs.0.metrics '{}'
    expect_json "$OUT" runs.0.git_branch main
    expect_exit 0 mlo --json runs list --filter "attributes.run_id = '$R2'"
    expect_json "$OUT" runs.0.metrics.acc 0.95
    expect_json "$OUT" runs.0.params.lr 0.01
    # Nothing matches: an empty list, exit 0.
    expect_exit 0 mlo --json runs list --filter "metrics.acc > 5"
    expect_json "$OUT" runs '[]'
    expect_exit 0 mlo runs list --filter "metrics.acc > 5"
    expect_contains "$ERR" "no runs match"
}

# The index is derived: deleted (or damaged), it is rebuilt from the run records.
case_index_rebuilt() {
    cd "$FIXTURE"
    local before
    before=$(listed)
    rm -f .mlo/index.db .mlo/index.db-wal .mlo/index.db-shm
    expect_eq "$(listed)" "$before" "after deleting the index"
    [[ -f .mlo/index.db ]] || fail "index not rebuilt"
    expect_filter "params.model = 'rf' or metrics.acc < 0.75" "R5 R3 R2"
    echo "this is not a database" >.mlo/index.db
    expect_eq "$(listed)" "$before" "after damaging the index"
    rm -f .mlo/index.db*
    expect_exit 0 mlo --json runs show "${R3:0:18}"
    expect_json "$OUT" run.id "$R3"
    rm -f .mlo/index.db*
    expect_eq "$(run_id latest)" "$R5" "latest"
}

run_case "list: newest first" case_list_order
run_case "filter: comparison operators" case_filter_operators
run_case "filter: in, is null, like, backticks" case_filter_in_null_like
run_case "filter: and/or precedence, not, parentheses" case_filter_logic
run_case "filter: attributes" case_filter_attributes
run_case "bad filters" case_bad_filter
run_case "--sort and --limit" case_sort_limit
run_case "--columns, --csv, --json" case_columns_csv_json
run_case "index rebuilt when deleted" case_index_rebuilt
finish
