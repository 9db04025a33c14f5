#!/usr/bin/env bash
# Data benchmarks: mlo's track/status against the tools a user would otherwise reach for (openssl,
# sha256sum, git-annex, git-lfs, plain git) on the same generated data in the same run.
#
# It prints every figure, each ratio, and a summary table with the targets. It is a report, not a
# test: missed targets still exit 0; only a failing command (or a missing mlo binary) exits non-zero.
# Not run by ctest or CI; see tests/bench/README.md.
#
# Environment:
#   MLO                path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR          where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_BIG_MB       size of the single big file in MiB (default 2048)
#   BENCH_SMALL_FILES  number of small files, 1-32 KiB each, in 100 directories (default 20000)
#   BENCH_PEER_REPS    repetitions for the slow peers (default 1 at full size, 3 when shrunk)
#   BENCH_KEEP=1       keep the work directory (data, repositories, logs) instead of deleting it
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # decimal point in EPOCHREALTIME, byte-wise sorting, untranslated tool output

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
BIG_MB=${BENCH_BIG_MB:-2048}
SMALL_FILES=${BENCH_SMALL_FILES:-20000}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}

SMALL_DIRS=100
REPS=3          # best of 3 for everything that takes seconds at most
NOOP_REPS=5     # no-op commands take milliseconds, so more runs cost nothing and steady the minimum
VERSION_RUNS=20 # startup time: best of 20
# git-annex and git-lfs take minutes on the full data: once is enough there (the brief's "best of
# 1 for the slow peers at full size"); on shrunk data they are cheap, so take the best of 3.
PEER_REPS_BIG=${BENCH_PEER_REPS:-$((BIG_MB >= 512 ? 1 : 3))}
PEER_REPS_SMALL=${BENCH_PEER_REPS:-$((SMALL_FILES >= 5000 ? 1 : 3))}

# Targets: ratios are x100 (130 = 1.3x), absolute ones in microseconds and KiB.
TARGET_BIG_X100=130
TARGET_SMALL_X100=200
TARGET_NOOP_X100=200
TARGET_VERSION_US=3000
TARGET_RSS_KIB=$((100 * 1024))

# Peers must not pick up the user's git configuration (an fsmonitor, a global LFS filter or hooks
# would change what is measured), and commits need an identity on a fresh machine.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=mlo-bench GIT_AUTHOR_EMAIL=mlo-bench@example.invalid
export GIT_COMMITTER_NAME=mlo-bench GIT_COMMITTER_EMAIL=mlo-bench@example.invalid

WORK=""         # the temporary work directory, set by make_workdir
declare -A T    # measured figures: wall times in microseconds, memory in KiB
SUMMARY=()      # summary table rows, tab-separated

# ---------------------------------------------------------------------------------------------
# Helpers

trap cleanup EXIT
trap 'exit 130' INT TERM # run the EXIT trap (cleanup) on Ctrl-C too

fmt_ratio() { fmt_x "$(ratio_x100 "$1" "$2")"; }
fmt_mib() { local t=$((($1 * 10 + 512) / 1024)); printf '%d.%d MiB' $((t / 10)) $((t % 10)); }

# timed LABEL DIR CMD...: runs CMD in DIR, appending its output to logs/LABEL.log; sets LAST_US to
# its wall time. Bash's EPOCHREALTIME is read without forking, so the timer adds no process start
# to the figure (date +%s.%N would add about a millisecond, too much for the startup figure).
LAST_US=0

# best_of N LABEL DIR PREPARE CMD...: N timed runs of CMD in DIR; PREPARE (a function, untimed)
# runs before each one to give the tool fresh work. Sets BEST_US to the fastest run: the minimum
# is the figure least disturbed by whatever else the machine was doing.
BEST_US=0
best_of() {
    local n=$1 label=$2 dir=$3 prepare=$4 i best=0
    shift 4
    for ((i = 1; i <= n; i++)); do
        "$prepare" || die "preparing '$label' failed" "$WORK/logs/$label.prepare.log"
        # Flush what the preparation wrote (copies of gigabytes) so its writeback does not land
        # inside the timed run. The data stay in the page cache: all figures are warm-cache.
        sync
        timed "$label" "$dir" "$@"
        if ((best == 0 || LAST_US < best)); then best=$LAST_US; fi
    done
    BEST_US=$best
}

# Prepare hooks for best_of. They act on $REPO (a tool's repository) and $ITEM (the data path in
# it: big.bin or small), and log to the current label's prepare log.
REPO="" ITEM="" LABEL=""
prep_log() { echo "$WORK/logs/$LABEL.prepare.log"; }
prep_nothing() { :; }
# A fresh copy of the data in an empty directory. cp -a keeps the mtimes, so the copy is as old
# as the generated data (outside every racy-timestamp window); hard links would not do, since the
# tools move, rewrite or chmod what they track.
new_copy() {
    rmtree "$REPO"
    mkdir -p "$REPO"
    cp -a "$WORK/data/$ITEM" "$REPO/$ITEM"
}
prep_annex_repo() {
    new_copy && (cd "$REPO" && git init -q && git annex init -q bench) >>"$(prep_log)" 2>&1
}
prep_lfs_repo() {
    new_copy && (cd "$REPO" && git init -q && git lfs install --local) >>"$(prep_log)" 2>&1
}
prep_mlo_repo() {
    new_copy && (cd "$REPO" && "$MLO" init) >>"$(prep_log)" 2>&1
}
# Between repetitions in the same mlo repository: forget the objects, the stat cache and the
# pointer, so that the next `mlo track` really hashes and stores everything again.
prep_mlo_forget() {
    rmtree "$REPO/.mlo/objects"
    rmtree "$REPO/.mlo/cache"
    rm -f "$REPO/$ITEM.mlo"
}

# The peers' commands as single functions, so they are timed as one step.
lfs_add() { git lfs track '*.bin' && git add "$1"; }
xargs_sha256() { find "$1" -type f -print0 | xargs -0 -P2 sha256sum >/dev/null; }

# Sanity checks that a peer really did the work being timed (a pattern that matched nothing would
# otherwise make git-lfs look fast). Contents are random, so every file is a distinct object.
count_files() { find "$1" -type f | wc -l; }
expect_objects() { # expect_objects WHAT DIR COUNT
    local got
    got=$(count_files "$2")
    ((got == $3)) || die "$1 stored $got objects in $2, expected $3"
}

# report NAME FIGURE BASE_NAME BASE [TARGET_X100]: one measurement line with its ratio.
report() {
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
    [[ $BIG_MB =~ ^[1-9][0-9]*$ ]] || die "BENCH_BIG_MB must be a positive integer, not '$BIG_MB'"
    [[ $SMALL_FILES =~ ^[1-9][0-9]*$ ]] ||
        die "BENCH_SMALL_FILES must be a positive integer, not '$SMALL_FILES'"
    [[ $PEER_REPS_BIG =~ ^[1-9][0-9]*$ && $PEER_REPS_SMALL =~ ^[1-9][0-9]*$ ]] ||
        die "BENCH_PEER_REPS must be a positive integer"
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
}

# Installs the peer tools that are missing, from Debian only. hyperfine is optional: it only adds a
# cross-check of the startup figure, so failing to install it is not an error.
install_peers() {
    local -A need=([git-annex]=git-annex [git-lfs]=git-lfs [/usr/bin/time]=time [openssl]=openssl
        [sha256sum]=coreutils)
    local cmd missing=() apt_sudo=()
    for cmd in "${!need[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
    done
    local want_hyperfine=0
    command -v hyperfine >/dev/null 2>&1 || want_hyperfine=1
    ((${#missing[@]} > 0 || want_hyperfine)) || return 0

    if [[ $(id -u) != 0 ]]; then
        if ((${#missing[@]} == 0)); then return 0; fi # only the optional tool is missing
        command -v sudo >/dev/null 2>&1 || die "missing tools (${missing[*]}) and not root: install them with apt-get"
        apt_sudo=(sudo)
    fi
    local what=" ${missing[*]:-}"
    ((want_hyperfine)) && what+=" hyperfine (optional)"
    echo "installing peer tools from Debian:$what" >&2
    "${apt_sudo[@]}" apt-get update -qq >&2
    if ((${#missing[@]} > 0)); then
        DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends \
            "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    fi
    if ((want_hyperfine)); then
        DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends \
            hyperfine >&2 || echo "hyperfine not installed; continuing without it" >&2
    fi
}

make_workdir() {
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
    mkdir -p "$WORK/data" "$WORK/logs"
}

print_environment() {
    section "environment"
    note "  mlo:        $MLO ($("$MLO" --version 2>&1 | head -n 1))"
    note "  git:        $(git --version)"
    note "  git-annex:  $(git annex version --raw 2>/dev/null || git annex version | head -n 1)"
    note "  git-lfs:    $(git lfs version)"
    note "  openssl:    $(openssl version)"
    note "  sha256sum:  $(sha256sum --version | head -n 1)"
    note "  hyperfine:  $(hyperfine --version 2>/dev/null || echo 'not installed')"
    note "  cpu:        $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    note "  work dir:   $WORK ($(stat -f -c %T "$WORK") filesystem)"
    note "  data:       1 file of $BIG_MB MiB; $SMALL_FILES files of 1-32 KiB in $SMALL_DIRS directories"
}

# ---------------------------------------------------------------------------------------------
# Data generation: deterministic, so every run and every machine hashes the same bytes. The bytes
# are an AES-CTR keystream (openssl enc over zeros with a fixed key): incompressible like real
# binary data, so git's and the peers' zlib get no free ride, and fast to produce.

keystream() { # keystream BYTES IV_HEX: BYTES deterministic pseudo-random bytes on stdout
    head -c "$1" /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 6d6c6f2d62656e63682d646174612121 -iv "$2"
}

# Small-file layout, computed the same way twice: 'sizes' prints the total byte count, 'write'
# reads that many keystream bytes and cuts them into the files. A fixed LCG picks each size
# uniformly in 1..32 KiB; file i goes to directory i mod 100. perl-base is Essential on Debian.
# shellcheck disable=SC2016 # perl code, expanded by perl
GEN_SMALL_PL='
use strict; use warnings; use integer;
my ($mode, $count, $ndirs, $root) = @ARGV;
my $x = 20240601; my @sizes; my $total = 0;
for my $i (0 .. $count - 1) {
    $x = ($x * 1103515245 + 12345) % 2147483648;
    my $size = 1024 + (($x >> 8) % (32 * 1024 - 1024 + 1));
    push @sizes, $size; $total += $size;
}
if ($mode eq "sizes") { print "$total\n"; exit 0; }
binmode STDIN;
for my $i (0 .. $count - 1) {
    my $dir = sprintf("%s/d%03d", $root, $i % $ndirs);
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
    local t0=$SECONDS
    mkdir -p "$WORK/data/small"
    keystream $((BIG_MB * 1024 * 1024)) 00000000000000000000000000000001 >"$WORK/data/big.bin"
    local total
    total=$(perl -e "$GEN_SMALL_PL" sizes "$SMALL_FILES" "$SMALL_DIRS" "$WORK/data/small")
    keystream "$total" 00000000000000000000000000000002 |
        perl -e "$GEN_SMALL_PL" write "$SMALL_FILES" "$SMALL_DIRS" "$WORK/data/small"
    note "  big.bin: $BIG_MB MiB; small/: $SMALL_FILES files, $((total / 1024)) KiB ($((SECONDS - t0)) s)"

    # mlo's stat cache, like git's index, does not trust a file modified within 2 s of being
    # recorded (its mtime could still change without showing). Let the data age past that window,
    # or the no-op figures would include re-hashing. The copies made later keep these mtimes.
    sync
    sleep 3
    # Warm cache: every figure measures hashing and bookkeeping, not the disk.
    find "$WORK/data" -type f -exec cat {} + >/dev/null
}

# ---------------------------------------------------------------------------------------------
# (a) One big file: hashing and storing 2 GiB. openssl is the floor for SHA-256 of one stream;
# mlo also copies the bytes into its store, hence the 1.3x allowance.

bench_big() {
    section "(a) one big file, $BIG_MB MiB: hash and store"
    local base=$WORK/data

    best_of $REPS big-openssl "$base" prep_nothing openssl dgst -sha256 big.bin
    T[big_openssl]=$BEST_US
    best_of $REPS big-sha256sum "$base" prep_nothing sha256sum big.bin
    T[big_sha256sum]=$BEST_US

    # mlo: one repository; between runs its objects, cache and pointer are removed (prep_mlo_forget)
    REPO=$WORK/mlo-big ITEM=big.bin LABEL=big-mlo
    prep_mlo_repo || die "mlo init failed" "$(prep_log)"
    best_of $REPS big-mlo "$REPO" prep_mlo_forget "$MLO" track big.bin
    [[ -f $REPO/big.bin.mlo ]] || die "mlo track wrote no pointer big.bin.mlo" "$WORK/logs/big-mlo.log"
    T[big_mlo]=$BEST_US
    rmtree "$REPO"

    # git-annex: a fresh `git init && git annex init` repository for every run
    REPO=$WORK/annex-big ITEM=big.bin LABEL=big-annex
    best_of "$PEER_REPS_BIG" big-annex "$REPO" prep_annex_repo git annex add big.bin
    expect_objects "git annex add" "$REPO/.git/annex/objects" 1
    T[big_annex]=$BEST_US
    rmtree "$REPO"

    # git-lfs: a fresh repository with `git lfs install --local` for every run
    REPO=$WORK/lfs-big ITEM=big.bin LABEL=big-lfs
    best_of "$PEER_REPS_BIG" big-lfs "$REPO" prep_lfs_repo lfs_add big.bin
    expect_objects "git lfs" "$REPO/.git/lfs/objects" 1
    T[big_lfs]=$BEST_US
    rmtree "$REPO"

    local o=${T[big_openssl]}
    report_base "openssl dgst -sha256" "$o"
    report "sha256sum" "${T[big_sha256sum]}" openssl "$o"
    report "mlo track" "${T[big_mlo]}" openssl "$o" $TARGET_BIG_X100
    report "git annex add" "${T[big_annex]}" openssl "$o"
    report "git lfs track + git add" "${T[big_lfs]}" openssl "$o"
}

# ---------------------------------------------------------------------------------------------
# (b) Many small files: per-file costs (open, stat, bookkeeping, pointer and manifest writing)
# dominate. The baseline is what a shell user would do on a 2-core machine: sha256sum over xargs
# with two processes.

bench_small() {
    section "(b) $SMALL_FILES small files: hash and store"
    best_of $REPS small-xargs "$WORK/data" prep_nothing xargs_sha256 small
    T[small_xargs]=$BEST_US

    # The mlo repository is kept: the no-op figures below run in it.
    REPO=$WORK/mlo-small ITEM=small LABEL=small-mlo
    prep_mlo_repo || die "mlo init failed" "$(prep_log)"
    best_of $REPS small-mlo "$REPO" prep_mlo_forget "$MLO" track small
    [[ -f $REPO/small.mlo ]] || die "mlo track wrote no pointer small.mlo" "$WORK/logs/small-mlo.log"
    T[small_mlo]=$BEST_US

    REPO=$WORK/annex-small ITEM=small LABEL=small-annex
    best_of "$PEER_REPS_SMALL" small-annex "$REPO" prep_annex_repo git annex add small
    expect_objects "git annex add" "$REPO/.git/annex/objects" "$SMALL_FILES"
    T[small_annex]=$BEST_US
    rmtree "$REPO"

    REPO=$WORK/lfs-small ITEM=small LABEL=small-lfs
    best_of "$PEER_REPS_SMALL" small-lfs "$REPO" prep_lfs_repo lfs_add small
    expect_objects "git lfs" "$REPO/.git/lfs/objects" "$SMALL_FILES"
    T[small_lfs]=$BEST_US
    rmtree "$REPO"

    local b=${T[small_xargs]}
    report_base "find | xargs -P2 sha256sum" "$b"
    report "mlo track" "${T[small_mlo]}" xargs "$b" $TARGET_SMALL_X100
    report "git annex add" "${T[small_annex]}" xargs "$b"
    report "git lfs track + git add" "${T[small_lfs]}" xargs "$b"
}

# No-op: nothing changed since the last track. git status on the same tree committed into plain git
# is the reference for "stat everything, hash nothing". Both sides get one untimed warm-up run
# (git refreshes its index on the first status; mlo loads its cache files into the page cache).
bench_noop() {
    section "(b) no-op on $SMALL_FILES unchanged files"
    REPO=$WORK/git-small ITEM=small LABEL=noop-git-setup
    new_copy
    (cd "$REPO" && git init -q && git config gc.auto 0 && git add -A && git commit -q -m data && git gc -q) >>"$(prep_log)" 2>&1 ||
        die "committing the small files into git failed" "$(prep_log)"
    timed noop-git-warmup "$REPO" git status --porcelain
    best_of $NOOP_REPS noop-git "$REPO" prep_nothing git status --porcelain
    T[noop_git]=$BEST_US
    [[ ! -s $WORK/logs/noop-git.log ]] ||
        note "  warning: git status was not clean (see $WORK/logs/noop-git.log)"
    rmtree "$REPO"

    local mlo_repo=$WORK/mlo-small
    timed noop-mlo-warmup "$mlo_repo" "$MLO" status
    best_of $NOOP_REPS noop-mlo-status "$mlo_repo" prep_nothing "$MLO" status
    T[noop_status]=$BEST_US
    best_of $NOOP_REPS noop-mlo-track "$mlo_repo" prep_nothing "$MLO" track small
    T[noop_track]=$BEST_US
    rmtree "$mlo_repo"

    local g=${T[noop_git]}
    report_base "git status --porcelain" "$g"
    report "mlo status" "${T[noop_status]}" "git status" "$g" $TARGET_NOOP_X100
    report "mlo track (unchanged)" "${T[noop_track]}" "git status" "$g" $TARGET_NOOP_X100
}

# Startup: a command that does nothing shows the fixed cost every mlo invocation pays (dynamic
# linking, static initialisers). Timed in-process, without a subshell, so only the exec is counted.
bench_version() {
    section "startup: --version, best of $VERSION_RUNS"
    local i t0 t1 d best_mlo=0 best_git=0
    for ((i = 0; i < VERSION_RUNS; i++)); do
        t0=${EPOCHREALTIME/./}
        "$MLO" --version >/dev/null || die "'$MLO --version' failed"
        t1=${EPOCHREALTIME/./}
        d=$((t1 - t0))
        if ((best_mlo == 0 || d < best_mlo)); then best_mlo=$d; fi
        t0=${EPOCHREALTIME/./}
        git --version >/dev/null || die "'git --version' failed"
        t1=${EPOCHREALTIME/./}
        d=$((t1 - t0))
        if ((best_git == 0 || d < best_git)); then best_git=$d; fi
    done
    T[version_mlo]=$best_mlo T[version_git]=$best_git
    local verdict=MISS
    ((best_mlo <= TARGET_VERSION_US)) && verdict=PASS
    report_base "git --version" "$best_git"
    note "$(printf '  %-34s %12s   %7s git   (target <= %s: %s)' "mlo --version" "$(fmt_ms "$best_mlo")" \
        "$(fmt_ratio "$best_mlo" "$best_git")" "$(fmt_ms $TARGET_VERSION_US)" "$verdict")"

    # Cross-check with hyperfine where it is installed (mean and spread; not used for the verdict).
    if command -v hyperfine >/dev/null 2>&1; then
        note "  hyperfine cross-check:"
        hyperfine -N --style basic --warmup 3 --runs "$VERSION_RUNS" "$MLO --version" "git --version" \
            2>&1 | grep -E '^(Benchmark|  Time|  Range)' | sed 's/^/    /' ||
            note "    (hyperfine failed; ignored)"
    fi
}

# Peak memory of tracking many files: per-file state must stay small (a stat cache held whole in
# memory, manifests, thread pools). GNU time reports the maximum resident set size in KiB.
bench_memory() {
    section "peak memory: mlo track on $SMALL_FILES files (fresh repository)"
    REPO=$WORK/mlo-rss ITEM=small LABEL=rss-mlo
    prep_mlo_repo || die "mlo init failed" "$(prep_log)"
    sync
    local out=$WORK/logs/rss-mlo.kib
    timed rss-mlo "$REPO" /usr/bin/time -f %M -o "$out" "$MLO" track small
    T[rss_mlo]=$(tail -n 1 "$out")
    [[ ${T[rss_mlo]} =~ ^[0-9]+$ ]] || die "could not read the max RSS from $out" "$out"
    rmtree "$REPO"
    local verdict=MISS
    ((T[rss_mlo] <= TARGET_RSS_KIB)) && verdict=PASS
    note "$(printf '  %-34s %12s   (target <= %s: %s)' "mlo track, max RSS" "$(fmt_mib "${T[rss_mlo]}")" \
        "$(fmt_mib $TARGET_RSS_KIB)" "$verdict")"
}

# ---------------------------------------------------------------------------------------------
# Summary: one row per comparison; ratio is always mlo / peer. Rows without a target are context.

summary() {
    local bigname="big file ($BIG_MB MiB): track" smallname="$SMALL_FILES files: track"
    local m=${T[big_mlo]} s=${T[small_mlo]}
    add_row "$bigname vs openssl dgst" "$(fmt_t "$m")" "$(fmt_t "${T[big_openssl]}")" \
        "$(fmt_ratio "$m" "${T[big_openssl]}")" "<= $(fmt_x $TARGET_BIG_X100)" \
        "$(verdict_ratio "$m" "${T[big_openssl]}" $TARGET_BIG_X100)"
    add_row "$bigname vs sha256sum" "$(fmt_t "$m")" "$(fmt_t "${T[big_sha256sum]}")" \
        "$(fmt_ratio "$m" "${T[big_sha256sum]}")" - -
    add_row "$bigname vs git annex add" "$(fmt_t "$m")" "$(fmt_t "${T[big_annex]}")" \
        "$(fmt_ratio "$m" "${T[big_annex]}")" - -
    add_row "$bigname vs git lfs + add" "$(fmt_t "$m")" "$(fmt_t "${T[big_lfs]}")" \
        "$(fmt_ratio "$m" "${T[big_lfs]}")" - -
    add_row "$smallname vs xargs sha256sum" "$(fmt_t "$s")" "$(fmt_t "${T[small_xargs]}")" \
        "$(fmt_ratio "$s" "${T[small_xargs]}")" "<= $(fmt_x $TARGET_SMALL_X100)" \
        "$(verdict_ratio "$s" "${T[small_xargs]}" $TARGET_SMALL_X100)"
    add_row "$smallname vs git annex add" "$(fmt_t "$s")" "$(fmt_t "${T[small_annex]}")" \
        "$(fmt_ratio "$s" "${T[small_annex]}")" - -
    add_row "$smallname vs git lfs + add" "$(fmt_t "$s")" "$(fmt_t "${T[small_lfs]}")" \
        "$(fmt_ratio "$s" "${T[small_lfs]}")" - -
    local g=${T[noop_git]}
    add_row "no-op: mlo status vs git status" "$(fmt_t "${T[noop_status]}")" "$(fmt_t "$g")" \
        "$(fmt_ratio "${T[noop_status]}" "$g")" "<= $(fmt_x $TARGET_NOOP_X100)" \
        "$(verdict_ratio "${T[noop_status]}" "$g" $TARGET_NOOP_X100)"
    add_row "no-op: mlo track vs git status" "$(fmt_t "${T[noop_track]}")" "$(fmt_t "$g")" \
        "$(fmt_ratio "${T[noop_track]}" "$g")" "<= $(fmt_x $TARGET_NOOP_X100)" \
        "$(verdict_ratio "${T[noop_track]}" "$g" $TARGET_NOOP_X100)"
    local v=${T[version_mlo]} verdict=MISS
    ((v <= TARGET_VERSION_US)) && verdict=PASS
    add_row "startup: --version vs git --version" "$(fmt_ms "$v")" "$(fmt_ms "${T[version_git]}")" \
        "$(fmt_ratio "$v" "${T[version_git]}")" "<= $(fmt_ms $TARGET_VERSION_US)" "$verdict"
    verdict=MISS
    ((T[rss_mlo] <= TARGET_RSS_KIB)) && verdict=PASS
    add_row "max RSS: track $SMALL_FILES files" "$(fmt_mib "${T[rss_mlo]}")" - - \
        "<= $(fmt_mib $TARGET_RSS_KIB)" "$verdict"

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
    install_peers
    make_workdir
    print_environment
    generate_data
    bench_big
    bench_small
    bench_noop
    bench_version
    bench_memory
    summary
}

main "$@"
