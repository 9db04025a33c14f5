#!/usr/bin/env bash
# mlo deploy: a local target started in the background, status, logs, history, stop; a blue/green
# switch and a rollback under continuous load with zero failed requests; a canary that passes and
# one that rolls back by itself on an injected error rate; the access rules; Kubernetes manifests
# written and applied (through a stand-in kubectl); and bad input.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# A project with model `echo` whose worker answers y = factor * x. The factor, and whether every
# answer is an error, come from the version's own file, so each registered version behaves
# differently: v0.0.1 doubles, v0.0.2 triples, v0.0.3 fails every request (a bad release), v0.0.4
# cannot load.
deploy_project() {
    pipeline_project <<'EOF2'
models:
  echo:
    path: models/echo.json
    type: test
    signature:
      inputs: [{name: x, type: double}]
      outputs: [{name: y, type: double}]
    serve:
      cmd: /usr/bin/python3 worker.py
      workers: 1
registry:
  stages: [production]
deploy:
  local: {type: local, port: 0, drain_seconds: 5}
  other: {type: local, port: 0}
  prod: {type: kubernetes, namespace: ml, replicas: 3, image: registry.example/echo-serve:1}
EOF2
    mkdir -p models
    echo "models/" >.gitignore
    cat >worker.py <<'EOF2'
import json, os
from mlo_worker import serve
model = json.load(open(os.path.join(os.environ["MLO_MODEL_DIR"], "echo.json")))
if model.get("crash"):
    raise SystemExit(5)  # a release that cannot even load
def predict(inputs):
    if model.get("fail"):
        raise RuntimeError("this release is broken")
    return {"y": [model["factor"] * x for x in inputs["x"]]}
serve(predict)
EOF2
    commit_all "echo model"
    register_version '{"factor": 2}'
    register_version '{"factor": 3}'
    register_version '{"factor": 5, "fail": true}'
    register_version '{"factor": 7, "crash": true}'
    trap 'mlo deploy stop --target local >/dev/null 2>&1 || true; mlo deploy stop --target other >/dev/null 2>&1 || true' EXIT
}

register_version() {
    echo "$1" >models/echo.json
    mlo -q register echo >/dev/null
}

# alive PID: the process runs (a zombie waiting for its reaper does not count).
alive() {
    [[ -r /proc/$1/stat ]] && ! grep -q ') Z' "/proc/$1/stat"
}

target_url() {
    mlo --json deploy status --target "${1:-local}" >"$E2E_SCRATCH/status.json"
    json_get "$E2E_SCRATCH/status.json" targets.0.url
}

# predict URL X: prints y and the answering version ("6.0 v0.0.2").
predict() {
    curl -sS -D "$E2E_SCRATCH/headers" -H 'Content-Type: application/json' \
        -d "{\"dataframe_split\": {\"columns\": [\"x\"], \"data\": [[$2]]}}" "$1/invocations" >"$E2E_SCRATCH/body"
    local version
    version=$(tr -d '\r' <"$E2E_SCRATCH/headers" | awk -F': ' 'tolower($1)=="x-model-version"{print $2}')
    echo "$(json_get "$E2E_SCRATCH/body" predictions.0) $version"
}

# start_load URL: sends requests from 4 threads until stop_load, counting answers by status and by
# version; stop_load leaves the counts in $E2E_SCRATCH/load.json.
start_load() {
    rm -f "$E2E_SCRATCH/load.stop" "$E2E_SCRATCH/load.json"
    "$PY" - "$1" "$E2E_SCRATCH/load.stop" "$E2E_SCRATCH/load.json" <<'EOF2' &
import http.client, json, os, sys, threading, time, urllib.parse
url, stop_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
parts = urllib.parse.urlparse(url)
counts, lock = {"status": {}, "version": {}, "failures": []}, threading.Lock()
body = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0]]}})
def run():
    conn = None
    while not os.path.exists(stop_file):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            key, version = str(response.status), response.getheader("X-Model-Version", "-")
        except Exception as error:  # a refused or reset connection is a dropped request
            key, version, conn = "error", "-", None
            with lock:
                counts["failures"].append(repr(error))
        with lock:
            counts["status"][key] = counts["status"].get(key, 0) + 1
            counts["version"][version] = counts["version"].get(version, 0) + 1
threads = [threading.Thread(target=run) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
counts["total"] = sum(counts["status"].values())
json.dump(counts, open(out, "w"))
EOF2
    LOAD_PID=$!
    sleep 0.5
}

stop_load() {
    touch "$E2E_SCRATCH/load.stop"
    wait "$LOAD_PID"
}

case_local_lifecycle() {
    deploy_project
    expect_exit 0 mlo deploy echo@v0.0.1 --target local
    expect_contains "$OUT" "v0.0.1 serving at http://127.0.0.1:"
    url=$(target_url)
    expect_eq "$(predict "$url" 21)" "42.0 v0.0.1" "prediction of v0.0.1"
    expect_eq "$(json_get "$E2E_SCRATCH/status.json" targets.0.state)" running
    expect_eq "$(json_get "$E2E_SCRATCH/status.json" targets.0.versions.0.version)" v0.0.1
    expect_eq "$(json_get "$E2E_SCRATCH/status.json" targets.0.versions.0.weight)" 100
    pid=$(json_get "$E2E_SCRATCH/status.json" targets.0.pid)
    expect_exit 0 mlo deploy status
    expect_contains "$OUT" "local"
    expect_contains "$OUT" "running"
    expect_contains "$OUT" "other"
    expect_contains "$OUT" "stopped"
    # Deploying what already serves changes nothing.
    expect_exit 0 mlo deploy echo@v0.0.1 --target local
    expect_contains "$ERR" "already takes all traffic"
    expect_eq "$(target_url)" "$url" "URL after a no-op deploy"
    expect_exit 0 mlo deploy logs --target local
    expect_contains "$OUT" "serving echo (v0.0.1 100%)"
    # The server outlives the command that started it, and its state lives under .mlo/deploy.
    [[ -s .mlo/deploy/local/server.json ]] || fail "no server.json"
    expect_exit 0 mlo deploy stop --target local
    expect_contains "$ERR" "stopped"
    ! alive "$pid" || fail "the server (pid $pid) still runs after stop"
    expect_exit 0 mlo --json deploy status --target local
    expect_eq "$(json_get "$OUT" targets.0.state)" stopped
    expect_exit 0 mlo deploy stop --target local
    expect_contains "$ERR" "not running"
    expect_exit 0 mlo --json deploy history --target local
    expect_eq "$(json_get "$OUT" events.#)" 2
    expect_eq "$(json_get "$OUT" events.0.action)" deploy
    expect_eq "$(json_get "$OUT" events.0.strategy)" start
    expect_eq "$(json_get "$OUT" events.1.action)" stop
    expect_exit 0 mlo --json audit log
    expect_contains "$OUT" '"deploy"'
    expect_exit 0 mlo audit verify
}
run_case "deploy a version locally; status, logs, history, audit, stop" case_local_lifecycle

case_blue_green_under_load() {
    deploy_project
    expect_exit 0 mlo deploy echo@v0.0.1 --target local
    url=$(target_url)
    start_load "$url"
    expect_exit 0 mlo deploy echo@v0.0.2 --target local
    expect_contains "$ERR" "v0.0.1 drained and stopped"
    sleep 0.5
    expect_exit 0 mlo deploy rollback --target local
    expect_contains "$ERR" "rolling back local to echo@v0.0.1"
    sleep 0.5
    stop_load
    load=$E2E_SCRATCH/load.json
    expect_eq "$(json_get "$load" failures)" "[]" "connection failures during the switches"
    expect_eq "$(json_get "$load" status.#)" 1 "statuses seen (only 200)"
    total=$(json_get "$load" total)
    expect_eq "$(json_get "$load" status.200)" "$total" "requests answered 200"
    ((total > 20)) || fail "only $total requests were sent during the switches"
    ((${total} == $(json_get "$load" version.v0.0.1) + $(json_get "$load" version.v0.0.2))) ||
        fail "answers came from other versions: $(cat "$load")"
    (($(json_get "$load" version.v0.0.2) > 0)) || fail "v0.0.2 never answered"
    expect_eq "$(predict "$url" 1)" "2.0 v0.0.1" "after the rollback"
    expect_exit 0 mlo --json deploy history --target local
    expect_eq "$(json_get "$OUT" events.1.strategy)" blue-green
    expect_eq "$(json_get "$OUT" events.1.previous)" v0.0.1
    expect_eq "$(json_get "$OUT" events.2.action)" rollback
    expect_eq "$(json_get "$OUT" events.2.version)" v0.0.1
    # A second rollback returns to v0.0.2, the version that held full traffic before.
    expect_exit 0 mlo deploy rollback --target local
    expect_eq "$(predict "$url" 1)" "3.0 v0.0.2" "after the second rollback"
}
run_case "blue/green switch and rollback under continuous load: no failed request" case_blue_green_under_load

case_canary() {
    deploy_project
    expect_exit 0 mlo deploy echo@v0.0.1 --target local
    url=$(target_url)
    start_load "$url"
    # A healthy canary walks its steps and takes all traffic.
    expect_exit 0 mlo deploy echo@v0.0.2 --target local --strategy canary --steps 50 --interval 1s \
        --max-error-rate 0.01 --max-p99-ms 5000
    expect_contains "$ERR" "canary step 50%: v0.0.1 50%, v0.0.2 50%"
    expect_contains "$ERR" "step 50% passed"
    expect_contains "$ERR" "canary step 100%: v0.0.2 100%"
    # A broken release fails the error-rate gate and is rolled back by itself.
    expect_exit 1 mlo deploy echo@v0.0.3 --target local --strategy canary --steps 20,100 --interval 1s \
        --max-error-rate 0.05
    expect_contains "$ERR" "canary of echo@v0.0.3 rolled back: gate failed at step 20%: error rate"
    expect_contains "$ERR" "v0.0.2 takes all traffic again"
    sleep 0.3
    stop_load
    load=$E2E_SCRATCH/load.json
    expect_eq "$(json_get "$load" failures)" "[]" "connection failures during the canaries"
    (($(json_get "$load" version.v0.0.3) > 0)) || fail "the broken canary got no traffic: $(cat "$load")"
    expect_eq "$(predict "$url" 1)" "3.0 v0.0.2" "after the rollback"
    expect_exit 0 mlo --json deploy status --target local
    expect_eq "$(json_get "$OUT" targets.0.versions.#)" 1
    expect_eq "$(json_get "$OUT" targets.0.versions.0.version)" v0.0.2
    expect_exit 0 mlo --json deploy history --target local
    expect_eq "$(json_get "$OUT" events.1.outcome)" ok
    expect_eq "$(json_get "$OUT" events.1.strategy)" canary
    expect_eq "$(json_get "$OUT" events.2.outcome)" rolled-back
    expect_eq "$(json_get "$OUT" events.2.full_traffic)" false
    # Rollback still knows v0.0.1 held full traffic before v0.0.2.
    expect_exit 0 mlo deploy rollback --target local
    expect_eq "$(predict "$url" 1)" "2.0 v0.0.1" "rollback after a failed canary"
}
run_case "a canary that passes, and one rolled back on its error rate" case_canary

case_access_rules() {
    deploy_project
    mlo -q register promote echo@v0.0.2 --to production >/dev/null
    # A deploy rule without a stage binds every deployment; a version named by number has no
    # signed promotion, and the unsigned production promotion does not satisfy it either.
    cat >>mlo.yaml <<'EOF2'
access:
  keys: {alice@example.com: "ed25519:MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="}
  rules:
    - {action: deploy, signers: [alice@example.com], min: 1}
EOF2
    expect_exit 3 mlo deploy echo@v0.0.1 --target local
    expect_contains "$ERR" "refusing to deploy echo@v0.0.1"
    expect_contains "$ERR" "a version named by number carries none"
    expect_exit 3 mlo deploy 'echo#production' --target local
    expect_contains "$ERR" "deploy to production needs 1 valid signature from [alice@example.com], has 0"
    [[ ! -e .mlo/deploy/local/server.json ]] || fail "a refused deploy started a server"
}
run_case "deploy rules refuse unsigned deployments" case_access_rules

case_bearer_token() {
    deploy_project
    openssl rand -hex 24 >token
    echo token >>.gitignore
    sed -i 's|  other: {type: local, port: 0}|  other: {type: local, port: 0, token_file: token}|' mlo.yaml
    commit_all "token"
    expect_exit 0 mlo deploy echo@v0.0.1 --target other
    url=$(target_url other)
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"inputs": {"x": [1]}}' "$url/invocations")
    expect_eq "$code" 401 "a prediction without the token"
    answer=$(curl -s -H "Authorization: Bearer $(cat token)" -H 'Content-Type: application/json' \
        -d '{"dataframe_split": {"columns": ["x"], "data": [[4]]}}' "$url/invocations")
    expect_eq "$answer" '{"predictions":[8.0]}' "a prediction with the token"
    # The token is passed as a file path: it is in no command line and no log.
    pid=$(json_get .mlo/deploy/other/server.json pid)
    ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$(cat token)" || fail "the token is on the command line"
    ! grep -qF "$(cat token)" .mlo/deploy/other/server.log || fail "the token is in the log"
    expect_exit 0 mlo deploy echo@v0.0.2 --target other
    expect_exit 0 mlo deploy stop --target other
}
run_case "a local target with a bearer token" case_bearer_token

case_kubernetes() {
    deploy_project
    expect_exit 0 mlo deploy echo@v0.0.1 --target prod --output k8s
    expect_contains "$OUT" "v0.0.1 rendered into"
    for file in deployment-stable.yaml service.yaml hpa.yaml Dockerfile; do
        [[ -s k8s/$file ]] || fail "k8s/$file was not written"
    done
    expect_contains k8s/deployment-stable.yaml "registry.example/echo-serve:1"
    expect_contains k8s/deployment-stable.yaml 'namespace: "ml"'
    expect_contains k8s/deployment-stable.yaml "/v2/health/ready"
    # A canary is a second Deployment beside the stable one; --apply hands the files to kubectl.
    mkdir bin
    printf '#!/bin/sh\necho "$@" >"%s/kubectl.args"\n' "$PWD" >bin/kubectl
    chmod +x bin/kubectl
    PATH=$PWD/bin:$PATH expect_exit 0 mlo deploy echo@v0.0.2 --target prod --output k8s --strategy canary \
        --steps 25 --apply
    expect_eq "$(cat kubectl.args)" "apply -f $PWD/k8s" "kubectl arguments"
    expect_contains k8s/deployment-canary.yaml "v0.0.2"
    expect_contains k8s/deployment-stable.yaml "v0.0.1"
    expect_exit 0 mlo --json deploy history --target prod
    expect_eq "$(json_get "$OUT" events.1.message)" "canary at 25% beside v0.0.1"
    # Without kubectl, --apply is a clear error.
    mkdir nobin
    PATH=$PWD/nobin expect_exit 3 mlo deploy echo@v0.0.2 --target prod --output k8s --apply
    expect_contains "$ERR" "cannot run kubectl"
}
run_case "kubernetes manifests written, canary rendered, kubectl apply" case_kubernetes

case_bad_input() {
    deploy_project
    expect_exit 2 mlo deploy echo@v0.0.1
    expect_contains "$ERR" "name the target with --target"
    expect_exit 2 mlo deploy echo@v0.0.1 --target locl
    expect_contains "$ERR" "did you mean 'local'"
    expect_exit 2 mlo deploy echo@v9.9.9 --target local
    expect_exit 2 mlo deploy echo@v0.0.1 --target local --steps 10,50
    expect_contains "$ERR" "need --strategy canary"
    expect_exit 2 mlo deploy echo@v0.0.1 --target local --strategy canary --steps 50,10
    expect_contains "$ERR" "ascending percentages"
    expect_exit 2 mlo deploy echo@v0.0.1 --target local --strategy canary --interval soon
    expect_contains "$ERR" "is not a duration"
    expect_exit 2 mlo deploy echo@v0.0.1 --target local --output dir
    expect_contains "$ERR" "for kubernetes targets"
    expect_exit 3 mlo deploy rollback --target local
    expect_contains "$ERR" "no earlier version"
    sed -i 's|other: {type: local, port: 0}|other: {type: local, port: 99999, colour: red}|' mlo.yaml
    expect_exit 2 mlo deploy echo@v0.0.1 --target other
    expect_contains "$ERR" "deploy.other.port: must be a whole number from 0 to 65535"
    expect_contains "$ERR" "unknown setting 'colour'"
    git checkout -q mlo.yaml
    # One target serves one model; a server that was killed is found dead and started afresh.
    expect_exit 0 mlo deploy echo@v0.0.1 --target local
    kill -9 "$(json_get .mlo/deploy/local/server.json pid)"
    sleep 0.2
    expect_exit 0 mlo --json deploy status --target local
    expect_eq "$(json_get "$OUT" targets.0.state)" stopped
    expect_exit 0 mlo deploy echo@v0.0.2 --target local
    expect_eq "$(predict "$(target_url)" 1)" "3.0 v0.0.2" "after a restart"
    # A release that cannot load is refused and the running one keeps serving.
    expect_exit 1 mlo deploy echo@v0.0.4 --target local
    expect_contains "$ERR" "the server kept its routing"
    expect_eq "$(predict "$(target_url)" 1)" "3.0 v0.0.2" "after a refused switch"
    # A version whose workers cannot start leaves the running one in place.
    sed -i 's|cmd: /usr/bin/python3 worker.py|cmd: /usr/bin/python3 -c "import sys; sys.exit(4)"|' mlo.yaml
    git commit -qam "broken worker"
    expect_exit 0 mlo deploy stop --target local
    expect_exit 1 mlo deploy echo@v0.0.1 --target local
    expect_contains "$ERR" "the server exited before it was ready"
    git revert --no-edit HEAD >/dev/null
}
run_case "bad targets, flags and versions; a killed server; a version that cannot start" case_bad_input

finish
