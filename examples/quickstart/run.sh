#!/usr/bin/env bash
# The quickstart, end to end, in two projects under a fresh directory (kept, and printed at the end):
#   versioning/  version a dataset with mlo beside git, change it, see the change, go back;
#   churn/       the example project examples/churn: a prepare/train/evaluate pipeline in Python
#                (scikit-learn), trained, re-trained with another parameter, runs compared.
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

printf '\nquickstart finished in %s (runs compared in %s)\n' "$work" "$work/compare.html" >&2
