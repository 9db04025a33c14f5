#!/usr/bin/env bash
# mlo status: clean, modified, missing and not-in-store data; --exit-code; --json.
source "$(dirname "$0")/lib.sh"

# A project with a tracked file f and a tracked directory d (d/a, d/b, d/sub/c), committed.
tracked_project() {
    new_project
    mkdir -p d/sub
    echo 1 >d/a
    echo 2 >d/b
    echo 3 >d/sub/c
    echo file >f
    "$MLO" -q track d f >/dev/null
    git add -A
    git commit -q -m data
}

case_clean() {
    tracked_project
    expect_exit 0 mlo status
    expect_contains "$OUT" "data and pointers are up to date"
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo --json status --exit-code
    expect_json "$OUT" schema mlo.status/1
    expect_json "$OUT" clean true
    expect_json "$OUT" link_mode auto
    expect_json "$OUT" data.# 2
    expect_json "$OUT" data.0.path d
    expect_json "$OUT" data.0.kind directory
    expect_json "$OUT" data.0.state unchanged
    expect_json "$OUT" data.0.details '[]'
    expect_json "$OUT" data.1.path f
    expect_json "$OUT" data.1.kind file
    # status only reads: no object added, no pointer or .gitignore touched.
    local before
    before=$(store_listing)
    expect_eq "$(git status --porcelain)" "" "git status"
    expect_eq "$(store_listing)" "$before" "store"
    # Nothing tracked at all.
    new_project
    expect_exit 0 mlo status --exit-code
    expect_contains "$OUT" "nothing tracked"
    expect_exit 0 mlo --json status
    expect_json "$OUT" data '[]'
    expect_json "$OUT" clean true
}

case_modified_file() {
    tracked_project
    echo changed >f
    expect_exit 0 mlo status
    expect_contains "$OUT" "modified: f"
    expect_exit 1 mlo status --exit-code
    expect_exit 1 mlo --json status --exit-code
    expect_json "$OUT" clean false
    expect_json "$OUT" data.1.state modified
    expect_json "$OUT" data.0.state unchanged
    # status does not store the new content.
    [[ -e $(obj_path "$(file_sha f)") ]] && fail "status stored the modified file"
    # Limiting to the unchanged path is clean.
    expect_exit 0 mlo status --exit-code d
    expect_exit 1 mlo status --exit-code f
}

case_modified_inside_dir() {
    tracked_project
    echo changed >d/sub/c
    rm d/b
    echo new >d/new
    mkdir -p d/newdir
    echo deep >d/newdir/x
    expect_exit 1 mlo --json status --exit-code
    expect_json "$OUT" data.0.path d
    expect_json "$OUT" data.0.state modified
    expect_json "$OUT" data.0.details '["deleted: b", "modified: sub/c", "added: new", "added: newdir/x"]'
    expect_json "$OUT" data.1.state unchanged
    expect_exit 0 mlo status
    expect_contains "$OUT" "modified: d"
    expect_contains "$OUT" "modified: sub/c"
    expect_contains "$OUT" "deleted: b"
    expect_contains "$OUT" "added: newdir/x"
    # From a subdirectory, a relative path selects the data.
    cd d/sub
    expect_exit 1 mlo status --exit-code ..
    expect_exit 1 mlo status --exit-code "$REPO/d"
}

case_missing() {
    tracked_project
    rm f
    rm -rf d
    expect_exit 1 mlo --json status --exit-code
    expect_json "$OUT" data.0.state missing
    expect_json "$OUT" data.1.state missing
    expect_exit 0 mlo status
    expect_contains "$OUT" "missing: d"
    expect_contains "$OUT" "missing: f"
}

# The pointer's object was deleted from the store: checkout would fail, status says so.
case_not_in_store() {
    tracked_project
    local obj
    obj=$(obj_path "$(pointer_hash f.mlo)")
    rm -f "$obj"
    expect_exit 1 mlo --json status --exit-code
    expect_json "$OUT" data.1.path f
    expect_json "$OUT" data.1.state "not in store"
    expect_json "$OUT" data.0.state unchanged
    expect_exit 0 mlo status
    expect_contains "$OUT" "not in store: f"
    # A file inside a directory whose object is gone: the directory is not in the store either.
    rm -f "$(obj_path "$(file_sha d/sub/c)")"
    expect_exit 1 mlo --json status --exit-code d
    expect_json "$OUT" data.0.state "not in store"
    # status did not put the objects back.
    [[ -e $obj ]] && fail "status re-stored the object"
    # The directory's manifest gone too: still reported, not an error.
    rm -f "$(obj_path "$(pointer_hash d.mlo)")"
    expect_exit 1 mlo --json status --exit-code d
    expect_json "$OUT" data.0.state "not in store"
}

# --exit-code: 1 exactly when something differs; without it, 0 either way.
case_exit_code() {
    tracked_project
    expect_exit 0 mlo status --exit-code
    echo x >>d/a
    expect_exit 1 mlo status --exit-code
    expect_exit 0 mlo status
    expect_exit 0 mlo -q status
    expect_exit 0 mlo --json status
    expect_json "$OUT" clean false
    "$MLO" -q track d >/dev/null
    expect_exit 0 mlo status --exit-code
    # An unknown path is an input error, not "dirty".
    expect_exit 2 mlo status --exit-code nothing/here
    expect_contains "$ERR" "not tracked: nothing/here"
}

# A tracked file replaced by a directory (or the reverse) is a modification, not an error.
case_kind_changed() {
    tracked_project
    rm f
    mkdir f
    echo x >f/x
    rm -rf d
    echo "now a file" >d
    expect_exit 1 mlo --json status --exit-code
    expect_json "$OUT" data.0.state modified
    expect_json "$OUT" data.1.state modified
}

run_case "clean" case_clean
run_case "modified file" case_modified_file
run_case "modified files inside a directory" case_modified_inside_dir
run_case "missing data" case_missing
run_case "not in store" case_not_in_store
run_case "--exit-code" case_exit_code
run_case "file replaced by a directory and vice versa" case_kind_changed
finish
