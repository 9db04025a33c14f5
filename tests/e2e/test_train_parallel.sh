#!/usr/bin/env bash
# mlo train: independent stages in parallel (-j), a failing stage, and Ctrl-C (SIGINT).
source "$(dirname "$0")/lib.sh"

# lock_entry STAGE: the lines of STAGE's entry in mlo.lock (empty when it has none).
lock_entry() {
    awk -v stage="  $1:" '
        /^  [^ ]/ { inside = ($0 == stage) }
        inside' mlo.lock
}

# stage_field RUN_JSON STAGE FIELD: a field of one stage of a `mlo --json runs show` document.
stage_field() {
    python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))["run"]
value = [s for s in run["stages"] if s["name"] == sys.argv[2]][0][sys.argv[3]]
print(value if isinstance(value, str) else json.dumps(value))' "$@"
}

# Two independent stages that each announce they started (marks/NAME) and then wait for the other
# one's announcement: both can only succeed if they run at the same time. A third joins them.
parallel_project() {
    pipeline_project <<'EOF'
pipeline:
  left:
    cmd: sh meet.sh left right >left.out
    deps: [meet.sh]
    outs: [left.out]
  right:
    cmd: sh meet.sh right left >right.out
    deps: [meet.sh]
    outs: [right.out]
  join:
    cmd: cat left.out right.out >joined.out
    deps: [left.out, right.out]
    outs: [joined.out]
EOF
    cat >meet.sh <<'EOF'
me=$1 other=$2
touch "marks/$me"
i=0
while [ ! -e "marks/$other" ]; do
    i=$((i + 1))
    if [ "$i" -gt "${MEET_TICKS:-400}" ]; then
        echo "$me: $other did not start while $me was running" >&2
        exit 1
    fi
    sleep 0.05
done
echo "$me met $other"
EOF
    mkdir marks
    commit_all
}

case_parallel() {
    parallel_project
    expect_exit 0 mlo --json train -j 2
    expect_json "$OUT" run.status FINISHED
    expect_eq "$(cat joined.out)" $'left met right\nright met left' "joined.out"
    # The run's stage records agree: each started before the other ended.
    expect_exit 0 mlo --json runs show latest
    local ls le rs re
    ls=$(stage_field "$OUT" left started_ns)
    le=$(stage_field "$OUT" left ended_ns)
    rs=$(stage_field "$OUT" right started_ns)
    re=$(stage_field "$OUT" right ended_ns)
    ((ls < re && rs < le)) || fail "stage intervals do not overlap: left $ls-$le, right $rs-$re"
    expect_eq "$(stage_field "$OUT" join status)" succeeded "join"
    (($(stage_field "$OUT" join started_ns) >= le)) || fail "join started before left ended"
    # The control: with -j 1 the stages cannot meet, so the check above means something. (The
    # first stage gives up after MEET_TICKS polls; the second then finds its mark and succeeds.)
    rm -f marks/*
    MEET_TICKS=10 expect_exit 1 mlo --json train -j 1 --force
    expect_json "$OUT" run.status FAILED
    expect_contains "$ERR" "did not start while"
    expect_json "$OUT" stages.2.stage join
    expect_json "$OUT" stages.2.action "not run"
}

# A failing stage: exit 1, run FAILED with the exit status and the stderr log, the downstream
# stage not run, the independent one still runs, mlo.lock keeps the failed stage's last good entry.
case_failing_stage() {
    pipeline_project <<'EOF'
pipeline:
  a:
    cmd: echo "a ${a.v}" >a.out; if [ -e fail-a ]; then echo "a is broken" >&2; echo "a said this"; exit 3; fi
    outs: [a.out]
  b:
    cmd: cat a.out >b.out; echo b >>calls.log
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: echo "c ${c.v}" >c.out
    outs: [c.out]
EOF
    printf 'a: {v: 1}\nc: {v: 1}\n' >params.yaml
    commit_all
    expect_exit 0 mlo train
    local a_entry b_entry a_out
    a_entry=$(lock_entry a)
    b_entry=$(lock_entry b)
    a_out=$(file_sha a.out)
    [[ -n $a_entry ]] || fail "no lock entry for a"
    : >calls.log
    touch fail-a
    local jobs
    for jobs in 1 2; do
        # a and c both changed (c.v = jobs + 1).
        printf 'a: {v: 2}\nc: {v: %s}\n' $((jobs + 1)) >params.yaml
        expect_exit 1 mlo --json train -j "$jobs"
        expect_json "$OUT" run.status FAILED
        python3 - "$OUT" <<'EOF' || fail "stage outcomes: $(cat "$OUT")"
import json, sys
stages = {s["stage"]: s for s in json.load(open(sys.argv[1]))["stages"]}
assert stages["a"]["action"] == "failed", stages["a"]
assert "exited with 3" in stages["a"]["reason"], stages["a"]
assert stages["b"]["action"] == "not run", stages["b"]
assert stages["b"]["reason"] == "upstream stage a failed", stages["b"]
assert stages["c"]["action"] == "succeeded", stages["c"]
EOF
        expect_contains "$ERR" "a is broken"
    done
    expect_eq "$(cat calls.log)" "" "b ran"
    # mlo.lock: a's last good entry, c's new one.
    expect_eq "$(lock_entry a)" "$a_entry" "a's lock entry"
    expect_eq "$(lock_entry b)" "$b_entry" "b's lock entry"
    lock_entry c | grep -qF 'c.v: "3"' || fail "c's new entry is not in mlo.lock: $(cat mlo.lock)"
    lock_entry a | grep -qF "hash: $a_out" || fail "a's out hash changed in mlo.lock"
    # The run record: exit status, stderr and stdout logs as objects.
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.status FAILED
    expect_eq "$(stage_field "$OUT" a status)" failed "a"
    expect_eq "$(stage_field "$OUT" a exit_code)" 3 "a's exit code"
    expect_eq "$(stage_field "$OUT" b status)" "not run" "b"
    expect_eq "$(stage_field "$OUT" c status)" succeeded "c"
    local log
    log=$(stage_field "$OUT" a stderr_log)
    expect_eq "$(cat "$(obj_path "$log")")" "a is broken" "a's stderr log"
    log=$(stage_field "$OUT" a stdout_log)
    expect_eq "$(cat "$(obj_path "$log")")" "a said this" "a's stdout log"
    expect_exit 0 mlo runs show latest
    expect_contains "$OUT" "FAILED"
    expect_exit 0 mlo runs list --filter "attributes.status = 'FAILED'"
    expect_contains "$OUT" "$(run_id)"
    # Without --json, the stage's output is shown and a hint points at the run.
    expect_exit 1 mlo train
    expect_contains "$OUT" "FAILED"
    expect_contains "$ERR" "a | a is broken"
    expect_contains "$ERR" "hint: see the stage's output above, or 'mlo runs show $(run_id)'"
    # Fixed: a and b run, c is up to date.
    rm fail-a
    expect_exit 0 mlo --json train
    expect_json "$OUT" run.status FINISHED
    expect_json "$OUT" stages.0.action succeeded
    expect_eq "$(cat b.out)" "a 2" "b.out"
    expect_eq "$(cat c.out)" "c 3" "c.out"
    lock_entry a | grep -qF 'a.v: "2"' || fail "a's entry not updated"
}

# A stage that fails the first time it ever runs leaves no entry; a stage that exits 0 without
# writing its out failed too.
case_failing_first_run() {
    pipeline_project <<'EOF'
pipeline:
  broken:
    cmd: echo partial >broken.out; exit 1
    outs: [broken.out]
  lazy:
    cmd: "true"
    outs: [lazy.out]
  fine:
    cmd: echo fine >fine.out
    outs: [fine.out]
EOF
    commit_all
    expect_exit 1 mlo --json train
    expect_json "$OUT" run.status FAILED
    expect_json "$OUT" stages.1.stage lazy
    expect_json "$OUT" stages.1.action failed
    expect_contains "$OUT" "did not produce its out lazy.out"
    [[ -n $(lock_entry fine) ]] || fail "fine is not in mlo.lock"
    [[ -z $(lock_entry broken) ]] || fail "broken is in mlo.lock"
    [[ -z $(lock_entry lazy) ]] || fail "lazy is in mlo.lock"
    # The failed stages run again next time; fine does not.
    expect_exit 1 mlo --json train
    expect_json "$OUT" stages.0.reason "never ran; exited with 1"
    expect_json "$OUT" stages.2.action skip
    expect_exit 0 mlo fsck
}

# SIGINT to mlo while a stage sleeps: exit 130 promptly, run KILLED, the stage's whole process
# group gone, mlo.lock without the interrupted stage (but with the one that finished).
case_sigint() {
    pipeline_project <<'EOF'
pipeline:
  quick:
    cmd: echo quick >quick.out
    outs: [quick.out]
  slow:
    cmd: echo $$ >slow.pid; sleep 30; echo done >slow.out
    outs: [slow.out]
EOF
    echo "slow.pid" >>.gitignore
    commit_all
    local pid rc=0 pgid
    "$MLO" train -j 2 >"$OUT" 2>"$ERR" &
    pid=$!
    wait_for_file slow.pid
    wait_for_file quick.out
    pgid=$(cat slow.pid)
    # The stage's shell leads its own process group, which holds the sleep.
    expect_eq "$(ps -o pgid= -p "$pgid" | tr -d ' ')" "$pgid" "stage process group"
    ps -e -o pgid=,comm= | awk -v g="$pgid" '$1 == g && $2 == "sleep"' | grep -q . ||
        fail "no sleep in the stage's process group"
    # Let quick finish and be recorded before the interrupt.
    local deadline=$((SECONDS + 10))
    until grep -qF "[quick] succeeded" "$ERR"; do
        ((SECONDS < deadline)) || fail "quick did not finish: $(cat "$ERR")"
        sleep 0.05
    done
    # Meanwhile a second train is refused (exit 3); reading runs works.
    local out=$OUT err=$ERR
    OUT=$E2E_SCRATCH/second.out ERR=$E2E_SCRATCH/second.err
    expect_exit 3 mlo train
    expect_contains "$ERR" "another 'mlo train' is running"
    expect_exit 0 mlo runs list
    OUT=$out ERR=$err
    kill -INT "$pid"
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || {
            kill -KILL "$pid"
            fail "mlo still running 10 s after SIGINT"
        }
        sleep 0.05
    done
    wait "$pid" || rc=$?
    expect_eq "$rc" 130 "exit status after SIGINT"
    expect_contains "$OUT" "KILLED"
    expect_contains "$ERR" "interrupted"
    # Nothing left of the stage. (A killed process whose parent died too may show as a zombie
    # until init reaps it: it is dead, so zombies do not count.)
    local left
    left=$(ps -e -o pid=,pgid=,stat=,args= | awk -v g="$pgid" '$2 == g && $3 !~ /^Z/')
    [[ -z $left ]] || fail "processes left in the stage's group: $left"
    [[ ! -e slow.out ]] || fail "slow.out written after the interrupt"
    # The run is KILLED; the interrupted stage is recorded as killed.
    expect_exit 0 mlo --json runs show latest
    expect_json "$OUT" run.status KILLED
    expect_eq "$(stage_field "$OUT" slow status)" killed "slow"
    expect_eq "$(stage_field "$OUT" quick status)" succeeded "quick"
    [[ -n $(lock_entry quick) ]] || fail "the finished stage is not in mlo.lock"
    [[ -z $(lock_entry slow) ]] || fail "the interrupted stage is in mlo.lock"
    # The project is usable: the lock was released, the store is sound.
    expect_exit 0 mlo fsck
    expect_exit 0 mlo --json train --dry-run
    expect_json "$OUT" stages.0.action skip
    expect_json "$OUT" stages.1.action run
}

run_case "independent stages run in parallel with -j 2" case_parallel
run_case "a failing stage" case_failing_stage
run_case "stages failing on their first run" case_failing_first_run
run_case "SIGINT stops the stages and records KILLED" case_sigint
finish
