#!/usr/bin/env bash
# The quickstart, end to end: version a dataset with mlo beside git, change it, see the change,
# and go back to the old version. Runs in a fresh directory (kept, and printed at the end).
#   MLO=path/to/mlo examples/quickstart/run.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mlo=${MLO:-mlo}
work=${1:-$(mktemp -d /tmp/mlo-quickstart.XXXXXX)}
mkdir -p "$work"
cd "$work"

if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain" >&2; "$@"; }
git_commit() { git add -A && git -c user.name="mlo quickstart" -c user.email=quickstart@example.com commit -qm "$1"; }

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
printf '\nquickstart finished in %s\n' "$work" >&2
