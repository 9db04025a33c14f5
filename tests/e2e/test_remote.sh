#!/usr/bin/env bash
# mlo push, pull and fetch against a directory remote and a real S3-compatible server (s3rver,
# installed by npm into a cache directory and started on loopback by this script): round trips
# that a fresh clone can check out, list runs from and get registered versions from; no-op and
# resumed pushes; objects missing or corrupt on the remote; a server that fails requests (a
# fault-injecting proxy); bad credentials.
source "$(dirname "$0")/lib.sh"
export XDG_CONFIG_HOME="$E2E_SCRATCH/config"

S3_CACHE=${MLO_E2E_CACHE:-${TMPDIR:-/tmp}/mlo-e2e-cache}/s3rver
S3_STATE=$E2E_SCRATCH/s3
PIDS=()
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER # s3rver's built-in account
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION

stop_servers() {
    local pid
    # Proxies are started inside cases (subshells), so their pids are kept in a file.
    [[ -f $E2E_SCRATCH/proxy.pids ]] && while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$E2E_SCRATCH/proxy.pids"
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_servers; _e2e_on_exit' EXIT

# wait_port FILE: waits for a server to write its port to FILE, then for the port to accept.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_accepting() {
    local port=$1 deadline=$((SECONDS + 30))
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "nothing listens on port $port"
        sleep 0.1
    done
}

start_s3rver() {
    command -v npm >/dev/null || fail "npm is needed for the S3 cases (scripts/install-deps.sh installs it)"
    if [[ ! -x $S3_CACHE/node_modules/.bin/s3rver ]]; then
        mkdir -p "$S3_CACHE"
        npm install --silent --no-audit --no-fund --prefix "$S3_CACHE" s3rver@3 >"$S3_CACHE/npm.log" 2>&1 ||
            { cat "$S3_CACHE/npm.log" >&2; fail "npm install s3rver failed"; }
    fi
    mkdir -p "$S3_STATE/data"
    S3_PORT=$(free_port)
    # s3rver 3 makes listing continuation tokens with a cipher OpenSSL 3 (Node 17+) disables by default.
    NODE_OPTIONS=--openssl-legacy-provider "$S3_CACHE/node_modules/.bin/s3rver" -d "$S3_STATE/data" -a 127.0.0.1 -p "$S3_PORT" --silent \
        --configure-bucket mlo-e2e >"$S3_STATE/log" 2>&1 &
    PIDS+=($!)
    wait_accepting "$S3_PORT"
}

# start_proxy MODE: a fault_proxy.py in front of s3rver; its port in $PROXY_PORT, state in $PROXY_DIR.
start_proxy() {
    PROXY_DIR=$(mktemp -d "$E2E_SCRATCH/proxy.XXXXXX")
    "$PYTHON" "$MLO_SOURCE_DIR/tests/e2e/fault_proxy.py" "$S3_PORT" "$PROXY_DIR" "$1" 2>"$PROXY_DIR/log" &
    echo $! >>"$E2E_SCRATCH/proxy.pids"
    wait_for_file "$PROXY_DIR/port"
    PROXY_PORT=$(cat "$PROXY_DIR/port")
}

# A project with a one-stage pipeline, a directory of data, a recorded run and a registered
# version, committed; the remotes `dir` (a directory) and `s3` (a prefix unique to the case).
remote_project() {
    new_project
    cat >>mlo.yaml <<EOF2
pipeline:
  train:
    cmd: "mkdir -p models && cat data/raw/*.csv params.yaml > models/m.bin"
    deps: [data/raw, params.yaml]
    params: [lr]
    outs: [models/m.bin]
models:
  clf: {path: models/m.bin, type: sklearn}
registry:
  stages: [production]
remotes:
  dir: {url: $REPO.remote}
  s3: {url: "s3://mlo-e2e/$(basename "$REPO")", endpoint: "http://127.0.0.1:${S3_PORT:-1}", jobs: 4}
default_remote: dir
EOF2
    E2E_TMPDIRS+=("$REPO.remote")
    mkdir -p data/raw/sub
    for i in 1 2 3 4 5; do echo "row,$i" >"data/raw/part$i.csv"; done
    echo "deep" >data/raw/sub/deep.csv
    echo "lr: 0.1" >params.yaml
    mlo -q track data/raw >/dev/null
    commit_all "data"
    mlo -q train >/dev/null 2>&1
    commit_all "model"
    mlo -q register clf >/dev/null
}

# fresh_clone: a clone of $REPO in $CLONE (made the current directory); git carries the pointers and tags.
fresh_clone() {
    CLONE=$REPO.clone
    E2E_TMPDIRS+=("$CLONE")
    git clone -q "$REPO" "$CLONE"
    cd "$CLONE"
}

# expect_round_trip: in a fresh clone after a pull, data, runs and the registry all work.
expect_round_trip() {
    expect_file_eq "$CLONE/data/raw/sub/deep.csv" "$REPO/data/raw/sub/deep.csv"
    expect_file_eq "$CLONE/models/m.bin" "$REPO/models/m.bin"
    expect_exit 0 mlo status --exit-code
    expect_eq "$(run_count)" 1 "the run came with the pull"
    expect_exit 0 mlo register get clf@v0.0.1 -o "$CLONE/got"
    expect_file_eq "$CLONE/got/m.bin" "$REPO/models/m.bin"
    expect_exit 0 mlo fsck
}

round_trip() {
    local remote=$1
    remote_project
    expect_exit 0 mlo --json push -r "$remote"
    expect_eq "$(json_get "$OUT" refs)" 1 "the run's ref is pushed"
    local objects
    objects=$(json_get "$OUT" objects)
    expect_eq "$(json_get "$OUT" uploaded)" "$objects"
    # Nothing new: nothing is sent.
    expect_exit 0 mlo --json push -r "$remote"
    expect_eq "$(json_get "$OUT" uploaded)" 0
    expect_eq "$(json_get "$OUT" refs)" 0
    fresh_clone
    expect_exit 0 mlo pull -r "$remote"
    expect_contains "$OUT" "created data/raw"
    expect_round_trip
    # Pulling again downloads nothing.
    expect_exit 0 mlo --json pull -r "$remote"
    expect_eq "$(json_get "$OUT" downloaded)" 0
}

case_directory_round_trip() { round_trip dir; }
case_s3_round_trip() { round_trip s3; }

case_fetch_one_version() {
    remote_project
    expect_exit 0 mlo push -r s3
    fresh_clone
    # Only the model version: its manifest and files, no workspace data, no checkout.
    expect_exit 0 mlo --json fetch -r s3 clf@v0.0.1
    expect_exit 0 mlo register get clf@v0.0.1 -o "$CLONE/got"
    expect_file_eq "$CLONE/got/m.bin" "$REPO/models/m.bin"
    [[ ! -e data/raw/part1.csv ]] || fail "fetch must not check out"
    expect_exit 1 mlo status --exit-code
}

case_missing_on_remote() {
    remote_project
    expect_exit 0 mlo push
    local id
    id=$(file_sha data/raw/part3.csv)
    id=${id#sha256:}
    rm -f "$REPO.remote/objects/sha256/${id:0:2}/${id:2}"
    fresh_clone
    expect_exit 1 mlo pull
    expect_contains "$ERR" "not on remote 'dir'"
    expect_contains "$ERR" "sha256:$id"
    expect_contains "$ERR" "nothing was checked out"
    [[ ! -e data/raw ]] || fail "a failed pull must not check out"
    # The directory manifest that lists the missing file stays out of the store.
    [[ ! -e .mlo/objects/sha256/$(pointer_hash data/raw.mlo | cut -c8-9) ]] ||
        [[ ! -e $(obj_path "$(pointer_hash data/raw.mlo)") ]] || fail "the manifest above a missing file was stored"
}

case_corrupt_download_directory() {
    remote_project
    expect_exit 0 mlo push
    local id object
    id=$(file_sha data/raw/part2.csv)
    id=${id#sha256:}
    object=$REPO.remote/objects/sha256/${id:0:2}/${id:2}
    chmod u+w "$object"
    echo "tampered" >"$object"
    fresh_clone
    expect_exit 1 mlo fetch
    expect_contains "$ERR" "corrupt"
    expect_contains "$ERR" "sha256:$id"
    [[ ! -e $(obj_path "sha256:$id") ]] || fail "a corrupt download entered the store"
    expect_exit 0 mlo fsck
}

case_corrupt_download_s3() {
    remote_project
    expect_exit 0 mlo push -r s3
    start_proxy corrupt
    fresh_clone
    sed -i "s|127.0.0.1:$S3_PORT|127.0.0.1:$PROXY_PORT|" mlo.yaml
    expect_exit 1 mlo pull -r s3
    expect_contains "$ERR" "corrupt on remote 's3' (detected, not stored)"
    (($(cat "$PROXY_DIR/faults") > 0)) || fail "the proxy corrupted nothing"
    # Every object download was corrupted: none may have entered the store.
    [[ -z $(find .mlo/objects -type f) ]] || fail "a corrupt download entered the store"
}

case_flaky_server_retried() {
    remote_project
    start_proxy fail:3
    sed -i "s|127.0.0.1:$S3_PORT|127.0.0.1:$PROXY_PORT|" mlo.yaml
    commit_all "through the proxy"
    expect_exit 0 mlo push -r s3
    fresh_clone
    expect_exit 0 mlo pull -r s3
    expect_round_trip
    (($(cat "$PROXY_DIR/faults") >= 4)) || fail "the proxy injected too few faults to test anything"
}

case_bad_credentials() {
    remote_project
    AWS_ACCESS_KEY_ID=AKIAE2EWRONGKEY AWS_SECRET_ACCESS_KEY=e2e-very-secret-value expect_exit 2 mlo push -r s3
    expect_contains "$ERR" "remote 's3'"
    expect_contains "$ERR" "refused the credentials"
    expect_not_contains "$ERR" "e2e-very-secret-value"
    expect_not_contains "$OUT" "e2e-very-secret-value"
    expect_not_contains "$ERR" "AKIAE2EWRONGKEY"
    # No credentials at all: also exit 2, saying where they were looked for.
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$REPO" "$MLO" push -r s3 >"$OUT" 2>"$ERR" && fail "pushed without credentials" || expect_eq $? 2
    expect_contains "$ERR" "no AWS credentials"
    grep -q "e2e-very-secret-value" mlo.yaml .mlo -r && fail "a secret was written into the project" || true
}

case_credentials_from_profile() {
    remote_project
    mkdir -p "$REPO/home/.aws"
    printf '[e2e]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$REPO/home/.aws/credentials"
    sed -i 's|jobs: 4}|jobs: 4, profile: e2e}|' mlo.yaml
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$REPO/home" "$MLO" push -r s3 >"$OUT" 2>"$ERR" ||
        { cat "$ERR" >&2; fail "push with a profile failed"; }
    expect_contains "$OUT" "pushed"
}

case_interrupted_push_resumed() {
    remote_project
    for i in $(seq 1 60); do echo "file $i" >"data/raw/sub/n$i.csv"; done
    mlo -q track data/raw >/dev/null
    commit_all "more data"
    mlo -q train >/dev/null 2>&1
    commit_all "model 2"
    start_proxy delay:0.05
    sed -i "s|127.0.0.1:$S3_PORT|127.0.0.1:$PROXY_PORT|; s|jobs: 4}|jobs: 2}|" mlo.yaml
    "$MLO" push -r s3 >"$E2E_SCRATCH/push1.out" 2>&1 &
    local pid=$!
    local deadline=$((SECONDS + 30))
    until [[ -s $PROXY_DIR/puts ]] && (($(cat "$PROXY_DIR/puts") >= 10)); do
        ((SECONDS < deadline)) || fail "the push never got going"
        sleep 0.05
    done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    expect_exit 0 mlo --json push -r s3
    local objects uploaded
    objects=$(json_get "$OUT" objects)
    uploaded=$(json_get "$OUT" uploaded)
    ((uploaded < objects)) || fail "the resumed push sent everything again ($uploaded of $objects)"
    ((uploaded > 0)) || fail "the push was not interrupted before its end"
    fresh_clone
    expect_exit 0 mlo pull -r s3
    expect_file_eq "$CLONE/data/raw/sub/n60.csv" "$REPO/data/raw/sub/n60.csv"
    expect_file_eq "$CLONE/models/m.bin" "$REPO/models/m.bin"
    expect_eq "$(run_count)" 2 "both runs came with the pull"
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo fsck
}

case_interrupted_pull_resumed() {
    remote_project
    for i in $(seq 1 60); do echo "file $i" >"data/raw/sub/n$i.csv"; done
    mlo -q track data/raw >/dev/null
    commit_all "more data"
    expect_exit 0 mlo push -r s3
    start_proxy delay:0.05
    fresh_clone
    sed -i "s|127.0.0.1:$S3_PORT|127.0.0.1:$PROXY_PORT|; s|jobs: 4}|jobs: 2}|" mlo.yaml
    "$MLO" pull -r s3 >"$E2E_SCRATCH/pull1.out" 2>&1 &
    local pid=$!
    local deadline=$((SECONDS + 30))
    until [[ -d .mlo/objects ]] && (($(find .mlo/objects -type f | wc -l) >= 10)); do
        ((SECONDS < deadline)) || fail "the pull never got going"
        sleep 0.05
    done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    # Killed half-way: what is in the store is complete and intact (fsck lists the data not
    # fetched yet as missing, and nothing as corrupt).
    "$MLO" fsck >"$OUT" 2>&1 || true
    expect_not_contains "$OUT" "corrupt"
    expect_exit 0 mlo --json pull -r s3
    local objects downloaded
    objects=$(json_get "$OUT" objects)
    downloaded=$(json_get "$OUT" downloaded)
    ((downloaded < objects)) || fail "the resumed pull fetched everything again ($downloaded of $objects)"
    ((downloaded > 0)) || fail "the pull was not interrupted before its end"
    expect_file_eq "$CLONE/data/raw/sub/n60.csv" "$REPO/data/raw/sub/n60.csv"
    expect_exit 0 mlo fsck
}

case_unknown_remote() {
    remote_project
    expect_exit 2 mlo push -r s4
    expect_contains "$ERR" "no remote named 's4'"
    expect_contains "$ERR" "did you mean 's3'"
}

run_case "directory remote: push, fresh clone, pull, checkout, runs, register get" case_directory_round_trip
run_case "objects missing on the remote: reported, nothing checked out" case_missing_on_remote
run_case "corrupt object on a directory remote: detected, not stored" case_corrupt_download_directory
run_case "unknown remote name" case_unknown_remote
start_s3rver
run_case "S3 remote (s3rver): push, fresh clone, pull, checkout, runs, register get" case_s3_round_trip
run_case "fetch MODEL@v brings one version, checks out nothing" case_fetch_one_version
run_case "corrupt download from S3: detected, not stored" case_corrupt_download_s3
run_case "a server failing every third request: retried, everything arrives" case_flaky_server_retried
run_case "bad or no credentials: exit 2, the secret never printed" case_bad_credentials
run_case "credentials from a profile in ~/.aws/credentials" case_credentials_from_profile
run_case "a push killed half-way resumes with what is missing" case_interrupted_push_resumed
run_case "a pull killed half-way resumes with what is missing" case_interrupted_pull_resumed
finish
