#!/usr/bin/env bash
# Pipeline benchmarks: what `mlo train` costs when there is nothing to do, and what recording a run
# adds to a stage's own run time.
#
#   (a) no-op: a 20-stage pipeline whose deps are 20 directories of 1,000 small files (20,000 files,
#       tracked with `mlo track`), everything up to date. `mlo train` has to stat every dep file and
#       compare with mlo.lock; the peer is `git status --porcelain` on the same 20,000 files committed
#       into a plain git repository (stat everything, hash nothing). Two shapes, both with the
#       target: independent stages ("flat") and a chain where each stage also depends on the
#       previous stage's out ("chain"). `mlo status` on the same projects is reported for information.
#   (b) recording overhead: a 1-stage pipeline whose command is `true`, run with `mlo train --force`
#       (so it runs and records a run every time), minus the time of `/bin/sh -c true`, which is what
#       mlo runs for the stage.
#
# It prints every figure, each ratio, and a summary table with the targets. It is a report, not a
# test: missed targets still exit 0; only a failing command (or a missing mlo binary) exits non-zero.
# Not run by ctest or CI; see tests/bench/README.md.
#
# Environment:
#   MLO                 path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR           where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_TRAIN_STAGES  number of stages, one dep directory each (default 20)
#   BENCH_TRAIN_FILES   dep files in total, spread evenly over the directories (default 20000)
#   BENCH_NOOP_REPS     runs of each no-op command, best kept (default 5)
#   BENCH_RECORD_REPS   runs of `mlo train --force` and `sh -c true`, best kept (default 10)
#   BENCH_KEEP=1        keep the work directory (data, projects, logs) instead of deleting it
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # decimal point in EPOCHREALTIME, byte-wise sorting, untranslated tool output

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
STAGES=${BENCH_TRAIN_STAGES:-20}
FILES=${BENCH_TRAIN_FILES:-20000}
NOOP_REPS=${BENCH_NOOP_REPS:-5}
RECORD_REPS=${BENCH_RECORD_REPS:-10}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}

# Targets: the ratio x100 (200 = 2x), the added time in microseconds.
TARGET_NOOP_X100=200
TARGET_RECORD_US=10000

# Peers must not pick up the user's git configuration (an fsmonitor or untracked cache would change
# what is measured), and commits need an identity on a fresh machine. mlo's own git calls see the
# same settings.
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

fmt_ms() { # also for negative differences
    local v=$1 sign=""
    if ((v < 0)); then sign=- v=$((-v)); fi
    local c=$(((v + 5) / 10))
    printf '%s%d.%02d ms' "$sign" $((c / 100)) $((c % 100))
}
fmt_ratio() { fmt_x "$(ratio_x100 "$1" "$2")"; }

report() { # report NAME FIGURE BASE_NAME BASE [TARGET_X100]: one measurement line with its ratio
    local name=$1 us=$2 base_name=$3 base=$4 target=${5:-}
    local line
    line=$(printf '  %-34s %12s   %7s %s' "$name" "$(fmt_t "$us")" "$(fmt_ratio "$us" "$base")" "$base_name")
    if [[ -n $target ]]; then
        line+="   (target <= $(fmt_x "$target"): $(verdict_ratio "$us" "$base" "$target"))"
    fi
    note "$line"
}

# ---------------------------------------------------------------------------------------------
# Setup

check_settings() {
    [[ $STAGES =~ ^[1-9][0-9]*$ && $STAGES -le 100 ]] ||
        die "BENCH_TRAIN_STAGES must be an integer from 1 to 100, not '$STAGES'"
    [[ $FILES =~ ^[1-9][0-9]*$ ]] || die "BENCH_TRAIN_FILES must be a positive integer, not '$FILES'"
    ((FILES >= STAGES)) || die "BENCH_TRAIN_FILES ($FILES) must be at least BENCH_TRAIN_STAGES ($STAGES)"
    [[ $NOOP_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_NOOP_REPS must be a positive integer, not '$NOOP_REPS'"
    [[ $RECORD_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RECORD_REPS must be a positive integer, not '$RECORD_REPS'"
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
    "$MLO" train --help >/dev/null 2>&1 || die "'$MLO' has no 'train' command: is the build up to date?"
}

# Installs the tools that are missing, from Debian only: git (the peer and mlo's own git calls),
# openssl (the data generator) and perl (Essential on Debian, so normally present).
install_tools() {
    local -A need=([git]=git [openssl]=openssl [perl]=perl-base)
    local cmd missing=() apt_sudo=()
    for cmd in "${!need[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
    done
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
    WORK=$(mktemp -d "$BENCH_DIR/train.XXXXXX")
    mkdir -p "$WORK/logs"
}

print_environment() {
    section "environment"
    note "  mlo:        $MLO ($("$MLO" --version 2>&1 | head -n 1))"
    note "  git:        $(git --version)"
    note "  sh:         $(readlink -f /bin/sh)"
    note "  cpu:        $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    note "  work dir:   $WORK ($(stat -f -c %T "$WORK") filesystem)"
    note "  pipeline:   $STAGES stages; deps: $FILES files of 1-4 KiB in $STAGES directories"
}

# ---------------------------------------------------------------------------------------------
# Data: deterministic bytes (an AES-CTR keystream from openssl with a fixed key, as in
# bench_data.sh), cut into files of 1-4 KiB by a fixed LCG; file i goes to directory i mod STAGES.

keystream() { # keystream BYTES IV_HEX: BYTES deterministic pseudo-random bytes on stdout
    head -c "$1" /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 6d6c6f2d62656e63682d747261696e21 -iv "$2"
}

# shellcheck disable=SC2016 # perl code, expanded by perl
GEN_FILES_PL='
use strict; use warnings; use integer;
my ($mode, $count, $ndirs, $root) = @ARGV;
my $x = 20240602; my @sizes; my $total = 0;
for my $i (0 .. $count - 1) {
    $x = ($x * 1103515245 + 12345) % 2147483648;
    my $size = 1024 + (($x >> 8) % (4 * 1024 - 1024 + 1));
    push @sizes, $size; $total += $size;
}
if ($mode eq "sizes") { print "$total\n"; exit 0; }
binmode STDIN;
for my $i (0 .. $count - 1) {
    my $dir = sprintf("%s/d%02d", $root, $i % $ndirs);
    -d $dir or mkdir $dir or die "mkdir $dir: $!";
    my $got = read(STDIN, my $buf, $sizes[$i]);
    defined $got && $got == $sizes[$i] or die "short keystream at file $i";
    open(my $fh, ">:raw", sprintf("%s/f%05d.bin", $dir, $i)) or die "open: $!";
    print $fh $buf or die "write: $!";
    close $fh or die "close: $!";
}
'

generate_data() {
    section "generating data"
    local t0=$SECONDS total
    mkdir -p "$WORK/data"
    total=$(perl -e "$GEN_FILES_PL" sizes "$FILES" "$STAGES" "$WORK/data")
    keystream "$total" 00000000000000000000000000000003 |
        perl -e "$GEN_FILES_PL" write "$FILES" "$STAGES" "$WORK/data"
    note "  data/: $FILES files in $STAGES directories, $((total / 1024)) KiB ($((SECONDS - t0)) s)"
}

# mlo's stat cache, like git's index, does not trust a file modified within 2 s of being recorded
# (its mtime could still change without showing). Let what was just written age past that window,
# or the no-op figures would include re-hashing.
let_age() {
    sync
    sleep 3
}

# ---------------------------------------------------------------------------------------------
# (a) The pipeline projects: the data (copied with their mtimes), tracked, one stage per directory,
# in two shapes:
#   flat:  each stage depends on its directory only; the stages are independent, so mlo may check
#          them in parallel (one per core), as git status stats with one thread per core;
#   chain: each stage also depends on the previous stage's out, so the stages form a chain and mlo
#          must check them one after the other (a stage's decision waits for its upstream stage).
# Stage i counts the files of its directory (appended to the previous stage's out in the chain).

write_pipeline() { # write_pipeline SHAPE: appends the pipeline section to mlo.yaml in the current dir
    local shape=$1 i d prev
    {
        echo
        echo "pipeline:"
        for ((i = 0; i < STAGES; i++)); do
            d=$(printf 'd%02d' "$i")
            echo "  s$d:"
            if [[ $shape == flat ]] || ((i == 0)); then
                echo "    cmd: ls data/$d | wc -l >out/s$d.txt"
                echo "    deps: [data/$d]"
            else
                prev=$(printf 'd%02d' $((i - 1)))
                echo "    cmd: cat out/s$prev.txt >out/s$d.txt && ls data/$d | wc -l >>out/s$d.txt"
                echo "    deps: [data/$d, out/s$prev.txt]"
            fi
            echo "    outs: [out/s$d.txt]"
        done
    } >>mlo.yaml
}

setup_pipeline() { # setup_pipeline SHAPE: the project $WORK/SHAPE, trained once and committed
    local shape=$1
    local proj=$WORK/$shape log=$WORK/logs/$shape-setup.log t0=$SECONDS
    mkdir -p "$proj"
    cp -a "$WORK/data" "$proj/data"
    (
        cd "$proj"
        "$MLO" init
        git add -A && git commit -q -m "mlo init"
        "$MLO" track data/d*
        write_pipeline "$shape"
        printf '{}\n' >params.yaml # the default params file; these stages take no params
        git add -A && git commit -q -m "data and pipeline"
    ) >>"$log" 2>&1 || die "setting up the $shape pipeline project failed" "$log"
    timed "$shape-first-train" "$proj" "$MLO" train
    local last
    last=$(printf 'out/sd%02d.txt' $((STAGES - 1)))
    [[ -f $proj/$last ]] || die "the first mlo train did not produce $last" "$WORK/logs/$shape-first-train.log"
    (cd "$proj" && git add -A && git commit -q -m "trained") >>"$log" 2>&1 ||
        die "committing mlo.lock failed" "$log"
    note "  $shape: tracked $FILES files, first mlo train ran $STAGES stages in $(fmt_t "$LAST_US") (setup: $((SECONDS - t0)) s)"
}

setup_projects() {
    section "setting up the $STAGES-stage pipelines"
    setup_pipeline flat
    setup_pipeline chain
    # The same files in a plain git repository, committed and packed (as a repository normally is;
    # it also saves 20,000 loose object files): the peer. It takes the original data.
    local log=$WORK/logs/git-setup.log
    mkdir -p "$WORK/git"
    mv "$WORK/data" "$WORK/git/data"
    (cd "$WORK/git" && git init -q && git add -A && git commit -q -m data && git repack -adq) >>"$log" 2>&1 ||
        die "committing the data into git failed" "$log"
    let_age # the outs, mlo.lock and the git index were written just now
}

run_count() { # run_count PROJECT: the number of recorded runs (ref files)
    find "$1/.mlo/refs/runs" -type f 2>/dev/null | wc -l
}

noop_train() { # noop_train SHAPE: mlo train and mlo status with nothing to do, in $WORK/SHAPE
    local shape=$1 proj=$WORK/$1 runs_before skipped
    runs_before=$(run_count "$proj")
    best_of "$NOOP_REPS" "noop-train-$shape" "$proj" "$MLO" train
    T[train_$shape]=$BEST_US
    # A no-op must really be one: every stage skipped as up to date, no run recorded.
    skipped=$(grep -cE '^[^ ]+ +skip +up to date$' "$WORK/logs/noop-train-$shape.log" || true)
    ((skipped == STAGES * NOOP_REPS)) ||
        die "mlo train was not a no-op: $skipped stages skipped as up to date, expected $((STAGES * NOOP_REPS))" \
            "$WORK/logs/noop-train-$shape.log"
    (($(run_count "$proj") == runs_before)) ||
        die "the no-op mlo train recorded a run" "$WORK/logs/noop-train-$shape.log"
    # mlo status: data and stages; exits 0 when everything is up to date. For information.
    best_of "$NOOP_REPS" "noop-status-$shape" "$proj" "$MLO" status
    T[status_$shape]=$BEST_US
}

bench_noop() {
    section "(a) no-op: $STAGES stages up to date, $FILES dep files; best of $NOOP_REPS after a warm-up"
    best_of "$NOOP_REPS" noop-git "$WORK/git" git status --porcelain
    T[noop_git]=$BEST_US
    [[ ! -s $WORK/logs/noop-git.log ]] || note "  warning: git status was not clean (see logs/noop-git.log)"
    noop_train flat
    noop_train chain

    local g=${T[noop_git]}
    report_base "git status --porcelain" "$g"
    report "mlo train, flat (no-op)" "${T[train_flat]}" "git status" "$g" $TARGET_NOOP_X100
    report "mlo train, chain (no-op)" "${T[train_chain]}" "git status" "$g" $TARGET_NOOP_X100
    report "mlo status, flat (information)" "${T[status_flat]}" "git status" "$g"
    report "mlo status, chain (information)" "${T[status_chain]}" "git status" "$g"
}

# ---------------------------------------------------------------------------------------------
# (b) Recording overhead: everything mlo does around a stage that does nothing: start up, read
# mlo.yaml, params and mlo.lock, capture the git state and environment, spawn the stage, store its
# record, ref and index row, rewrite mlo.lock.

bench_record() {
    section "(b) recording overhead: 1 stage 'true', mlo train --force; best of $RECORD_REPS after a warm-up"
    local proj=$WORK/record log=$WORK/logs/record-setup.log
    mkdir -p "$proj"
    (
        cd "$proj"
        "$MLO" init
        printf '\npipeline:\n  nothing:\n    cmd: "true"\n' >>mlo.yaml
        printf '{}\n' >params.yaml
        git add -A && git commit -q -m "mlo init"
        "$MLO" train # the first run writes mlo.lock: commit it, so the timed runs see a clean tree
        git add -A && git commit -q -m "trained"
    ) >>"$log" 2>&1 || die "setting up the recording project failed" "$log"
    let_age

    best_of "$RECORD_REPS" record-sh "$proj" /bin/sh -c true
    T[record_sh]=$BEST_US
    local runs_before
    runs_before=$(run_count "$proj")
    best_of "$RECORD_REPS" record-train "$proj" "$MLO" train --force
    T[record_train]=$BEST_US
    local recorded=$(($(run_count "$proj") - runs_before))
    ((recorded == RECORD_REPS + 1)) ||
        die "mlo train --force recorded $recorded runs in $((RECORD_REPS + 1)) calls" "$WORK/logs/record-train.log"
    # For context: the fixed cost of starting mlo at all.
    best_of "$RECORD_REPS" record-version "$proj" "$MLO" --version
    T[record_version]=$BEST_US
    local dirty=""
    [[ -z $(cd "$proj" && git status --porcelain) ]] || dirty=" (note: the tree was dirty)"

    T[record_added]=$((T[record_train] - T[record_sh]))
    local verdict=MISS
    ((T[record_added] <= TARGET_RECORD_US)) && verdict=PASS
    report_base "/bin/sh -c true" "${T[record_sh]}"
    report "mlo train --force (stage: true)" "${T[record_train]}" "sh -c true" "${T[record_sh]}"
    note "$(printf '  %-34s %12s   (target <= %s: %s)%s' "added by mlo (train - sh)" "$(fmt_ms "${T[record_added]}")" \
        "$(fmt_ms $TARGET_RECORD_US)" "$verdict" "$dirty")"
    report "mlo --version (startup, context)" "${T[record_version]}" "sh -c true" "${T[record_sh]}"
}

# ---------------------------------------------------------------------------------------------
# Summary: one row per comparison; ratio is always mlo / peer. Rows without a target are context.

summary() {
    local g=${T[noop_git]} shape
    for shape in flat chain; do
        add_row "no-op, $shape: mlo train vs git status" "$(fmt_t "${T[train_$shape]}")" "$(fmt_t "$g")" \
            "$(fmt_ratio "${T[train_$shape]}" "$g")" "<= $(fmt_x $TARGET_NOOP_X100)" \
            "$(verdict_ratio "${T[train_$shape]}" "$g" $TARGET_NOOP_X100)"
    done
    for shape in flat chain; do
        add_row "no-op, $shape: mlo status vs git status" "$(fmt_t "${T[status_$shape]}")" "$(fmt_t "$g")" \
            "$(fmt_ratio "${T[status_$shape]}" "$g")" - -
    done
    add_row "record: train --force vs sh -c true" "$(fmt_t "${T[record_train]}")" "$(fmt_t "${T[record_sh]}")" \
        "$(fmt_ratio "${T[record_train]}" "${T[record_sh]}")" - -
    local verdict=MISS
    ((T[record_added] <= TARGET_RECORD_US)) && verdict=PASS
    add_row "record: added (train --force - sh)" "$(fmt_ms "${T[record_added]}")" - - \
        "<= $(fmt_ms $TARGET_RECORD_US)" "$verdict"

    section "summary (ratio = mlo / peer)"
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
    generate_data
    let_age
    setup_projects
    bench_noop
    bench_record
    summary
}

main "$@"
