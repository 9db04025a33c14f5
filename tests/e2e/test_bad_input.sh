#!/usr/bin/env bash
# Bad input: the right exit code, a message naming the problem, and no partial state left behind.
source "$(dirname "$0")/lib.sh"

# Everything a failed command must leave as it was: pointers, .gitignores, the store, git.
state() {
    find . -path ./.git -prune -o -path ./.mlo/cache -prune -o -path ./.mlo/lock -prune -o -print |
        LC_ALL=C sort
    find . -path ./.git -prune -o -path ./.mlo/cache -prune -o -path ./.mlo/lock -prune -o -type f -print0 |
        xargs -0 -r sha256sum | LC_ALL=C sort
    git status --porcelain
}

case_outside_a_project() {
    new_dir
    local cmd
    for cmd in status "track somefile" checkout diff gc fsck; do
        # shellcheck disable=SC2086 # "track somefile" is meant to split
        expect_exit 3 mlo $cmd
        expect_contains "$ERR" "mlo: error: not an mlo project"
        expect_contains "$ERR" "hint: run 'mlo init'"
    done
    # A git repository without mlo.yaml is not a project either.
    new_repo
    expect_exit 3 mlo status
    expect_contains "$ERR" "not an mlo project (no mlo.yaml in $REPO or any parent)"
    expect_exit 3 mlo --json status
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "mlo.error/1", doc
assert doc["error"]["code"] == "precondition" and doc["error"]["exit_code"] == 3, doc
assert "hint" in doc["error"], doc' "$ERR"
    expect_eq "$(cat "$OUT")" "" "stdout of a failed --json command"
}

case_missing_path() {
    new_project
    echo ok >ok.txt
    local before
    before=$(state)
    expect_exit 2 mlo track no/such/file.csv
    expect_contains "$ERR" "mlo: error: cannot track: path does not exist: no/such/file.csv"
    expect_eq "$(state)" "$before" "state after tracking a missing path"
    # Several problems are all reported, and the good path is not tracked either.
    expect_exit 2 mlo track ok.txt missing1 missing2
    expect_contains "$ERR" "missing1"
    expect_contains "$ERR" "missing2"
    expect_eq "$(state)" "$before" "state after a partly bad track"
    [[ ! -e ok.txt.mlo ]] || fail "ok.txt was tracked by a failing command"
    # Status and checkout of something never tracked.
    expect_exit 2 mlo status no/such
    expect_contains "$ERR" "not tracked: no/such"
    expect_exit 2 mlo checkout no/such
    expect_contains "$ERR" "not tracked: no/such"
}

case_path_outside_project() {
    new_project
    local before
    before=$(state)
    echo outside >"$REPO/../mlo-e2e-outside-$$.txt" 2>/dev/null || true
    expect_exit 2 mlo track ../x
    expect_contains "$ERR" "path outside the project: ../x"
    expect_exit 2 mlo track /etc/passwd
    expect_contains "$ERR" "path outside the project: /etc/passwd"
    expect_exit 2 mlo track "$REPO/../mlo-e2e-outside-$$.txt"
    rm -f "$REPO/../mlo-e2e-outside-$$.txt"
    # Through a symlinked directory that leads outside.
    ln -s /etc etc_link
    expect_exit 2 mlo track etc_link/passwd
    expect_contains "$ERR" "path outside the project"
    rm etc_link
    # The project itself, mlo's store and git's directory.
    expect_exit 2 mlo track .
    expect_exit 2 mlo track .mlo/objects
    expect_contains "$ERR" "inside mlo's or git's own directory"
    expect_exit 2 mlo track .git/config
    # A pointer file, the project file.
    echo x >x
    "$MLO" -q track x >/dev/null
    before=$(state)
    expect_exit 2 mlo track x.mlo
    expect_contains "$ERR" "cannot track a pointer file: x.mlo"
    expect_exit 2 mlo track mlo.yaml
    expect_contains "$ERR" "cannot track the project file"
    expect_eq "$(state)" "$before" "state after refused tracks"
}

case_malformed_config() {
    new_project
    echo x >x
    "$MLO" -q track x >/dev/null
    printf 'project: demo\nstore:\n  link: [copy\n' >mlo.yaml
    local cmd
    for cmd in status "track x" checkout diff gc fsck; do
        # shellcheck disable=SC2086 # "track x" is meant to split
        expect_exit 2 mlo $cmd
        expect_contains "$ERR" "mlo: error: mlo.yaml: line "
    done
    # Several semantic problems, each with its line.
    printf 'project: demo\nstore:\n  link: hardlnk\nremotse: {}\n' >mlo.yaml
    expect_exit 2 mlo status
    expect_contains "$ERR" "line 3:"
    expect_contains "$ERR" "did you mean 'hardlink'?"
    expect_contains "$ERR" "line 4:"
    expect_contains "$ERR" "did you mean 'remotes'?"
    # No project key.
    printf 'store: {link: copy}\n' >mlo.yaml
    expect_exit 2 mlo status
    expect_contains "$ERR" "project"
}

# A hand-edited pointer naming a path outside its directory is rejected before anything is written.
case_pointer_path_escape() {
    new_project
    mkdir -p a/b
    echo data >a/b/victim
    "$MLO" -q track a/b/victim >/dev/null
    git add -A
    git commit -q -m data
    local canary_dir
    canary_dir=$(mktemp -d)
    E2E_TMPDIRS+=("$canary_dir")
    sed -i "s|^path: .*|path: \"../../../$(basename "$canary_dir")/pwned\"|" a/b/victim.mlo
    rm a/b/victim
    local before
    before=$(state)
    expect_exit 2 mlo checkout
    expect_contains "$ERR" "malformed pointer file"
    expect_contains "$ERR" "victim.mlo"
    expect_contains "$ERR" "line 2"
    expect_exit 2 mlo status
    expect_exit 2 mlo checkout --force
    [[ -z $(ls -A "$canary_dir") ]] || fail "checkout wrote outside the project: $(ls -A "$canary_dir")"
    expect_eq "$(state)" "$before" "state after rejected pointer"
    # The same pointer committed to git and checked out with --rev.
    git commit -q -am "evil pointer"
    git checkout -q HEAD~1 -- a/b/victim.mlo
    expect_exit 2 mlo checkout --rev HEAD
    expect_contains "$ERR" "malformed pointer file"
    [[ -z $(ls -A "$canary_dir") ]] || fail "checkout --rev wrote outside the project"
    # /etc/passwd as path.
    sed -i 's|^path: .*|path: "../../etc/passwd"|' a/b/victim.mlo
    expect_exit 2 mlo checkout
    expect_contains "$ERR" "does not match the pointer's name"
}

case_pointer_bad_hash() {
    new_project
    echo data >f
    "$MLO" -q track f >/dev/null
    cp f.mlo "$E2E_SCRATCH/good"
    local bad
    for bad in "sha256:1234" "md5:d41d8cd98f00b204e9800998ecf8427e" "sha256:$(printf 'z%.0s' {1..64})" ""; do
        sed "s|^hash: .*|hash: $bad|" "$E2E_SCRATCH/good" >f.mlo
        expect_exit 2 mlo status
        expect_contains "$ERR" "malformed pointer file $REPO/f.mlo: line "
        expect_exit 2 mlo checkout --force
        expect_exit 2 mlo diff
    done
    # Unknown key with a suggestion; wrong schema; wrong kind.
    sed 's|^size:|sise:|' "$E2E_SCRATCH/good" >f.mlo
    expect_exit 2 mlo status
    expect_contains "$ERR" "unknown key 'sise'"
    expect_contains "$ERR" "did you mean 'size'?"
    sed 's|^schema: .*|schema: mlo.pointer/9|' "$E2E_SCRATCH/good" >f.mlo
    expect_exit 2 mlo status
    expect_contains "$ERR" "schema"
    sed 's|^kind: .*|kind: socket|' "$E2E_SCRATCH/good" >f.mlo
    expect_exit 2 mlo status
    expect_contains "$ERR" "'kind' must be file or directory"
    printf 'not: [valid\n' >f.mlo
    expect_exit 2 mlo status
    expect_contains "$ERR" "malformed pointer file $REPO/f.mlo: line"
    # A well-formed id that is not in the store: checkout says what is missing.
    sed "s|^hash: .*|hash: sha256:$(printf '0%.0s' {1..64})|" "$E2E_SCRATCH/good" >f.mlo
    rm f
    expect_exit 2 mlo checkout
    expect_contains "$ERR" "objects missing from the store"
    [[ ! -e f ]] || fail "f created"
}

# A manifest in the store that names "../x" (hand-made, or from a hostile remote) is refused.
case_hostile_manifest() {
    new_project
    local canary_dir
    canary_dir=$(mktemp -d)
    E2E_TMPDIRS+=("$canary_dir")
    echo payload >payload
    "$MLO" -q track payload >/dev/null
    local pid manifest mid
    pid=$(pointer_hash payload.mlo)
    manifest="{\"entries\":[{\"exec\":false,\"id\":\"$pid\",\"kind\":\"file\",\"name\":\"../../$(basename "$canary_dir")/pwned\",\"size\":8}],\"schema\":\"mlo.tree/1\"}"
    mid="sha256:$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)"
    mkdir -p "$(dirname "$(obj_path "$mid")")"
    printf '%s' "$manifest" >"$(obj_path "$mid")"
    printf 'schema: mlo.pointer/1\npath: "d"\nkind: directory\nhash: %s\nsize: 8\nfiles: 1\n' "$mid" >d.mlo
    expect_exit 2 mlo checkout d
    expect_contains "$ERR" "malformed tree manifest"
    [[ -z $(ls -A "$canary_dir") ]] || fail "a hostile manifest wrote outside the project"
    [[ ! -e d ]] || fail "d created"
    expect_exit 1 mlo fsck
}

# checkout --rev must not write through a directory that is now a symlink leading elsewhere.
case_symlinked_parent() {
    new_project
    local canary_dir
    canary_dir=$(mktemp -d)
    E2E_TMPDIRS+=("$canary_dir")
    mkdir data
    echo secret >data/raw.csv
    "$MLO" -q track data/raw.csv >/dev/null
    git add -A
    git commit -q -m data
    rm -rf data
    ln -s "$canary_dir" data
    expect_exit 2 mlo checkout --rev HEAD
    expect_contains "$ERR" "data is a symbolic link"
    [[ -z $(ls -A "$canary_dir") ]] || fail "checkout wrote through a symlink: $(ls -A "$canary_dir")"
}

case_special_files() {
    new_project
    mkdir d
    echo ok >d/ok
    mkfifo d/pipe
    local before
    before=$(state)
    expect_exit 2 mlo track d
    expect_contains "$ERR" "special file"
    expect_contains "$ERR" "d/pipe"
    expect_eq "$(state)" "$before" "state after tracking a FIFO"
    mkfifo fifo
    expect_exit 2 mlo track fifo
    expect_contains "$ERR" "fifo"
}

case_bad_command_line() {
    new_project
    expect_exit 2 mlo status --bogus
    expect_contains "$ERR" "--bogus"
    expect_contains "$ERR" "hint:"
    expect_exit 2 mlo --bogus status
    expect_exit 2 mlo stauts
    expect_contains "$ERR" "'stauts' is not an mlo command (did you mean 'status'?)"
    expect_exit 2 mlo track
    expect_exit 2 mlo --color sometimes status
    expect_exit 2 mlo diff a b c
    expect_exit 2 mlo -C "$REPO/no/such/dir" status
    expect_contains "$ERR" "cannot change to directory"
    expect_contains "$ERR" "no/such/dir"
    expect_exit 2 mlo -C "$REPO/mlo.yaml" status
    # -C to a real directory works from anywhere.
    cd /
    expect_exit 0 mlo -C "$REPO" status
    expect_exit 0 mlo --version
    expect_contains "$OUT" "mlo "
    expect_exit 0 mlo --help
    expect_contains "$OUT" "track"
    expect_exit 0 mlo status --help
    expect_contains "$OUT" "--exit-code"
}

run_case "outside a project" case_outside_a_project
run_case "path does not exist" case_missing_path
run_case "path outside the project" case_path_outside_project
run_case "malformed mlo.yaml" case_malformed_config
run_case "pointer path escaping its directory" case_pointer_path_escape
run_case "pointer with a bad hash and other damage" case_pointer_bad_hash
run_case "hostile manifest in the store" case_hostile_manifest
run_case "checkout through a symlinked parent" case_symlinked_parent
run_case "FIFOs and other special files" case_special_files
run_case "bad command lines" case_bad_command_line
finish
