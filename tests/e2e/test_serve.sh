#!/usr/bin/env bash
# mlo serve: both HTTP protocols (every endpoint and request shape), input validation and every
# bad request, worker crash and restart, bearer tokens, TLS, dynamic batching, the request log
# with hashed PII, and graceful shutdown. The workers are Python (stdlib only) through the
# mlo_worker helper that mlo serve puts on PYTHONPATH.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# A project with a registered model `echo` whose worker answers y = 2x and echoes the name; the
# worker also reports how many rows each call had (for the batching case) and crashes on x = -1.
serve_project() {
    pipeline_project <<'EOF2'
models:
  echo:
    path: models/echo.json
    type: test
    signature:
      inputs:
        - {name: x, type: double}
        - {name: name, type: string}
        - {name: email, type: string, pii: true}
      outputs:
        - {name: y, type: double}
        - {name: batch_rows, type: int64}
    serve:
      cmd: /usr/bin/python3 worker.py
      workers: 2
registry:
  stages: [production]
EOF2
    mkdir -p models
    echo '{"factor": 2}' >models/echo.json
    echo "models/" >.gitignore
    cat >worker.py <<'EOF2'
import json, os, sys, time
from mlo_worker import serve
factor = json.load(open(os.path.join(os.environ["MLO_MODEL_DIR"], "echo.json")))["factor"]
def predict(inputs):
    xs = inputs["x"]
    if -1 in xs:
        os._exit(3)  # a crash, as a segfaulting model would
    if -2 in xs:
        time.sleep(1.5)  # a slow request, for graceful shutdown
    return {"y": [factor * x for x in xs], "batch_rows": [len(xs)] * len(xs)}
serve(predict)
EOF2
    commit_all "echo model"
    mlo -q register echo >/dev/null
    # Settings a case may change before starting the server.
    SERVE_ARGS=()
}

# start_server [ARGS...]: starts `mlo serve echo` in the background on a free port and waits
# until it is ready; sets PORT, URL and SERVER_PID. The server is stopped when the case ends.
start_server() {
    rm -f ready.json
    "$MLO" serve echo --port 0 --ready-file ready.json "$@" >"$E2E_SCRATCH/serve.out" 2>"$E2E_SCRATCH/serve.err" &
    SERVER_PID=$!
    trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
    local deadline=$((SECONDS + 30))
    until [[ -s ready.json ]]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$E2E_SCRATCH/serve.err" >&2
            fail "mlo serve exited before it was ready"
        fi
        ((SECONDS < deadline)) || fail "mlo serve was not ready within 30 s"
        sleep 0.05
    done
    PORT=$(json_get ready.json port)
    URL=${URL_SCHEME:-http}://127.0.0.1:$PORT
}

stop_server() {
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    expect_eq "$rc" 0 "mlo serve exit status after SIGTERM"
}

# http METHOD PATH [CURL ARGS...]: the body in $OUT, the status in $STATUS, headers in $HEADERS.
http() {
    local method=$1 path=$2
    shift 2
    HEADERS=$E2E_SCRATCH/headers
    STATUS=$(curl -s -o "$OUT" -D "$HEADERS" -w '%{http_code}' -X "$method" "${CURL_TLS[@]}" "$@" "$URL$path")
}
post_json() { http POST "$1" -H 'Content-Type: application/json' --data-binary "$2" "${@:3}"; }
expect_status() { [[ $STATUS == "$1" ]] || fail "expected HTTP $1, got $STATUS: $(cat "$OUT")"; }
CURL_TLS=()

case_protocols() {
    serve_project
    start_server
    http GET /v2/health/live
    expect_status 200
    expect_contains "$OUT" '"live":true'
    http GET /v2/health/ready
    expect_status 200
    http GET /v2
    expect_status 200
    expect_eq "$(json_get "$OUT" name)" mlo
    http GET /v2/models/echo
    expect_status 200
    expect_eq "$(json_get "$OUT" name)" echo
    expect_eq "$(json_get "$OUT" versions.0)" v0.0.1
    expect_eq "$(json_get "$OUT" inputs.0.datatype)" FP64
    expect_eq "$(json_get "$OUT" inputs.1.datatype)" BYTES
    http GET /v2/models/echo/versions/v0.0.1
    expect_status 200
    http GET /v2/models/echo/versions/v0.0.1/ready
    expect_status 200
    http GET /v2/models/echo/ready
    expect_status 200
    http GET /v2/models/other
    expect_status 404
    http GET /v2/models/echo/versions/v9.9.9
    expect_status 404

    # v2 inference, with and without a version in the path; the request id comes back.
    body='{"id": "r1", "inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1.5, 2]},
          {"name": "name", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]},
          {"name": "email", "shape": [2, 1], "datatype": "BYTES", "data": [["a@x.org"], ["b@x.org"]]}]}'
    for path in /v2/models/echo/infer /v2/models/echo/versions/v0.0.1/infer; do
        post_json "$path" "$body" -H 'X-Request-Id: client-id-1'
        expect_status 200
        expect_eq "$(json_get "$OUT" id)" r1
        expect_eq "$(json_get "$OUT" model_name)" echo
        expect_eq "$(json_get "$OUT" model_version)" v0.0.1
        expect_eq "$(json_get "$OUT" outputs.0.name)" y
        expect_eq "$(json_get "$OUT" outputs.0.data)" "[3.0, 4.0]"
        expect_eq "$(json_get "$OUT" outputs.0.datatype)" FP64
        grep -qi '^x-request-id: client-id-1' "$HEADERS" || fail "the request id did not come back"
    done
    # Only the outputs asked for.
    post_json /v2/models/echo/infer '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1]},
        {"name": "name", "shape": [1], "datatype": "BYTES", "data": ["a"]},
        {"name": "email", "shape": [1], "datatype": "BYTES", "data": ["e"]}], "outputs": [{"name": "y"}]}'
    expect_status 200
    expect_eq "$(json_get "$OUT" outputs.#)" 1

    # MLflow: /ping, /health, /version, and /invocations with each of the four shapes and CSV.
    http GET /ping
    expect_status 200
    http GET /health
    expect_status 200
    http GET /version
    expect_status 200
    for shape in \
        '{"dataframe_split": {"columns": ["x", "name", "email"], "data": [[1, "a", "e"], [2, "b", "f"]]}}' \
        '{"dataframe_records": [{"x": 1, "name": "a", "email": "e"}, {"x": 2, "name": "b", "email": "f"}]}' \
        '{"instances": [{"x": 1, "name": "a", "email": "e"}, {"x": 2, "name": "b", "email": "f"}]}' \
        '{"inputs": {"x": [1, 2], "name": ["a", "b"], "email": ["e", "f"]}}'; do
        post_json /invocations "$shape"
        expect_status 200
        expect_eq "$(json_get "$OUT" predictions.0.y)" "2.0"
        expect_eq "$(json_get "$OUT" predictions.1.y)" "4.0"
    done
    http POST /invocations -H 'Content-Type: text/csv' --data-binary $'x,name,email\n1,"a, with comma",e\n2,b,f\n'
    expect_status 200
    expect_eq "$(json_get "$OUT" predictions.#)" 2

    http GET /metrics
    expect_status 200
    expect_contains "$OUT" 'mlo_requests_total{'
    expect_contains "$OUT" 'model="echo"'
    expect_contains "$OUT" 'mlo_request_duration_seconds_bucket{'
    expect_contains "$OUT" 'mlo_request_queue_seconds'
    expect_contains "$OUT" 'mlo_request_compute_seconds'
    expect_contains "$OUT" 'mlo_batch_size_rows'
    stop_server
}
run_case "both protocols: every endpoint and request shape" case_protocols

case_bad_requests() {
    serve_project
    sed -i 's|      workers: 2|      workers: 1\n      max_request_mb: 0.01\n      read_timeout_s: 1|' mlo.yaml
    commit_all "limits"
    start_server
    post_json /invocations '{"dataframe_records": [{"x": 1, "name": "a"}]}'
    expect_status 400
    expect_contains "$OUT" "missing input field(s): email"
    post_json /invocations '{"dataframe_records": [{"x": 1, "name": "a", "email": "e", "zip": 1}]}'
    expect_status 400
    expect_contains "$OUT" "unexpected input field(s): zip"
    post_json /invocations '{"dataframe_records": [{"x": "one", "name": "a", "email": "e"}]}'
    expect_status 400
    expect_contains "$OUT" "field 'x', row 0"
    post_json /invocations '{"dataframe_records": [{"x": 1, "name": "a", "email": "e"}], "instances": []}'
    expect_status 400
    expect_contains "$OUT" "dataframe_split"
    post_json /invocations '{"dataframe_records": [{"x": 1,'
    expect_status 400
    expect_contains "$OUT" "malformed JSON"
    http POST /invocations -H 'Content-Type: text/plain' --data-binary 'x'
    expect_status 415
    post_json /v2/models/echo/infer '{"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]},
        {"name": "name", "shape": [1], "datatype": "BYTES", "data": ["a"]},
        {"name": "email", "shape": [1], "datatype": "BYTES", "data": ["e"]}]}'
    expect_status 400
    expect_contains "$OUT" "FP64"
    post_json /v2/models/echo/infer '{"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1]}]}'
    expect_status 400
    # An oversized body: 413, and the server still answers the next request.
    head -c 20000 /dev/zero | tr '\0' 'a' >big
    http POST /invocations -H 'Content-Type: application/json' --data-binary @big
    expect_status 413
    http GET /no/such/route
    expect_status 404
    http DELETE /invocations
    expect_status 405
    # A slow client: half a request, then silence; the server answers 408 and closes.
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"dataf' >&3
    reply=$(timeout 5 cat <&3 || true)
    exec 3<&-
    [[ $reply == "HTTP/1.1 408"* ]] || fail "a slow client got: ${reply:0:80}"
    post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}'
    expect_status 200
    stop_server
}
run_case "bad requests: validation, JSON, content type, size, routes, slow client" case_bad_requests

# How requests arrive on a connection: pipelined in one write, cut anywhere between writes,
# chunked, malformed, with oversized headers, or abandoned half-way; each gets its answer and the
# server keeps serving.
case_http_framing() {
    serve_project
    start_server
    python3 - "$PORT" <<'PY' || fail "HTTP framing (see above)"
import socket, sys, time

port = int(sys.argv[1])
body = b'{"inputs": {"x": [2.5], "name": ["a"], "email": ["e"]}}'
request = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def answers(s, count):
    """Reads `count` whole answers (Content-Length framed); returns [(status, body)]."""
    data, out = b"", []
    while len(out) < count:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return out
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(rest) < length:
            rest += s.recv(65536)
        out.append((int(head.split()[1]), rest[:length]))
        data = rest[length:]
    return out

def check(what, got, want):
    if got != want:
        print(f"{what}: got {got!r}, want {want!r}")
        sys.exit(1)

# Three requests in one write: three answers, in order.
s = connect()
s.sendall(request * 3)
check("pipelined", [a[0] for a in answers(s, 3)], [200, 200, 200])
# One request cut in four pieces, a pause between them (head split mid-line, body split).
cut = [0, 20, len(request) - len(body) - 3, len(request) - 10, len(request)]
for a, b in zip(cut, cut[1:]):
    s.sendall(request[a:b])
    time.sleep(0.1)
got = answers(s, 1)
check("cut request", (got[0][0], b"predictions" in got[0][1]), (200, True))
# A chunked body.
chunked = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
chunked += b"%x\r\n%s\r\n" % (10, body[:10]) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:])
s.sendall(chunked)
check("chunked", answers(s, 1)[0][0], 200)
s.close()
# A malformed request line: 400, then the connection closes.
s = connect()
s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
check("malformed", answers(s, 1)[0][0], 400)
s.close()
# Headers over 16 KiB: 431.
s = connect()
s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
check("big headers", answers(s, 1)[0][0], 431)
s.close()
# Half a request, then the client goes away; the server still answers others.
s = connect()
s.sendall(request[:30])
s.close()
s = connect()
s.sendall(request)
check("after an abandoned request", answers(s, 1)[0][0], 200)
s.close()
PY
    stop_server
}
run_case "HTTP framing: pipelined, cut, chunked, malformed, oversized headers, abandoned" case_http_framing

case_worker_crash() {
    serve_project
    start_server
    post_json /invocations '{"inputs": {"x": [-1], "name": ["boom"], "email": ["e"]}}'
    expect_status 503
    expect_contains "$OUT" "worker"
    # The worker is restarted and the server keeps answering.
    local ok=0
    for _ in $(seq 1 50); do
        post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}'
        if [[ $STATUS == 200 ]]; then ok=1; break; fi
        sleep 0.1
    done
    ((ok)) || fail "no successful request after the crash"
    http GET /metrics
    grep -q '^mlo_worker_restarts_total{[^}]*} [1-9]' "$OUT" || fail "worker restarts not counted: $(grep restarts "$OUT")"
    expect_contains "$E2E_SCRATCH/serve.err" "restart"
    stop_server
}
run_case "a worker that dies: 503 for its request, restarted, counted" case_worker_crash

case_auth() {
    serve_project
    export SERVE_TOKEN=0123456789abcdef0123456789abcdef
    start_server --token-env SERVE_TOKEN
    post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}'
    expect_status 401
    post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}' -H "Authorization: Bearer wrong-token-wrong-token"
    expect_status 401
    post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}' -H "Authorization: Bearer $SERVE_TOKEN"
    expect_status 200
    http GET /metrics
    expect_status 401
    http GET /v2/health/ready
    expect_status 200
    stop_server
    ! grep -q "$SERVE_TOKEN" "$E2E_SCRATCH/serve.err" "$E2E_SCRATCH/serve.out" .mlo/serve/logs/echo/requests.jsonl ||
        fail "the token was written somewhere"
    expect_exit 2 mlo serve echo --token-env NO_SUCH_VARIABLE_SET
}
run_case "bearer token: required, constant-time, never logged; health is open" case_auth

case_tls() {
    serve_project
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
    URL_SCHEME=https start_server --tls-cert cert.pem --tls-key key.pem
    CURL_TLS=(--cacert cert.pem)
    post_json /invocations '{"inputs": {"x": [1], "name": ["a"], "email": ["e"]}}'
    expect_status 200
    CURL_TLS=()
    # Plain HTTP to the TLS port gets nowhere.
    STATUS=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/live" || true)
    [[ $STATUS != 200 ]] || fail "plain HTTP was answered on the TLS port"
    stop_server
    expect_exit 2 mlo serve echo --tls-cert cert.pem
}
run_case "TLS with a self-signed certificate" case_tls

case_batching_and_log() {
    serve_project
    sed -i 's|      workers: 2|      workers: 1\n      batch: {max_size: 16, max_delay_ms: 5000}|' mlo.yaml
    commit_all "batching"
    start_server
    # A request that finds the worker idle goes at once, alone; requests are grouped while the
    # worker is busy. So the only worker first gets a slow request (1.5 s), and eight concurrent
    # requests of one row arriving meanwhile are grouped into fewer worker calls.
    curl -s -o "$E2E_SCRATCH/batch-slow" -H 'Content-Type: application/json' \
        --data-binary '{"inputs": {"x": [-2], "name": ["slow"], "email": ["e"]}}' "$URL/invocations" &
    local slow=$!
    sleep 0.2
    local clients=()
    for i in $(seq 1 8); do
        curl -s -o "$E2E_SCRATCH/batch$i" -H 'Content-Type: application/json' \
            --data-binary "{\"inputs\": {\"x\": [$i], \"name\": [\"n$i\"], \"email\": [\"user$i@example.com\"]}}" \
            "$URL/invocations" &
        clients+=($!)
    done
    wait "${clients[@]}" "$slow"
    expect_eq "$(json_get "$E2E_SCRATCH/batch-slow" predictions.0.batch_rows)" 1 "the slow request went alone"
    local grouped=0
    for i in $(seq 1 8); do
        expect_eq "$(json_get "$E2E_SCRATCH/batch$i" predictions.0.y)" "$((2 * i)).0" "request $i got its own row"
        rows=$(json_get "$E2E_SCRATCH/batch$i" predictions.0.batch_rows)
        ((rows > 1)) && grouped=1
    done
    ((grouped)) || fail "no request was batched with another"
    stop_server
    # The log: one line per request, its id, inputs and outputs; the PII field only hashed.
    log=.mlo/serve/logs/echo/requests.jsonl
    expect_eq "$(wc -l <"$log")" 9
    ! grep -q "user3@example.com" "$log" || fail "a PII value reached the log in clear"
    expect_contains "$log" '"email":["hmac-sha256:'
    expect_contains "$log" '"name":["n3"]'
    [[ $(stat -c %a .mlo/secrets/pii.key 2>/dev/null || stat -c %a "$(find .mlo -name '*.key' | head -1)") == 600 ]] ||
        fail "the PII key is not mode 0600"
}
run_case "dynamic batching groups concurrent requests; request log hashes PII" case_batching_and_log

case_graceful_shutdown() {
    serve_project
    start_server
    curl -s -o "$E2E_SCRATCH/slow" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{"inputs": {"x": [-2], "name": ["slow"], "email": ["e"]}}' "$URL/invocations" >"$E2E_SCRATCH/slow.code" &
    local client=$!
    sleep 0.5
    stop_server
    wait "$client"
    expect_eq "$(cat "$E2E_SCRATCH/slow.code")" 200 "the request in flight at shutdown"
    [[ ! -e .mlo/serve/run-$SERVER_PID ]] || fail "the materialised model was left behind"
}
run_case "SIGTERM drains requests in flight" case_graceful_shutdown

case_bad_setup() {
    serve_project
    expect_exit 2 mlo serve nosuch
    expect_contains "$ERR" "nosuch"
    expect_exit 2 mlo serve 'echo#production'
    expect_contains "$ERR" "no version in stage 'production'"
    sed -i 's|      workers: 2|      workers: 0\n      colour: red|' mlo.yaml
    expect_exit 2 mlo serve echo
    expect_contains "$ERR" "workers: must be a whole number"
    expect_contains "$ERR" "unknown key 'colour'"
    git checkout -q mlo.yaml
    sed -i 's|cmd: /usr/bin/python3 worker.py|cmd: /usr/bin/python3 -c "import sys; sys.exit(4)"|' mlo.yaml
    expect_exit 1 mlo serve echo --port 0
    git checkout -q mlo.yaml
}
run_case "unknown models, empty stages, bad serve settings, a worker that never starts" case_bad_setup

finish
