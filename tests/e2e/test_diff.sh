#!/usr/bin/env bash
# mlo diff: HEAD against the workspace, two revisions, changes inside directories, --json.
source "$(dirname "$0")/lib.sh"

# Commit 1 (tag v1): d/{a,b,sub/c} and f. Commit 2 (tag v2): d/a changed, d/b deleted, d/sub/new
# added, f unchanged, g added.
two_versions() {
    new_project
    mkdir -p d/sub
    echo 1 >d/a
    echo 2 >d/b
    echo 3 >d/sub/c
    echo f >f
    "$MLO" -q track d f >/dev/null
    git add -A
    git commit -q -m v1
    git tag v1
    echo "1 changed" >d/a
    rm d/b
    echo new >d/sub/new
    echo g >g
    "$MLO" -q track d g >/dev/null
    git add -A
    git commit -q -m v2
    git tag v2
}

case_head_vs_clean_workspace() {
    two_versions
    expect_exit 0 mlo diff
    expect_eq "$(cat "$OUT")" "" "stdout of a diff with no changes"
    expect_contains "$ERR" "no changes to tracked data"
    expect_exit 0 mlo --json diff
    expect_json "$OUT" schema mlo.diff/1
    expect_json "$OUT" old "$(git rev-parse HEAD)"
    expect_json "$OUT" new workspace
    expect_json "$OUT" changes '[]'
}

case_head_vs_workspace() {
    two_versions
    echo "edited" >d/sub/c
    rm d/a
    echo "more" >d/sub/more
    rm g
    echo "f edited" >f
    expect_exit 0 mlo diff
    expect_eq "$(cat "$OUT")" "$(printf '%s\n' 'deleted:  d/a' 'modified: d/sub/c' 'added:    d/sub/more' 'modified: f' 'deleted:  g')" "diff output"
    expect_contains "$ERR" "1 added, 2 modified, 2 deleted"
    expect_exit 0 mlo --json diff HEAD
    expect_json "$OUT" changes.# 5
    expect_json "$OUT" changes.0.path d/a
    expect_json "$OUT" changes.0.change deleted
    expect_json "$OUT" changes.0.new null
    expect_json "$OUT" changes.0.old.hash "sha256:$(echo "1 changed" | sha256sum | cut -d' ' -f1)"
    expect_json "$OUT" changes.2.path d/sub/more
    expect_json "$OUT" changes.2.change added
    expect_json "$OUT" changes.2.old null
    expect_json "$OUT" changes.2.new.hash "$(file_sha d/sub/more)"
    expect_json "$OUT" changes.2.new.size 5
    expect_json "$OUT" changes.3.path f
    expect_json "$OUT" changes.3.change modified
    expect_json "$OUT" changes.3.old.hash "$(pointer_hash f.mlo)"
    expect_json "$OUT" changes.3.new.hash "$(file_sha f)"
    # diff reads only: nothing stored, no pointer touched.
    [[ -e $(obj_path "$(file_sha f)") ]] && fail "diff stored the edited file"
    expect_eq "$(git status --porcelain)" "" "git status"
}

case_two_revisions() {
    two_versions
    expect_exit 0 mlo diff v1 v2
    expect_eq "$(cat "$OUT")" "$(printf '%s\n' 'modified: d/a' 'deleted:  d/b' 'added:    d/sub/new' 'added:    g')" "diff v1 v2"
    expect_exit 0 mlo --json diff v1 v2
    expect_json "$OUT" old "$(git rev-parse v1)"
    expect_json "$OUT" new "$(git rev-parse v2)"
    expect_json "$OUT" changes.# 4
    expect_json "$OUT" changes.1.change deleted
    expect_json "$OUT" changes.1.old.size 2
    # Reversed.
    expect_exit 0 mlo diff v2 v1
    expect_contains "$OUT" "added:    d/b"
    expect_contains "$OUT" "deleted:  g"
    expect_contains "$OUT" "deleted:  d/sub/new"
    # Commit ids and HEAD~N work; the same revision twice is empty.
    expect_exit 0 mlo --json diff "$(git rev-parse HEAD~1)" HEAD
    expect_json "$OUT" changes.# 4
    expect_exit 0 mlo --json diff HEAD HEAD
    expect_json "$OUT" changes '[]'
    # Revision against the workspace.
    expect_exit 0 mlo diff v1
    expect_contains "$OUT" "modified: d/a"
    # Diff needs no checkout and changes nothing.
    expect_eq "$(git status --porcelain)" "" "git status"
    expect_eq "$(git rev-parse HEAD)" "$(git rev-parse v2)" "HEAD"
}

# A pointer deleted from git, or a whole directory added: every file is listed.
case_pointer_added_and_removed() {
    two_versions
    git rm -q --cached f.mlo
    rm f.mlo f
    git commit -q -m "untrack f"
    mkdir -p newdir/x
    echo 1 >newdir/x/1
    echo 2 >newdir/2
    "$MLO" -q track newdir >/dev/null
    git add -A
    git commit -q -m "newdir"
    expect_exit 0 mlo diff v2 HEAD
    expect_eq "$(cat "$OUT")" "$(printf '%s\n' 'deleted:  f' 'added:    newdir/2' 'added:    newdir/x/1')" "diff"
}

case_bad_revisions() {
    two_versions
    expect_exit 2 mlo diff no-such-rev
    expect_contains "$ERR" "no-such-rev"
    expect_exit 2 mlo diff v1 v2 v3
    # A repository without commits: the default old side is empty, so tracked data is "added";
    # naming HEAD explicitly is still an error that says why.
    new_repo
    "$MLO" -q init >/dev/null
    echo x >f
    "$MLO" -q track f >/dev/null
    expect_exit 0 mlo diff --json
    expect_json "$OUT" changes.0.change added
    expect_json "$OUT" changes.0.path f
    expect_exit 2 mlo diff HEAD
    expect_contains "$ERR" "HEAD"
    expect_contains "$ERR" "no commits yet"
}

run_case "HEAD vs an unchanged workspace" case_head_vs_clean_workspace
run_case "HEAD vs workspace" case_head_vs_workspace
run_case "two revisions" case_two_revisions
run_case "pointer removed, directory added" case_pointer_added_and_removed
run_case "bad revisions" case_bad_revisions
finish
