#!/usr/bin/env bash
# mlo checkout: restoring data, refusing to lose unsaved work, --rev, corrupt and missing objects.
source "$(dirname "$0")/lib.sh"

# A committed project with a file f and a directory d (d/a, d/b, d/sub/c, d/empty/).
tracked_project() {
    new_project
    mkdir -p d/sub d/empty
    echo 1 >d/a
    echo 2 >d/b
    echo 3 >d/sub/c
    echo "version 1" >f
    "$MLO" -q track d f >/dev/null
    git add -A
    git commit -q -m "data v1"
}

# Checksums of everything under the given paths (names, kinds, modes, contents), for before/after.
snapshot() {
    find "$@" -printf '%p %y %m %l\n' 2>/dev/null | LC_ALL=C sort
    find "$@" -type f -exec sha256sum {} + 2>/dev/null | LC_ALL=C sort
}

case_restore_deleted() {
    tracked_project
    local before
    before=$(snapshot f d)
    rm -rf f d
    expect_exit 0 mlo checkout
    expect_contains "$OUT" "created d"
    expect_contains "$OUT" "created f"
    expect_eq "$(snapshot f d)" "$before" "restored data"
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo checkout
    expect_contains "$OUT" "workspace already matches"
    # One path only, from a subdirectory, with --json.
    rm -rf d/sub f
    cd d
    expect_exit 0 mlo --json checkout .
    expect_json "$OUT" schema mlo.checkout/1
    expect_json "$OUT" items.# 1
    expect_json "$OUT" items.0.path d
    expect_json "$OUT" items.0.action updated
    expect_json "$OUT" items.0.files_written 1
    cd ..
    [[ -f d/sub/c && ! -e f ]] || fail "checkout of d touched f or missed d/sub/c"
    expect_exit 2 mlo checkout not/tracked
    expect_contains "$ERR" "not tracked: not/tracked"
}

case_refuses_unsaved_changes() {
    tracked_project
    echo "precious unsaved edit" >f
    echo "edited" >d/sub/c
    echo "brand new" >d/new
    local before
    before=$(snapshot f d; cat f.mlo d.mlo; store_listing)
    expect_exit 3 mlo checkout
    expect_contains "$ERR" "would be lost"
    expect_contains "$ERR" "  f"
    expect_contains "$ERR" "  d/sub/c"
    expect_contains "$ERR" "  d/new"
    expect_contains "$ERR" "--force"
    expect_eq "$(snapshot f d; cat f.mlo d.mlo; store_listing)" "$before" "workspace after refusal"
    # Restricting to one path still refuses for that path only.
    expect_exit 3 mlo checkout f
    expect_not_contains "$ERR" "d/sub/c"
    # --force discards the edits and removes the extra file.
    expect_exit 0 mlo checkout --force
    expect_eq "$(cat f)" "version 1" "f after --force"
    expect_eq "$(cat d/sub/c)" 3 "d/sub/c after --force"
    [[ ! -e d/new ]] || fail "extra file d/new not removed"
    expect_exit 0 mlo status --exit-code
}

# Workspace content that is in the store (an older tracked version) is replaced without --force.
case_saved_changes_need_no_force() {
    tracked_project
    echo "version 2" >f
    "$MLO" -q track f >/dev/null
    git checkout -q -- f.mlo # the pointer says version 1 again; version 2 is in the store
    expect_exit 0 mlo checkout
    expect_eq "$(cat f)" "version 1" "f"
    # An extra file whose bytes are in the store is removed without --force too.
    cp d/a d/copy_of_a
    expect_exit 0 mlo --json checkout d
    expect_json "$OUT" items.0.files_removed 1
    [[ ! -e d/copy_of_a ]] || fail "d/copy_of_a not removed"
}

# --rev reads pointers from git without touching the branch, HEAD or the pointer files.
case_rev() {
    tracked_project
    echo "version 2" >f
    echo 22 >d/b
    rm d/a
    echo "added in v2" >d/added
    "$MLO" -q track f d >/dev/null
    git add -A
    git commit -q -m "data v2"
    local head
    head=$(git rev-parse HEAD)
    expect_exit 0 mlo checkout --rev HEAD~1
    expect_contains "$ERR" "the pointer files are unchanged"
    expect_eq "$(cat f)" "version 1" "f at HEAD~1"
    expect_eq "$(cat d/b)" 2 "d/b at HEAD~1"
    expect_eq "$(cat d/a)" 1 "d/a at HEAD~1"
    [[ ! -e d/added ]] || fail "d/added still present at HEAD~1"
    expect_eq "$(git rev-parse HEAD)" "$head" "HEAD"
    expect_eq "$(git branch --show-current)" main "branch"
    expect_eq "$(git status --porcelain)" "" "git status after checkout --rev"
    grep -q "$(file_sha f)" f.mlo && fail "f.mlo was rewritten to the old version"
    # The workspace pointers still say v2: status shows the data as modified.
    expect_exit 1 mlo status --exit-code
    # --json names the resolved commit.
    expect_exit 0 mlo --json checkout --rev main
    expect_json "$OUT" rev "$head"
    expect_eq "$(cat f)" "version 2" "f back at main"
    expect_exit 0 mlo status --exit-code
    # A tag works as well; an unknown revision is an input error.
    git tag v1 HEAD~1
    expect_exit 0 mlo checkout --rev v1 f
    expect_eq "$(cat f)" "version 1" "f at tag v1"
    expect_exit 2 mlo checkout --rev no-such-rev
}

# A directory brought back exactly: changed files rewritten, extra files and dirs removed,
# deleted files and empty directories recreated.
case_restore_directory_contents() {
    tracked_project
    local before
    before=$(snapshot d)
    echo "changed" >d/a
    rm d/b
    rmdir d/empty
    mkdir -p d/extra/deeper
    cp d/sub/c d/extra/deeper/x # content in the store: removable without --force
    chmod +x d/sub/c            # mode change only
    expect_exit 3 mlo checkout d
    expect_contains "$ERR" "d/a"
    expect_exit 0 mlo checkout --force d
    expect_eq "$(snapshot d)" "$before" "directory after checkout"
    [[ ! -e d/extra ]] || fail "extra directory not removed"
    # A file where a directory should be, and a symlink where a file should be.
    rm -rf d/sub
    echo "not a dir" >d/sub
    rm d/a
    ln -s /etc/hostname d/a
    expect_exit 0 mlo checkout --force d
    expect_eq "$(snapshot d)" "$before" "directory after kind changes"
}

# A corrupt object is refused before anything in the workspace changes.
case_corrupt_object() {
    tracked_project
    echo "version 2" >f
    "$MLO" -q track f >/dev/null
    git add -A
    git commit -q -m "f v2"
    local obj
    obj=$(obj_path "$(git show HEAD~1:f.mlo | sed -n 's/^hash: //p')")
    chmod u+w "$obj"
    echo "garbage" >"$obj"
    chmod 444 "$obj"
    expect_exit 1 mlo checkout --rev HEAD~1
    expect_contains "$ERR" "corrupt object"
    expect_eq "$(cat f)" "version 2" "f after a refused checkout"
    # The same with the data deleted: nothing is created.
    rm f
    git checkout -q HEAD~1 -- f.mlo
    expect_exit 1 mlo checkout f
    expect_contains "$ERR" "corrupt object"
    [[ ! -e f ]] || fail "f was created from a corrupt object"
    # A directory with one corrupt file: not half restored.
    git checkout -q HEAD -- f.mlo
    rm -rf d
    obj=$(obj_path "$(echo 3 | sha256sum | cut -d' ' -f1)")
    chmod u+w "$obj"
    echo "bad" >"$obj"
    expect_exit 1 mlo checkout
    expect_contains "$ERR" "corrupt object"
    [[ ! -e d ]] || fail "d was partly restored: $(find d)"
    [[ ! -e f ]] || fail "f was restored although the checkout failed"
    expect_eq "$(find .mlo/tmp -mindepth 1 | wc -l)" 0 "files left in .mlo/tmp"
    find . -name '*.tmp.*' -not -path './.git/*' | grep -q . && fail "temp files left: $(find . -name '*.tmp.*')"
    # With the hardlink mode, too.
    sed -i 's/^  link: .*/  link: hardlink/' mlo.yaml
    expect_exit 1 mlo checkout d
    expect_contains "$ERR" "corrupt object"
    [[ ! -e d ]] || fail "d was partly restored in hardlink mode"
    true
}

case_missing_object() {
    tracked_project
    rm f
    rm -f "$(obj_path "$(pointer_hash f.mlo)")"
    expect_exit 2 mlo checkout
    expect_contains "$ERR" "objects missing from the store"
    expect_contains "$ERR" "  f (sha256:"
    expect_contains "$ERR" "hint:"
    [[ ! -e f ]] || fail "f created"
    # A missing file inside a directory names the file.
    rm -rf d
    rm -f "$(obj_path "$(echo 2 | sha256sum | cut -d' ' -f1)")"
    expect_exit 2 mlo checkout d
    expect_contains "$ERR" "d/b (sha256:"
    [[ ! -e d ]] || fail "d created"
    # A missing manifest is reported too.
    rm -f "$(obj_path "$(pointer_hash d.mlo)")"
    expect_exit 2 mlo checkout d
    expect_contains "$ERR" "missing"
}

run_case "restores deleted file and directory" case_restore_deleted
run_case "refuses to overwrite unsaved changes; --force" case_refuses_unsaved_changes
run_case "changes saved in the store need no --force" case_saved_changes_need_no_force
run_case "--rev leaves HEAD, branch and pointers alone" case_rev
run_case "directory restored exactly" case_restore_directory_contents
run_case "corrupt object refused, workspace untouched" case_corrupt_object
run_case "missing object" case_missing_object
finish
