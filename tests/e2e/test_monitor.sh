#!/usr/bin/env bash
# mlo monitor check: drift and no drift end to end (exit codes, JSON, Prometheus, HTML), malformed
# CSV and JSON lines (errors with line numbers), an empty column (an error, never "no drift"),
# labels joined by request id (and a labels file that joins nothing), the serve log as current
# data with its health section, and the monitor section's validation.
source "$(dirname "$0")/lib.sh"

# gen_csv FILE ROWS SEED SHIFT SHARE_A: deterministic rows `age,plan,fee,request_id,churned,pred`.
# age ~ Normal(40 + SHIFT, 10), rounded to 0.1, pseudo-random from SEED. The other columns follow
# the row number so that their shares are the same in every file (the chi-square and z-tests take
# the reference's shares as the truth, so random reference noise alone could flag drift): plan is
# a in SHARE_A of the rows, else b or c; fee takes 4 values; churned is 1 in 3 rows of 10, and pred
# agrees with it on 3 rows in 4.
gen_csv() {
    awk -v rows="$2" -v seed="$3" -v shift_="$4" -v share_a="$5" 'BEGIN {
        srand(seed)
        print "age,plan,fee,request_id,churned,pred"
        for (i = 0; i < rows; i++) {
            u1 = rand(); u2 = rand(); if (u1 < 1e-12) u1 = 1e-12
            age = 40 + shift_ + 10 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2)
            tenth = i % 10
            plan = tenth < share_a * 10 ? "a" : (tenth % 2 ? "b" : "c")
            fee = 10 * (1 + i % 4)
            churned = (i * 7) % 10 < 3 ? 1 : 0
            pred = i % 4 == 0 ? 1 - churned : churned
            printf "%.1f,%s,%d,r%d,%d,%d\n", age, plan, fee, i, churned, pred
        }
    }' >"$1"
}

# A project monitoring age (numeric), plan (categorical) and fee (numeric, 4 values) of a 600-row
# reference: KS, chi-square and chi-square by Evidently's defaults.
monitor_project() {
    new_project
    gen_csv ref.csv 600 1 0 0.5
    cat >>mlo.yaml <<'EOF2'
monitor:
  model: churn
  reference: ref.csv
  target: churned
  prediction: pred
  features: {age: numeric, plan: categorical, fee: numeric}
  drift: {share: 0.5}
  performance: {accuracy: {min: 0.6}, f1: {min: 0.4, average: binary}}
EOF2
}

case_no_drift_passes() {
    monitor_project
    gen_csv cur.csv 2000 2 0 0.5
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" schema mlo.monitor/1
    expect_json "$OUT" summary.all_passed true
    expect_json "$OUT" summary.counts.FAIL 0
    expect_json "$OUT" summary.counts.ERROR 0
    expect_json "$OUT" dataset_drift.drifted false
    expect_json "$OUT" columns.0.name age
    expect_json "$OUT" columns.0.method ks
    expect_json "$OUT" columns.0.n_ref 600
    expect_json "$OUT" columns.0.n_cur 2000
    expect_json "$OUT" columns.1.method chisquare
    expect_json "$OUT" columns.2.method chisquare
    expect_json "$OUT" columns.2.n_unique 4
    expect_json "$OUT" columns.3.role prediction
    expect_json "$OUT" columns.3.method z
    # Labels are in the current file: both gates ran and passed.
    expect_json "$OUT" performance.labelled_rows 2000
    expect_json "$OUT" performance.metrics.0.status SUCCESS
    expect_exit 0 mlo monitor check --current cur.csv
    expect_contains "$OUT" "PASSED"
    expect_contains "$OUT" "dataset drift: 0 of 3 features drifted"
}

case_drift_fails_the_gate() {
    monitor_project
    gen_csv cur.csv 2000 3 8 0.2
    expect_exit 1 mlo --json monitor check --current cur.csv --prom drift.prom --html drift.html
    expect_json "$OUT" summary.all_passed false
    expect_json "$OUT" dataset_drift.drifted true
    expect_json "$OUT" dataset_drift.drifted_features 2
    expect_json "$OUT" columns.0.drifted true
    expect_json "$OUT" columns.1.drifted true
    expect_json "$OUT" columns.2.drifted false
    expect_json "$OUT" summary.counts.FAIL 1
    expect_json "$OUT" summary.counts.WARNING 2
    expect_contains drift.prom 'mlo_monitor_feature_drift_score{feature="age",method="ks"}'
    expect_contains drift.prom 'mlo_monitor_dataset_drift 1'
    expect_contains drift.prom 'mlo_monitor_metric{metric="accuracy"}'
    expect_contains drift.html '<svg'
    # No raw row reaches the report: a value that occurs in the data only is absent.
    first_age=$(sed -n 2p cur.csv | cut -d, -f1)
    expect_not_contains drift.html ">$first_age<"
    expect_not_contains drift.html "r17"
    expect_exit 1 mlo monitor check --current cur.csv
    expect_contains "$OUT" "FAIL dataset_drift: 2 of 3 features drifted"
    expect_contains "$OUT" "FAILED"
}

case_thresholds_and_methods_from_config() {
    monitor_project
    gen_csv cur.csv 2000 3 8 0.2
    # The same drifted data passes when the share gate is raised above 2/3 and age uses PSI with a
    # threshold no score reaches.
    sed -i 's/drift: {share: 0.5}/drift: {share: 0.9}/; s/age: numeric,/age: {type: numeric, method: psi, threshold: 100},/' mlo.yaml
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" columns.0.method psi
    expect_json "$OUT" columns.0.threshold 100.0
    expect_json "$OUT" columns.0.drifted false
}

# PSI on a numeric column with many values bins it: Sturges bins over both samples (a second read
# when the current sample is too large to keep, above 131,072 values), or the reference's own bins
# with `binning: reference`. Both must see drift in shifted data and none in unshifted data.
case_histogram_binning() {
    monitor_project
    sed -i 's/age: numeric,/age: {type: numeric, method: psi},/' mlo.yaml
    gen_csv same.csv 150000 4 0 0.5
    gen_csv shifted.csv 150000 5 8 0.5
    for binning in sturges reference; do
        sed -i "/^  binning:/d" mlo.yaml
        echo "  binning: $binning" >>mlo.yaml
        expect_exit 0 mlo --json monitor check --current same.csv
        expect_json "$OUT" columns.0.method psi
        expect_json "$OUT" columns.0.drifted false
        expect_json "$OUT" columns.0.n_cur 150000
        cp "$OUT" "same-$binning.json"
        expect_exit 0 mlo --json monitor check --current shifted.csv # one feature of three: no dataset drift
        expect_json "$OUT" columns.0.drifted true
        cp "$OUT" "shifted-$binning.json"
    done
    # The Sturges scores (read twice from the file) equal Evidently's computation with numpy.
    for data in same shifted; do
        expected=$(/usr/bin/python3 - "$data.csv" <<'PY'
import sys
import numpy as np
ref = np.loadtxt("ref.csv", delimiter=",", skiprows=1, usecols=0)
cur = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=0)
bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
r = np.histogram(ref, bins)[0] / len(ref)
c = np.histogram(cur, bins)[0] / len(cur)
for p in (r, c):
    small = p[p != 0].min()
    np.place(p, p == 0, small / 10**6 if small <= 0.0001 else 0.0001)
print("%.9f" % np.sum((r - c) * np.log(r / c)))
PY
        )
        got=$(json_get "$data-sturges.json" columns.0.score)
        expect_eq "$(printf '%.9f' "$got")" "$expected" "PSI of $data.csv"
    done
}

# max_relative_drop compares with the same metric on the reference (which has target and
# prediction): predictions that agree less often than in the reference fail the gate.
case_relative_performance_gate() {
    monitor_project
    sed -i 's/performance: .*/performance: {accuracy: {max_relative_drop: 0.05}}/' mlo.yaml
    gen_csv cur.csv 2000 2 0 0.5
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" performance.metrics.0.value 0.75
    expect_json "$OUT" performance.metrics.0.reference_value 0.75
    # Flip every 5th prediction: accuracy falls well over 5% below the reference's.
    awk -F, -v OFS=, 'NR > 1 && NR % 5 == 0 { $6 = 1 - $6 } { print }' cur.csv >worse.csv
    expect_exit 1 mlo --json monitor check --current worse.csv
    expect_json "$OUT" performance.metrics.0.status FAIL
    expect_contains "$OUT" "worse than the reference"
}

case_malformed_csv_names_the_line() {
    monitor_project
    gen_csv cur.csv 5 2 0 0.5
    printf '41.0,"a,10,r9,0,0\n' >>cur.csv
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "cur.csv: line 7: a quoted field is never closed"
    gen_csv cur.csv 5 2 0 0.5
    printf '41.0,a,10,r9\n' >>cur.csv
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "cur.csv: line 7: 4 cells, but the header names 6 columns"
    gen_csv cur.csv 5 2 0 0.5
    sed -i '4s/^[^,]*,/forty,/' cur.csv
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "cur.csv: line 4: column 'age': 'forty' is not a number"
}

case_malformed_json_lines_names_the_line() {
    monitor_project
    {
        echo '{"age": 40.5, "plan": "a", "fee": 10}'
        echo '{"age": 41.5, "plan": "b", "fee": 20}'
        echo '{"age": 39.0, "plan": "a" "fee": 10}'
    } >cur.jsonl
    expect_exit 2 mlo monitor check --current cur.jsonl
    expect_contains "$ERR" "cur.jsonl: line 3: not valid JSON"
    printf '{"age": 40.5, "plan": "a", "fee": 10}\n[1, 2]\n' >cur.jsonl
    expect_exit 2 mlo monitor check --current cur.jsonl
    expect_contains "$ERR" "cur.jsonl: line 2: not a JSON object"
}

case_json_lines_current_data() {
    monitor_project
    gen_csv cur.csv 300 2 0 0.5
    # The same rows as JSON lines give the same scores as the CSV.
    awk -F, 'NR > 1 { printf "{\"age\": %s, \"plan\": \"%s\", \"fee\": %s, \"churned\": %s, \"pred\": %s}\n", $1, $2, $3, $5, $6 }' cur.csv >cur.jsonl
    expect_exit 0 mlo --json monitor check --current cur.csv
    csv_score=$(json_get "$OUT" columns.0.score)
    expect_exit 0 mlo --json monitor check --current cur.jsonl
    expect_json "$OUT" columns.0.score "$csv_score"
    expect_json "$OUT" columns.0.n_cur 300
}

case_empty_column_is_an_error_not_no_drift() {
    monitor_project
    gen_csv cur.csv 50 2 0 0.5
    # Every plan cell missing (empty): the column cannot be tested.
    awk -F, -v OFS=, 'NR > 1 { $2 = "" } { print }' cur.csv >empty.csv
    expect_exit 2 mlo --json monitor check --current empty.csv
    expect_json "$OUT" summary.counts.ERROR 1
    expect_json "$OUT" columns.1.status ERROR
    expect_json "$OUT" columns.1.missing_share 1.0
    expect_json "$OUT" columns.1.score null
    expect_contains "$OUT" "the current data has no values in 'plan' (50 rows, all missing)"
    expect_exit 2 mlo monitor check --current empty.csv
    expect_contains "$OUT" "ERROR drift:plan"
}

case_labels_joined_by_request_id() {
    monitor_project
    gen_csv cur.csv 400 2 0 0.5
    # Current data without labels; the labels arrive in their own file.
    cut -d, -f1-4,6 cur.csv >unlabelled.csv
    cut -d, -f4,5 cur.csv >labels.csv
    expect_exit 0 mlo --json monitor check --current unlabelled.csv --labels labels.csv
    expect_json "$OUT" performance.labelled_rows 400
    joined=$(json_get "$OUT" performance.metrics.0.value)
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" performance.metrics.0.value "$joined"
    # Without any labels the gates are skipped, not passed.
    expect_exit 0 mlo --json monitor check --current unlabelled.csv
    expect_json "$OUT" performance.metrics.0.status SKIPPED
    expect_json "$OUT" summary.counts.SKIPPED 2
}

case_labels_that_join_nothing() {
    monitor_project
    gen_csv cur.csv 100 2 0 0.5
    cut -d, -f1-4,6 cur.csv >unlabelled.csv
    printf 'request_id,churned\nx1,0\nx2,1\nx3,1\n' >labels.csv
    expect_exit 2 mlo monitor check --current unlabelled.csv --labels labels.csv
    expect_contains "$ERR" "labels.csv: none of its 3 labels matches a request_id of the 100 current rows"
    printf 'id,churned\nx1,0\n' >labels.csv
    expect_exit 2 mlo monitor check --current unlabelled.csv --labels labels.csv
    expect_contains "$ERR" "labels.csv has no column request_id"
}

# log_line ID SECONDS_AGO STATUS LATENCY_MS AGE PLAN FEE PRED VERSION: one request-log line.
log_line() {
    local now_ns time_ns
    now_ns=$(date +%s%N)
    time_ns=$((now_ns - $2 * 1000000000))
    if (($3 >= 400)); then
        printf '{"request_id":"%s","time":"x","time_ns":%s,"model":"churn","version":"%s","protocol":"v2","status":%s,"latency_ms":%s,"inputs":{"age":[%s],"plan":["%s"],"fee":[%s]},"outputs":null,"error":"bad"}\n' \
            "$1" "$time_ns" "$9" "$3" "$4" "$5" "$6" "$7"
    else
        printf '{"request_id":"%s","time":"x","time_ns":%s,"model":"churn","version":"%s","protocol":"v2","status":%s,"latency_ms":%s,"inputs":{"age":[%s],"plan":["%s"],"fee":[%s]},"outputs":{"pred":[%s]}}\n' \
            "$1" "$time_ns" "$9" "$3" "$4" "$5" "$6" "$7" "$8"
    fi
}

case_serve_log_is_the_default_current_data() {
    monitor_project
    mkdir -p .mlo/serve/logs/churn
    log=.mlo/serve/logs/churn/requests.jsonl
    gen_csv cur.csv 40 2 0 0.5
    # 40 answered requests an hour ago from v0.0.1 (latency 1..40 ms), 10 failed ones from v0.0.2,
    # and 5 requests three days ago.
    i=0
    while IFS=, read -r age plan fee id churned pred; do
        i=$((i + 1))
        log_line "$id" 3600 200 "$i" "$age" "$plan" "$fee" "$pred" v0.0.1 >>$log
    done < <(tail -n +2 cur.csv)
    for k in 1 2 3 4 5 6 7 8 9 10; do log_line "e$k" 3600 500 5 40.0 a 10 0 v0.0.2 >>$log; done
    for k in 1 2 3 4 5; do log_line "old$k" 259200 200 5 40.0 a 10 0 v0.0.1 >>$log; done
    expect_exit 0 mlo --json monitor check
    expect_json "$OUT" current.rows 45
    expect_json "$OUT" health.0.version v0.0.1
    expect_json "$OUT" health.0.requests 45
    expect_json "$OUT" health.1.requests 10
    expect_json "$OUT" health.1.error_rate 1.0
    expect_exit 0 mlo --json monitor check --since 24h --prom health.prom
    expect_json "$OUT" current.rows 40
    expect_json "$OUT" health.0.requests 40
    # numpy.percentile(range(1, 41), [50, 95, 99]) -> 20.5, 38.05, 39.61
    expect_json "$OUT" health.0.latency_ms.p50 20.5
    expect_eq "$(json_get "$OUT" health.0.latency_ms.p95 | cut -c1-5)" "38.05"
    expect_contains health.prom 'mlo_monitor_error_rate{version="v0.0.2"} 1'
    # Labels joined to the logged request ids.
    cut -d, -f4,5 cur.csv >labels.csv
    expect_exit 0 mlo --json monitor check --since 24h --labels labels.csv
    expect_json "$OUT" performance.labelled_rows 40
    expect_exit 2 mlo monitor check --since 1h --model nosuch
    expect_contains "$ERR" "no logged requests for model 'nosuch' in the last 1h"
    expect_exit 2 mlo monitor check --since yesterday
    expect_contains "$ERR" "--since: 'yesterday' is not a duration"
}

case_bad_monitor_section() {
    monitor_project
    sed -i 's/age: numeric,/age: {type: numeric, method: kss},/; s/accuracy: {min: 0.6}/accuracy: {minimum: 0.6}/' mlo.yaml
    gen_csv cur.csv 10 2 0 0.5
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "3 problems"
    expect_contains "$ERR" "monitor.features.age.method: unknown method 'kss'"
    expect_contains "$ERR" "did you mean 'ks'"
    expect_contains "$ERR" "monitor.performance.accuracy: unknown key 'minimum'"
    line=$(grep -n 'kss' mlo.yaml | cut -d: -f1)
    expect_contains "$ERR" "line $line:"
}

case_missing_inputs() {
    monitor_project
    expect_exit 2 mlo monitor check --current nosuch.csv
    expect_contains "$ERR" "nosuch.csv: no such file"
    printf 'age,plan\n40,a\n' >cur.csv
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "has no column fee"
    rm ref.csv
    touch ref.csv.mlo
    expect_exit 2 mlo monitor check --current cur.csv
    expect_contains "$ERR" "is tracked but not checked out"
}

# The reference's summary is kept in .mlo/cache/monitor and reused: the same report from it, a new
# one when the reference changes, and a damaged summary is rebuilt, never trusted. A reference
# changed in the last two seconds is not cached (its times could hide a further change), so the
# case waits that long after writing it.
case_reference_summary_is_kept_and_reused() {
    monitor_project
    gen_csv cur.csv 3000 2 3 0.5
    sleep 2.2
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" columns.0.drifted true
    cp "$OUT" first.json
    local summaries
    summaries=$(ls .mlo/cache/monitor/reference-*.bin)
    [[ $(wc -w <<<"$summaries") == 1 ]] || fail "expected one stored summary, got: $summaries"
    # Reused, not rebuilt: the same report, and the summary file is not written again.
    cp "$summaries" summary.kept
    local written
    written=$(stat -c %y "$summaries")
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_file_eq "$OUT" first.json
    expect_eq "$(stat -c %y "$summaries")" "$written"
    # A damaged summary fails its checksum: the reference is read again, the same report comes
    # out, and the summary is rebuilt as it was.
    printf 'XXXX' | dd of="$summaries" bs=1 seek=100 conv=notrunc status=none
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_file_eq "$OUT" first.json
    expect_file_eq "$summaries" summary.kept
    # A changed reference gets its own summary and its own report.
    gen_csv ref.csv 600 7 3 0.5
    sleep 2.2
    expect_exit 0 mlo --json monitor check --current cur.csv
    expect_json "$OUT" columns.0.n_ref 600
    [[ $(ls .mlo/cache/monitor/reference-*.bin | wc -l) == 2 ]] || fail "expected a second summary"
    expect_exit 0 mlo --json monitor check --current cur.csv
}

# The HTML report rendered by headless Chromium: the screenshot shows the reference (blue) and
# current (orange) bars of the histograms, drawn with 55% opacity over white.
case_html_report_renders_in_chromium() {
    monitor_project
    gen_csv cur.csv 2000 3 8 0.2
    expect_exit 1 mlo monitor check --current cur.csv --html report.html
    command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps.sh installs it)"
    # --no-sandbox: the tests may run as root; a fresh profile directory keeps runs independent.
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$REPO/.chromium" \
        --window-size=1000,1800 --screenshot="$REPO/report.png" "file://$REPO/report.html" \
        >"$REPO/chromium.log" 2>&1 || fail "chromium failed: $(tail -5 "$REPO/chromium.log")"
    [[ -s report.png ]] || fail "no screenshot"
    read -r blue orange white < <(python3 "$MLO_SOURCE_DIR/tests/e2e/png_colour_count.py" report.png \
        132,180,214 255,185,122 255,255,255)
    ((blue > 2000)) || fail "few reference-bar pixels in the screenshot: $blue"
    ((orange > 2000)) || fail "few current-bar pixels in the screenshot: $orange"
    ((white > 100000)) || fail "the page background is missing: $white white pixels"
}

run_case "no drift: exit 0, Evidently's default tests, gates pass" case_no_drift_passes
run_case "drift: exit 1, Prometheus and HTML reports" case_drift_fails_the_gate
run_case "methods, thresholds and the share gate come from mlo.yaml" case_thresholds_and_methods_from_config
run_case "histogram binning: Sturges over both samples, or the reference's bins" case_histogram_binning
run_case "a gate relative to the reference's performance" case_relative_performance_gate
run_case "malformed CSV: errors name file and line" case_malformed_csv_names_the_line
run_case "malformed JSON lines: errors name file and line" case_malformed_json_lines_names_the_line
run_case "JSON lines give the same scores as CSV" case_json_lines_current_data
run_case "an empty column is an error, not 'no drift'" case_empty_column_is_an_error_not_no_drift
run_case "labels joined by request id" case_labels_joined_by_request_id
run_case "a labels file that joins nothing" case_labels_that_join_nothing
run_case "the serve log: current data, --since, health, labels" case_serve_log_is_the_default_current_data
run_case "a bad monitor section: every problem with its line" case_bad_monitor_section
run_case "missing files and columns" case_missing_inputs
run_case "the reference summary is kept in the store and reused" case_reference_summary_is_kept_and_reused
run_case "the HTML report renders in headless Chromium" case_html_report_renders_in_chromium
finish
