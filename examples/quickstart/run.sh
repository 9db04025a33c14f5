#!/usr/bin/env bash
# The quickstart, end to end, in two projects under a fresh directory (kept, and printed at the end):
#   versioning/  version a dataset with mlo beside git, change it, see the change, go back;
#   churn/       the example project examples/churn: a prepare/train/evaluate pipeline in Python
#                (scikit-learn), trained, re-trained with another parameter, runs compared; then
#                the model registered, promoted to staging, signed into production, verified,
#                deployed locally (both HTTP protocols, queried with curl), a second version
#                moved in by canary under traffic, rolled back; drifted traffic sent to it and
#                caught by mlo monitor check (HTML report), then stopped.
#   MLO=path/to/mlo examples/quickstart/run.sh [WORKDIR]
# The churn part needs Debian's python3-sklearn and python3-pandas (scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
example=$(cd "$here/../churn" && pwd)
mlo=${MLO:-mlo}
work=${1:-$(mktemp -d /tmp/mlo-quickstart.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain" >&2; "$@"; }
part() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain" >&2; }
git_commit() { git add -A && git -c user.name="mlo quickstart" -c user.email=quickstart@example.com commit -qm "$1"; }
# The script doubles as a smoke test: it stops when mlo did not do what the comments say.
expect() { if [ "$1" != "$2" ]; then printf 'quickstart: %s: expected "%s", got "%s"\n' "$3" "$2" "$1" >&2; exit 1; fi; }
run_count() { "$mlo" runs list --json | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["runs"]))'; }
latest_stages() {  # "prepare=skipped train=succeeded ..." for the newest run
  "$mlo" runs show latest --json | /usr/bin/python3 -c \
    'import json, sys; print(" ".join(s["name"] + "=" + s["status"] for s in json.load(sys.stdin)["run"]["stages"]))'
}

if ! /usr/bin/python3 -c 'import sklearn, pandas' 2>/dev/null; then
  echo "quickstart: /usr/bin/python3 lacks scikit-learn or pandas; run scripts/install-deps.sh" >&2
  exit 2
fi

part "Part 1: versioning data ($work/versioning)"
mkdir -p "$work/versioning"
cd "$work/versioning"

# 1. A project: mlo init creates the git repository, mlo.yaml and the .mlo/ store.
step "$mlo" init

# 2. Some data: customer records generated with a fixed seed (same bytes on every machine).
mkdir -p data/images
"$here/make_data.sh" 500 1 > data/customers.csv
for i in 1 2 3; do "$here/make_data.sh" 20 "$i" > "data/images/batch $i.csv"; done

# 3. Version it: pointer files for git, bytes in the store, data git-ignored.
step "$mlo" track data/customers.csv data/images
step cat data/customers.csv.mlo
git_commit "Track version 1 of the data"

# 4. The data changes: more rows, one batch replaced.
"$here/make_data.sh" 800 2 > data/customers.csv
"$here/make_data.sh" 20 9 > "data/images/batch 2.csv"
step "$mlo" status || true
step "$mlo" track data/customers.csv data/images
git_commit "Track version 2 of the data"
step "$mlo" diff HEAD~1 HEAD

# 5. Back to version 1, read through git without switching branches, then forward again.
step "$mlo" checkout --rev HEAD~1
step wc -l data/customers.csv
step "$mlo" checkout
step wc -l data/customers.csv

# 6. Everything in the store is intact.
step "$mlo" fsck

part "Part 2: a training pipeline, examples/churn ($work/churn)"
mkdir -p "$work/churn"
cd "$work/churn"

# 7. A copy of the example: mlo.yaml with its prepare/train/evaluate pipeline, params.yaml and the
#    stage code. mlo init keeps the mlo.yaml it finds and adds the git repository and the store.
cp -R "$example/mlo.yaml" "$example/params.yaml" "$example/README.md" "$example/src" .
step "$mlo" init
# Registry tags record who made them: the repository needs a git identity.
git config user.name "mlo quickstart"
git config user.email quickstart@example.com

# 8. The raw data: 2000 synthetic customers (a fixed seed, the same bytes everywhere), tracked
#    and committed together with the code.
step /usr/bin/python3 src/fetch_data.py
step "$mlo" track data/raw.csv
git_commit "Churn project and raw data v1"

# 9. Train: every stage runs, in dependency order; the run is recorded with its params, final
#    metrics (metrics/eval.json) and step metrics (one line per epoch from src/train.py).
step "$mlo" train
git_commit "Train: mlo.lock and metrics"
expect "$(run_count)" 1 "runs after the first mlo train"
expect "$(latest_stages)" "prepare=succeeded train=succeeded evaluate=succeeded" "stages of the first run"

# 10. Nothing changed: every stage is up to date, nothing runs and no run is recorded.
step "$mlo" train
expect "$(run_count)" 1 "runs after mlo train without changes"

# 11. Another value for one param: prepare does not depend on it and is skipped; train and
#     evaluate run. -S writes the value to params.yaml, so the change is committed like code.
step "$mlo" train -S train.C=0.5
git_commit "train.C = 0.5"
expect "$(run_count)" 2 "runs after mlo train -S train.C=0.5"
expect "$(latest_stages)" "prepare=skipped train=succeeded evaluate=succeeded" "stages of the train.C=0.5 run"

# 12. The runs: listed, compared side by side (changed rows starred), as an HTML page with the
#     step-metric charts, and what changed between them.
step "$mlo" runs list
previous=$("$mlo" runs list --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][1]["id"])')
step "$mlo" runs compare "$previous" latest
step "$mlo" runs compare "$previous" latest --html "$work/compare.html"
step "$mlo" runs diff "$previous" latest

# 13. Back to C=1.0: those exact inputs ran before, so train and evaluate are restored from the
#     run cache instead of running again.
step "$mlo" train -S train.C=1.0
git_commit "train.C = 1.0"
expect "$(latest_stages)" "prepare=skipped train=restored evaluate=restored" "stages of the train.C=1.0 run"
step "$mlo" fsck

part "Part 3: the model registry ($work/churn)"

# 14. Register the trained model: its file goes into the store, a manifest records where it came
#     from (run, commit, data ids, params, metrics), and the annotated git tag churn-clf@v0.0.1
#     names the manifest. The run is found from the model's bytes; its code is the last commit.
step "$mlo" register churn-clf --description "logistic regression, C=1.0"
expect "$(git tag -l 'churn-clf@*')" "churn-clf@v0.0.1" "the version tag"

# 15. Promote it to staging (tag churn-clf#staging#1) and show its model card, also as Markdown.
step "$mlo" register promote churn-clf@v0.0.1 --to staging
step "$mlo" register show churn-clf#staging --markdown "$work/model-card.md"

# 16. Production is guarded: a signing key (kept outside the project), its public key listed in
#     mlo.yaml, and a rule that promotions to production need its signature.
export MLO_KEYS_DIR="$work/keys"
step "$mlo" keys generate --name quickstart@example.com
{
  echo "access:"
  echo "  keys:"
  echo "    $("$mlo" keys list | sed 's/  #.*//')"
  echo "  rules:"
  echo "    - {action: promote, stage: production, signers: [quickstart@example.com], min: 1}"
} >>mlo.yaml
git_commit "Guard production with a signature"
if "$mlo" register promote churn-clf@v0.0.1 --to production 2>/dev/null; then
  echo "quickstart: an unsigned promotion to production was accepted" >&2; exit 1
fi
step "$mlo" register promote churn-clf@v0.0.1 --to production --sign
step "$mlo" register verify churn-clf#production
step "$mlo" register list

# 17. The trail: every registry event, and a check of every tag, signature and the local log.
step "$mlo" audit log
step "$mlo" audit verify
step "$mlo" register get churn-clf#production -o "$work/serving/churn-clf"

part "Part 4: deployment ($work/churn)"

# 18. Deploy the production version to the local target (deploy.local in mlo.yaml): the access
#     rules and signatures are checked again, then mlo serve runs in the background with two
#     workers (src/serve.py), both HTTP protocols on one port. The first customer is a new
#     month-to-month one with many support calls, the second a loyal one.
step "$mlo" deploy churn-clf#production --target local
trap '"$mlo" deploy stop --target local >/dev/null 2>&1 || true' EXIT
url=$("$mlo" --json deploy status --target local | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["targets"][0]["url"])')
records='[{"customer_id": "c-1", "tenure_months": 1, "contract": "month-to-month", "plan": "premium", "monthly_charges": 99.5,
  "support_calls": 6, "payment_method": "electronic-check", "paperless_billing": 1},
 {"customer_id": "c-2", "tenure_months": 60, "contract": "two-year", "plan": "basic", "monthly_charges": 25.0,
  "support_calls": 0, "payment_method": "card", "paperless_billing": 0}]'
step curl -s "$url/invocations" -H 'Content-Type: application/json' -d "{\"dataframe_records\": $records}"
echo >&2
predictions=$(curl -s "$url/invocations" -H 'Content-Type: application/json' -d "{\"dataframe_records\": $records}")
expect "$predictions" '{"predictions":[1,0]}' "predictions for a risky and a loyal customer"
step curl -s "$url/v2/models/churn-clf/infer" -H 'Content-Type: application/json' -d '{"inputs": [
  {"name": "customer_id", "shape": [1], "datatype": "BYTES", "data": ["c-3"]},
  {"name": "tenure_months", "shape": [1], "datatype": "INT64", "data": [2]},
  {"name": "contract", "shape": [1], "datatype": "BYTES", "data": ["month-to-month"]},
  {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["plus"]},
  {"name": "monthly_charges", "shape": [1], "datatype": "FP64", "data": [70.0]},
  {"name": "support_calls", "shape": [1], "datatype": "INT64", "data": [4]},
  {"name": "payment_method", "shape": [1], "datatype": "BYTES", "data": ["card"]},
  {"name": "paperless_billing", "shape": [1], "datatype": "INT64", "data": [1]}]}'
echo >&2

# 19. A second version, the C=0.5 run, registered and moved in by canary while clients keep
#     sending requests: half the traffic for 2 s, then its error rate is checked, then all of it.
c05=$("$mlo" runs list --json --filter "params.train.C = 0.5" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["id"])')
step "$mlo" register churn-clf --from "$c05" --description "logistic regression, C=0.5"
(
  while [ ! -e "$work/traffic.stop" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' "$url/invocations" -H 'Content-Type: application/json' \
      -d "{\"dataframe_records\": $records}" >>"$work/traffic.codes"
    sleep 0.02
  done
) &
traffic=$!
step "$mlo" deploy churn-clf@v0.0.2 --target local --strategy canary --steps 50 --interval 2s --max-error-rate 0.01
step "$mlo" deploy status

# 20. Back to the production version (the last one that held all traffic), blue/green.
step "$mlo" deploy rollback --target local
touch "$work/traffic.stop"
wait "$traffic"
expect "$(sort -u "$work/traffic.codes")" 200 "answers during the canary and the rollback"
step "$mlo" deploy history --target local

part "Part 5: monitoring ($work/churn)"

# 21. Traffic from a market the model never saw: long-standing customers on two-year contracts
#     paying premium prices. 300 of them, in batches of 50, to the deployed version.
/usr/bin/python3 - "$url" <<'PYEOF'
import json, random, sys, urllib.request
random.seed(7)
for batch in range(6):
    rows = [{"customer_id": f"n-{batch}-{i}", "tenure_months": random.randint(48, 72), "contract": "two-year",
             "plan": "premium", "monthly_charges": round(random.uniform(110, 140), 2),
             "support_calls": random.randint(0, 1), "payment_method": "bank-transfer", "paperless_billing": 1}
            for i in range(50)]
    request = urllib.request.Request(sys.argv[1] + "/invocations", json.dumps({"dataframe_records": rows}).encode(),
                                     {"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
PYEOF

# 22. The check of the last hour of served traffic against the training table: the features drift,
#     so the dataset-drift gate fails (exit 1), and the HTML report shows each feature's
#     reference and current histograms (no raw rows).
if step "$mlo" monitor check --since 1h --html "$work/monitor.html"; then
  echo "quickstart: drifted traffic passed the monitor check" >&2; exit 1
fi
[ -s "$work/monitor.html" ] || { echo "quickstart: no monitor report" >&2; exit 1; }
step "$mlo" deploy stop --target local
trap - EXIT
# Every request is in the log, the PII field (customer_id) only as a keyed hash.
logged=$(wc -l <.mlo/serve/logs/churn-clf/requests.jsonl)
expect "$(grep -c 'hmac-sha256:' .mlo/serve/logs/churn-clf/requests.jsonl)" "$logged" "logged requests with a hashed customer_id"
expect "$(grep -c '"c-1"' .mlo/serve/logs/churn-clf/requests.jsonl || true)" 0 "customer ids in clear in the log"

printf '\nquickstart finished in %s (runs compared in %s, model card %s, monitor report %s)\n' "$work" \
  "$work/compare.html" "$work/model-card.md" "$work/monitor.html" >&2
