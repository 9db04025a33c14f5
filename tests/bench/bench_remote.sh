#!/usr/bin/env bash
# Remote benchmarks: mlo push / pull against `aws s3 sync` (Debian's awscli) and `rclone copy`
# (Debian's rclone), all with the same parallelism, to the same local S3-compatible server
# (s3rver, installed by npm), on 20,000 files of 1-32 KiB and on one 1 GiB file; plus a no-op push.
#
# Each transfer is run once (a fresh bucket each time: the server's speed is what it is, and a
# second run would measure a no-op). It is a report, not a test: missed targets still exit 0.
# Installs what it needs: awscli and rclone with apt-get (as root or with sudo), s3rver with npm.
#
# Environment:
#   MLO                path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR          where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_BIG_MB       size of the single big file in MiB (default 1024)
#   BENCH_SMALL_FILES  number of small files, 1-32 KiB each, in 100 directories (default 20000)
#   BENCH_JOBS         parallel transfers for every tool (default 8)
#   BENCH_KEEP=1       keep the work directory
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
BIG_MB=${BENCH_BIG_MB:-1024}
SMALL_FILES=${BENCH_SMALL_FILES:-20000}
JOBS=${BENCH_JOBS:-8}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}
S3_CACHE=${MLO_E2E_CACHE:-${TMPDIR:-/tmp}/mlo-e2e-cache}/s3rver
TARGET_NOOP_US=1000000

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=mlo-bench GIT_AUTHOR_EMAIL=mlo-bench@example.invalid
export GIT_COMMITTER_NAME=mlo-bench GIT_COMMITTER_EMAIL=mlo-bench@example.invalid
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
# The server is plain http on loopback; a CA bundle from the environment makes rclone refuse to start.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN

WORK=""
declare -A T
SUMMARY=()
SERVER_PID=""
stop_server() { [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; }
trap 'rc=$?; stop_server; (exit $rc); cleanup' EXIT
trap 'exit 130' INT TERM

install_peers() {
    local missing=() sudo=""
    [[ -x /usr/bin/aws ]] || missing+=(awscli)
    command -v rclone >/dev/null || missing+=(rclone)
    command -v npm >/dev/null || missing+=(nodejs npm)
    if ((${#missing[@]})); then
        (($(id -u) == 0)) || sudo=sudo
        $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    fi
    if [[ ! -x $S3_CACHE/node_modules/.bin/s3rver ]]; then
        mkdir -p "$S3_CACHE"
        npm install --silent --no-audit --no-fund --prefix "$S3_CACHE" s3rver@3 >&2 || die "npm install s3rver failed"
    fi
}

BUCKETS=(mlo-small mlo-big aws-small aws-big rclone-small rclone-big)
start_server() {
    local args=() b
    for b in "${BUCKETS[@]}"; do args+=(--configure-bucket "$b"); done
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/s3"
    # s3rver 3 makes listing continuation tokens with a cipher OpenSSL 3 (Node 17+) disables by default.
    NODE_OPTIONS=--openssl-legacy-provider "$S3_CACHE/node_modules/.bin/s3rver" -d "$WORK/s3" -a 127.0.0.1 -p "$PORT" --silent "${args[@]}" \
        >"$WORK/logs/s3rver.log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 30))
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
        ((SECONDS < deadline)) || die "s3rver did not start" "$WORK/logs/s3rver.log"
        sleep 0.2
    done
    ENDPOINT=http://127.0.0.1:$PORT
}

make_data() {
    mkdir -p "$WORK/data/small"
    python3 - "$WORK/data/small" "$SMALL_FILES" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
for i in range(count):
    d = os.path.join(root, "d%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 32 * 1024)))
PY
    mkdir -p "$WORK/data/big"
    head -c $((BIG_MB << 20)) /dev/urandom >"$WORK/data/big/big.bin"
}

# mlo_project NAME ITEM BUCKET: a committed project tracking data/ITEM, remote s3 -> BUCKET.
mlo_project() {
    local dir=$WORK/$1
    mkdir -p "$dir" && cd "$dir"
    git init -q -b main
    "$MLO" -q init >/dev/null
    cat >>mlo.yaml <<EOF2
remotes:
  s3: {url: "s3://$3/p", endpoint: "$ENDPOINT", region: us-east-1, jobs: $JOBS}
default_remote: s3
EOF2
    mkdir -p data && cp -a "$WORK/data/$2" "data/$2"
    "$MLO" -q track "data/$2" >/dev/null
    git add -A && git commit -q -m data
    cd "$WORK"
}

# mlo_clone NAME FROM: a fresh clone of project FROM (pointers, no data, no store).
mlo_clone() {
    git clone -q "$WORK/$2" "$WORK/$1"
}

bench_set() { # bench_set ITEM (small|big)
    local item=$1
    section "$item: push"
    mlo_project "mlo-$item" "$item" "mlo-$item"
    sync
    timed "mlo-push-$item" "$WORK/mlo-$item" nice "$MLO" push
    T[mlo_push_$item]=$LAST_US
    timed "aws-push-$item" "$WORK" nice /usr/bin/aws --endpoint-url "$ENDPOINT" s3 sync --only-show-errors \
        "$WORK/data/$item" "s3://aws-$item/p"
    T[aws_push_$item]=$LAST_US
    timed "rclone-push-$item" "$WORK" nice rclone copy --transfers "$JOBS" --checkers "$JOBS" \
        "$WORK/data/$item" "bench:rclone-$item/p"
    T[rclone_push_$item]=$LAST_US
    note "  mlo push          $(fmt_t "${T[mlo_push_$item]}")"
    note "  aws s3 sync       $(fmt_t "${T[aws_push_$item]}")"
    note "  rclone copy       $(fmt_t "${T[rclone_push_$item]}")"

    if [[ $item == small ]]; then
        section "small: no-op push (everything already there)"
        timed "mlo-noop-warmup" "$WORK/mlo-small" "$MLO" push
        local best=0 i
        for i in 1 2 3 4 5; do
            timed "mlo-noop" "$WORK/mlo-small" "$MLO" push
            ((best == 0 || LAST_US < best)) && best=$LAST_US
        done
        T[mlo_noop]=$best
        timed "mlo-noop-rescan" "$WORK/mlo-small" "$MLO" push --rescan
        T[mlo_noop_rescan]=$LAST_US
        timed "aws-noop" "$WORK" /usr/bin/aws --endpoint-url "$ENDPOINT" s3 sync --only-show-errors \
            "$WORK/data/small" "s3://aws-small/p"
        T[aws_noop]=$LAST_US
        timed "rclone-noop" "$WORK" rclone copy --transfers "$JOBS" --checkers "$JOBS" \
            "$WORK/data/small" "bench:rclone-small/p"
        T[rclone_noop]=$LAST_US
        note "  mlo push (record)        $(fmt_t "${T[mlo_noop]}")"
        note "  mlo push --rescan (list) $(fmt_t "${T[mlo_noop_rescan]}")"
        note "  aws s3 sync              $(fmt_t "${T[aws_noop]}")"
        note "  rclone copy              $(fmt_t "${T[rclone_noop]}")"
    fi

    section "$item: pull into an empty directory"
    mlo_clone "mlo-$item-clone" "mlo-$item"
    sync
    timed "mlo-pull-$item" "$WORK/mlo-$item-clone" nice "$MLO" pull
    T[mlo_pull_$item]=$LAST_US
    cmp -s "$WORK/mlo-$item-clone/data/$item/$( [[ $item == big ]] && echo big.bin || echo d07/f00007.bin)" \
        "$WORK/data/$item/$( [[ $item == big ]] && echo big.bin || echo d07/f00007.bin)" || die "mlo pull brought different bytes"
    timed "aws-pull-$item" "$WORK" nice /usr/bin/aws --endpoint-url "$ENDPOINT" s3 sync --only-show-errors \
        "s3://aws-$item/p" "$WORK/aws-$item-down"
    T[aws_pull_$item]=$LAST_US
    timed "rclone-pull-$item" "$WORK" nice rclone copy --transfers "$JOBS" --checkers "$JOBS" \
        "bench:rclone-$item/p" "$WORK/rclone-$item-down"
    T[rclone_pull_$item]=$LAST_US
    note "  mlo pull (fetch, verify, checkout) $(fmt_t "${T[mlo_pull_$item]}")"
    note "  aws s3 sync                        $(fmt_t "${T[aws_pull_$item]}")"
    note "  rclone copy                        $(fmt_t "${T[rclone_pull_$item]}")"
    rmtree "$WORK/mlo-$item-clone"; rmtree "$WORK/aws-$item-down"; rmtree "$WORK/rclone-$item-down"
}

row() { # row FIGURE KEY
    local m=${T[mlo_$2]} a=${T[aws_$2]} r=${T[rclone_$2]} best
    best=$((a < r ? a : r))
    printf '| %s | %s | aws %s, rclone %s | %s | %s |\n' "$1" "$(fmt_t "$m")" "$(fmt_t "$a")" "$(fmt_t "$r")" \
        "$(fmt_x "$(ratio_x100 "$m" "$best")")" "$( ((m <= best)) && echo PASS || echo MISS)"
}

main() {
    [[ -x $MLO ]] || die "no mlo binary at $MLO (build it, or set MLO)"
    install_peers
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/remote.XXXXXX")
    mkdir -p "$WORK/logs"
    start_server
    export AWS_CONFIG_FILE=$WORK/aws-config
    printf '[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = %d\n' "$JOBS" >"$AWS_CONFIG_FILE"
    export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=$ENDPOINT \
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=S3RVER \
        RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG=/dev/null
    section "data: $SMALL_FILES files of 1-32 KiB, one file of $BIG_MB MiB; $JOBS transfers at once; server s3rver on loopback"
    make_data
    bench_set small
    bench_set big
    section "summary (ratio = mlo / the faster peer)"
    printf '| figure | mlo | peers | ratio | target: <= 1.00x |\n| --- | --- | --- | --- | --- |\n'
    row "push $SMALL_FILES files of 1-32 KiB" push_small
    row "pull $SMALL_FILES files of 1-32 KiB" pull_small
    row "push one $BIG_MB MiB file" push_big
    row "pull one $BIG_MB MiB file" pull_big
    row "no-op push, $SMALL_FILES files" noop
    printf '| no-op push, %s files, ignoring the record (--rescan: lists the bucket) | %s | | | |\n' "$SMALL_FILES" "$(fmt_t "${T[mlo_noop_rescan]}")"
    printf 'no-op push target: under 1 s: %s\n' "$(verdict_abs "${T[mlo_noop]}" "$TARGET_NOOP_US")"
}

main "$@"
