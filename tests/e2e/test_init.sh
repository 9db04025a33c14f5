#!/usr/bin/env bash
# mlo init: creating a project, re-running it, and refusing what it must not touch.
source "$(dirname "$0")/lib.sh"

# A directory with no git repository: init creates the repository, mlo.yaml, .mlo and .gitignore.
case_fresh_directory() {
    new_dir
    expect_exit 0 mlo init
    expect_contains "$OUT" "initialized mlo project in $DIR"
    expect_contains "$OUT" "created git repository"
    expect_contains "$OUT" "created mlo.yaml"
    [[ -d .git ]] || fail "no .git"
    [[ -f mlo.yaml ]] || fail "no mlo.yaml"
    [[ -d .mlo/objects ]] || fail "no .mlo/objects"
    grep -qx '/.mlo/' .gitignore || fail ".gitignore lacks /.mlo/: $(cat .gitignore)"
    grep -q '^project: ' mlo.yaml || fail "mlo.yaml has no project key"
    # The result goes to stdout, the hint to stderr.
    expect_contains "$ERR" "hint:"
    expect_not_contains "$OUT" "hint:"
    # The new repository is usable by git and the project by mlo.
    git rev-parse --git-dir >/dev/null
    expect_exit 0 mlo status
    # .mlo is ignored, mlo.yaml and .gitignore are not.
    git check-ignore -q .mlo || fail ".mlo is not git-ignored"
    git check-ignore -q mlo.yaml && fail "mlo.yaml is git-ignored"
    true
}

# An existing repository with its own .gitignore: init keeps it and appends one entry.
case_existing_repo() {
    new_repo
    printf '*.pyc\nbuild/\n' >.gitignore
    echo "print(1)" >main.py
    git add -A && git commit -q -m "code"
    local head
    head=$(git rev-parse HEAD)
    expect_exit 0 mlo init
    expect_not_contains "$OUT" "created git repository"
    expect_eq "$(cat .gitignore)" "$(printf '*.pyc\nbuild/\n/.mlo/')" ".gitignore"
    expect_eq "$(git rev-parse HEAD)" "$head" "HEAD"
    expect_eq "$(git branch --show-current)" "main" "branch"
}

# Re-running init changes nothing, byte for byte, and says so.
case_rerun_is_idempotent() {
    new_repo
    expect_exit 0 mlo init
    echo "# my edit" >>mlo.yaml
    local snapshot
    snapshot=$(find mlo.yaml .gitignore .mlo -type f -exec sha256sum {} + | sort; find . -path ./.git -prune -o -print | sort)
    cp mlo.yaml "$E2E_SCRATCH/mlo.yaml.before"
    cp .gitignore "$E2E_SCRATCH/gitignore.before"
    expect_exit 0 mlo init
    expect_contains "$OUT" "already initialized"
    expect_contains "$OUT" "nothing changed"
    expect_file_eq mlo.yaml "$E2E_SCRATCH/mlo.yaml.before"
    expect_file_eq .gitignore "$E2E_SCRATCH/gitignore.before"
    local after
    after=$(find mlo.yaml .gitignore .mlo -type f -exec sha256sum {} + | sort; find . -path ./.git -prune -o -print | sort)
    expect_eq "$after" "$snapshot" "files after re-running init"
    expect_exit 0 mlo --json init
    expect_json "$OUT" already_initialized true
    expect_json "$OUT" created.# 0
}

case_json() {
    new_dir
    expect_exit 0 mlo --json init
    expect_json "$OUT" schema mlo.init/1
    expect_json "$OUT" root "$DIR"
    expect_json "$OUT" already_initialized false
    local created
    created=$(json_get "$OUT" created)
    [[ $created == *'"mlo.yaml"'* && $created == *'"git repository"'* ]] || fail "created: $created"
    # One JSON document on stdout, nothing on stderr (no hint in --json mode).
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT"
    expect_not_contains "$ERR" "hint:"
    # -C runs it elsewhere.
    local first=$DIR
    new_dir
    cd "$first"
    expect_exit 0 mlo -C "$DIR" --json init
    expect_json "$OUT" root "$DIR"
    [[ -f $DIR/mlo.yaml ]] || fail "-C: no mlo.yaml in $DIR"
}

case_unknown_template() {
    new_dir
    expect_exit 2 mlo init --template pipline
    expect_contains "$ERR" "mlo: error: unknown template 'pipline'"
    expect_contains "$ERR" "did you mean 'pipeline'?"
    # Nothing was created.
    expect_eq "$(ls -A)" "" "directory contents after a failed init"
    expect_exit 2 mlo --json init --template nope
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]["exit_code"] == 2, d' "$ERR"
    # A known template works.
    expect_exit 0 mlo init --template pipeline
    [[ -f mlo.yaml ]] || fail "no mlo.yaml from the pipeline template"
}

case_subdirectory_refused() {
    new_repo
    mkdir -p sub/deeper
    cd sub/deeper
    expect_exit 3 mlo init
    expect_contains "$ERR" "subdirectory of the git repository $REPO"
    expect_contains "$ERR" "hint: run 'mlo init' in $REPO"
    [[ ! -e mlo.yaml && ! -e .mlo && ! -e .gitignore ]] || fail "init in a subdirectory created files"
    [[ ! -e $REPO/mlo.yaml && ! -e $REPO/.mlo ]] || fail "init in a subdirectory created files at the root"
}

case_broken_config_not_overwritten() {
    new_repo
    printf 'project: demo\nstore:\n  link: [\n' >mlo.yaml
    cp mlo.yaml "$E2E_SCRATCH/broken"
    expect_exit 2 mlo init
    expect_contains "$ERR" "mlo: error: mlo.yaml: line"
    expect_file_eq mlo.yaml "$E2E_SCRATCH/broken"
    [[ ! -e .mlo && ! -e .gitignore ]] || fail "init with a broken mlo.yaml created files"

    # Valid YAML with an unknown key: reported with its line and a suggestion.
    printf 'project: demo\nstoer:\n  link: copy\n' >mlo.yaml
    cp mlo.yaml "$E2E_SCRATCH/broken2"
    expect_exit 2 mlo init
    expect_contains "$ERR" "line 2"
    expect_contains "$ERR" "did you mean 'store'?"
    expect_file_eq mlo.yaml "$E2E_SCRATCH/broken2"
}

run_case "init in a fresh directory" case_fresh_directory
run_case "init in an existing repository" case_existing_repo
run_case "re-running init changes nothing" case_rerun_is_idempotent
run_case "init --json" case_json
run_case "unknown --template" case_unknown_template
run_case "init in a subdirectory of a repository" case_subdirectory_refused
run_case "broken mlo.yaml reported, not overwritten" case_broken_config_not_overwritten
finish
