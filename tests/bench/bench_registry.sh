#!/usr/bin/env bash
# Model registry benchmarks: reading a registry of 50 models with 20 versions each and their stage
# assignments (about 2,200 git tags).
#
# The registry is made through mlo itself, nothing written by hand: a fresh git repository with
# `mlo init`, 50 models declared in mlo.yaml (m00..m49, a 4 KiB file each under the git-ignored
# models/), then for each model 20 times: new bytes in its file, `mlo register mNN`, `mlo register
# promote mNN@vX --to staging`, and for every 5th version (v0.0.1, v0.0.6, v0.0.11, v0.0.16) also
# `--to production`. That is 44 tags per model, one mlo process each; the models are registered by
# BENCH_SETUP_JOBS parallel workers (every tag of one model by the same worker, in order).
#
# Figures, warm page cache, microseconds: `mlo register list`, `mlo register show m17#production`
# and `mlo --json register list` with a warm index (best of BENCH_QUERY_REPS after a warm-up); the
# first two again after .mlo/index.db is deleted (best of 3, the index deleted before each run). The
# peer, for information, is what any tag-based registry (GTO) must read at least: every tag's name,
# object and message (`git for-each-ref ... refs/tags`), and `git tag -l`. With the refs packed
# (`git pack-refs --all`), the warm list is measured again, and `mlo audit verify` is timed once.
#
# It prints every figure, each ratio, and a summary table with the targets. It is a report, not a
# test: missed targets still exit 0; only a failing command (or a missing mlo binary) exits non-zero.
# Not run by ctest or CI; see tests/bench/README.md.
#
# Environment:
#   MLO                 path to the mlo binary (default: build/release/mlo under the repository root)
#   BENCH_DIR           where the temporary work directory goes (default /tmp/mlo-bench)
#   BENCH_MODELS        number of models (default 50, at most 100)
#   BENCH_VERSIONS      versions registered per model (default 20)
#   BENCH_SETUP_JOBS    models registered in parallel during the setup (default 2)
#   BENCH_QUERY_REPS    timed runs of each warm query and of each peer, best kept (default 10)
#   BENCH_KEEP=1        keep the work directory (project, logs) instead of deleting it
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # decimal point in EPOCHREALTIME, byte-wise sorting, untranslated tool output

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/mlo-bench}
MODELS=${BENCH_MODELS:-50}
VERSIONS=${BENCH_VERSIONS:-20}
SETUP_JOBS=${BENCH_SETUP_JOBS:-2}
QUERY_REPS=${BENCH_QUERY_REPS:-10}
KEEP=${BENCH_KEEP:-0}
MLO=${MLO:-$ROOT/build/release/mlo}
PYTHON=/usr/bin/python3 # Debian's, for the JSON checks: standard library only
COLD_REPS=3
PROD_EVERY=5   # versions 1, 1+PROD_EVERY, ... are promoted to production
MODEL_BYTES=4096

# Targets, in microseconds: warm index, and after the index is deleted.
TARGET_WARM_US=50000
TARGET_COLD_US=500000

# mlo's own git calls must not pick up the user's configuration. No automatic gc or maintenance:
# thousands of new tag objects must not start `git gc --auto` in the middle of the timings (and
# pack the refs the loose-ref figures are about).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=gc.auto GIT_CONFIG_VALUE_0=0
export GIT_CONFIG_KEY_1=maintenance.auto GIT_CONFIG_VALUE_1=false
# The identity is also set in the repository's config (see make_registry): mlo takes the tagger and
# the audit log's actor from git.
export GIT_AUTHOR_NAME=mlo-bench GIT_AUTHOR_EMAIL=mlo-bench@example.invalid
export GIT_COMMITTER_NAME=mlo-bench GIT_COMMITTER_EMAIL=mlo-bench@example.invalid

WORK=""         # the temporary work directory, set by make_workdir
PROJ=""         # the registry project, $WORK/registry
declare -A T    # measured figures: wall times in microseconds
SUMMARY=()      # summary table rows, tab-separated
MODEL_NAMES=()  # m00, m01, ...
SHOW_MODEL=""   # the model `register show` asks for: m17, or the last one when there are fewer
EXPECT_PROD=""  # the version every model's production stage holds at the end
EXPECT_TAGS=0   # tags the setup creates

# ---------------------------------------------------------------------------------------------
# Helpers of this script (the shared ones are in lib.sh)

trap cleanup EXIT
trap 'exit 130' INT TERM # run the EXIT trap (cleanup) on Ctrl-C too

fmt_ratio() { # fmt_ratio A B: A/B, with three decimals below 1
    if (($2 == 0)); then echo 0x; return; fi
    local r=$((($1 * 1000 + $2 / 2) / $2))
    if ((r < 1000)); then printf '0.%03dx' "$r"; else fmt_x "$(ratio_x100 "$1" "$2")"; fi
}

# cold_best LABEL CMD...: COLD_REPS runs of CMD in the project, each right after .mlo/index.db (and
# its -wal and -shm files) is deleted; sets BEST_US to the fastest. The page cache stays warm: this
# is the cost of rebuilding the index from the tags, not of reading a cold disk.
cold_best() {
    local label=$1 i best=0
    shift
    for ((i = 0; i < COLD_REPS; i++)); do
        rm -f "$PROJ"/.mlo/index.db "$PROJ"/.mlo/index.db-wal "$PROJ"/.mlo/index.db-shm
        timed "$label" "$PROJ" "$@"
        if ((best == 0 || LAST_US < best)); then best=$LAST_US; fi
    done
    BEST_US=$best
}

refs_layout() { # how the tag refs are stored: loose files, and lines of .git/packed-refs
    local packed=none
    [[ ! -f $PROJ/.git/packed-refs ]] || packed="$(grep -c 'refs/tags/' "$PROJ/.git/packed-refs") tag refs"
    printf '%d loose tag refs, packed-refs: %s' "$(find "$PROJ/.git/refs/tags" -type f | wc -l)" "$packed"
}

# The peers: what a registry kept in git tags must read at least (every tag's name, the object it
# points at and its message), and the plain list of tag names.
peer_refs() { git for-each-ref --format='%(refname:short) %(objectname) %(contents)' refs/tags; }
peer_tag_list() { git tag -l; }

# ---------------------------------------------------------------------------------------------
# Setup

check_settings() {
    [[ $MODELS =~ ^[1-9][0-9]*$ && $MODELS -le 100 ]] || die "BENCH_MODELS must be an integer from 1 to 100, not '$MODELS'"
    [[ $VERSIONS =~ ^[1-9][0-9]*$ ]] || die "BENCH_VERSIONS must be a positive integer, not '$VERSIONS'"
    [[ $SETUP_JOBS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SETUP_JOBS must be a positive integer, not '$SETUP_JOBS'"
    [[ $QUERY_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_QUERY_REPS must be a positive integer, not '$QUERY_REPS'"
    local i
    for ((i = 0; i < MODELS; i++)); do MODEL_NAMES+=("$(printf 'm%02d' "$i")"); done
    SHOW_MODEL=${MODEL_NAMES[$((MODELS > 17 ? 17 : MODELS - 1))]}
    EXPECT_PROD=v0.0.$(((VERSIONS - 1) / PROD_EVERY * PROD_EVERY + 1))
    EXPECT_TAGS=$((MODELS * (2 * VERSIONS + (VERSIONS - 1) / PROD_EVERY + 1)))
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
    "$MLO" register --help >/dev/null 2>&1 || die "'$MLO' has no 'register' command: is the build up to date?"
}

# Installs what is missing, from Debian only: git (the registry is git tags) and python3 (the JSON
# checks; Debian's /usr/bin/python3, standard library only).
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
    WORK=$(mktemp -d "$BENCH_DIR/registry.XXXXXX")
    PROJ=$WORK/registry
    mkdir -p "$WORK/logs"
}

print_environment() {
    section "environment"
    note "  mlo:        $MLO ($("$MLO" --version 2>&1 | head -n 1))"
    note "  git:        $(git --version)"
    note "  cpu:        $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    note "  work dir:   $WORK ($(stat -f -c %T "$WORK") filesystem)"
    note "  registry:   $MODELS models x $VERSIONS versions, each promoted to staging, every ${PROD_EVERY}th to production: $EXPECT_TAGS tags"
}

# model_bytes MODEL VERSION: the model file's content, MODEL_BYTES bytes that differ per model and
# version (deterministic; built in bash, no process started).
model_bytes() {
    local s="$1 v$2 mlo registry benchmark model file "
    while ((${#s} < MODEL_BYTES)); do s+=$s; done
    printf '%s' "${s:0:MODEL_BYTES}"
}

# register_model MODEL: the setup worker for one model (run by xargs, in its own bash, with the
# variables below exported). Registers VERSIONS versions in order, promotes each to staging and every
# PROD_EVERY-th to production, then prints one progress line. Every tag of a model is made by the
# same worker, one after the other: a stage tag's N is one more than the model's highest, so two
# processes promoting the same model at once could pick the same N. Different models are
# independent: a tag is created atomically, the store is locked shared, and the audit log is
# appended under an exclusive lock. The final tag count and `mlo audit verify` check this.
register_model() {
    local model=$1 v t0=${EPOCHREALTIME/./} log=$WORK/logs/setup-$1.log
    fail() {
        {
            echo "bench_registry.sh: error: $1 (see $log)"
            tail -n 10 "$log"
        } >&2
        exit 255 # stops xargs
    }
    cd "$PROJ" || exit 255
    for ((v = 1; v <= VERSIONS; v++)); do
        model_bytes "$model" "$v" >"models/$model.bin" || fail "writing models/$model.bin failed"
        "$MLO" -q register "$model" >>"$log" 2>&1 || fail "mlo register $model (v0.0.$v) failed"
        "$MLO" -q register promote "$model@v0.0.$v" --to staging >>"$log" 2>&1 ||
            fail "mlo register promote $model@v0.0.$v --to staging failed"
        if (((v - 1) % PROD_EVERY == 0)); then
            "$MLO" -q register promote "$model@v0.0.$v" --to production >>"$log" 2>&1 ||
                fail "mlo register promote $model@v0.0.$v --to production failed"
        fi
    done
    local now=${EPOCHREALTIME/./}
    printf '  %s: %d versions registered and promoted in %s (setup at %s)\n' "$model" "$VERSIONS" \
        "$(fmt_t $((now - t0)))" "$(fmt_t $((now - SETUP_T0)))"
}

make_registry() {
    section "making the registry through mlo: $EXPECT_TAGS tags, one mlo process each, $SETUP_JOBS models at a time"
    local log=$WORK/logs/init.log
    mkdir -p "$PROJ/models"
    (
        cd "$PROJ"
        git init -q -b main
        git config user.name mlo-bench
        git config user.email mlo-bench@example.invalid
        "$MLO" init
        {
            printf '\nmodels:\n'
            local m
            for m in "${MODEL_NAMES[@]}"; do
                printf '  %s:\n    path: models/%s.bin\n    type: bench\n' "$m" "$m"
                printf '    signature:\n      inputs:\n        - {name: x, type: double}\n'
                printf '      outputs:\n        - {name: score, type: double}\n'
            done
            printf '\nregistry:\n  stages: [staging, production]\n'
        } >>mlo.yaml
        for m in "${MODEL_NAMES[@]}"; do model_bytes "$m" 0 >"models/$m.bin"; done
        printf '/models/\n' >>.gitignore
        git add -A
        git commit -q -m "registry benchmark project"
        [[ -z $(git status --porcelain) ]] || { echo "the tree is not clean after the commit"; exit 1; }
    ) >>"$log" 2>&1 || die "setting up the project failed" "$log"

    SETUP_T0=${EPOCHREALTIME/./}
    export MLO PROJ WORK VERSIONS PROD_EVERY MODEL_BYTES SETUP_T0
    export -f register_model model_bytes fmt_t fmt_s fmt_ms
    local rc=0
    # shellcheck disable=SC2016 # expanded by the worker's bash
    printf '%s\n' "${MODEL_NAMES[@]}" |
        xargs -P "$SETUP_JOBS" -n 1 bash -c 'register_model "$1"' register_model || rc=$?
    ((rc == 0)) || die "registering the models failed (xargs exit code $rc)"
    T[setup]=$((${EPOCHREALTIME/./} - SETUP_T0))

    local tags
    tags=$(cd "$PROJ" && git tag -l | grep -c .) || die "git tag -l failed"
    ((tags == EXPECT_TAGS)) || die "the repository has $tags tags, $EXPECT_TAGS were expected"
    if grep -il 'warn' "$WORK"/logs/setup-*.log >/dev/null; then
        note "  note: mlo printed warnings during the setup: $(grep -ih 'warn' "$WORK"/logs/setup-*.log | sort | uniq -c | head -n 3)"
    fi
    note "$(printf '  %-34s %12s   (%d tags, %s per mlo process with %d in parallel)' "setup" "$(fmt_t "${T[setup]}")" \
        "$tags" "$(fmt_ms $((T[setup] * SETUP_JOBS / tags)))" "$SETUP_JOBS")"
    note "  refs: $(refs_layout)"
}

# ---------------------------------------------------------------------------------------------
# Correctness, before any timing: what mlo reports must be what the setup made.

CHECK_LIST_PY='
import json, sys
models, versions, prod = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
doc = json.load(sys.stdin)
rows = doc["models"]
errors = []
names = [r["name"] for r in rows]
want = ["m%02d" % i for i in range(models)]
if names != want:
    errors.append("models listed: %s, expected m00..m%02d" % (names[:5] + ["..."], models - 1))
for r in rows:
    got = (r["latest"], r["versions"], r["stages"].get("staging"), r["stages"].get("production"), r["deprecated"])
    exp = ("v0.0.%d" % versions, versions, "v0.0.%d" % versions, prod, False)
    if got != exp:
        errors.append("%s: latest, versions, staging, production, deprecated = %s, expected %s" % (r["name"], got, exp))
if errors:
    sys.exit("\n".join(errors[:10]))
print("%d models, each latest v0.0.%d with %d versions, staging v0.0.%d, production %s" % (len(rows), versions, versions, versions, prod))
'

CHECK_SHOW_PY='
import hashlib, json, sys
model, version, content_file = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(sys.stdin)
m = doc["manifest"]
with open(content_file, "rb") as f:
    want_id = "sha256:" + hashlib.sha256(f.read()).hexdigest()
got = (m["model"], m["version"], doc["tag"], "production" in doc["stages"], m["root"])
exp = (model, version, "%s@%s" % (model, version), True, want_id)
if got != exp:
    sys.exit("model, version, tag, holds production, file id = %s, expected %s" % (got, exp))
print("%s#production = %s (%s), its file has the bytes the setup wrote for that version" % (model, version, doc["tag"]))
'

check_registry() {
    section "correctness: what mlo reports is what the setup made"
    local out
    out=$(cd "$PROJ" && "$MLO" --json register list | "$PYTHON" -c "$CHECK_LIST_PY" "$MODELS" "$VERSIONS" "$EXPECT_PROD" 2>&1) ||
        die "mlo --json register list does not report the registry the setup made:
$out"
    note "  register list: $out"
    model_bytes "$SHOW_MODEL" "${EXPECT_PROD#v0.0.}" >"$WORK/expected.bin"
    out=$(cd "$PROJ" && "$MLO" register show "$SHOW_MODEL#production" --json |
        "$PYTHON" -c "$CHECK_SHOW_PY" "$SHOW_MODEL" "$EXPECT_PROD" "$WORK/expected.bin" 2>&1) ||
        die "mlo register show $SHOW_MODEL#production --json does not report the expected version:
$out"
    note "  register show: $out"
    local lines
    lines=$(cd "$PROJ" && "$MLO" register list | grep -c .) || die "mlo register list failed"
    ((lines == MODELS + 1)) || die "mlo register list printed $lines lines, expected a header and $MODELS models"
}

# ---------------------------------------------------------------------------------------------
# Figures

bench_warm() {
    section "warm index: best of $QUERY_REPS after a warm-up; peers: git over the same $EXPECT_TAGS tags"
    best_of "$QUERY_REPS" peer-for-each-ref "$PROJ" peer_refs
    T[peer_refs]=$BEST_US
    best_of "$QUERY_REPS" peer-tag-list "$PROJ" peer_tag_list
    T[peer_tags]=$BEST_US
    report_base "git for-each-ref (name, oid, msg)" "${T[peer_refs]}"
    report_base "git tag -l" "${T[peer_tags]}"

    best_of "$QUERY_REPS" warm-list "$PROJ" "$MLO" register list
    T[warm_list]=$BEST_US
    best_of "$QUERY_REPS" warm-show "$PROJ" "$MLO" register show "$SHOW_MODEL#production"
    T[warm_show]=$BEST_US
    best_of "$QUERY_REPS" warm-json-list "$PROJ" "$MLO" --json register list
    T[warm_json]=$BEST_US
    local key title target
    for key in warm_list warm_show warm_json; do
        case $key in
            warm_list) title="mlo register list" target=$TARGET_WARM_US ;;
            warm_show) title="mlo register show $SHOW_MODEL#production" target=$TARGET_WARM_US ;;
            warm_json) title="mlo --json register list" target=0 ;;
        esac
        local line
        line=$(printf '  %-34s %12s   %7s of for-each-ref' "$title" "$(fmt_t "${T[$key]}")" "$(fmt_ratio "${T[$key]}" "${T[peer_refs]}")")
        if ((target > 0)); then
            line+="   (target <= $(fmt_ms "$target"): $(verdict_abs "${T[$key]}" "$target"))"
        else
            line+="   (information)"
        fi
        note "$line"
    done
}

bench_cold() {
    section "index deleted (.mlo/index.db*) before each run: best of $COLD_REPS"
    cold_best cold-list "$MLO" register list
    T[cold_list]=$BEST_US
    cold_best cold-show "$MLO" register show "$SHOW_MODEL#production"
    T[cold_show]=$BEST_US
    note "$(printf '  %-34s %12s   %7s of for-each-ref   (target <= %s: %s)' "mlo register list" "$(fmt_t "${T[cold_list]}")" \
        "$(fmt_ratio "${T[cold_list]}" "${T[peer_refs]}")" "$(fmt_ms $TARGET_COLD_US)" "$(verdict_abs "${T[cold_list]}" $TARGET_COLD_US)")"
    note "$(printf '  %-34s %12s   %7s of for-each-ref   (target <= %s: %s)' "mlo register show $SHOW_MODEL#production" \
        "$(fmt_t "${T[cold_show]}")" "$(fmt_ratio "${T[cold_show]}" "${T[peer_refs]}")" "$(fmt_ms $TARGET_COLD_US)" \
        "$(verdict_abs "${T[cold_show]}" $TARGET_COLD_US)")"
    # The rebuilt index must give the same answer.
    check_registry >/dev/null
}

bench_audit() {
    section "mlo audit verify: every tag, manifest and logged event, once (information)"
    local log=$WORK/logs/audit-verify.log
    timed audit-verify "$PROJ" "$MLO" audit verify
    T[audit]=$LAST_US
    local summary
    summary=$(tail -n 1 "$log")
    [[ $summary == "audit verified: $EXPECT_TAGS tags and $EXPECT_TAGS logged events checked" ]] ||
        die "mlo audit verify did not check $EXPECT_TAGS tags and $EXPECT_TAGS logged events: '$summary'" "$log"
    note "$(printf '  %-34s %12s   (%s)' "mlo audit verify" "$(fmt_t "${T[audit]}")" "$summary")"
}

# Last: packing the refs changes the repository for good.
bench_packed() {
    section "after git pack-refs --all: best of $QUERY_REPS after a warm-up (information)"
    (cd "$PROJ" && git pack-refs --all) >>"$WORK/logs/pack-refs.log" 2>&1 || die "git pack-refs --all failed" "$WORK/logs/pack-refs.log"
    note "  refs: $(refs_layout)"
    best_of "$QUERY_REPS" packed-for-each-ref "$PROJ" peer_refs
    T[packed_refs]=$BEST_US
    best_of "$QUERY_REPS" packed-list "$PROJ" "$MLO" register list
    T[packed_list]=$BEST_US
    report_base "git for-each-ref (name, oid, msg)" "${T[packed_refs]}"
    note "$(printf '  %-34s %12s   %7s of for-each-ref' "mlo register list" "$(fmt_t "${T[packed_list]}")" \
        "$(fmt_ratio "${T[packed_list]}" "${T[packed_refs]}")")"
    check_registry >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Summary: one row per figure; ratio is always mlo / peer. Rows without a target are context.

summary() {
    local refs=${T[peer_refs]}
    add_row "setup: $EXPECT_TAGS tags, $SETUP_JOBS in parallel" "$(fmt_t "${T[setup]}")" - - - -
    add_row "warm: register list" "$(fmt_t "${T[warm_list]}")" "$(fmt_t "$refs")" \
        "$(fmt_ratio "${T[warm_list]}" "$refs")" "<= $(fmt_ms $TARGET_WARM_US)" "$(verdict_abs "${T[warm_list]}" $TARGET_WARM_US)"
    add_row "warm: register show $SHOW_MODEL#production" "$(fmt_t "${T[warm_show]}")" "$(fmt_t "$refs")" \
        "$(fmt_ratio "${T[warm_show]}" "$refs")" "<= $(fmt_ms $TARGET_WARM_US)" "$(verdict_abs "${T[warm_show]}" $TARGET_WARM_US)"
    add_row "warm: --json register list" "$(fmt_t "${T[warm_json]}")" "$(fmt_t "$refs")" \
        "$(fmt_ratio "${T[warm_json]}" "$refs")" - -
    add_row "warm: register list vs git tag -l" "$(fmt_t "${T[warm_list]}")" "$(fmt_t "${T[peer_tags]}")" \
        "$(fmt_ratio "${T[warm_list]}" "${T[peer_tags]}")" - -
    add_row "no index: register list" "$(fmt_t "${T[cold_list]}")" "$(fmt_t "$refs")" \
        "$(fmt_ratio "${T[cold_list]}" "$refs")" "<= $(fmt_ms $TARGET_COLD_US)" "$(verdict_abs "${T[cold_list]}" $TARGET_COLD_US)"
    add_row "no index: register show $SHOW_MODEL#production" "$(fmt_t "${T[cold_show]}")" "$(fmt_t "$refs")" \
        "$(fmt_ratio "${T[cold_show]}" "$refs")" "<= $(fmt_ms $TARGET_COLD_US)" "$(verdict_abs "${T[cold_show]}" $TARGET_COLD_US)"
    add_row "audit verify, once" "$(fmt_t "${T[audit]}")" "$(fmt_t "$refs")" "$(fmt_ratio "${T[audit]}" "$refs")" - -
    add_row "packed refs, warm: register list" "$(fmt_t "${T[packed_list]}")" "$(fmt_t "${T[packed_refs]}")" \
        "$(fmt_ratio "${T[packed_list]}" "${T[packed_refs]}")" - -

    section "summary (ratio = mlo / peer; peer = git for-each-ref of every tag's name, object and message)"
    local fmt='  %-46s %12s %12s %8s %12s %6s\n' row pass=0 miss=0
    # shellcheck disable=SC2059 # the format is ours
    printf "$fmt" figure mlo peer ratio target result
    # shellcheck disable=SC2059
    printf "$fmt" "$(printf '%.0s-' {1..46})" ------------ ------------ -------- ------------ ------
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
    make_registry
    check_registry
    bench_warm
    bench_cold
    bench_audit
    bench_packed
    summary
}

main "$@"
