#!/usr/bin/env bash
# `gtee node init|run|status` and `gtee push` end to end on the simulated TEE: the data
# directory (modes, refusing to clobber), the daemon's URL, the API (blobs up and down with
# Range, restartable uploads, JSON errors, evidence, relay, metrics, health), the enclave
# supervisor (a SIGKILLed enclave is restarted, the event and a failed job in flight are
# visible), slow clients not blocking others, SIGTERM draining, and a SIGKILLed daemon's
# running job reported failed at the next start.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

D=$T/node
# ---- init ----
run node init --tee bogus "$D"
expect_rc 2 "init --tee bogus"
[ ! -e "$D" ] || bad "a refused init left $D behind"
run node init --tee sim --listen 127.0.0.1:0 --max-blob 2M "$D"
expect_rc 0 "init --tee sim"
grep -q "SIMULATED" "$T/out" || bad "init does not say SIMULATED: $(cat "$T/out")"
grep -q "^operator 0x[0-9a-fA-F]\{40\}$" "$T/out" || bad "init does not print the operator address"
[ "$(stat -c %a "$D")" = 700 ] || bad "data directory mode $(stat -c %a "$D"), expected 700"
[ "$(stat -c %a "$D/operator.key")" = 600 ] || bad "operator.key mode $(stat -c %a "$D/operator.key")"
[ "$(stat -c %a "$D/state.db")" = 600 ] || bad "state.db mode $(stat -c %a "$D/state.db")"
grep -q "^tee = sim$" "$D/node.conf" || bad "node.conf does not name tee = sim"
grep -q "^# .*SIMULATED" "$D/node.conf" || bad "node.conf does not label the simulation"
grep -q "^max_blob_bytes = 2097152$" "$D/node.conf" || bad "node.conf lacks the --max-blob limit"
cp "$D/operator.key" "$T/opkey.before"
run node init --tee sim "$D"
expect_rc 3 "init over an existing node"
grep -q "already holds a node" "$T/err" || bad "init over a node: $(cat "$T/err")"
cmp -s "$D/operator.key" "$T/opkey.before" || bad "init over a node changed its operator key"
mkdir "$T/full" && echo x >"$T/full/keep"
run node init "$T/full"
expect_rc 3 "init over a non-empty directory"
[ "$(ls "$T/full")" = keep ] || bad "init over a non-empty directory changed it: $(ls "$T/full")"
run node init --json "$T/auto"
expect_rc 0 "init (auto)"
[ "$(json 'j["tee"], j["simulated"]')" = "('auto', False)" ] || bad "init --json: $(cat "$T/out")"

# ---- run ----
start_node() {
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>>"$T/run.log"
    NODE_PID=$BG_PID
    wait_file "$D/node.url" "the node" "$T/run.log"
    U=$(cat "$D/node.url")
    for _ in $(seq 200); do curl -sf "${U}healthz" >/dev/null && break; sleep 0.05; done
}
start_node
grep -q "^gtee node: listening on http://127.0.0.1:[0-9]*/ (SIMULATED TEE: not secure)$" "$T/run.out" ||
    bad "run does not print its URL: $(cat "$T/run.out")"
grep -q "SIMULATED" "$T/run.log" || bad "the log does not say SIMULATED"
run node run "$D"
expect_rc 1 "a second daemon on the same directory"
grep -q "in use by another running node" "$T/err" || bad "second daemon: $(cat "$T/err")"
HP=${U#http://}
"$GTEE_CLI" node init --tee sim --listen "${HP%/}" "$T/busy" >/dev/null 2>&1
run node run --enclave "$GTEE_ENCLAVE" "$T/busy"
expect_rc 3 "a node whose port is taken"
grep -q "enclave started" "$T/err" && bad "a node that cannot listen started its enclave"
[ "$(curl -s "${U}healthz")" = '{"status":"ok","enclave":"running"}' ] || bad "healthz: $(curl -s "${U}healthz")"
run node status --json "$D"
expect_rc 0 "node status"
[ "$(json 'j["running"], j["node"]["simulated"], j["enclave"]["state"], j["enclave"]["enclave_id"][:2]')" = \
  "(True, True, 'running', '0x')" ] || bad "node status --json: $(head -c 300 "$T/out")"
run node status "$D"
grep -q "^tee: *sim (SIMULATED - NOT SECURE)$" "$T/out" || bad "node status: $(cat "$T/out")"

# ---- push, download, Range ----
"$GTEE_CLI" keygen "$T/k.key" >/dev/null
head -c 1500000 /dev/urandom >"$T/data.bin"
run push "$T/data.bin" --node "$U" --key "$T/k.key" --chunk 256K
expect_rc 0 "push"
ID=$(cat "$T/out")
[[ $ID =~ ^[0-9a-f]{64}$ ]] || bad "push did not print a blob id: $ID"
grep -q "^gtee push: 262144/1500[0-9]* bytes" "$T/err" || bad "push off a terminal prints no progress lines: $(cat "$T/err")"
curl -sf -o "$T/dl.box" "${U}api/v1/blobs/$ID" || bad "download of $ID failed"
[ "$(sha256sum <"$T/dl.box" | cut -c1-64)" = "$ID" ] || bad "the downloaded blob is not its content id"
[ "$(sha256sum <"$D/blobs/$ID" | cut -c1-64)" = "$ID" ] || bad "the stored blob is not its content id"
"$GTEE_CLI" decrypt --key "$T/k.key" "$T/dl.box" "$T/dl.bin" >/dev/null && cmp -s "$T/dl.bin" "$T/data.bin" ||
    bad "the downloaded container does not open to the pushed file"
cmp -s <(curl -s -H 'Range: bytes=1000-1999' "${U}api/v1/blobs/$ID") <(tail -c +1001 "$T/dl.box" | head -c 1000) ||
    bad "Range 1000-1999 is not those bytes"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=1000-1999' "${U}api/v1/blobs/$ID")" = 206 ] || bad "Range: not 206"
cmp -s <(curl -s -H 'Range: bytes=-10' "${U}api/v1/blobs/$ID") <(tail -c 10 "$T/dl.box") || bad "suffix Range"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=99999999-' "${U}api/v1/blobs/$ID")" = 416 ] || bad "Range past the end: not 416"
run push "$T/data.bin" --node "$U" --key "$T/k.key" --json
expect_rc 0 "push --json"
[ "$(json 'len(j["blob"]), j["size"] > 1500000')" = "(64, True)" ] || bad "push --json: $(cat "$T/out")"
head -c 3000000 /dev/urandom >"$T/big.bin"
run push "$T/big.bin" --node "$U" --key "$T/k.key"
expect_rc 7 "push over the node's 2M limit"
grep -q "max_blob_bytes" "$T/err" || bad "push over the limit: $(cat "$T/err")"
run push "$T/data.bin" --node "http://127.0.0.1:1" --key "$T/k.key" --retries 0
expect_rc 3 "push to no node"
run push "$T/data.bin" --key "$T/k.key"
expect_rc 2 "push without --node"

# ---- restartable upload, by hand ----
head -c 300000 /dev/urandom >"$T/raw"
CID=$(sha256sum <"$T/raw" | cut -c1-64)
UP=$(curl -s -X POST -d "{\"size\":300000,\"content_id\":\"$CID\"}" "${U}api/v1/uploads")
UID_=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["upload"]["id"])' "$UP")
# A client that sends half its body and vanishes: what arrived counts.
python3 - "$U" "$UID_" "$T/raw" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); data = open(sys.argv[3], 'rb').read()
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"PUT /api/v1/uploads/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nUpload-Offset: 0\r\n\r\n"
          % (sys.argv[2].encode(), len(data)))
s.sendall(data[:120000])
s.close()
PY
off=
for _ in $(seq 100); do
    off=$(curl -s "${U}api/v1/uploads/$UID_" | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["offset"])')
    [ "$off" = 120000 ] && break
    sleep 0.1
done
[ "$off" = 120000 ] || bad "an interrupted upload holds $off bytes, expected the 120000 sent"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H 'Upload-Offset: 0' --data-binary @"$T/raw" "${U}api/v1/uploads/$UID_")
[ "$code" = 409 ] || bad "PUT at a stale offset: HTTP $code"
grep -q '"offset":120000' "$T/resp" || bad "a stale offset's answer does not give the node's: $(cat "$T/resp")"
tail -c +120001 "$T/raw" >"$T/rest"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H 'Upload-Offset: 120000' --data-binary @"$T/rest" "${U}api/v1/uploads/$UID_")
[ "$code" = 201 ] || bad "resumed upload: HTTP $code $(cat "$T/resp")"
cmp -s <(curl -s "${U}api/v1/blobs/$CID") "$T/raw" || bad "the resumed upload's blob differs from the bytes sent"
# Bytes that are not the declared content id: refused, nothing stored.
BAD=$(printf 'f%.0s' $(seq 64))
UP=$(curl -s -X POST -d "{\"size\":1000,\"content_id\":\"$BAD\"}" "${U}api/v1/uploads")
UID_=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["upload"]["id"])' "$UP")
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H 'Upload-Offset: 0' --data-binary @<(head -c 1000 "$T/raw") "${U}api/v1/uploads/$UID_")
[ "$code" = 422 ] || bad "an upload of other bytes than its content id: HTTP $code"
[ ! -e "$D/blobs/$BAD" ] || bad "an upload with the wrong content id was stored"
# No content id declared (a client that seals while it uploads): the bytes' hash names the
# blob, twice the same bytes make one blob.
head -c 5000 "$T/raw" >"$T/raw5k"
CID5=$(sha256sum <"$T/raw5k" | cut -c1-64)
for round in 1 2; do
    UP=$(curl -s -X POST -d '{"size":5000}' "${U}api/v1/uploads")
    python3 -c 'import json,sys; u=json.loads(sys.argv[1])["upload"]; assert u["content_id"] is None, u' "$UP" ||
        bad "a session opened without a content id: $UP"
    UID_=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["upload"]["id"])' "$UP")
    code=$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H 'Upload-Offset: 0' --data-binary @"$T/raw5k" \
        "${U}api/v1/uploads/$UID_")
    [ "$code" = 201 ] || bad "an upload without a content id (round $round): HTTP $code $(cat "$T/resp")"
    grep -q "\"id\":\"$CID5\"" "$T/resp" || bad "the node did not name the blob by its bytes: $(cat "$T/resp")"
done
cmp -s <(curl -s "${U}api/v1/blobs/$CID5") "$T/raw5k" || bad "the blob named by its bytes differs from them"
[ "$(ls "$D/uploads" | wc -l)" = 0 ] || bad "sessions left staging files: $(ls "$D/uploads")"

# ---- bad requests: 4xx with a JSON error, never a crash ----
check_err() { # WANT METHOD PATH [curl args...]
    local want=$1 m=$2 p=$3 code
    shift 3
    code=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$m" "$@" "${U}${p#/}")
    [ "$code" = "$want" ] || bad "$m $p: HTTP $code, expected $want"
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["code"] and e["message"]' "$T/resp" ||
        bad "$m $p: no JSON error body: $(head -c 200 "$T/resp")"
}
check_err 404 GET /nope
check_err 405 DELETE /api/v1/blobs
check_err 400 GET /api/v1/blobs/ABC
check_err 404 GET "/api/v1/blobs/$BAD"
check_err 400 GET "/api/v1/blobs/$ID" -H 'Range: bytes=5-1'
check_err 400 POST /api/v1/uploads -d 'not json'
check_err 400 POST /api/v1/uploads -d '{"size":1,"content_id":7}'
check_err 413 POST /api/v1/uploads -d "{\"size\":99999999,\"content_id\":\"$BAD\"}"
check_err 404 GET "/api/v1/uploads/$(printf '0%.0s' $(seq 32))"
check_err 400 PUT "/api/v1/uploads/$(printf '0%.0s' $(seq 32))" -d x
check_err 400 GET /api/v1/evidence
check_err 400 GET "/api/v1/evidence?nonce=xyz"
check_err 400 POST /api/v1/relay -d short
check_err 400 POST /api/v1/relay --data-binary @<(head -c 300 /dev/urandom)
check_err 413 POST /api/v1/relay --data-binary @"$T/data.bin"
check_err 404 GET "/api/v1/jobs/$BAD"
check_err 413 GET /api/v1/status -d 'a body where none belongs'

# ---- evidence ----
NONCE=$(head -c 32 /dev/urandom | xxd -p -c 64)
curl -s "${U}api/v1/evidence?nonce=$NONCE" >"$T/ev.json"
python3 - "$T/ev.json" "$NONCE" <<'PY' || bad "evidence: $(head -c 300 "$T/ev.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["simulated"] is True and j["tee"] == "sim" and "SIMULATED" in j["warning"]
assert j["report_data"][64:] == sys.argv[2], "the nonce is not the second half of the report data"
assert len(j["evidence"]) > 1000 and j["enclave_id"].startswith("0x")
PY

# ---- metrics ----
curl -s "${U}metrics" >"$T/metrics"
grep -q '^# TYPE gtee_node_enclave_up gauge$' "$T/metrics" && grep -q '^gtee_node_enclave_up 1$' "$T/metrics" &&
    grep -q '^gtee_node_simulated 1$' "$T/metrics" && grep -q '^gtee_node_blobs_stored_total [1-9]' "$T/metrics" &&
    grep -q '^gtee_node_http_responses_total{class="4xx"} [1-9]' "$T/metrics" || bad "metrics: $(head -c 600 "$T/metrics")"
# Every sample line is NAME[{labels}] VALUE (Prometheus text format).
grep -v '^#' "$T/metrics" | grep -vqE '^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.]+$' && bad "a malformed metrics line"

# ---- slow and silent clients do not block others ----
bg_start python3 "$NC" flood 127.0.0.1 "${U##*:}" 16 "" 60 >"$T/silent"
bg_start python3 "$NC" flood 127.0.0.1 "${U##*:}" 8 474554202f20485454502f312e310d0a 60 >"$T/partial"
FLOODS="$BG_PID"
for f in silent partial; do
    for _ in $(seq 200); do grep -q "^open" "$T/$f" && break; sleep 0.05; done
done
start=$(date +%s%N)
for _ in 1 2 3; do curl -sf -m 10 "${U}healthz" >/dev/null || bad "healthz failed while slow clients held connections"; done
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 8000 ] || bad "three requests took ${ms} ms while slow clients held connections"

# ---- a job in flight when the enclave dies: reported failed; the enclave restarts ----
JOB=$(printf 'b%.0s' $(seq 64))
python3 - "$D/state.db" "$JOB" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time())
db.execute("INSERT INTO jobs(id, kind, state, stage, epoch, epochs, percent, created, updated) "
           "VALUES(?, 'train', 'running', 'training', 1, 5, 20.0, ?, ?)", (sys.argv[2], now, now))
db.commit()
PY
[ "$(curl -s "${U}api/v1/jobs/$JOB" | python3 -c 'import json,sys; j=json.load(sys.stdin)["job"]; print(j["state"], j["epoch"], j["percent"])')" = "running 1 20.0" ] ||
    bad "job status: $(curl -s "${U}api/v1/jobs/$JOB")"
EPID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
kill -KILL "$EPID"
state=
for _ in $(seq 200); do
    state=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; e=json.load(sys.stdin)["enclave"]; print(e["state"], e["restarts"])')
    [ "$state" = "running 1" ] && break
    sleep 0.05
done
[ "$state" = "running 1" ] || bad "the enclave was not restarted after SIGKILL: $state"
curl -s "${U}api/v1/status" >"$T/st.json"
python3 - "$T/st.json" "$JOB" <<'PY' || bad "status after the enclave died: $(head -c 600 "$T/st.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert "signal 9" in j["enclave"]["last_exit"]
assert any("killed by signal 9" in e["text"] and "1 job in flight reported failed" in e["text"] for e in j["errors"])
job = [x for x in j["jobs"] if x["id"] == sys.argv[2]][0]
assert job["state"] == "failed" and "enclave ended" in job["error"]
PY
curl -s "${U}metrics" | grep -q '^gtee_node_enclave_restarts_total 1$' || bad "metrics do not count the restart"

# ---- SIGTERM: drains, stops the enclave, exits 0, removes node.url ----
EPID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
kill -TERM "$NODE_PID"
st=0
bg_wait "$NODE_PID" || st=$?
[ "$st" = 0 ] || bad "SIGTERM: exit $st, expected 0: $(tail -5 "$T/run.log")"
[ ! -e "$D/node.url" ] || bad "node.url left behind after a clean stop"
bg_alive "$EPID" && bad "the enclave outlived the node"
grep -q "enclave stopped" "$T/run.log" || bad "the log does not say the enclave stopped"
run node status "$D"
expect_rc 3 "status of a stopped node"
grep -q "not running" "$T/out" || bad "status of a stopped node: $(cat "$T/out")"

# ---- SIGKILL of the daemon: a running job is reported failed at the next start ----
start_node
python3 - "$D/state.db" "$JOB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("UPDATE jobs SET state = 'running', error = '' WHERE id = ?", (sys.argv[2],))
db.commit()
PY
EPID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
kill -KILL "$NODE_PID"
bg_wait "$NODE_PID" || true
for _ in $(seq 100); do bg_alive "$EPID" || break; sleep 0.1; done
bg_alive "$EPID" && bad "the enclave outlived its SIGKILLed node"
rm -f "$D/node.url"
start_node
[ "$(curl -s "${U}api/v1/jobs/$JOB" | python3 -c 'import json,sys; j=json.load(sys.stdin)["job"]; print(j["state"], "node stopped" in j["error"])')" = "failed True" ] ||
    bad "a job running when the node was killed: $(curl -s "${U}api/v1/jobs/$JOB")"
cmp -s <(curl -s "${U}api/v1/blobs/$ID") "$T/dl.box" || bad "a blob changed across the daemon's SIGKILL"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "node daemon: all checks passed"
