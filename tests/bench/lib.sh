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

fmt_ms() { local c=$((($1 + 5) / 10)); printf '%d.%02d ms' $((c / 100)) $((c % 100)); }

fmt_t() { if (($1 >= 1000000)); then fmt_s "$1"; else fmt_ms "$1"; fi; }

fmt_x() { printf '%d.%02dx' $(($1 / 100)) $(($1 % 100)); } # fmt_x X100: 125 -> 1.25x

ratio_x100() { # ratio_x100 A B: A/B rounded, x100
    if (($2 == 0)); then echo 0; else echo $((($1 * 100 + $2 / 2) / $2)); fi
}

verdict_abs() { if (($1 <= $2)); then echo PASS; else echo MISS; fi; } # verdict_abs US TARGET_US

# timed LABEL DIR CMD...: runs CMD in DIR, appending its output to logs/LABEL.log; sets LAST_US to
# its wall time. Bash's EPOCHREALTIME is read without forking, so the timer adds no process start
# to the figure (date +%s.%N would add about a millisecond, as much as some figures).
LAST_US=0

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

# best_of N LABEL DIR CMD...: one untimed warm-up run, then N timed runs of CMD in DIR; sets
# BEST_US to the fastest, the figure least disturbed by whatever else the machine was doing. The
# warm-up reads what the command reads into the page cache, so every figure is warm-cache.
BEST_US=0
best_of() {
    local n=$1 label=$2 dir=$3 i best=0
    shift 3
    timed "$label.warmup" "$dir" "$@"
    for ((i = 1; i <= n; i++)); do
        timed "$label" "$dir" "$@"
        if ((best == 0 || LAST_US < best)); then best=$LAST_US; fi
    done
    BEST_US=$best
}

# Summary rows: figure, mlo, peer, ratio, target, result.
add_row() { SUMMARY+=("$(printf '%s\t' "$@")"); }

verdict_ratio() { # verdict_ratio MLO PEER TARGET_X100
    if (($1 * 100 <= $3 * $2)); then echo PASS; else echo MISS; fi
}

report_base() { printf '  %-34s %12s   (baseline)\n' "$1" "$(fmt_t "$2")"; }
