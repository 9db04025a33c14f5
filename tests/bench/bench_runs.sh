#!/usr/bin/env bash
# Run-tracking benchmarks: querying 10,000 recorded runs with 20 params and 20 metrics each.
#
# Recording 10,000 runs through `mlo train` would take far too long, so the runs are written
# directly in the format mlo reads (see GEN_RUNS_PY): each run record is canonical JSON (schema
# mlo.run/1, the fields of RunRecord::to_json) stored as an object named by its SHA-256, plus a ref
# file .mlo/refs/runs/<id>. Before generating, the script checks on a run that `mlo train` really
# recorded that the generator's encoding reproduces mlo's bytes exactly.
#
# Figures: the index rebuild (the first `mlo runs list` after .mlo/index.db is deleted), then
# filtered and sorted `mlo runs list` queries. MLflow is not installed (and not in Debian), so the
# peer is a Python script that answers the same query the way a file-store MLflow does: load every
# run from disk, filter, sort, cut (see QUERY_PY).
#
# It prints every figure, each ratio, and a summary table with the targets. It is a report, not a
# test: missed targets still exit 0; only a failing command (or a missing mlo binary) exits non-zero.
# Not run by ctest or CI; see tests/bench/README.md.
#
# Environment:
#   MLO                path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR          where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_RUNS         number of generated runs (default 10000)
#   BENCH_RUN_PARAMS   params per run (default 20, at least 3)
#   BENCH_RUN_METRICS  metrics per run (default 20, at least 3)
#   BENCH_QUERY_REPS   runs of each mlo query, best kept (default 5)
#   BENCH_PEER_REPS    runs of each Python peer query, best kept (default 3)
#   BENCH_KEEP=1       keep the work directory (projects, logs) instead of deleting it
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # decimal point in EPOCHREALTIME, byte-wise sorting, untranslated tool output

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
RUNS=${BENCH_RUNS:-10000}
NPARAMS=${BENCH_RUN_PARAMS:-20}
NMETRICS=${BENCH_RUN_METRICS:-20}
QUERY_REPS=${BENCH_QUERY_REPS:-5}
PEER_REPS=${BENCH_PEER_REPS:-3}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}
PYTHON=/usr/bin/python3 # Debian's: the peer must not depend on a user's virtualenv
REBUILD_REPS=3
LIMIT=50

# Target: the filtered query, in microseconds.
TARGET_QUERY_US=100000

# The queries: name, filter, sort. Q_MAIN carries the target; the others are informational.
Q_NAMES=(main sorted ortree latest)
declare -A Q_FILTER=(
    [main]="metrics.acc > 0.5 and params.model = 'lr'"
    [sorted]="metrics.acc > 0.5 and params.model = 'lr'"
    [ortree]="(params.model = 'lr' or params.model = 'svm') and (metrics.acc > 0.9 or metrics.f1 < 0.05) and params.epochs >= 50"
    [latest]=""
)
declare -A Q_SORT=([main]="" [sorted]="metrics.acc desc" [ortree]="" [latest]="")
declare -A Q_TITLE=(
    [main]="filter acc > 0.5 and model = lr"
    [sorted]="same, --sort metrics.acc desc"
    [ortree]="filter with or and parentheses"
    [latest]="no filter (newest 50)"
)

# mlo's own git calls in the check project must not pick up the user's configuration, and commits
# need an identity on a fresh machine.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
# No automatic gc or maintenance: a commit of 20,000 loose objects would start `git gc --auto` in the
# background, in the middle of the timings.
export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0
export GIT_CONFIG_KEY_1=maintenance.auto GIT_CONFIG_VALUE_1=false
export GIT_AUTHOR_NAME=mlo-bench GIT_AUTHOR_EMAIL=mlo-bench@example.invalid
export GIT_COMMITTER_NAME=mlo-bench GIT_COMMITTER_EMAIL=mlo-bench@example.invalid

WORK=""         # the temporary work directory, set by make_workdir
declare -A T    # measured figures: wall times in microseconds
SUMMARY=()      # summary table rows, tab-separated

# ---------------------------------------------------------------------------------------------
# Helpers of this script (the shared ones are in lib.sh)

trap cleanup EXIT
trap 'exit 130' INT TERM # run the EXIT trap (cleanup) on Ctrl-C too

fmt_ratio() { # fmt_ratio A B: A/B, with three decimals below 1 (mlo is often far below its peer)
    if (($2 == 0)); then echo 0x; return; fi
    local r=$((($1 * 1000 + $2 / 2) / $2))
    if ((r < 1000)); then printf '0.%03dx' "$r"; else fmt_x "$(ratio_x100 "$1" "$2")"; fi
}

# ---------------------------------------------------------------------------------------------
# Setup

check_settings() {
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
    [[ $NPARAMS =~ ^[0-9]+$ && $NPARAMS -ge 3 ]] || die "BENCH_RUN_PARAMS must be an integer >= 3, not '$NPARAMS'"
    [[ $NMETRICS =~ ^[0-9]+$ && $NMETRICS -ge 3 ]] || die "BENCH_RUN_METRICS must be an integer >= 3, not '$NMETRICS'"
    [[ $QUERY_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_QUERY_REPS must be a positive integer, not '$QUERY_REPS'"
    [[ $PEER_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PEER_REPS must be a positive integer, not '$PEER_REPS'"
}

# The binary is checked before anything is installed or generated, so a missing build fails at once.
check_mlo() {
    if [[ $MLO != */* ]]; then # a bare name: look it up on PATH
        local found
        found=$(command -v "$MLO") || die "mlo binary '$MLO' not found on PATH"
        MLO=$found
    fi
    if [[ ! -x $MLO ]]; then
        die "mlo binary not found at $MLO
  build it first:  cmake --preset release && cmake --build --preset release
  or point MLO at a built binary:  MLO=/path/to/mlo $0"
    fi
    MLO=$(realpath "$MLO") # the script changes directories
    "$MLO" --version >/dev/null 2>&1 || die "'$MLO --version' failed: is it a working mlo binary?"
    "$MLO" runs --help >/dev/null 2>&1 || die "'$MLO' has no 'runs' command: is the build up to date?"
}

# Installs what is missing, from Debian only: git (mlo init and train in the check project) and
# python3 (the generator and the peer; Debian's /usr/bin/python3, standard library only).
install_tools() {
    local missing=() apt_sudo=()
    command -v git >/dev/null 2>&1 || missing+=(git)
    [[ -x $PYTHON ]] || missing+=(python3)
    ((${#missing[@]} > 0)) || return 0
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing tools (${missing[*]}) and not root: install them with apt-get"
        apt_sudo=(sudo)
    fi
    echo "installing from Debian: ${missing[*]}" >&2
    "${apt_sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends \
        "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

make_workdir() {
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/runs.XXXXXX")
    mkdir -p "$WORK/logs"
}

print_environment() {
    section "environment"
    note "  mlo:        $MLO ($("$MLO" --version 2>&1 | head -n 1))"
    note "  python:     $PYTHON ($("$PYTHON" --version 2>&1))"
    note "  cpu:        $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    note "  work dir:   $WORK ($(stat -f -c %T "$WORK") filesystem)"
    note "  runs:       $RUNS runs, $NPARAMS params and $NMETRICS metrics each"
}

# ---------------------------------------------------------------------------------------------
# The run generator. `encode` is the whole format question: mlo stores a run as
# RunRecord::canonical(), i.e. nlohmann::json::dump() of to_json() — objects with sorted keys (to_json
# builds nlohmann's default std::map-backed objects), no whitespace, UTF-8 unescaped, doubles in the
# shortest form that reads back exactly. Python's json.dumps(sort_keys=True, separators=(",", ":"),
# ensure_ascii=False) writes the same bytes: its float repr is also shortest-round-trip, with the
# same switch to exponent notation below 1e-4. (One known difference: nlohmann writes doubles
# from 1e15 up to 1e16 as "1e+15", Python as "1000000000000000.0"; the generator writes no such
# number: metrics are in [0, 1), params are strings, times are integers, and generate() checks it.)
# The `check` mode verifies all this on real runs recorded by `mlo train` (re-encode each record,
# compare the SHA-256 with the one its ref names) before any run is generated: exit 1 if not.
# shellcheck disable=SC2016 # python code
GEN_RUNS_PY='
import hashlib, json, os, random, sys, time

def encode(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

def floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from floats(item)
    elif isinstance(value, list):
        for item in value:
            yield from floats(item)

def store(mlo_dir, data):
    """Stores bytes as mlo does: .mlo/objects/sha256/<2>/<62>, read-only; returns "sha256:<hex>"."""
    hexid = hashlib.sha256(data).hexdigest()
    folder = os.path.join(mlo_dir, "objects", "sha256", hexid[:2])
    path = os.path.join(folder, hexid[2:])
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o444)
        os.rename(tmp, path)
    return "sha256:" + hexid

PARAM_KEYS = ["model", "lr", "epochs", "batch_size", "seed", "optimizer", "dropout", "max_depth",
              "n_estimators", "C", "kernel", "gamma", "l2", "momentum", "warmup_steps", "scheduler",
              "layers", "hidden_size", "activation", "data_version"]
METRIC_KEYS = ["acc", "loss", "f1", "precision", "recall", "auc", "val_acc", "val_loss", "val_f1",
               "val_auc", "test_acc", "test_loss", "test_f1", "test_auc", "log_loss", "brier",
               "mae", "rmse", "train_seconds", "predict_ms"]

def make_params(rng, n):
    choices = {
        "model": lambda: rng.choice(["lr", "rf", "svm", "xgb"]),
        "lr": lambda: rng.choice(["0.1", "0.03", "0.01", "0.003", "0.001", "0.0001"]),
        "epochs": lambda: str(rng.randint(1, 100)),
        "batch_size": lambda: rng.choice(["16", "32", "64", "128", "256"]),
        "seed": lambda: str(rng.randint(0, 2**31 - 1)),
        "optimizer": lambda: rng.choice(["adam", "sgd", "rmsprop", "adamw"]),
        "dropout": lambda: rng.choice(["0", "0.1", "0.2", "0.3", "0.5"]),
        "max_depth": lambda: str(rng.randint(2, 32)),
        "n_estimators": lambda: str(rng.choice([50, 100, 200, 400, 800])),
        "C": lambda: rng.choice(["0.01", "0.1", "1", "10", "100"]),
        "kernel": lambda: rng.choice(["linear", "rbf", "poly"]),
        "gamma": lambda: rng.choice(["scale", "auto", "0.01", "0.1"]),
        "l2": lambda: rng.choice(["0", "1e-05", "0.0001", "0.001"]),
        "momentum": lambda: rng.choice(["0", "0.9", "0.99"]),
        "warmup_steps": lambda: str(rng.choice([0, 100, 500, 1000])),
        "scheduler": lambda: rng.choice(["none", "cosine", "step", "linear"]),
        "layers": lambda: str(rng.randint(1, 8)),
        "hidden_size": lambda: rng.choice(["64", "128", "256", "512"]),
        "activation": lambda: rng.choice(["relu", "gelu", "tanh"]),
        "data_version": lambda: "v%d" % rng.randint(1, 5),
    }
    keys = PARAM_KEYS[:n] + ["p%02d" % i for i in range(len(PARAM_KEYS), n)]
    return {k: choices[k]() if k in choices else "%.4g" % rng.random() for k in keys}

def make_metrics(rng, n):
    keys = METRIC_KEYS[:n] + ["m%02d" % i for i in range(len(METRIC_KEYS), n)]
    return {k: round(rng.random(), 6) for k in keys}

def make_run(rng, run_id, started_ns, nparams, nmetrics):
    """A run record with every field of RunRecord::to_json (no stages: see the README)."""
    params = make_params(rng, nparams)
    dirty = rng.random() < 0.2
    overrides = ["model=" + params["model"]] if rng.random() < 0.3 else []
    return {
        "schema": "mlo.run/1",
        "id": run_id,
        "status": rng.choices(["FINISHED", "FAILED", "KILLED"], [95, 4, 1])[0],
        "started_ns": started_ns,
        "ended_ns": started_ns + rng.randint(5, 3600) * 1_000_000_000 + rng.randint(0, 999_999_999),
        "git": {"commit": "%040x" % rng.getrandbits(160), "branch": "main", "dirty": dirty,
                "diff_hash": ("sha256:%064x" % rng.getrandbits(256)) if dirty else ""},
        "params": params,
        "overrides": overrides,
        "params_file": None,
        "metrics": make_metrics(rng, nmetrics),
        "step_metrics": [],
        "tags": {},
        "stages": [],
        "environment": {},
        "rerun_of": "",
    }

def check(mlo_dir):
    """Re-encodes every run mlo recorded and compares the result with the bytes mlo wrote; also
    compares the field names with the ones make_run writes."""
    refs = os.path.join(mlo_dir, "refs", "runs")
    ids = sorted(os.listdir(refs))
    if not ids:
        sys.exit("no run recorded")
    sample = make_run(random.Random(1), "x", 0, 3, 3)
    for run_id in ids:
        with open(os.path.join(refs, run_id)) as f:
            ref = f.read()
        if not ref.startswith("sha256:") or not ref.endswith("\n"):
            sys.exit("%s: unexpected ref format %r" % (run_id, ref))
        hexid = ref.strip()[len("sha256:"):]
        with open(os.path.join(mlo_dir, "objects", "sha256", hexid[:2], hexid[2:]), "rb") as f:
            data = f.read()
        doc = json.loads(data)
        again = encode(doc)
        if hashlib.sha256(again).hexdigest() != hexid:
            sys.exit("%s: json.dumps does not reproduce the bytes mlo wrote\n mlo: %s\n py:  %s"
                     % (run_id, data[:300], again[:300]))
        if sorted(doc) != sorted(sample) or sorted(doc["git"]) != sorted(sample["git"]):
            sys.exit("%s: fields differ from the generated ones: mlo %s, generator %s"
                     % (run_id, sorted(doc), sorted(sample)))
        print("%s: %d bytes, sha256 of json.dumps = ref (%s...)" % (run_id, len(data), hexid[:16]))

def generate(mlo_dir, count, nparams, nmetrics):
    rng = random.Random(20240603)
    refs = os.path.join(mlo_dir, "refs", "runs")
    os.makedirs(refs, exist_ok=True)
    t = 1735689600  # 2025-01-01 00:00:00 UTC; one run every 1-60 s, so ids are unique
    total = 0
    for _ in range(count):
        t += rng.randint(1, 60)
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t)) + "-%04x" % rng.getrandbits(16)
        doc = make_run(rng, run_id, t * 1_000_000_000 + rng.randint(0, 999_999_999), nparams, nmetrics)
        if any(1e15 <= abs(x) < 1e16 for x in floats(doc)):
            sys.exit("%s: a double that json.dumps writes differently from nlohmann" % run_id)
        data = encode(doc)
        total += len(data)
        object_id = store(mlo_dir, data)
        with open(os.path.join(refs, run_id), "w") as f:
            f.write(object_id + "\n")
    print("%d runs, %d bytes of records (%d per run)" % (count, total, total // count))

if sys.argv[1] == "check":
    check(sys.argv[2])
else:
    generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
'

# The peer. A file-store MLflow answers search_runs by reading every run from disk (FileStore opens
# each run's meta.yaml and one file per param and per metric), then filtering and sorting in Python.
# This script does the same over mlo's files: every ref, every record (two files per run, where
# MLflow's layout needs 41 at 20 params and 20 metrics, so this is a lower bound for MLflow), then
# the filter, the order (mlo's: newest first, or by the key with runs lacking it last, then newest
# first), the limit, and a table like mlo's. The filters are the benchmark's queries written in
# Python, with mlo's semantics (a param compared with a number is compared numerically, and only
# when it is a number).
# shellcheck disable=SC2016 # python code
QUERY_PY='
import json, os, sys, time

def num(value):
    try:
        return float(value)
    except ValueError:
        return None

def ge(value, bound):
    n = None if value is None else num(value)
    return n is not None and n >= bound

FILTERS = {
    "main": lambda p, m: m.get("acc", -1) > 0.5 and p.get("model") == "lr",
    "sorted": lambda p, m: m.get("acc", -1) > 0.5 and p.get("model") == "lr",
    "ortree": lambda p, m: (p.get("model") == "lr" or p.get("model") == "svm")
        and (m.get("acc", -1) > 0.9 or ("f1" in m and m["f1"] < 0.05))
        and ge(p.get("epochs"), 50),
    "latest": lambda p, m: True,
}

mlo_dir, query, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
refs = os.path.join(mlo_dir, "refs", "runs")
runs = []
for run_id in os.listdir(refs):
    with open(os.path.join(refs, run_id)) as f:
        hexid = f.read().strip()[len("sha256:"):]
    with open(os.path.join(mlo_dir, "objects", "sha256", hexid[:2], hexid[2:]), "rb") as f:
        runs.append(json.loads(f.read()))
keep = FILTERS[query]
hits = [r for r in runs if keep(r["params"], r["metrics"])]
hits.sort(key=lambda r: (r["started_ns"], r["id"]), reverse=True)
if query == "sorted":  # metrics.acc desc, runs without acc last (stable: newest first among ties)
    hits.sort(key=lambda r: (0, -r["metrics"]["acc"]) if "acc" in r["metrics"] else (1, 0))
hits = hits[:limit]
columns = sorted({k for r in hits for k in r["metrics"]})[:6]
print("\t".join(["id", "status", "started", "duration", "commit"] + ["metrics." + c for c in columns]))
for r in hits:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started_ns"] // 10**9))
    cells = [r["id"], r["status"], started, "%.1fs" % ((r["ended_ns"] - r["started_ns"]) / 1e9),
             r["git"]["commit"][:8] + ("+" if r["git"]["dirty"] else "")]
    print("\t".join(cells + ["%g" % r["metrics"][c] if c in r["metrics"] else "" for c in columns]))
'

# ---------------------------------------------------------------------------------------------
# The format check: real runs recorded by `mlo train`, with params (one overridden with -S, which
# also makes the tree dirty), metrics that stress number formatting, step metrics, logs and stages.

check_format() {
    section "format check: runs recorded by mlo train, re-encoded by the generator"
    local proj=$WORK/check log=$WORK/logs/check-setup.log
    mkdir -p "$proj"
    (
        cd "$proj"
        "$MLO" init
        printf 'model: lr\nlr: 0.01\nepochs: 10\nbatch_size: 64\ndropout: 0.1\nname: "caf\xc3\xa9 run"\n' >params.yaml
        cat >>mlo.yaml <<'EOF'

pipeline:
  train:
    cmd: >-
      echo "training ${model} for ${epochs} epochs" &&
      printf '{"step": 1, "loss": 0.5}\n{"step": 2, "loss": 0.25}\n' >>"$MLO_METRICS" &&
      printf '{"acc": 0.8125, "loss": 0.1, "f1": 0.3333333333333333, "big": 12345678.9,
      "tiny": 1e-07, "small": 0.0001, "whole": 3, "huge": 1e+16, "wide": 999999999999999.9}\n' >metrics.json
    params: [lr]
    metrics: [metrics.json]
EOF
        git add -A && git commit -q -m "check project"
        "$MLO" train
        "$MLO" train -S epochs=20
    ) >>"$log" 2>&1 || die "recording runs with mlo train failed" "$log"
    "$PYTHON" -c "$GEN_RUNS_PY" check "$proj/.mlo" >"$WORK/logs/check.log" 2>&1 ||
        die "the generator's encoding does not match mlo's run records" "$WORK/logs/check.log"
    sed 's/^/  /' "$WORK/logs/check.log"
    note "  the generator writes mlo's canonical bytes: json.dumps(sort_keys=True, separators=(',', ':'))"
    rmtree "$proj"
}

generate_runs() {
    section "generating $RUNS runs"
    local proj=$WORK/runs log=$WORK/logs/generate.log t0
    mkdir -p "$proj"
    (cd "$proj" && "$MLO" init) >>"$log" 2>&1 || die "mlo init failed" "$log"
    t0=${EPOCHREALTIME/./}
    "$PYTHON" -c "$GEN_RUNS_PY" generate "$proj/.mlo" "$RUNS" "$NPARAMS" "$NMETRICS" >>"$log" 2>&1 ||
        die "generating the runs failed" "$log"
    note "  $(tail -n 1 "$log") in $(fmt_t $((${EPOCHREALTIME/./} - t0)))"
    sync
    # mlo's own consistency check reads every object and verifies its hash against its name.
    (cd "$proj" && "$MLO" fsck) >>"$log" 2>&1 || die "mlo fsck rejects the generated runs" "$log"
    note "  mlo fsck: $(tail -n 1 "$log")"
}

# ---------------------------------------------------------------------------------------------
# Figures

mlo_query() { # mlo_query NAME [extra mlo options...]: runs `mlo [opts] runs list` with query NAME
    local name=$1
    shift
    local args=(runs list --limit "$LIMIT")
    [[ -z ${Q_FILTER[$name]} ]] || args+=(--filter "${Q_FILTER[$name]}")
    [[ -z ${Q_SORT[$name]} ]] || args+=(--sort "${Q_SORT[$name]}")
    "$MLO" "$@" "${args[@]}"
}
peer_query() { "$PYTHON" -c "$QUERY_PY" .mlo "$1" "$LIMIT"; }

bench_rebuild() {
    section "index rebuild: first mlo runs list --limit 1 after deleting .mlo/index.db; best of $REBUILD_REPS"
    local proj=$WORK/runs i best=0
    for ((i = 0; i < REBUILD_REPS; i++)); do
        rm -f "$proj/.mlo/index.db" "$proj/.mlo/index.db-wal" "$proj/.mlo/index.db-shm"
        sync
        timed rebuild "$proj" "$MLO" runs list --limit 1
        if ((best == 0 || LAST_US < best)); then best=$LAST_US; fi
    done
    T[rebuild]=$best
    # Every generated record must have made it into the index (the rebuild skips records it cannot
    # parse, so a wrong format would show here as missing runs, not as an error).
    local count
    count=$(cd "$proj" && "$MLO" --json runs list | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)["runs"]))') ||
        die "mlo --json runs list failed"
    ((count == RUNS)) || die "the index holds $count runs, $RUNS were generated"
    note "$(printf '  %-34s %12s   (%d runs indexed; information)' "index rebuild" "$(fmt_t "$best")" "$count")"
}

# The mlo answer and the peer's must be the same runs in the same order, or the comparison is moot.
same_answer() { # same_answer NAME
    local proj=$WORK/runs mine theirs
    mine=$(cd "$proj" && mlo_query "$1" --json |
        "$PYTHON" -c 'import json, sys; print("\n".join(r["id"] for r in json.load(sys.stdin)["runs"]))') ||
        die "mlo --json runs list failed for query '$1'"
    theirs=$(cd "$proj" && peer_query "$1" | tail -n +2 | cut -f 1) || die "the peer query '$1' failed"
    [[ $mine == "$theirs" ]] ||
        die "mlo and the Python peer disagree on query '$1' ($(grep -c . <<<"$mine") vs $(grep -c . <<<"$theirs") runs)"
    grep -c . <<<"$mine" || true
}

bench_queries() {
    section "queries over $RUNS runs, --limit $LIMIT: mlo best of $QUERY_REPS, Python peer best of $PEER_REPS"
    local proj=$WORK/runs name rows
    for name in "${Q_NAMES[@]}"; do
        rows=$(same_answer "$name")
        best_of "$QUERY_REPS" "query-$name" "$proj" mlo_query "$name"
        T[q_$name]=$BEST_US
        best_of "$PEER_REPS" "peer-$name" "$proj" peer_query "$name"
        T[p_$name]=$BEST_US
        local line
        line=$(printf '  %-34s %12s   python %10s   %7s (python %s slower)' "${Q_TITLE[$name]}" \
            "$(fmt_t "${T[q_$name]}")" "$(fmt_t "${T[p_$name]}")" "$(fmt_ratio "${T[q_$name]}" "${T[p_$name]}")" \
            "$(fmt_x "$(ratio_x100 "${T[p_$name]}" "${T[q_$name]}")")")
        [[ $name != main ]] || line+="   (target <= $(fmt_ms $TARGET_QUERY_US): $(verdict_abs "${T[q_$name]}" $TARGET_QUERY_US))"
        note "$line"
        note "      $rows rows, same as the peer's; filter: ${Q_FILTER[$name]:-(none)}${Q_SORT[$name]:+; sort: ${Q_SORT[$name]}}"
    done
}

# ---------------------------------------------------------------------------------------------
# Summary: one row per comparison; ratio is always mlo / peer. Rows without a target are context.

summary() {
    add_row "index rebuild, $RUNS runs" "$(fmt_t "${T[rebuild]}")" - - - -
    local name target verdict
    for name in "${Q_NAMES[@]}"; do
        target=- verdict=-
        if [[ $name == main ]]; then
            target="<= $(fmt_ms $TARGET_QUERY_US)"
            verdict=$(verdict_abs "${T[q_$name]}" $TARGET_QUERY_US)
        fi
        add_row "query: ${Q_TITLE[$name]}" "$(fmt_t "${T[q_$name]}")" "$(fmt_t "${T[p_$name]}")" \
            "$(fmt_ratio "${T[q_$name]}" "${T[p_$name]}")" "$target" "$verdict"
    done

    section "summary (ratio = mlo / peer; peer = Python loading every run from disk)"
    local fmt='  %-46s %12s %12s %8s %11s %6s\n' row pass=0 miss=0
    # shellcheck disable=SC2059 # the format is ours
    printf "$fmt" figure mlo peer ratio target result
    # shellcheck disable=SC2059
    printf "$fmt" "$(printf '%.0s-' {1..46})" ------------ ------------ -------- ----------- ------
    for row in "${SUMMARY[@]}"; do
        local -a f
        IFS=$'\t' read -r -a f <<<"$row"
        # shellcheck disable=SC2059
        printf "$fmt" "${f[@]:0:6}"
        case ${f[5]} in PASS) pass=$((pass + 1)) ;; MISS) miss=$((miss + 1)) ;; esac
    done
    note ""
    note "targets: $pass PASS, $miss MISS (missed targets are reported, not failed)"
}

main() {
    check_settings
    check_mlo
    install_tools
    make_workdir
    print_environment
    check_format
    generate_runs
    bench_rebuild
    bench_queries
    summary
}

main "$@"
