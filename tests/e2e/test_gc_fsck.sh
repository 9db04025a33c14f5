#!/usr/bin/env bash
# mlo gc and mlo fsck: what is kept, what is removed, and how damage is reported.
source "$(dirname "$0")/lib.sh"

# Every object id a tracked directory or file needs (files and manifests), from the store itself.
all_ids_of() {
    python3 - "$@" <<'EOF'
import hashlib, json, os, sys
def obj(i):
    h = i.split(":")[1]
    return os.path.join(".mlo/objects/sha256", h[:2], h[2:])
def walk(i):
    yield i
    doc = json.load(open(obj(i)))
    for e in doc["entries"]:
        if e["kind"] == "dir":
            yield from walk(e["id"])
        else:
            yield e["id"]
for pointer in sys.argv[1:]:
    text = open(pointer).read()
    i = [l.split(": ")[1] for l in text.splitlines() if l.startswith("hash: ")][0]
    if "kind: directory" in text:
        for x in walk(i):
            print(x)
    else:
        print(i)
EOF
}

expect_present() {
    local id
    for id in "$@"; do
        [[ -f $(obj_path "$id") ]] || fail "object $id was removed"
    done
}

# Objects reachable from any branch or tag, or from the workspace pointers, survive gc.
case_gc_keeps_reachable() {
    new_project
    mkdir d
    echo "v1 file" >d/x
    echo "shared" >d/shared
    echo "single v1" >s
    git checkout -q -b a
    "$MLO" -q track d s >/dev/null
    git add -A
    git commit -q -m "v1 on branch a"
    local ids_v1
    ids_v1=$(all_ids_of d.mlo s.mlo)
    git checkout -q main
    # On main the data is untracked (the pointers are not there); track v2.
    echo "v2 file" >d/x
    echo "single v2" >s
    "$MLO" -q track d s >/dev/null
    git add -A
    git commit -q -m "v2 on main"
    local ids_v2
    ids_v2=$(all_ids_of d.mlo s.mlo)
    # v3 only on a tag, on a commit no branch contains.
    git checkout -q --detach
    echo "v3 tagged" >s
    "$MLO" -q track s >/dev/null
    git add -A
    git commit -q -m "v3"
    git tag v3
    local id_v3
    id_v3=$(pointer_hash s.mlo)
    git checkout -q main
    "$MLO" -q checkout --force >/dev/null
    # v4: tracked in the workspace but not committed yet: the workspace pointer keeps it.
    echo "v4 uncommitted" >s
    "$MLO" -q track s >/dev/null
    local id_v4
    id_v4=$(pointer_hash s.mlo)
    expect_exit 0 mlo --json gc
    expect_json "$OUT" schema mlo.gc/1
    expect_json "$OUT" dry_run false
    expect_json "$OUT" removed_objects 0
    # shellcheck disable=SC2086
    expect_present $ids_v1 $ids_v2 "$id_v3" "$id_v4"
    expect_exit 0 mlo fsck
    # Each version can still be checked out.
    expect_exit 0 mlo checkout --force --rev a
    expect_eq "$(cat d/x)" "v1 file" "d/x at branch a"
    expect_exit 0 mlo checkout --force --rev v3 s
    expect_eq "$(cat s)" "v3 tagged" "s at tag v3"
}

# Data tracked but never committed, then re-tracked with other content: the old objects go.
case_gc_removes_unreferenced() {
    new_project
    mkdir d
    echo "draft 1" >d/x
    echo "same" >d/same
    echo "draft single" >s
    "$MLO" -q track d s >/dev/null
    local old_ids
    old_ids=$(all_ids_of d.mlo s.mlo)
    echo "final" >d/x
    echo "final single" >s
    "$MLO" -q track d s >/dev/null
    local new_ids
    new_ids=$(all_ids_of d.mlo s.mlo)
    git add -A
    git commit -q -m final
    # Garbage: old d/x, old s, old top manifest. d/same is still used.
    local garbage=(
        "sha256:$(echo "draft 1" | sha256sum | cut -d' ' -f1)"
        "sha256:$(echo "draft single" | sha256sum | cut -d' ' -f1)"
        "$(echo "$old_ids" | head -1)"
    )
    expect_present "${garbage[@]}"
    local before
    before=$(store_listing)
    # --dry-run lists and removes nothing.
    expect_exit 0 mlo gc --dry-run
    expect_contains "$OUT" "would remove 3 objects"
    local id
    for id in "${garbage[@]}"; do
        expect_contains "$OUT" "would remove $id"
    done
    expect_exit 0 mlo --json gc --dry-run
    expect_json "$OUT" dry_run true
    expect_json "$OUT" removed_objects 3
    expect_eq "$(store_listing)" "$before" "store after --dry-run"
    # The real thing.
    expect_exit 0 mlo --json gc
    expect_json "$OUT" removed_objects 3
    expect_json "$OUT" kept_objects "$(echo "$new_ids" | sort -u | wc -l)"
    local removed
    removed=$(json_get "$OUT" removed)
    for id in "${garbage[@]}"; do
        [[ $removed == *"$id"* ]] || fail "$id not listed as removed: $removed"
        [[ ! -e $(obj_path "$id") ]] || fail "$id still present"
    done
    # shellcheck disable=SC2086
    expect_present $new_ids
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo fsck
    # Nothing left to remove.
    expect_exit 0 mlo --json gc
    expect_json "$OUT" removed_objects 0
    expect_json "$OUT" removed_bytes 0
}

# gc removes stray named temp files left in .mlo/tmp by a crash on filesystems without O_TMPFILE.
case_gc_temp_files() {
    new_project
    echo junk >.mlo/tmp/.object.tmp.abcdefghij
    expect_exit 0 mlo --json gc --dry-run
    expect_json "$OUT" removed_temp_files 1
    [[ -e .mlo/tmp/.object.tmp.abcdefghij ]] || fail "--dry-run removed a temp file"
    expect_exit 0 mlo --json gc
    expect_json "$OUT" removed_temp_files 1
    [[ ! -e .mlo/tmp/.object.tmp.abcdefghij ]] || fail "temp file not removed"
}

case_fsck_clean() {
    new_project
    expect_exit 0 mlo fsck # empty store
    mkdir d
    echo 1 >d/a
    echo 2 >d/b
    echo f >f
    "$MLO" -q track d f >/dev/null
    expect_exit 0 mlo fsck
    expect_contains "$ERR" "all good"
    expect_exit 0 mlo --json fsck
    expect_json "$OUT" schema mlo.fsck/1
    expect_json "$OUT" ok true
    expect_json "$OUT" problems '[]'
    expect_json "$OUT" checked_objects 4 # d/a, d/b, d's manifest, f
    expect_json "$OUT" checked_bytes "$(find .mlo/objects -type f -printf '%s\n' | awk '{s += $1} END {print s}')"
}

case_fsck_corrupt() {
    new_project
    echo "good data" >f
    echo "other" >g
    "$MLO" -q track f g >/dev/null
    local id obj
    id=$(pointer_hash f.mlo)
    obj=$(obj_path "$id")
    chmod u+w "$obj"
    echo "bad data!" >"$obj" # same size
    expect_exit 1 mlo fsck
    expect_contains "$OUT" "corrupt: $id"
    expect_contains "$ERR" "1 problems"
    expect_not_contains "$OUT" "$(pointer_hash g.mlo)"
    expect_exit 1 mlo --json fsck
    expect_json "$OUT" ok false
    expect_json "$OUT" problems.# 1
    expect_json "$OUT" problems.0.kind corrupt
    expect_json "$OUT" problems.0.object "$id"
    # fsck changes nothing, and reports the same again.
    expect_eq "$(cat "$obj")" "bad data!" "object after fsck"
    expect_exit 1 mlo fsck
    # A stray file in the objects directory is reported too.
    touch .mlo/objects/sha256/not-an-object
    expect_exit 1 mlo --json fsck
    expect_json "$OUT" problems.# 2
    expect_contains "$OUT" "stray file"
}

case_fsck_missing() {
    new_project
    mkdir d
    echo 1 >d/a
    echo 2 >d/b
    echo f >f
    "$MLO" -q track d f >/dev/null
    git add -A
    git commit -q -m data
    local fid bid
    fid=$(pointer_hash f.mlo)
    bid="sha256:$(echo 2 | sha256sum | cut -d' ' -f1)"
    rm -f "$(obj_path "$fid")" "$(obj_path "$bid")"
    expect_exit 1 mlo fsck
    expect_contains "$OUT" "missing: $fid (referenced by f)"
    expect_contains "$OUT" "missing: $bid (referenced by d)"
    expect_exit 1 mlo --json fsck
    expect_json "$OUT" problems.# 2
    expect_json "$OUT" problems.0.kind missing
    # A missing manifest.
    rm -f "$(obj_path "$(pointer_hash d.mlo)")"
    expect_exit 1 mlo --json fsck
    expect_contains "$OUT" "$(pointer_hash d.mlo)"
}

run_case "gc keeps objects of every branch, tag and the workspace" case_gc_keeps_reachable
run_case "gc removes unreferenced objects; --dry-run; --json" case_gc_removes_unreferenced
run_case "gc removes stray temp files" case_gc_temp_files
run_case "fsck on a clean store" case_fsck_clean
run_case "fsck names a corrupt object" case_fsck_corrupt
run_case "fsck reports missing objects" case_fsck_missing
finish
