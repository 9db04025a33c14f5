# shellcheck shell=bash
# Shared helpers for mlo's end-to-end tests. Source it first thing in every tests/e2e/test_*.sh:
#
#   source "$(dirname "$0")/lib.sh"
#
# CMake runs each script with MLO=<built binary> and MLO_SOURCE_DIR=<repo root>. A script is a list
# of cases; each case runs in its own subshell so one failure does not hide the others:
#
#   case_track_file() { new_project; echo hi >a; expect_exit 0 mlo track a; ... }
#   run_case "track a file" case_track_file
#   finish                       # prints the tally; exit 1 if any case failed
#
# Temp directories made by new_repo/new_project are removed when their case (or the script)
# succeeds, and kept with their path printed when it fails, so a failure can be inspected.
# Scripts that do not use run_case still get that: the EXIT trap below does the same.

set -Eeuo pipefail
shopt -s inherit_errexit 2>/dev/null || true

: "${MLO:?set MLO to the mlo binary (ctest does this)}"
MLO=$(realpath "$MLO")
export MLO
MLO_SOURCE_DIR=${MLO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export MLO_SOURCE_DIR
export NO_COLOR=1 LC_ALL=C.UTF-8 GIT_CONFIG_NOSYSTEM=1
# Git must not read the developer's ~/.gitconfig (hooks, signing, templates) or prompt.
export HOME=${E2E_HOME:-$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-home.XXXXXX")}
export GIT_TERMINAL_PROMPT=0

# python3 (stdlib only) reads JSON. Version managers' shims (pyenv) cost ~0.1 s a call, so the
# system interpreter is preferred; PYTHON overrides.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
python3() { "$PYTHON" "$@"; }

E2E_TEST_NAME=$(basename "$0" .sh)
E2E_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-scratch.XXXXXX") # $OUT/$ERR live here
OUT=$E2E_SCRATCH/stdout # stdout of the last expect_exit
ERR=$E2E_SCRATCH/stderr # stderr of the last expect_exit
E2E_TMPDIRS=()          # temp dirs of the current case (or of the script, outside run_case)
E2E_PASSED=0
E2E_FAILED=0
E2E_FAILED_NAMES=()
E2E_HOME_DIR=$HOME

_e2e_remove_dirs() {
    local dir
    for dir in "${E2E_TMPDIRS[@]+"${E2E_TMPDIRS[@]}"}"; do
        [[ -d $dir ]] && { chmod -R u+w "$dir" 2>/dev/null || true; rm -rf "$dir"; }
    done
    E2E_TMPDIRS=()
}

_e2e_keep_dirs() {
    local dir
    for dir in "${E2E_TMPDIRS[@]+"${E2E_TMPDIRS[@]}"}"; do
        echo "kept for inspection: $dir" >&2
    done
}

_e2e_on_exit() {
    local rc=$?
    trap - ERR
    cd /
    if ((rc == 0)); then
        _e2e_remove_dirs
    else
        _e2e_keep_dirs
    fi
    rm -rf "$E2E_SCRATCH"
    [[ -z ${E2E_HOME:-} ]] && rm -rf "$E2E_HOME_DIR"
}
trap _e2e_on_exit EXIT
_e2e_on_err() {
    echo "$E2E_TEST_NAME: command failed (exit $1) at ${BASH_SOURCE[1]##*/}:$2: $3" >&2
}
trap '_e2e_on_err $? $LINENO "$BASH_COMMAND"' ERR

# mlo itself, so scripts read like a user's session.
mlo() { "$MLO" "$@"; }

# fail MSG: stop the current case (or script) with a message.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A fresh temp directory, made the current directory, holding an empty git repository on branch
# main with a local identity. Prints nothing; the path is in $REPO.
new_repo() {
    REPO=$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-$E2E_TEST_NAME.XXXXXX")
    REPO=$(cd "$REPO" && pwd -P)
    E2E_TMPDIRS+=("$REPO")
    cd "$REPO"
    git init -q -b main
    git config user.name "mlo e2e"
    git config user.email "e2e@mlo.invalid"
    git config commit.gpgsign false
}

# new_repo plus `mlo init` and a first commit: a ready mlo project in $REPO.
new_project() {
    new_repo
    "$MLO" -q init >/dev/null
    git add -A
    git commit -q -m "mlo init"
}

# A fresh temp directory (not a repository), made the current directory; path in $DIR.
new_dir() {
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/mlo-e2e-$E2E_TEST_NAME.XXXXXX")
    DIR=$(cd "$DIR" && pwd -P)
    E2E_TMPDIRS+=("$DIR")
    cd "$DIR"
}

# expect_exit CODE CMD...: runs CMD with stdout in $OUT and stderr in $ERR (files) and fails,
# showing both, unless it exits with CODE. `mlo` may be used as CMD.
expect_exit() {
    local want=$1
    shift
    local got=0
    "$@" >"$OUT" 2>"$ERR" || got=$?
    if [[ $got != "$want" ]]; then
        {
            echo "FAIL: expected exit $want, got $got: $*"
            echo "--- stdout:"
            cat "$OUT"
            echo "--- stderr:"
            cat "$ERR"
            echo "---"
        } >&2
        exit 1
    fi
}

# expect_contains FILE TEXT: FILE (e.g. "$OUT" or "$ERR") contains TEXT literally.
expect_contains() {
    local file=$1 text=$2
    if ! grep -qF -- "$text" "$file"; then
        {
            echo "FAIL: expected '$text' in $file:"
            cat "$file"
            echo "---"
        } >&2
        exit 1
    fi
}

# expect_not_contains FILE TEXT
expect_not_contains() {
    local file=$1 text=$2
    if grep -qF -- "$text" "$file"; then
        {
            echo "FAIL: did not expect '$text' in $file:"
            cat "$file"
            echo "---"
        } >&2
        exit 1
    fi
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
    if [[ $1 != "$2" ]]; then
        fail "${3:-value}: expected '$2', got '$1'"
    fi
}

# expect_file_eq A B: two files are byte-identical.
expect_file_eq() {
    cmp -s -- "$1" "$2" || fail "files differ: $1 $2"
}

# json_get FILE PATH: prints the value at a dotted PATH of the JSON document in FILE, e.g.
# `json_get "$OUT" tracked.0.hash`. Strings print raw; other values as JSON (true, 3, null,
# [...]). A final segment '#' prints the length of a list or object: `json_get "$OUT" data.#`.
# A key holding dots is found too: `json_get "$OUT" run.params.train.lr` reads the key "train.lr"
# of run.params when run.params has no key "train". A missing key fails the case.
json_get() {
    python3 -c '
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("json_get: %s is not JSON (%s)" % (sys.argv[1], e))
path = sys.argv[2]
value = doc
parts = path.split(".") if path else []
i = 0
while i < len(parts):
    part = parts[i]
    if part == "#":
        value = len(value)
    elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
        value = value[int(part)]
    elif isinstance(value, dict) and part in value:
        value = value[part]
    else:
        # A key that itself holds dots ("train.lr" in run.params): the shortest run of segments
        # that names a key.
        for j in range(i + 2, len(parts) + 1):
            if isinstance(value, dict) and ".".join(parts[i:j]) in value:
                value = value[".".join(parts[i:j])]
                i = j - 1
                break
        else:
            sys.exit("json_get: no %r in %s at %s" % (part, sys.argv[1], path))
    i += 1
print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
' "$1" "$2" || fail "json_get $2 failed on $1: $(head -c 2000 "$1")"
}

# expect_json FILE PATH EXPECTED: json_get equals EXPECTED.
expect_json() {
    local value
    value=$(json_get "$1" "$2") # an assignment, so a failing json_get stops the case
    expect_eq "$value" "$3" "$2 in $1"
}

# The store's object files, one path a line, sorted (to compare the store before and after).
store_listing() {
    find "${1:-.}/.mlo/objects" -type f 2>/dev/null | LC_ALL=C sort
}

# obj_path sha256:HEX -> the object's file relative to the project root.
obj_path() {
    local hex=${1#sha256:}
    echo ".mlo/objects/sha256/${hex:0:2}/${hex:2}"
}

# pointer_hash FILE.mlo -> its `hash:` value.
pointer_hash() {
    sed -n 's/^hash: //p' "$1"
}

# file_sha FILE -> sha256:<hex> as sha256sum computes it.
file_sha() {
    # From stdin: sha256sum escapes names holding a backslash or newline ("\<hex>  name").
    echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"
}

# tree_id DIR: the id mlo must give directory DIR, computed independently of mlo from SPEC.md
# section 4 and the manifest format in tree_manifest.hpp: one canonical manifest per level
# (compact JSON, sorted keys, entries sorted bytewise by name); a subdirectory's id is its
# manifest's id; a symlink's id is the hash of its target text and its size 0.
tree_id() {
    python3 - "$1" <<'EOF'
import hashlib, json, os, stat, sys

def level(path):
    entries, total = [], 0
    for name in sorted(os.listdir(path), key=lambda n: n.encode()):
        full = os.path.join(path, name)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(full)
            entries.append({"exec": False, "id": "sha256:" + hashlib.sha256(target.encode()).hexdigest(),
                            "kind": "symlink", "name": name, "size": 0, "target": target})
        elif stat.S_ISDIR(st.st_mode):
            sub_id, sub_size = level(full)
            entries.append({"exec": False, "id": sub_id, "kind": "dir", "name": name, "size": sub_size})
            total += sub_size
        else:
            data = open(full, "rb").read()
            entries.append({"exec": bool(st.st_mode & stat.S_IXUSR),
                            "id": "sha256:" + hashlib.sha256(data).hexdigest(),
                            "kind": "file", "name": name, "size": len(data)})
            total += len(data)
    doc = {"entries": entries, "schema": "mlo.tree/1"}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest(), total

print(level(sys.argv[1])[0])
EOF
}

# Sets mtime (and atime) of everything below PATH... to long ago, so the stat cache's racy-git
# window is over and unchanged files are not re-hashed.
age_files() {
    find "$@" -exec touch -h -d '2 hours ago' {} +
}

# Writes N bytes of deterministic pseudo-random data (seeded by SEED) to FILE.
random_file() {
    local file=$1 size=$2 seed=${3:-$1}
    openssl enc -aes-128-ctr -pass "pass:$seed" -nosalt -pbkdf2 </dev/zero 2>/dev/null |
        head -c "$size" >"$file"
}

# run_case NAME FUNCTION [ARGS...]: runs one case in a subshell with errexit, counts the result,
# removes its temp dirs on success and keeps them on failure.
run_case() {
    local name=$1
    shift
    local rc=0
    local started=$SECONDS
    # Not `( ... ) || rc=$?`: errexit is ignored inside anything on the left of ||.
    set +e
    trap - ERR
    (
        set -Eeuo pipefail
        E2E_TMPDIRS=()
        trap '_e2e_on_err $? $LINENO "$BASH_COMMAND"' ERR
        # shellcheck disable=SC2154 # _rc is assigned inside the trap text
        trap '_rc=$?; cd /; if ((_rc == 0)); then _e2e_remove_dirs; else _e2e_keep_dirs; fi; exit $_rc' EXIT
        "$@"
    )
    rc=$?
    trap '_e2e_on_err $? $LINENO "$BASH_COMMAND"' ERR
    set -e
    if ((rc == 0)); then
        E2E_PASSED=$((E2E_PASSED + 1))
        echo "ok   - $name ($((SECONDS - started)) s)"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILED_NAMES+=("$name")
        echo "FAIL - $name"
    fi
}

# finish: prints the tally of run_case results; the script's exit status is 1 if any failed.
finish() {
    echo "$E2E_TEST_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
    if ((E2E_FAILED > 0)); then
        local name
        for name in "${E2E_FAILED_NAMES[@]}"; do
            echo "  failed: $name"
        done
        exit 1
    fi
    exit 0
}

# --- Pipelines and runs (mlo train, mlo runs) --------------------------------------------------

# pipeline_project: new_project whose mlo.yaml gets the text on stdin appended (usually a
# `pipeline:` section). Nothing more is committed; see commit_all.
pipeline_project() {
    new_project
    cat >>mlo.yaml
}

# commit_all [MSG]: commits everything in the work tree that git does not ignore.
commit_all() {
    git add -A
    git commit -q -m "${1:-commit}"
}

# run_count: the number of runs `mlo runs list` reports in the current project.
run_count() {
    "$MLO" --json runs list >"$E2E_SCRATCH/run_count.json"
    json_get "$E2E_SCRATCH/run_count.json" runs.#
}

# run_id [RUN]: the full id of RUN (default: latest), as `mlo runs show` resolves it.
run_id() {
    "$MLO" --json runs show "${1:-latest}" >"$E2E_SCRATCH/run_id.json" ||
        fail "mlo runs show ${1:-latest} failed"
    json_get "$E2E_SCRATCH/run_id.json" run.id
}

# wait_for_file FILE [SECONDS]: waits until FILE exists and is not empty; fails the case after
# SECONDS (default 10).
wait_for_file() {
    local file=$1 deadline=$((SECONDS + ${2:-10}))
    until [[ -s $file ]]; do
        ((SECONDS < deadline)) || fail "timed out waiting for $file"
        sleep 0.05
    done
}
