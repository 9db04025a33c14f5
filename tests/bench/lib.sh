#!/usr/bin/env bash
# Helpers shared by the benchmark scripts (sourced, not run). They read the calling script's
# globals: WORK (work directory), KEEP, BENCH_DIR, T (figures in microseconds) and SUMMARY (rows).

die() { # die MESSAGE [LOG]: reports a failed step (with the end of its log) and exits non-zero
    echo "${0##*/}: error: $1" >&2
    if [[ -n ${2:-} && -f $2 ]]; then
        echo "--- last lines of $2:" >&2
        tail -n 20 "$2" >&2
    fi
    exit 1
}

note() { printf '%s\n' "$*"; }

section() { printf '\n== %s\n' "$*"; }

# Removes a tree, also when not root. Unlinking a read-only file (mlo's objects are 0444) needs
# only a writable directory, so only directories are made writable: a chmod of every file would
# dirty ~100,000 inodes, which on a slow disk takes minutes.
rmtree() {
    [[ -e $1 ]] || return 0
    find "$1" -type d ! -perm -u+w -exec chmod u+w {} + 2>/dev/null || true
    rm -rf "$1"
}

cleanup() {
    local rc=$?
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ $KEEP == 1 ]]; then
            echo "kept the work directory: $WORK" >&2
        else
            rmtree "$WORK"
            rmdir "$BENCH_DIR" 2>/dev/null || true # only if nothing else is in it
        fi
    fi
    exit "$rc"
}

# Formatting: figures are integers (microseconds), so format with integer arithmetic only.
fmt_s() { local ms=$((($1 + 500) / 1000)); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }

fmt_t() { if (($1 >= 1000000)); then fmt_s "$1"; else fmt_ms "$1"; fi; }

timed() {
    local label=$1 dir=$2 rc=0 t0 t1
    shift 2
    local log="$WORK/logs/$label.log"
    cd "$dir"
    t0=${EPOCHREALTIME/./}
    "$@" >>"$log" 2>&1 || rc=$?
    t1=${EPOCHREALTIME/./}
    cd "$WORK"
    ((rc == 0)) || die "'$*' failed with exit code $rc (in $dir)" "$log"
    LAST_US=$((t1 - t0))
}

# Summary rows: figure, mlo, peer, ratio, target, result.
add_row() { SUMMARY+=("$(printf '%s\t' "$@")"); }

verdict_ratio() { # verdict_ratio MLO PEER TARGET_X100
    if (($1 * 100 <= $3 * $2)); then echo PASS; else echo MISS; fi
}

report_base() { printf '  %-34s %12s   (baseline)\n' "$1" "$(fmt_t "$2")"; }
