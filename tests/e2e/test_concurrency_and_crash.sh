#!/usr/bin/env bash
# Two mlo processes at once, and mlo killed with SIGKILL mid-write (SPEC.md section 3: nothing is
# corrupted, no partial object is visible, no pointer is half-written, the next command works and
# `mlo fsck` is clean).
source "$(dirname "$0")/lib.sh"

# make_data DIR FILES SIZE_MB: FILES distinct files sharing SIZE_MB MiB of random bytes each.
# Generating randomness once and prefixing each copy keeps this fast.
make_data() {
    local dir=$1 files=$2 mb=$3 i
    mkdir -p "$dir"
    head -c $((mb * 1024 * 1024)) /dev/urandom >"$E2E_SCRATCH/chunk.$$"
    for ((i = 1; i <= files; i++)); do
        mkdir -p "$dir/part$((i % 4))"
        { echo "$dir file $i $RANDOM"; cat "$E2E_SCRATCH/chunk.$$"; } >"$dir/part$((i % 4))/f$i.bin"
    done
    rm -f "$E2E_SCRATCH/chunk.$$"
}

# Checksums of every file below DIR, to compare after a checkout.
checksums() {
    (cd "$1" && find . -type f -print0 | xargs -0 -r sha256sum | LC_ALL=C sort)
}

# The invariants after any mix of concurrent or killed commands.
expect_store_sound() {
    expect_exit 0 mlo fsck
    local leftovers
    leftovers=$(find .mlo/tmp -mindepth 1)
    [[ -z $leftovers ]] || fail "files left in .mlo/tmp: $leftovers"
    # Every pointer present parses and is complete.
    expect_exit 0 mlo --json status
}

# A pointer, if written, describes exactly the data.
expect_pointer_matches() {
    local dir=$1
    [[ -e $dir.mlo ]] || return 0
    expect_eq "$(pointer_hash "$dir.mlo")" "$(tree_id "$dir")" "pointer of $dir"
    grep -q '^files: ' "$dir.mlo" || fail "$dir.mlo is incomplete: $(cat "$dir.mlo")"
}

# Two tracks of different data at once (in one directory, so they share its .gitignore).
case_two_tracks_different_data() {
    new_project
    make_data d1 16 2
    make_data d2 16 2
    local round
    for round in 1 2; do
        local p1 p2 rc1=0 rc2=0
        "$MLO" -q track d1 >"$E2E_SCRATCH/o1" 2>"$E2E_SCRATCH/e1" &
        p1=$!
        "$MLO" -q track d2 >"$E2E_SCRATCH/o2" 2>"$E2E_SCRATCH/e2" &
        p2=$!
        wait "$p1" || rc1=$?
        wait "$p2" || rc2=$?
        ((rc1 == 0)) || fail "track d1 failed ($rc1): $(cat "$E2E_SCRATCH/e1")"
        ((rc2 == 0)) || fail "track d2 failed ($rc2): $(cat "$E2E_SCRATCH/e2")"
        expect_pointer_matches d1
        expect_pointer_matches d2
        expect_eq "$(grep -cx '/d1' .gitignore)" 1 "/d1 entries in .gitignore"
        expect_eq "$(grep -cx '/d2' .gitignore)" 1 "/d2 entries in .gitignore"
        expect_store_sound
        echo "round $round" >>d1/part1/f1.bin
        echo "round $round" >>d2/part2/f2.bin
    done
    # Many small tracks at once in one directory: no .gitignore entry may be lost.
    local i pids=()
    for i in $(seq 1 12); do
        echo "$i" >"small$i"
    done
    for i in $(seq 1 12); do
        "$MLO" -q track "small$i" >/dev/null 2>"$E2E_SCRATCH/small$i.err" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail "track small$((i + 1)) failed: $(cat "$E2E_SCRATCH/small$((i + 1)).err")"
    done
    for i in $(seq 1 12); do
        expect_eq "$(grep -cx "/small$i" .gitignore)" 1 "/small$i entries in .gitignore"
        expect_eq "$(pointer_hash "small$i.mlo")" "$(file_sha "small$i")" "pointer of small$i"
    done
    expect_store_sound
}

# Two tracks of the same data at once: both succeed (or one refuses clearly); one correct pointer.
case_two_tracks_same_data() {
    new_project
    make_data d 24 2
    local round
    for round in 1 2 3; do
        ((round == 1)) || echo "round $round" >>d/part0/f4.bin
        local p1 p2 rc1=0 rc2=0
        "$MLO" track d >"$E2E_SCRATCH/o1" 2>"$E2E_SCRATCH/e1" &
        p1=$!
        "$MLO" track d >"$E2E_SCRATCH/o2" 2>"$E2E_SCRATCH/e2" &
        p2=$!
        wait "$p1" || rc1=$?
        wait "$p2" || rc2=$?
        if ((rc1 != 0 || rc2 != 0)); then
            # Refusing is allowed, but only clearly (exit 3, a message) and not both.
            ((rc1 == 0 || rc2 == 0)) || fail "both tracks failed: $(cat "$E2E_SCRATCH/e1" "$E2E_SCRATCH/e2")"
            local err=$E2E_SCRATCH/e1 rc=$rc1
            ((rc2 != 0)) && err=$E2E_SCRATCH/e2 rc=$rc2
            ((rc == 3)) || fail "concurrent track failed with exit $rc: $(cat "$err")"
            expect_contains "$err" "mlo: error:"
        fi
        [[ -e d.mlo ]] || fail "no pointer"
        expect_pointer_matches d
        expect_eq "$(grep -cx '/d' .gitignore)" 1 "/d entries in .gitignore"
        expect_store_sound
        expect_exit 0 mlo status --exit-code
    done
    # The data comes back intact from the store.
    local sums
    sums=$(checksums d)
    rm -rf d
    expect_exit 0 mlo checkout d
    expect_eq "$(checksums d)" "$sums" "checksums after checkout"
}

# gc while a track is storing new data: gc waits for the track (or runs first); nothing of the
# tracked data may be lost.
case_gc_during_track() {
    new_project
    # Garbage for gc to find: tracked, never committed, then re-tracked with other content.
    echo "old draft" >draft
    "$MLO" -q track draft >/dev/null
    echo "new draft" >draft
    "$MLO" -q track draft >/dev/null
    make_data d 24 2
    local sums
    sums=$(checksums d)
    local delay
    for delay in 0.05 0.2; do
        local pt pg rct=0 rcg=0
        "$MLO" -q track d >"$E2E_SCRATCH/ot" 2>"$E2E_SCRATCH/et" &
        pt=$!
        sleep "$delay"
        "$MLO" --json gc >"$E2E_SCRATCH/og" 2>"$E2E_SCRATCH/eg" &
        pg=$!
        wait "$pt" || rct=$?
        wait "$pg" || rcg=$?
        ((rct == 0)) || fail "track failed ($rct): $(cat "$E2E_SCRATCH/et")"
        ((rcg == 0)) || fail "gc failed ($rcg): $(cat "$E2E_SCRATCH/eg")"
        expect_pointer_matches d
        expect_store_sound
        expect_exit 0 mlo status --exit-code
        rm -rf d
        expect_exit 0 mlo checkout d
        expect_eq "$(checksums d)" "$sums" "checksums after gc and checkout"
        # Next round: new content, so the track has objects to write while gc runs.
        echo "delay $delay" >>d/part3/f3.bin
        sums=$(checksums d)
    done
    [[ ! -e $(obj_path "sha256:$(echo "old draft" | sha256sum | cut -d' ' -f1)") ]] ||
        fail "gc did not remove the unreferenced draft"
}

# SIGKILL of `mlo track` on ~200 MB at several moments.
case_kill_track() {
    new_project
    make_data big 50 4 # 200 MiB
    local delays=(0.02 0.05 0.08 0.03 "0.$((RANDOM % 5 + 1))$((RANDOM % 10))")
    local delay
    for delay in "${delays[@]}"; do
        local pid
        "$MLO" -q track big >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        expect_store_sound
        expect_pointer_matches big
        # A pointer is never half-written: if present, it parses (status above) and matches.
        local junk
        junk=$(find . -path ./.git -prune -o -name '*.tmp.*' -print)
        [[ -z $junk ]] || echo "note: after kill at ${delay}s, temp files left in the workspace: $junk" >&2
    done
    # The next track works and everything is consistent.
    expect_exit 0 mlo --json track big
    expect_json "$OUT" tracked.0.hash "$(tree_id big)"
    expect_json "$OUT" tracked.0.files 50
    expect_store_sound
    expect_exit 0 mlo status --exit-code
    expect_eq "$(grep -cx '/big' .gitignore)" 1 "/big entries in .gitignore"
    # gc keeps everything now referenced and removes nothing the kills left behind except garbage.
    expect_exit 0 mlo gc
    expect_store_sound
    local sums
    sums=$(checksums big)
    rm -rf big

    # SIGKILL of a checkout: the next checkout finishes the job; no half-written file appears.
    local pid
    "$MLO" -q checkout big >/dev/null 2>&1 &
    pid=$!
    sleep 0.1
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    expect_exit 0 mlo fsck
    if [[ -d big ]]; then
        # Whatever is there is complete: every file present has its recorded content.
        (cd big && find . -type f -print0 | xargs -0 -r sha256sum) | LC_ALL=C sort >"$E2E_SCRATCH/partial"
        comm -23 "$E2E_SCRATCH/partial" <(echo "$sums") | grep -q . &&
            fail "a killed checkout left a file with wrong content: $(comm -23 "$E2E_SCRATCH/partial" <(echo "$sums"))"
    fi
    expect_exit 0 mlo checkout big
    expect_eq "$(checksums big)" "$sums" "checksums after an interrupted checkout"
    expect_exit 0 mlo gc # removes what the killed checkout staged
    expect_store_sound
}

run_case "two tracks of different data at once" case_two_tracks_different_data
run_case "two tracks of the same data at once" case_two_tracks_same_data
run_case "gc while track runs" case_gc_during_track
run_case "kill -9 during track and checkout" case_kill_track
finish
