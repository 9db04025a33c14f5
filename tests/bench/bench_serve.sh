#!/usr/bin/env bash
# Model serving benchmarks: `mlo serve` against a FastAPI + uvicorn server (the stack MLflow's
# scoring server uses) and against calling the worker processes directly, under wrk at concurrency
# 1, 16 and 64.
#
# Two models, registered with mlo in a fresh project (git init, `mlo init`, `models:` with a
# signature and a `serve:` section, `mlo register`):
#   echo  one double input x, one double output y = x. Its worker is five lines on mlo_worker (the
#         helper mlo puts on PYTHONPATH): serve(lambda inputs: {"y": inputs["x"]}).
#   clf   a scikit-learn LogisticRegression trained here on 4,000 synthetic rows of 8 float
#         features f0..f7 (Debian's python3-sklearn), pickled; output label (int64). Its worker
#         unpickles it and answers model.predict(rows(inputs, names)).
# Every server runs 2 workers (BENCH_WORKERS): `mlo serve` with `workers: 2`, uvicorn with
# `--workers 2`. The FastAPI apps do the same work as the workers: POST /invocations takes MLflow's
# {"inputs": {COLUMN: [...]}} and answers {"predictions": [...]}, read with json.loads from the raw
# body, with no schema check (mlo checks every request against the signature) and no access log
# (mlo appends every request to its request log, the default): the peer does less than mlo. uvicorn
# runs twice. "fast": with uvloop and httptools (Debian's python3-uvloop and python3-httptools, what
# `uvicorn[standard]` installs), its fastest setup; the echo target is judged against this one.
# "plain", for information: as Debian's python3-uvicorn 0.17 comes without those packages (asyncio's
# event loop, h11). With --workers 2 that setup does not set TCP_NODELAY on its connections and
# writes each response in two send() calls (headers, body), so with a keep-alive client every
# answer waits for the client's delayed ACK, about 40 ms (with --workers 1 it does set it): its
# figures measure that stall, not Python's speed, and a ratio against them says little about mlo.
#
# Load: wrk (Debian's) with a Lua script posting the same JSON body (one row) to /invocations of
# each server, closed loop: concurrency C = C connections (1 thread at C=1, 2 otherwise), each
# sending its next request when the answer arrives, BENCH_SECONDS (5) per load point, run
# BENCH_RUNS times (1) with the run of the most requests/s kept, for every server alike. Latencies
# are what the requests took: wrk's `done` hook reads its histogram and undoes the coordinated-
# omission correction wrk applies to it (see write_lua), so they can be set beside the direct
# driver's; wrk's corrected p99 is printed too, for information. wrk shares the 2 cores with the
# server under test, as it does for every server.
#
# "Calling the worker directly" (the gateway overhead): the same worker.py, the same number of
# worker processes, the same mlo_worker.py (copied from the directory `mlo serve` materialised),
# driven by a small C program compiled here (direct.c below): it writes protocol lines
# {"id":"cN","inputs":{"x":[1.5]}} to the workers' stdin and reads their answers from stdout,
# keeping C requests in flight like wrk's C connections (closed loop), each new request going to
# the worker with the fewest outstanding (mlo's own dispatch rule), and times every request from
# its write to the arrival of its answer. That is everything a request costs without the gateway;
# with it, wrk's figure adds the TCP round trip, HTTP parsing, JSON parsing and signature
# validation, mlo's worker pool thread and pipes, the response, the request log line, and the CPU
# all of that takes from the workers on a 2-core machine. The overhead figure is
# p99(mlo serve, via wrk, C=16) - p99(direct, C=16), both measured the same way (each request from
# its write to its answer, closed loop, the same percentile rule as wrk's). A compiled driver is
# used rather than a Python one because a Python driver would itself be the slowest part and make
# "direct" look slower than it is, flattering mlo. For information, /metrics gives mlo's own split (mean duration, time
# queued in mlo, and "compute", which runs from the write to the worker until its answer and so
# includes the time a request waits in the worker's stdin pipe).
#
# Dynamic batching: clf served with `batch: {max_size: 1}` (off) and then with
# `batch: {max_size: 64, max_delay_ms: 2}` (mlo.yaml changed between the runs, same workers), wrk
# with one-row requests; the batch sizes mlo reports in /metrics are printed to show it batched.
#
# The ceiling, for information: a fixed-answer HTTP server compiled here (ceiling.c below, epoll,
# one thread per core, SO_REUSEPORT) that reads each request up to the end of its body and writes
# the same 21-byte JSON answer, with no parsing beyond Content-Length, no worker, no log. It is the
# most requests/s any server can answer on this machine under the same wrk load (wrk shares the
# cores), and so bounds every requests/s ratio above: a target above ceiling / FastAPI cannot be
# met by any gateway that also passes the request to a worker process.
#
# Before any timing, one request to each server must return the expected prediction (echo: the
# input; clf: the labels the training script computed for two rows, one of each class).
#
# Targets (issue 5, on this 2-core machine): the gateway adds at most 1 ms at p99 at concurrency 16
# over calling the worker directly; requests/s at concurrency 16 at least 5x the FastAPI server's
# for the echo model (against the "fast" uvicorn setup); for clf, dynamic batching gives at least
# 3x the requests/s of batching off (at concurrency 64).
#
# It prints every figure and a summary table with the targets. It is a report, not a test: missed
# targets still exit 0; only a failing step (a server that does not start, a wrong prediction, a
# missing mlo binary) exits non-zero. Requests that failed under load (wrk's non-2xx, socket
# errors and timeouts) are printed with each figure and listed at the end. Not run by ctest or CI;
# see tests/bench/README.md.
#
# Environment:
#   MLO                 path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR           where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_SECONDS       duration of each load point, seconds (default 5)
#   BENCH_RUNS          runs of each load point, the one with the most requests/s kept (default 1)
#   BENCH_WORKERS       worker processes of every server (default 2)
#   BENCH_KEEP=1        keep the work directory (project, apps, logs) instead of deleting it
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # decimal point in EPOCHREALTIME and in wrk's output, untranslated tool output

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
SECONDS_PER_POINT=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-1}
WORKERS=${BENCH_WORKERS:-2}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}
PYTHON=/usr/bin/python3 # Debian's, with Debian's scikit-learn, FastAPI and uvicorn
CONCURRENCY=(1 16 64)
FEATURES=8
TRAIN_ROWS=4000
BATCH_MAX=64
BATCH_DELAY_MS=2
DEBIAN_PACKAGES=(git curl gcc libc6-dev python3 python3-sklearn python3-fastapi python3-uvicorn
    python3-uvloop python3-httptools wrk)

# Targets: microseconds added at p99, and ratios x100.
TARGET_OVERHEAD_US=1000
TARGET_ECHO_X100=500
TARGET_BATCH_X100=300

# mlo's own git calls must not pick up the user's configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0
export GIT_CONFIG_KEY_1=maintenance.auto GIT_CONFIG_VALUE_1=false
export GIT_AUTHOR_NAME=mlo-bench GIT_AUTHOR_EMAIL=mlo-bench@example.invalid
export GIT_COMMITTER_NAME=mlo-bench GIT_COMMITTER_EMAIL=mlo-bench@example.invalid
export NO_COLOR=1
# The servers' Python must not pick up a user's packages or a stray PYTHONPATH.
unset PYTHONPATH PYTHONHOME
export PYTHONNOUSERSITE=1

WORK=""          # the temporary work directory, set by make_workdir
PROJ=""          # the mlo project, $WORK/project
declare -A T     # figures: R[...] requests/s, T[...] microseconds
declare -A R
SUMMARY=()       # summary table rows, tab-separated
WARNINGS=()      # failed requests under load, unclean server exits
SERVER_PID=""    # the server being measured (mlo serve or uvicorn's master)
SERVER_NAME=""
PORT=0
ECHO_BODY='{"inputs": {"x": [1.5]}}'
CLF_BODY=""      # one row, written by the training script
CLF_CHECK=""     # two rows, one of each class
CLF_EXPECT=""    # their labels, as JSON

# ---------------------------------------------------------------------------------------------
# Helpers of this script (the shared ones are in lib.sh)

on_exit() {
    local rc=$?
    set +e
    stop_server quiet
    (exit "$rc")
    cleanup # lib.sh: removes the work directory (unless BENCH_KEEP=1) and exits with rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM # run the EXIT trap on Ctrl-C too

fmt_rps() { printf '%d/s' "$1"; }
fmt_delta() { # fmt_delta US: a signed difference in ms
    if (($1 < 0)); then printf -- '-%s' "$(fmt_ms $((-$1)))"; else printf '+%s' "$(fmt_ms "$1")"; fi
}
verdict_min() { if (($1 >= $2)); then echo PASS; else echo MISS; fi; } # verdict_min X100 TARGET_X100

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# stop_server [quiet]: SIGTERM to the server being measured, SIGKILL after 20 s. mlo serve drains
# and stops its workers; uvicorn's master stops its worker processes. An exit status other than 0
# (mlo) or 0/143 is a warning.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID rc=0 deadline=$((SECONDS + 20))
    SERVER_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        WARNINGS+=("$SERVER_NAME did not stop within 20 s of SIGTERM; killed")
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    if [[ ${1:-} != quiet ]] && ((rc != 0 && rc != 143)); then
        WARNINGS+=("$SERVER_NAME exited with status $rc after SIGTERM (see logs/$SERVER_NAME.err)")
        note "  warning: $SERVER_NAME exited with status $rc after SIGTERM"
    fi
}

# wait_ready CHECK_CMD...: until CHECK_CMD succeeds (30 s at most) while the server is alive.
wait_ready() {
    local deadline=$((SECONDS + 60))
    until "$@" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || die "$SERVER_NAME exited before it was ready" "$WORK/logs/$SERVER_NAME.err"
        ((SECONDS < deadline)) || die "$SERVER_NAME was not ready within 60 s" "$WORK/logs/$SERVER_NAME.err"
        sleep 0.1
    done
}

# start_mlo MODEL: `mlo serve MODEL` on a free port, in the project; returns when it is ready
# (every worker answered mlo's warm-up request).
start_mlo() {
    SERVER_NAME=mlo-serve-$1-$2
    rm -f "$WORK/ready.json"
    (cd "$PROJ" && exec "$MLO" serve "$1" --port 0 --ready-file "$WORK/ready.json") \
        >"$WORK/logs/$SERVER_NAME.out" 2>"$WORK/logs/$SERVER_NAME.err" &
    SERVER_PID=$!
    wait_ready test -s "$WORK/ready.json"
    PORT=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/ready.json")
}

# The two uvicorn setups: its defaults without the optional packages (asyncio's event loop, h11),
# and with uvloop and httptools (what `uvicorn[standard]` installs and uvicorn then picks).
declare -A UVICORN_ARGS=([plain]="--loop asyncio --http h11" [fast]="--loop uvloop --http httptools")
declare -A UVICORN_TITLE=([plain]="asyncio, h11" [fast]="uvloop, httptools")

# start_fastapi APP FLAVOUR: uvicorn APP:app with WORKERS workers on a free port, set up as
# UVICORN_ARGS[FLAVOUR]; ready when /ping answers.
start_fastapi() {
    SERVER_NAME=fastapi-$2-${1%_app}
    PORT=$(free_port)
    local -a flavour
    read -r -a flavour <<<"${UVICORN_ARGS[$2]}"
    (cd "$WORK/apps" && exec "$PYTHON" -m uvicorn "$1:app" --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
        "${flavour[@]}" --no-access-log --log-level warning) \
        >"$WORK/logs/$SERVER_NAME.out" 2>"$WORK/logs/$SERVER_NAME.err" &
    SERVER_PID=$!
    wait_ready curl -sf "http://127.0.0.1:$PORT/ping"
    # uvicorn answers as soon as one worker process is up: give the other one time to import.
    sleep 2
}

# predict BODY: POSTs BODY to the server's /invocations and prints the answer (fails on non-2xx).
predict() {
    curl -sf -H 'Content-Type: application/json' --data-binary "$1" "http://127.0.0.1:$PORT/invocations"
}

# check_prediction WHAT BODY EXPECTED_JSON: the server's predictions must equal EXPECTED_JSON.
check_prediction() {
    local answer
    answer=$(predict "$2") || die "$SERVER_NAME: the check request failed: $(predict "$2" 2>&1 || true)" \
        "$WORK/logs/$SERVER_NAME.err"
    "$PYTHON" -c '
import json, sys
got = json.loads(sys.argv[1]).get("predictions")
want = json.loads(sys.argv[2])
sys.exit(0 if got == want else 1)' "$answer" "$3" || die "$SERVER_NAME: $1 answered $answer, expected predictions $3"
    note "  $SERVER_NAME: $1 -> $answer (expected)"
}

# load NAME C BODY_LUA: wrk at concurrency C against the server, RUNS times; sets R[NAME]=requests/s,
# T[NAME.p50], T[NAME.p99] (microseconds) of the run with the most requests/s (the one least
# disturbed by whatever else the machine was doing; every server gets the same treatment) and
# prints one line. Failed requests of any run are reported.
load() {
    local name=$1 c=$2 lua=$3 threads=2 run best=-1
    ((c > 1)) || threads=1
    local _ requests duration p50 p99 mean co_p99 recorded connect read write status timeout
    local b_p50 b_p99 b_mean b_co_p99 failed=0 failed_status=0 total=0
    local own0 below0 own1 below1 wrk_user wrk_sys hz
    hz=$(getconf CLK_TCK)
    for ((run = 1; run <= RUNS; run++)); do
        local log=$WORK/logs/wrk-$name-$run.log line
        read -r own0 below0 <<<"$(server_ticks)"
        /usr/bin/time -f '%U %S' -o "$log.cpu" wrk -t"$threads" -c"$c" -d"${SECONDS_PER_POINT}s" --timeout 10s \
            --latency -s "$lua" "http://127.0.0.1:$PORT/invocations" >"$log" 2>&1 ||
            die "wrk failed against $SERVER_NAME" "$log"
        read -r own1 below1 <<<"$(server_ticks)"
        read -r wrk_user wrk_sys <"$log.cpu"
        line=$(grep '^BENCH ' "$log") || die "wrk printed no result line" "$log"
        read -r _ requests duration p50 p99 mean co_p99 recorded connect read write status timeout <<<"$line"
        ((requests > 0)) || die "wrk completed no request against $SERVER_NAME" "$log"
        # Every completed request is one latency sample (timeouts aside): a check of the undoing.
        ((recorded + timeout == requests)) ||
            die "undoing wrk's latency correction gave $recorded samples for $requests requests" "$log"
        total=$((total + requests))
        failed=$((failed + connect + read + write + status + timeout))
        failed_status=$((failed_status + status))
        if ((requests * 1000000 / duration > best)); then
            best=$((requests * 1000000 / duration))
            b_p50=$p50 b_p99=$p99 b_mean=$mean b_co_p99=$co_p99
            # CPU per request (microseconds): wrk, the server process, the processes below it.
            T[$name.cpu_wrk]=$(awk -v u="$wrk_user" -v s="$wrk_sys" -v n="$requests" 'BEGIN { printf "%d", (u + s) * 1e6 / n }')
            T[$name.cpu_own]=$(((own1 - own0) * 1000000 / hz / requests))
            T[$name.cpu_below]=$(((below1 - below0) * 1000000 / hz / requests))
        fi
    done
    R[$name]=$best
    T[$name.p50]=$b_p50
    T[$name.p99]=$b_p99
    local extra=""
    if ((failed > 0)); then
        extra="   FAILED: $failed of $total requests over $RUNS run(s) ($failed_status non-2xx)"
        WARNINGS+=("$SERVER_NAME at concurrency $c: $failed of $total requests failed ($failed_status non-2xx)")
    fi
    note "$(printf '  %-30s c=%-3d %9s   p50 %10s   p99 %10s   mean %10s   (wrk corrected p99 %s)%s' "$SERVER_NAME" "$c" \
        "$(fmt_rps "$best")" "$(fmt_ms "$b_p50")" "$(fmt_ms "$b_p99")" "$(fmt_ms "$b_mean")" "$(fmt_ms "$b_co_p99")" "$extra")"
    note "$(printf '  %-30s        CPU per request: wrk %d us, server %d us + %d us in the processes below it' "" \
        "${T[$name.cpu_wrk]}" "${T[$name.cpu_own]}" "${T[$name.cpu_below]}")"
}

# server_ticks: CPU time (clock ticks, user + system) of the server under test so far, as
# "OWN DESCENDANTS": the process SERVER_PID itself (mlo's gateway, uvicorn's supervisor) and every
# process below it (mlo's workers, uvicorn's worker processes), read from /proc.
server_ticks() {
    "$PYTHON" - "$SERVER_PID" <<'EOF'
import os, sys
root = int(sys.argv[1])
parent, ticks = {}, {}
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        stat = open(f"/proc/{entry}/stat").read()
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    pid = int(entry)
    parent[pid] = int(fields[1])
    ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
def below(pid):
    while pid in parent and pid != root:
        pid = parent[pid]
    return pid == root
own = ticks.get(root, 0)
print(own, sum(t for pid, t in ticks.items() if pid != root and below(pid)))
EOF
}

# mlo_metrics LABEL: scrapes mlo's /metrics into logs/metrics-LABEL.txt and prints one line
# "requests duration_sum queue_sum compute_sum batch_rows_sum batch_count" (seconds, summed over
# every label set).
mlo_metrics() {
    local file=$WORK/logs/metrics-$1.txt
    curl -sf "http://127.0.0.1:$PORT/metrics" >"$file" || die "$SERVER_NAME: GET /metrics failed"
    "$PYTHON" - "$file" <<'EOF'
import sys
sums = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    name_labels, _, value = line.rpartition(" ")
    name = name_labels.split("{", 1)[0]
    sums[name] = sums.get(name, 0.0) + float(value)
g = lambda n: sums.get(n, 0.0)
print(int(g("mlo_request_duration_seconds_count")), g("mlo_request_duration_seconds_sum"),
      g("mlo_request_queue_seconds_sum"), g("mlo_request_compute_seconds_sum"),
      g("mlo_batch_size_rows_sum"), int(g("mlo_batch_size_rows_count")))
EOF
}

# metrics_delta BEFORE AFTER: mean per request between two mlo_metrics lines: duration, queue and
# compute in microseconds, and the mean rows per worker call.
metrics_delta() {
    "$PYTHON" - "$1" "$2" <<'EOF'
import sys
a = [float(v) for v in sys.argv[1].split()]
b = [float(v) for v in sys.argv[2].split()]
n = b[0] - a[0]
calls = b[5] - a[5]
us = lambda i: round((b[i] - a[i]) / n * 1e6) if n else 0
rows = (b[4] - a[4]) / calls if calls else 0
print(int(n), us(1), us(2), us(3), f"{rows:.1f}", int(calls))
EOF
}

# ---------------------------------------------------------------------------------------------
# Setup

check_settings() {
    [[ $SECONDS_PER_POINT =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a positive integer, not '$SECONDS_PER_POINT'"
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
    [[ $WORKERS =~ ^[1-9][0-9]*$ && $WORKERS -le 64 ]] || die "BENCH_WORKERS must be an integer from 1 to 64, not '$WORKERS'"
}

check_mlo() {
    if [[ $MLO != */* ]]; then
        local found
        found=$(command -v "$MLO") || die "mlo binary '$MLO' not found on PATH"
        MLO=$found
    fi
    if [[ ! -x $MLO ]]; then
        die "mlo binary not found at $MLO
  build it first:  cmake --preset release && cmake --build --preset release
  or point MLO at a built binary:  MLO=/path/to/mlo $0"
    fi
    MLO=$(realpath "$MLO")
    "$MLO" --version >/dev/null 2>&1 || die "'$MLO --version' failed: is it a working mlo binary?"
    "$MLO" serve --help >/dev/null 2>&1 || die "'$MLO' has no 'serve' command: is the build up to date?"
}

# Installs the Debian packages that are missing (dpkg's view), after an apt-get update.
install_tools() {
    local missing=() apt_sudo=() pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} > 0)) || return 0
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root: install them with apt-get"
        apt_sudo=(sudo)
    fi
    echo "installing from Debian: ${missing[*]}" >&2
    "${apt_sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends \
        "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

make_workdir() {
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/serve.XXXXXX")
    PROJ=$WORK/project
    mkdir -p "$WORK/logs" "$WORK/apps" "$WORK/lib" "$PROJ"
}

print_environment() {
    section "environment"
    note "  mlo:        $MLO ($("$MLO" --version 2>&1 | head -n 1))"
    note "  python:     $("$PYTHON" -c 'import sys, sklearn, fastapi, uvicorn, uvloop
print(sys.version.split()[0], "scikit-learn", sklearn.__version__, "fastapi", fastapi.__version__, "uvicorn", uvicorn.__version__, "uvloop", uvloop.__version__)')"
    note "  wrk:        $(wrk --version 2>&1 | head -n 1 | cut -c1-40)"
    note "  cpu:        $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    note "  load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
    note "  settings:   $WORKERS workers per server, ${SECONDS_PER_POINT} s per load point, best of $RUNS run(s), concurrency ${CONCURRENCY[*]}"
}

# The C load driver for "calling the worker directly" (see the header).
write_direct_driver() {
    cat >"$WORK/direct.c" <<'EOF'
/* direct C SECONDS WORKERS CMD: starts WORKERS copies of CMD (/bin/sh -c) speaking mlo's worker
 * protocol, waits for their ready lines, then for SECONDS keeps C requests in flight (closed loop:
 * an answer frees its slot for the next request, sent to the worker with the fewest outstanding)
 * and prints "DIRECT requests duration_us p50_us p99_us mean_us bad" (latency = write of the
 * request line to the arrival of its answer line). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct worker { pid_t pid; int in, out; char buf[1 << 16]; size_t len; int outstanding; };
struct slot { int64_t sent; int worker; int busy; };

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int cmp64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}
static void die(const char* what) { perror(what); exit(1); }
/* As wrk's stats_percentile: the first value whose cumulative count reaches round(p% * count + 0.5). */
static int64_t percentile(const int64_t* sorted, size_t count, double p) {
    size_t rank = (size_t)(p / 100 * (double)count + 1.0);
    if (rank < 1) rank = 1;
    if (rank > count) rank = count;
    return sorted[rank - 1];
}

static struct worker* W;
static struct slot* S;
static int nworkers, next_rr;

static void send_request(int s) {
    int best = -1;
    for (int k = 0; k < nworkers; ++k) { /* fewest outstanding, ties in turn */
        int w = (next_rr + k) % nworkers;
        if (best < 0 || W[w].outstanding < W[best].outstanding) best = w;
    }
    next_rr = (best + 1) % nworkers;
    char line[128];
    int n = snprintf(line, sizeof line, "{\"id\":\"c%d\",\"inputs\":{\"x\":[1.5]}}\n", s);
    S[s].sent = now_ns();
    S[s].worker = best;
    S[s].busy = 1;
    W[best].outstanding++;
    if (write(W[best].in, line, (size_t)n) != n) die("write to worker");
}

int main(int argc, char** argv) {
    if (argc != 5) { fprintf(stderr, "usage: direct C SECONDS WORKERS CMD\n"); return 2; }
    int c = atoi(argv[1]);
    double seconds = atof(argv[2]);
    nworkers = atoi(argv[3]);
    signal(SIGPIPE, SIG_IGN);
    W = calloc((size_t)nworkers, sizeof *W);
    S = calloc((size_t)c, sizeof *S);
    for (int w = 0; w < nworkers; ++w) {
        int to[2], from[2];
        if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) die("pipe");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            dup2(to[0], 0);
            dup2(from[1], 1);
            execl("/bin/sh", "sh", "-c", argv[4], (char*)NULL);
            _exit(127);
        }
        close(to[0]);
        close(from[1]);
        W[w].pid = pid;
        W[w].in = to[1];
        W[w].out = from[0];
    }
    struct pollfd* pfd = calloc((size_t)nworkers, sizeof *pfd);
    for (int w = 0; w < nworkers; ++w) { pfd[w].fd = W[w].out; pfd[w].events = POLLIN; }
    size_t cap = 1 << 20, count = 0;
    int64_t* lat = malloc(cap * sizeof *lat);
    long bad = 0;
    int ready = 0, measuring = 0, inflight = 0;
    int64_t start = 0, deadline = 0, end = 0;
    int64_t give_up = now_ns() + (int64_t)60e9;
    for (;;) {
        if (poll(pfd, (nfds_t)nworkers, 1000) < 0 && errno != EINTR) die("poll");
        int64_t t = now_ns();
        if (!measuring && t > give_up) { fprintf(stderr, "direct: workers not ready within 60 s\n"); return 1; }
        for (int w = 0; w < nworkers; ++w) {
            if (!(pfd[w].revents & (POLLIN | POLLHUP))) continue;
            ssize_t got = read(W[w].out, W[w].buf + W[w].len, sizeof W[w].buf - W[w].len);
            if (got <= 0) { fprintf(stderr, "direct: worker %d closed its stdout\n", w); return 1; }
            W[w].len += (size_t)got;
            char* p = W[w].buf;
            char* nl;
            while ((nl = memchr(p, '\n', (size_t)(W[w].buf + W[w].len - p)))) {
                *nl = 0;
                if (strstr(p, "\"ready\"")) {
                    ++ready;
                } else {
                    char* id = strstr(p, "\"id\": \"c");
                    int s = id ? atoi(id + 8) : -1;
                    if (s < 0 || s >= c || !S[s].busy || S[s].worker != w) {
                        fprintf(stderr, "direct: unexpected line: %s\n", p);
                        return 1;
                    }
                    if (!strstr(p, "\"outputs\": {\"y\": [1.5]}")) ++bad;
                    S[s].busy = 0;
                    W[w].outstanding--;
                    --inflight;
                    if (count == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
                    lat[count++] = t - S[s].sent;
                    if (t < deadline) { send_request(s); ++inflight; }
                }
                p = nl + 1;
            }
            W[w].len = (size_t)(W[w].buf + W[w].len - p);
            memmove(W[w].buf, p, W[w].len);
        }
        if (!measuring && ready == nworkers) {
            measuring = 1;
            start = now_ns();
            deadline = start + (int64_t)(seconds * 1e9);
            for (int s = 0; s < c; ++s) { send_request(s); ++inflight; }
        } else if (measuring && inflight == 0) {
            end = t;
            break;
        }
    }
    for (int w = 0; w < nworkers; ++w) close(W[w].in); /* EOF: mlo_worker.serve returns */
    for (int w = 0; w < nworkers; ++w) waitpid(W[w].pid, NULL, 0);
    for (size_t i = 0; i < count; ++i) lat[i] /= 1000; /* whole microseconds, as wrk records them */
    qsort(lat, count, sizeof *lat, cmp64);
    int64_t sum = 0;
    for (size_t i = 0; i < count; ++i) sum += lat[i];
    printf("DIRECT %zu %lld %lld %lld %lld %ld\n", count, (long long)((end - start) / 1000),
           (long long)percentile(lat, count, 50), (long long)percentile(lat, count, 99),
           (long long)((sum + (int64_t)count / 2) / (int64_t)count), bad);
    return 0;
}
EOF
    cc -O2 -Wall -o "$WORK/direct" "$WORK/direct.c" >"$WORK/logs/cc.log" 2>&1 || die "compiling direct.c failed" "$WORK/logs/cc.log"
}

# The fixed-answer server for the ceiling figure (see the header).
write_ceiling_server() {
    cat >"$WORK/ceiling.c" <<'EOF'
/* ceiling PORT THREADS: answers every HTTP/1.1 request on 127.0.0.1:PORT with the same 200 and a
 * 21-byte JSON body, keeping connections alive; THREADS epoll loops share the port (SO_REUSEPORT).
 * A request is read up to the end of its headers and Content-Length body, nothing else is parsed. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static const char answer[] = "HTTP/1.1 200 OK\r\nServer: ceiling\r\nContent-Type: application/json\r\n"
                             "Content-Length: 21\r\n\r\n{\"predictions\":[1.5]}";
struct conn { int fd; size_t have; char buf[16384]; };

static void *serve(void *unused) {
    (void)unused;
    int one = 1, listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(listener, (struct sockaddr *)&at, sizeof at) != 0 || listen(listener, 1024) != 0) { perror("ceiling"); exit(1); }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, events[128];
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    for (;;) {
        int n = epoll_wait(ep, events, 128, -1);
        for (int i = 0; i < n; ++i) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            ssize_t got = read(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have);
            if (got <= 0) { close(c->fd); free(c); continue; }
            c->have += (size_t)got;
            c->buf[c->have] = 0;
            for (;;) {
                char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
                if (end == NULL) break;
                size_t head = (size_t)(end + 4 - c->buf), body = 0;
                char *length = strcasestr(c->buf, "content-length:");
                if (length != NULL && length < end) body = strtoul(length + 15, NULL, 10);
                if (c->have < head + body) break;
                if (write(c->fd, answer, sizeof answer - 1) < 0) break;
                memmove(c->buf, c->buf + head + body, c->have - head - body);
                c->have -= head + body;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: ceiling PORT THREADS\n"); return 2; }
    port = atoi(argv[1]);
    int threads = atoi(argv[2]);
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; ++i) pthread_create(&t[i], NULL, serve, NULL);
    pthread_join(t[0], NULL);
    return 0;
}
EOF
    cc -O2 -Wall -pthread -o "$WORK/ceiling" "$WORK/ceiling.c" >"$WORK/logs/cc-ceiling.log" 2>&1 ||
        die "compiling ceiling.c failed" "$WORK/logs/cc-ceiling.log"
}

bench_ceiling() {
    local threads c
    threads=$(nproc)
    section "ceiling: a fixed-answer C server ($threads epoll threads, no worker, no parsing): wrk ${SECONDS_PER_POINT} s per point (information)"
    SERVER_NAME=ceiling
    PORT=$(free_port)
    "$WORK/ceiling" "$PORT" "$threads" >"$WORK/logs/ceiling.out" 2>&1 &
    SERVER_PID=$!
    wait_ready curl -sf -X POST -d '{}' "http://127.0.0.1:$PORT/invocations"
    for c in "${CONCURRENCY[@]}"; do
        load "ceiling_c$c" "$c" "$WORK/echo-c$c.lua"
    done
    stop_server
}

# wrk's Lua script for one load point: POST the body; when done, print the figures (microseconds).
# wrk applies a coordinated-omission correction to its latency histogram before it prints it or
# calls done (stats_correct in wrk's stats.c: for every sample n >= 2E it adds synthetic samples
# n-E, n-2E, ... down to E, with E = duration / (requests / connections)), so its percentiles are
# an estimate for a client sending at a fixed rate, not what the requests took. done() undoes that
# exactly, from the top of the histogram down (raw[m] = corrected[m] - sum of raw[m+kE], k >= 1, for
# m > E), and reports the measured p50, p99 and mean of the closed loop, the same quantity the
# direct driver measures; wrk's own corrected p99 is printed beside it, for information.
write_lua() { # write_lua FILE BODY CONNECTIONS
    cat >"$1" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$2]]
local connections = $3
done = function(summary, latency, requests)
    local e = summary.errors
    local lo, hi = latency.min, latency.max
    local corrected, raw, acc = {}, {}, {}
    for i = 1, #latency do -- latency(i): the i-th distinct value (microseconds) and its count
        local value, n = latency(i)
        corrected[value] = n
    end
    local per = math.floor(summary.requests / connections)
    local E = per > 0 and math.floor(summary.duration / per) or 0
    for m = hi, lo, -1 do
        local above = (E > 0 and m > E) and (acc[m + E] or 0) or 0
        raw[m] = (corrected[m] or 0) - above
        acc[m] = raw[m] + above
    end
    local count, sum = 0, 0
    for m = lo, hi do count = count + raw[m]; sum = sum + raw[m] * m end
    local function percentile(p) -- as wrk's stats_percentile, on the raw histogram
        local rank, total = math.floor(p / 100 * count + 0.5 + 0.5), 0
        for m = lo, hi do
            total = total + raw[m]
            if total >= rank then return m end
        end
        return hi
    end
    io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
        percentile(50), percentile(99), count > 0 and math.floor(sum / count + 0.5) or 0,
        latency:percentile(99), count, e.connect, e.read, e.write, e.status, e.timeout))
end
EOF
}

# The project: two models registered with mlo, their workers, and the same logic as FastAPI apps.
make_project() {
    section "setup: a project with models echo and clf, registered with mlo"
    local log=$WORK/logs/setup.log
    cd "$PROJ"
    {
        git init -q -b main
        git config user.name mlo-bench
        git config user.email mlo-bench@example.invalid
        "$MLO" -q init
    } >>"$log" 2>&1 || die "git init / mlo init failed" "$log"
    local i inputs=""
    for ((i = 0; i < FEATURES; i++)); do inputs+="        - {name: f$i, type: double}"$'\n'; done
    cat >>mlo.yaml <<EOF

models:
  echo:
    path: models/echo.json
    type: bench
    signature:
      inputs:
        - {name: x, type: double}
      outputs:
        - {name: y, type: double}
    serve:
      cmd: $PYTHON echo_worker.py
      workers: $WORKERS
  clf:
    path: models/model.pkl
    type: sklearn
    signature:
      inputs:
${inputs%$'\n'}
      outputs:
        - {name: label, type: int64}
    serve:
      cmd: $PYTHON clf_worker.py
      workers: $WORKERS
      batch: {max_size: 1}
EOF
    mkdir -p models
    echo "models/" >>.gitignore
    echo '{"echo": true}' >models/echo.json
    cat >echo_worker.py <<'EOF'
from mlo_worker import serve
serve(lambda inputs: {"y": inputs["x"]})
EOF
    cat >clf_worker.py <<EOF
import os, pickle
from mlo_worker import serve, rows
model = pickle.load(open(os.path.join(os.environ["MLO_MODEL_DIR"], "model.pkl"), "rb"))
names = [f"f{i}" for i in range($FEATURES)]
serve(lambda inputs: {"label": model.predict(rows(inputs, names)).tolist()})
EOF
    # Training: 4,000 rows of 8 features, a linear rule with noise. It writes the model, a one-row
    # request body for the load, and a two-row check request (one row of each class) with its labels.
    "$PYTHON" - "$PROJ/models/model.pkl" "$WORK" "$FEATURES" "$TRAIN_ROWS" >>"$log" 2>&1 <<'EOF' || die "training the scikit-learn model failed" "$log"
import json, pickle, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
path, work, features, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(7)
X = rng.normal(size=(n, features))
w = rng.normal(size=features)
y = (X @ w + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
model = LogisticRegression().fit(X, y)
print("training accuracy", model.score(X, y))
with open(path, "wb") as f:
    pickle.dump(model, f)
names = [f"f{i}" for i in range(features)]
labels = model.predict(X)
check = [int(np.argmax(labels == 0)), int(np.argmax(labels == 1))]
columns = lambda idx: {name: [round(float(X[i, j]), 6) for i in idx] for j, name in enumerate(names)}
rows = X[check].round(6)
expect = model.predict(rows).tolist()
assert sorted(expect) == [0, 1], expect
open(f"{work}/clf_check.json", "w").write(json.dumps({"inputs": columns(check)}))
open(f"{work}/clf_expect.json", "w").write(json.dumps(expect))
open(f"{work}/clf_body.json", "w").write(json.dumps({"inputs": columns([0])}))
EOF
    CLF_BODY=$(cat "$WORK/clf_body.json")
    CLF_CHECK=$(cat "$WORK/clf_check.json")
    CLF_EXPECT=$(cat "$WORK/clf_expect.json")
    {
        git add -A && git commit -q -m "bench models"
        "$MLO" -q register echo
        "$MLO" -q register clf
    } >>"$log" 2>&1 || die "registering the models failed" "$log"
    note "  registered: echo, clf ($(grep 'training accuracy' "$log"))"

    # The FastAPI apps: the same logic as the workers, on the raw body (no schema check).
    cat >"$WORK/apps/echo_app.py" <<'EOF'
import json
from fastapi import FastAPI, Request, Response
app = FastAPI()

@app.get("/ping")
async def ping():
    return Response(status_code=200)

@app.post("/invocations")
async def invocations(request: Request):
    inputs = json.loads(await request.body())["inputs"]
    return Response(json.dumps({"predictions": inputs["x"]}), media_type="application/json")
EOF
    cat >"$WORK/apps/clf_app.py" <<EOF
import json, pickle
from fastapi import FastAPI, Request, Response
model = pickle.load(open("$PROJ/models/model.pkl", "rb"))
names = [f"f{i}" for i in range($FEATURES)]
app = FastAPI()

@app.get("/ping")
async def ping():
    return Response(status_code=200)

@app.post("/invocations")
async def invocations(request: Request):
    inputs = json.loads(await request.body())["inputs"]
    rows = [list(row) for row in zip(*(inputs[name] for name in names))]
    return Response(json.dumps({"predictions": model.predict(rows).tolist()}), media_type="application/json")
EOF
    local c
    for c in "${CONCURRENCY[@]}"; do
        write_lua "$WORK/echo-c$c.lua" "$ECHO_BODY" "$c"
        write_lua "$WORK/clf-c$c.lua" "$CLF_BODY" "$c"
    done
    cd "$WORK"
}

# ---------------------------------------------------------------------------------------------
# Figures

bench_echo_mlo() {
    section "echo model, mlo serve ($WORKERS workers, batching off, request log on): wrk ${SECONDS_PER_POINT} s per point"
    start_mlo echo nobatch
    check_prediction "echo x=1.5" "$ECHO_BODY" "[1.5]"
    # The worker helper exactly as mlo materialised it, for the direct driver.
    # (each served version has its own directory under the server's run directory).
    local helper
    helper=$(compgen -G "$PROJ/.mlo/serve/run-$SERVER_PID/*/lib/mlo_worker.py" | head -n 1) ||
        die "no mlo_worker.py under $PROJ/.mlo/serve/run-$SERVER_PID while mlo serve runs"
    cp "$helper" "$WORK/lib/mlo_worker.py"
    local c before after
    for c in "${CONCURRENCY[@]}"; do
        before=$(mlo_metrics "echo-c$c-before")
        load "mlo_echo_c$c" "$c" "$WORK/echo-c$c.lua"
        after=$(mlo_metrics "echo-c$c-after")
        local n dur queue compute rows calls
        read -r n dur queue compute rows calls <<<"$(metrics_delta "$before" "$after")"
        T[mlo_echo_c$c.mean_duration]=$dur
        note "$(printf '  %-30s        /metrics: %d requests, mean duration %s, queued in mlo %s, compute %s (write to worker -> answer)' \
            "" "$n" "$(fmt_ms "$dur")" "$(fmt_ms "$queue")" "$(fmt_ms "$compute")")"
    done
    stop_server
}

bench_echo_direct() {
    section "echo model, the same workers called directly (C driver on their stdin/stdout): ${SECONDS_PER_POINT} s per point"
    local c log line _ requests duration p50 p99 mean bad run best b_mean
    for c in "${CONCURRENCY[@]}"; do
        best=-1
        for ((run = 1; run <= RUNS; run++)); do # best of RUNS, as load() does for wrk
            log=$WORK/logs/direct-c$c-$run.log
            (cd "$PROJ" && PYTHONPATH=$WORK/lib MLO_MODEL_DIR=$PROJ/models MLO_MODEL=echo MLO_MODEL_VERSION=v0.0.1 \
                "$WORK/direct" "$c" "$SECONDS_PER_POINT" "$WORKERS" "$PYTHON echo_worker.py") >"$log" 2>&1 ||
                die "the direct driver failed at concurrency $c" "$log"
            line=$(grep '^DIRECT ' "$log") || die "the direct driver printed no result" "$log"
            read -r _ requests duration p50 p99 mean bad <<<"$line"
            ((bad == 0)) || die "the workers answered $bad requests wrongly under the direct driver" "$log"
            if ((requests * 1000000 / duration > best)); then
                best=$((requests * 1000000 / duration)) b_mean=$mean
                T[direct_c$c.p50]=$p50
                T[direct_c$c.p99]=$p99
            fi
        done
        R[direct_c$c]=$best
        note "$(printf '  %-30s c=%-3d %9s   p50 %10s   p99 %10s   mean %10s' "direct-echo-workers" "$c" \
            "$(fmt_rps "${R[direct_c$c]}")" "$(fmt_ms "${T[direct_c$c.p50]}")" "$(fmt_ms "${T[direct_c$c.p99]}")" "$(fmt_ms "$b_mean")")"
    done
    for c in "${CONCURRENCY[@]}"; do
        T[overhead_c$c]=$((${T[mlo_echo_c$c.p99]} - ${T[direct_c$c.p99]}))
        note "$(printf '  gateway at c=%-3d p99 %s - %s = %s   p50 %s - %s = %s' "$c" \
            "$(fmt_ms "${T[mlo_echo_c$c.p99]}")" "$(fmt_ms "${T[direct_c$c.p99]}")" "$(fmt_delta "${T[overhead_c$c]}")" \
            "$(fmt_ms "${T[mlo_echo_c$c.p50]}")" "$(fmt_ms "${T[direct_c$c.p50]}")" \
            "$(fmt_delta $((${T[mlo_echo_c$c.p50]} - ${T[direct_c$c.p50]})))")"
    done
}

bench_echo_fastapi() { # bench_echo_fastapi FLAVOUR
    local f=$1 c
    section "echo model, FastAPI + uvicorn --workers $WORKERS (${UVICORN_TITLE[$f]}): wrk ${SECONDS_PER_POINT} s per point"
    start_fastapi echo_app "$f"
    check_prediction "echo x=1.5" "$ECHO_BODY" "[1.5]"
    for c in "${CONCURRENCY[@]}"; do load "fastapi_${f}_echo_c$c" "$c" "$WORK/echo-c$c.lua"; done
    stop_server
    for c in "${CONCURRENCY[@]}"; do
        note "$(printf '  c=%-3d mlo %9s / FastAPI (%s) %9s = %s' "$c" "$(fmt_rps "${R[mlo_echo_c$c]}")" "${UVICORN_TITLE[$f]}" \
            "$(fmt_rps "${R[fastapi_${f}_echo_c$c]}")" "$(fmt_x "$(ratio_x100 "${R[mlo_echo_c$c]}" "${R[fastapi_${f}_echo_c$c]}")")")"
    done
}

# set_batch MAX_SIZE [DELAY_MS]: rewrites clf's batch line in mlo.yaml and commits it.
set_batch() {
    local line="      batch: {max_size: $1}"
    [[ -z ${2:-} ]] || line="      batch: {max_size: $1, max_delay_ms: $2}"
    sed -i "s|^      batch: {.*}\$|$line|" "$PROJ/mlo.yaml"
    grep -qF "$line" "$PROJ/mlo.yaml" || die "could not set the batch line in mlo.yaml"
    (cd "$PROJ" && { git diff --quiet || git commit -q -am "clf: $line"; }) >>"$WORK/logs/setup.log" 2>&1 ||
        die "git commit failed" "$WORK/logs/setup.log"
}

bench_clf_mlo() { # bench_clf_mlo off|on
    local mode=$1 c before after n dur queue compute rows calls
    if [[ $mode == off ]]; then
        set_batch 1
        section "clf (LogisticRegression), mlo serve, batch: {max_size: 1} (off): wrk ${SECONDS_PER_POINT} s per point"
    else
        set_batch "$BATCH_MAX" "$BATCH_DELAY_MS"
        section "clf, mlo serve, batch: {max_size: $BATCH_MAX, max_delay_ms: $BATCH_DELAY_MS}: wrk ${SECONDS_PER_POINT} s per point"
    fi
    start_mlo clf "batch-$mode"
    check_prediction "two rows" "$CLF_CHECK" "$CLF_EXPECT"
    for c in "${CONCURRENCY[@]}"; do
        before=$(mlo_metrics "clf-$mode-c$c-before")
        load "mlo_clf_${mode}_c$c" "$c" "$WORK/clf-c$c.lua"
        after=$(mlo_metrics "clf-$mode-c$c-after")
        read -r n dur queue compute rows calls <<<"$(metrics_delta "$before" "$after")"
        note "$(printf '  %-30s        /metrics: %d requests in %d worker calls (%s rows each), mean duration %s, queued %s, compute %s' \
            "" "$n" "$calls" "$rows" "$(fmt_ms "$dur")" "$(fmt_ms "$queue")" "$(fmt_ms "$compute")")"
    done
    stop_server
}

bench_clf_fastapi() { # bench_clf_fastapi FLAVOUR
    local f=$1 c
    section "clf, FastAPI + uvicorn --workers $WORKERS (${UVICORN_TITLE[$f]}): wrk ${SECONDS_PER_POINT} s per point (information)"
    start_fastapi clf_app "$f"
    check_prediction "two rows" "$CLF_CHECK" "$CLF_EXPECT"
    for c in "${CONCURRENCY[@]}"; do load "fastapi_${f}_clf_c$c" "$c" "$WORK/clf-c$c.lua"; done
    stop_server
}

clf_ratios() {
    local c
    section "clf: ratios"
    for c in "${CONCURRENCY[@]}"; do
        note "$(printf '  c=%-3d batching on %9s / off %9s = %s;  FastAPI %s: %9s, %s: %9s' "$c" \
            "$(fmt_rps "${R[mlo_clf_on_c$c]}")" "$(fmt_rps "${R[mlo_clf_off_c$c]}")" \
            "$(fmt_x "$(ratio_x100 "${R[mlo_clf_on_c$c]}" "${R[mlo_clf_off_c$c]}")")" \
            "${UVICORN_TITLE[fast]}" "$(fmt_rps "${R[fastapi_fast_clf_c$c]}")" \
            "${UVICORN_TITLE[plain]}" "$(fmt_rps "${R[fastapi_plain_clf_c$c]}")")"
    done
}

# ---------------------------------------------------------------------------------------------
# Summary: one row per figure. Rows without a target are context.

summary() {
    local c x f
    for f in fast plain; do
        for c in "${CONCURRENCY[@]}"; do
            x=$(ratio_x100 "${R[mlo_echo_c$c]}" "${R[fastapi_${f}_echo_c$c]}")
            local target=- verdict=-
            if ((c == 16)) && [[ $f == fast ]]; then
                target=">= $(fmt_x $TARGET_ECHO_X100)" verdict=$(verdict_min "$x" $TARGET_ECHO_X100)
            fi
            add_row "echo c=$c: req/s vs FastAPI ($f)" "$(fmt_rps "${R[mlo_echo_c$c]}")" \
                "$(fmt_rps "${R[fastapi_${f}_echo_c$c]}")" "$(fmt_x "$x")" "$target" "$verdict"
        done
    done
    for f in fast plain; do
        for c in "${CONCURRENCY[@]}"; do
            add_row "echo c=$c: p99 vs FastAPI ($f)" "$(fmt_ms "${T[mlo_echo_c$c.p99]}")" \
                "$(fmt_ms "${T[fastapi_${f}_echo_c$c.p99]}")" \
                "$(fmt_delta $((${T[mlo_echo_c$c.p99]} - ${T[fastapi_${f}_echo_c$c.p99]})))" - -
        done
    done
    for c in "${CONCURRENCY[@]}"; do
        local target=- verdict=-
        if ((c == 16)); then
            target="<= +$(fmt_ms $TARGET_OVERHEAD_US)" verdict=$(verdict_abs "${T[overhead_c$c]}" $TARGET_OVERHEAD_US)
        fi
        add_row "echo c=$c: p99 vs workers direct" "$(fmt_ms "${T[mlo_echo_c$c.p99]}")" "$(fmt_ms "${T[direct_c$c.p99]}")" \
            "$(fmt_delta "${T[overhead_c$c]}")" "$target" "$verdict"
    done
    for c in "${CONCURRENCY[@]}"; do
        add_row "ceiling c=$c: req/s vs FastAPI (fast)" "$(fmt_rps "${R[ceiling_c$c]}")" \
            "$(fmt_rps "${R[fastapi_fast_echo_c$c]}")" "$(fmt_x "$(ratio_x100 "${R[ceiling_c$c]}" "${R[fastapi_fast_echo_c$c]}")")" - -
    done
    add_row "echo c=16: req/s vs ceiling" "$(fmt_rps "${R[mlo_echo_c16]}")" "$(fmt_rps "${R[ceiling_c16]}")" \
        "$(fmt_x "$(ratio_x100 "${R[mlo_echo_c16]}" "${R[ceiling_c16]}")")" - -
    # With the 2 cores saturated, requests/s = cores / CPU per request. Were the gateway free, the
    # CPU per request would be wrk's plus the workers': the most batching could give here.
    local off_cpu=$((${T[mlo_clf_off_c64.cpu_wrk]} + ${T[mlo_clf_off_c64.cpu_below]}))
    local on_cpu=$((${T[mlo_clf_on_c64.cpu_wrk]} + ${T[mlo_clf_on_c64.cpu_below]}))
    add_row "clf c=64: batching on vs off, free gateway" "${on_cpu} us/req" "${off_cpu} us/req" \
        "$(fmt_x "$(ratio_x100 "$off_cpu" "$on_cpu")")" "(bound)" -
    add_row "echo c=16: req/s vs workers direct" "$(fmt_rps "${R[mlo_echo_c16]}")" "$(fmt_rps "${R[direct_c16]}")" \
        "$(fmt_x "$(ratio_x100 "${R[mlo_echo_c16]}" "${R[direct_c16]}")")" - -
    for c in "${CONCURRENCY[@]}"; do
        x=$(ratio_x100 "${R[mlo_clf_on_c$c]}" "${R[mlo_clf_off_c$c]}")
        local target=- verdict=-
        if ((c == 64)); then target=">= $(fmt_x $TARGET_BATCH_X100)" verdict=$(verdict_min "$x" $TARGET_BATCH_X100); fi
        add_row "clf c=$c: batching on vs off" "$(fmt_rps "${R[mlo_clf_on_c$c]}")" "$(fmt_rps "${R[mlo_clf_off_c$c]}")" \
            "$(fmt_x "$x")" "$target" "$verdict"
    done
    for f in fast plain; do
        for c in "${CONCURRENCY[@]}"; do
            add_row "clf c=$c: batch off vs FastAPI ($f)" "$(fmt_rps "${R[mlo_clf_off_c$c]}")" \
                "$(fmt_rps "${R[fastapi_${f}_clf_c$c]}")" \
                "$(fmt_x "$(ratio_x100 "${R[mlo_clf_off_c$c]}" "${R[fastapi_${f}_clf_c$c]}")")" - -
        done
        add_row "clf c=64: batch on vs FastAPI ($f)" "$(fmt_rps "${R[mlo_clf_on_c64]}")" "$(fmt_rps "${R[fastapi_${f}_clf_c64]}")" \
            "$(fmt_x "$(ratio_x100 "${R[mlo_clf_on_c64]}" "${R[fastapi_${f}_clf_c64]}")")" - -
    done

    section "summary (vs peer = mlo / peer for requests/s, mlo - peer for latencies)"
    local fmt='  %-42s %12s %12s %10s %12s %6s\n' row pass=0 miss=0
    # shellcheck disable=SC2059 # the format is ours
    printf "$fmt" figure mlo peer "vs peer" target result
    # shellcheck disable=SC2059
    printf "$fmt" "$(printf '%.0s-' {1..42})" ------------ ------------ ---------- ------------ ------
    for row in "${SUMMARY[@]}"; do
        local -a f
        IFS=$'\t' read -r -a f <<<"$row"
        # shellcheck disable=SC2059
        printf "$fmt" "${f[@]:0:6}"
        case ${f[5]} in PASS) pass=$((pass + 1)) ;; MISS) miss=$((miss + 1)) ;; esac
    done
    note ""
    note "targets: $pass PASS, $miss MISS (missed targets are reported, not failed)"
    if ((${#WARNINGS[@]} > 0)); then
        note ""
        note "warnings:"
        local w
        for w in "${WARNINGS[@]}"; do note "  - $w"; done
    fi
}

main() {
    local t0=$SECONDS
    check_settings
    check_mlo
    install_tools
    make_workdir
    print_environment
    write_direct_driver
    write_ceiling_server
    make_project
    bench_echo_mlo
    bench_echo_direct
    bench_echo_fastapi fast
    bench_echo_fastapi plain
    bench_ceiling
    bench_clf_mlo off
    bench_clf_mlo on
    bench_clf_fastapi fast
    bench_clf_fastapi plain
    clf_ratios
    summary
    note "total time: $((SECONDS - t0)) s"
}

main "$@"
