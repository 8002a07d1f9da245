#!/usr/bin/env bash
# The node's promises under SIGKILL (docs/node.md, "Crashes"): the enclave killed in the
# middle of a training job, of the pass of a blob into it, and of an upload; then the whole
# daemon killed in the middle of a training job (with a second job queued behind it) and of
# an upload's PUT. After each: the enclave dies with its daemon, within a bound (it used to
# be orphaned and go on training); every acknowledged job is done or failed with a reason
# that says to submit it again, and the same job submitted again succeeds; nothing is
# reported done twice; the upload resumes at the acknowledged offset; every stored blob is
# its content id; and what a kill mid-write leaves in the blob store (a half-written
# temporary, a file without its row) is cleaned at the next start.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
start_node() {
    rm -f "$D/node.url"
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >>"$T/run.out" 2>>"$T/run.log"
    NODE_PID=$BG_PID
    wait_file "$D/node.url" "the node" "$T/run.log"
    U=$(cat "$D/node.url")
    wait_enclave
}
# The enclave (pid $1) was killed: the supervisor notices (within 200 ms), then starts it
# again after 1, 2, 4 ... s; bounded.
wait_restart() {
    local end=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$end" ]; do
        p=$(enclave_pid)
        [ -n "$p" ] && [ "$p" != "$1" ] && return 0
        sleep 0.1
    done
    bad "the enclave killed (pid $1) was not restarted: $(tail -5 "$T/run.log")"
    exit 1
}
# The enclave runs, bounded.
wait_enclave() {
    local end=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$end" ]; do
        curl -s "${U}healthz" | grep -q '"enclave":"running"' && return 0
        sleep 0.1
    done
    bad "the enclave did not come up: $(tail -5 "$T/run.log")"
    exit 1
}
# py EXPR over the JSON of GET PATH (as j).
get() { curl -s "${U}$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"; }
enclave_pid() { get api/v1/status 'j["enclave"].get("pid", "")'; }
# The first running job at a stage of $1 (a regex), within a bound; its id in JOB.
wait_stage() {
    local end=$((SECONDS + 180))
    JOB=
    while [ "$SECONDS" -lt "$end" ]; do
        JOB=$(get api/v1/jobs "' '.join(x['id'] for x in j['jobs'] if x['state'] == 'running' and __import__('re').fullmatch('$1', x['stage']))" 2>/dev/null || true)
        [ -n "$JOB" ] && return 0
        sleep 0.05
    done
    return 1
}
gone_within() { # PID SECONDS: the process is gone (or a zombie nobody reaps) within the bound
    for _ in $(seq $(($2 * 10))); do
        [ -d "/proc/$1" ] || return 0
        st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
        [ "$st" = Z ] && return 0
        sleep 0.1
    done
    return 1
}
# Every blob the node lists is whole: its bytes hash to its id.
blobs_whole() {
    for id in $(get api/v1/blobs '" ".join(b["id"] for b in j["blobs"])'); do
        [ "$(curl -s "${U}api/v1/blobs/$id" | sha256sum | cut -c1-64)" = "$id" ] || bad "$1: blob $id is not its content id"
    done
}

start_node
echo '{"allow_simulation": true}' >"$T/sim-policy.json"
ATTEST=(--policy "$T/sim-policy.json" --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der")
"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" keygen "$T/data.key" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
USER_PUB=$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')
MODEL=$("$GTEE_CLI" push "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" --node "$U" --key "$T/model.key" --no-progress)
# A dataset large enough that training takes a few seconds on a slow machine.
# And a large one (64 MiB of features), whose pass into the enclave lasts long enough to be
# killed in.
python3 - "$T" <<'PY'
import struct, sys
def npy(path, descr, shape, payload):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    hdr += " " * (118 - len(hdr) - 1) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload)
for name, n in (("", 2048), ("big", 21400)):
    x = struct.pack("<f", 0.5) * (n * 784)
    if not name:
        v = [((i * 2654435761) % 1000) / 1000.0 for i in range(n * 784)]
        x = struct.pack("<%df" % len(v), *v)
    npy(sys.argv[1] + "/x%s.npy" % name, "<f4", "(%d, 1, 28, 28)" % n, x)
    npy(sys.argv[1] + "/y%s.npy" % name, "<i8", "(%d,)" % n, struct.pack("<%dq" % n, *[i % 10 for i in range(n)]))
PY
X=$("$GTEE_CLI" push "$T/x.npy" --node "$U" --key "$T/data.key" --no-progress)
Y=$("$GTEE_CLI" push "$T/y.npy" --node "$U" --key "$T/data.key" --no-progress)
XBIG=$("$GTEE_CLI" push "$T/xbig.npy" --node "$U" --key "$T/data.key" --no-progress)
YBIG=$("$GTEE_CLI" push "$T/ybig.npy" --node "$U" --key "$T/data.key" --no-progress)
"$GTEE_CLI" grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/user.id" --to "$USER_PUB" \
    --kinds train --weights-to-requester "${ATTEST[@]}" >/dev/null 2>"$T/err" || bad "grant of the model: $(cat "$T/err")"
for c in "$X" "$Y" "$XBIG" "$YBIG"; do
    "$GTEE_CLI" grant "$c" --node "$U" --key "$T/data.key" --identity "$T/user.id" --kinds train "${ATTEST[@]}" \
        >/dev/null 2>"$T/err" || bad "grant of $c: $(cat "$T/err")"
done
# Long enough that a kill lands mid-training; the sanitizers' build trains ten times slower.
EPOCHS=30
[ "${GTEE_SANITIZED:-0}" = 1 ] && EPOCHS=4
train() { # OUT LOG [EPOCHS [FEATURES LABELS]]: one training job, in the background; its pid in TRAIN_PID
    rm -f "$1"
    "$GTEE_CLI" train --node "$U" --identity "$T/user.id" --model "$MODEL" --data "${4:-$X}" --labels "${5:-$Y}" \
        --epochs "${3:-$EPOCHS}" --batch 8 --out "$1" --no-progress --json --timeout 300 "${ATTEST[@]}" >"$2" 2>"$2.err" &
    TRAIN_PID=$!
    BG_PIDS="$BG_PIDS $TRAIN_PID" # stopped with the test's servers if it ends early
}
job_state() { get "api/v1/jobs/$1" 'j["job"]["state"] + " " + j["job"].get("error", "")'; }

# ---- 1. The enclave killed mid-training: the job fails, says why; submitted again, it runs.
train "$T/t1.onnx" "$T/t1.out"
wait_stage 'training' || { bad "the first job never reached training: $(cat "$T/t1.out.err")"; exit 1; }
J1=$JOB
EP=$(enclave_pid)
kill -KILL "$EP"
bg_wait "$TRAIN_PID" && bad "train reported success for a job whose enclave was killed"
st=$(job_state "$J1")
case "$st" in
"failed "*"enclave"*"submit the job again"*) ;;
*) bad "the job under the killed enclave: '$st'" ;;
esac
wait_restart "$EP"
train "$T/t1.onnx" "$T/t1b.out"
bg_wait "$TRAIN_PID" || bad "the same job submitted again after the enclave's death: $(cat "$T/t1b.out.err")"
[ -s "$T/t1.onnx" ] || bad "the job submitted again wrote no trained model"

# ---- 2. The enclave killed while the job's blobs pass into it (the loading stage: a poller
# kills it as soon as the job runs; on a machine so fast that the pass is over by then, the
# kill lands in training, and the same promises hold): the job fails, the blobs stay whole.
EP=$(enclave_pid)
cat >"$T/killer.py" <<'PY'
import json, os, signal, sys, time, urllib.request
u, pid = sys.argv[1], int(sys.argv[2])
open(sys.argv[3], "w").close()
end = time.time() + 180
while time.time() < end:
    run = [j for j in json.load(urllib.request.urlopen(u + "api/v1/jobs"))["jobs"] if j["state"] == "running"]
    if run:
        os.kill(pid, signal.SIGKILL)
        print(run[0]["id"], run[0]["stage"])
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
PY
bg_start python3 "$T/killer.py" "$U" "$EP" "$T/ready2" >"$T/kill2" 2>&1
KILLER=$BG_PID
for _ in $(seq 600); do [ -e "$T/ready2" ] && break; sleep 0.05; done
train "$T/t2.onnx" "$T/t2.out" 1 "$XBIG" "$YBIG"
bg_wait "$KILLER" || bad "the second job never ran: $(cat "$T/t2.out.err") $(cat "$T/kill2")"
J2=$(cut -d' ' -f1 "$T/kill2")
echo "the enclave was killed in the job's stage: $(cut -d' ' -f2 "$T/kill2")"
bg_wait "$TRAIN_PID" && bad "train reported success for a job whose enclave was killed while loading"
case "$(job_state "$J2")" in failed*) ;; *) bad "the job killed while loading: $(job_state "$J2")" ;; esac
blobs_whole "after the enclave was killed mid-pass"
wait_restart "$EP"

# ---- 3. The enclave killed in the middle of an upload's PUT: the upload is the daemon's,
# it completes whole.
head -c 400000 /dev/urandom >"$T/raw3"
CID3=$(sha256sum <"$T/raw3" | cut -c1-64)
UP3=$(curl -s -X POST -d "{\"size\":400000,\"content_id\":\"$CID3\"}" "${U}api/v1/uploads" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])')
# A PUT that sends half its body, waits for $T/go, then the rest.
PUT_PY='
import socket, sys, os, time
host, port, path, off, f, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
body = open(f, "rb").read()[off:]
s = socket.create_connection((host, port), timeout=60)
s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nUpload-Offset: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (path, off, len(body))).encode())
s.sendall(body[:len(body) // 2])
print("half", flush=True)
for _ in range(600):
    if os.path.exists(go): break
    time.sleep(0.05)
s.sendall(body[len(body) // 2:])
print(s.recv(65536).decode(errors="replace"), flush=True)
'
hostport=${U#http://}
hostport=${hostport%/}
python3 -c "$PUT_PY" "${hostport%:*}" "${hostport##*:}" "/api/v1/uploads/$UP3" 0 "$T/raw3" "$T/go3" >"$T/put3" 2>&1 &
PUT_PID=$!
BG_PIDS="$BG_PIDS $PUT_PID"
for _ in $(seq 200); do grep -q half "$T/put3" && break; sleep 0.05; done
EP=$(enclave_pid)
kill -KILL "$EP"
touch "$T/go3"
bg_wait "$PUT_PID" || true
grep -q '"complete":true' "$T/put3" || bad "the upload under a killed enclave did not complete: $(cat "$T/put3")"
cmp -s <(curl -s "${U}api/v1/blobs/$CID3") "$T/raw3" || bad "the blob uploaded while the enclave died differs"

# ---- 4. The whole daemon killed mid-training (a job far too long to end by itself within
# the bound), a second job queued behind the first: the enclave dies with the daemon; at the
# restart the running job is failed (the node stopped while it ran), the queued one failed
# plainly (sealed to the old enclave's channel key); nothing is left running or queued,
# nothing done twice; a job submitted after the restart succeeds.
wait_restart "$EP"
train "$T/t4.onnx" "$T/t4.out" 1000
T4_PID=$TRAIN_PID
wait_stage 'training' || { bad "the fourth job never reached training: $(cat "$T/t4.out.err")"; exit 1; }
J4=$JOB
CHAN=$(get api/v1/status 'j["enclave"]["channel_public_key"]')
EP=$(enclave_pid)
# A half-written temporary and a file without its row, as a kill mid-write would leave them.
head -c 1000 /dev/urandom >"$D/blobs/.$CID3.gtee-tmp.0123456789abcdef"
head -c 1000 /dev/urandom >"$T/orphan"
ORPHAN=$(sha256sum <"$T/orphan" | cut -c1-64)
cp "$T/orphan" "$D/blobs/$ORPHAN"
kill -KILL "$NODE_PID"
bg_wait "$NODE_PID" || true
gone_within "$EP" 10 || bad "the enclave (pid $EP) outlived its SIGKILLed daemon by 10 s"
kill -KILL "$EP" 2>/dev/null || true # the orphan of an unfixed node, not left running
bg_wait "$T4_PID" && bad "train reported success for a job whose daemon was killed"
# A job acknowledged as queued when the daemon died, its rows as POST /api/v1/jobs writes
# them (while the enclave trains no client can attest and submit, so it is made here).
J5=$(printf queued-at-the-kill | sha256sum | cut -c1-64)
python3 - "$D/state.db" "$J5" "$MODEL" "$X" "$Y" "$CHAN" <<'PY'
import sqlite3, sys, time
db, job, model, x, y, chan = sys.argv[1:]
c = sqlite3.connect(db)
now = int(time.time())
c.execute("INSERT INTO jobs(id, kind, state, stage, created, updated) VALUES(?, 'train', 'queued', 'queued', ?, ?)",
          (job, now, now))
c.execute("INSERT INTO job_io(job_id, model, input, labels, channel, request) VALUES(?, ?, ?, ?, ?, ?)",
          (job, model, x, y, chan, b"\x01" * 64))
c.commit()
PY
start_node
case "$(job_state "$J4")" in
"failed "*"node stopped while the job ran"*"submit"*) ;;
*) bad "the job running when the daemon was killed: '$(job_state "$J4")'" ;;
esac
for _ in $(seq 100); do
    case "$(job_state "$J5")" in queued* | running*) sleep 0.1 ;; *) break ;; esac
done
case "$(job_state "$J5")" in
"failed "*"submit"*) ;;
*) bad "the job queued when the daemon was killed: '$(job_state "$J5")'" ;;
esac
[ "$(get api/v1/jobs 'sum(1 for x in j["jobs"] if x["state"] in ("queued", "running"))')" = 0 ] ||
    bad "jobs left queued or running after the restart: $(curl -s "${U}api/v1/jobs")"
[ "$(get api/v1/jobs 'len(j["jobs"]) == len(set(x["id"] for x in j["jobs"]))')" = True ] || bad "a job is listed twice"
[ -e "$D/blobs/.$CID3.gtee-tmp.0123456789abcdef" ] && bad "the start left a half-written temporary in the blob store"
[ -e "$D/blobs/$ORPHAN" ] && bad "the start left a file that no row names under a content id"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${U}api/v1/blobs/$ORPHAN")" = 404 ] || bad "the orphan file is served"
grep -q "removed 1 half-written temporary, 1 file no row named" "$T/run.log" || bad "the start did not log its repairs"
train "$T/t4.onnx" "$T/t4b.out"
bg_wait "$TRAIN_PID" || bad "a job submitted after the daemon's restart: $(cat "$T/t4b.out.err")"
dones=$(get api/v1/jobs 'sum(1 for x in j["jobs"] if x["state"] == "done")')
[ "$dones" = 2 ] || bad "$dones jobs done, expected the two submitted after a failure: $(curl -s "${U}api/v1/jobs")"

# ---- 5. The daemon killed in the middle of an upload's PUT: the acknowledged offset
# survives, the bytes of the cut request are not counted, the upload resumes and is whole.
head -c 300000 /dev/urandom >"$T/raw6"
CID6=$(sha256sum <"$T/raw6" | cut -c1-64)
UP6=$(curl -s -X POST -d "{\"size\":300000,\"content_id\":\"$CID6\"}" "${U}api/v1/uploads" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])')
head -c 100000 "$T/raw6" | curl -s -o /dev/null -X PUT -H 'Upload-Offset: 0' --data-binary @- "${U}api/v1/uploads/$UP6"
hostport=${U#http://}
hostport=${hostport%/}
python3 -c "$PUT_PY" "${hostport%:*}" "${hostport##*:}" "/api/v1/uploads/$UP6" 100000 "$T/raw6" "$T/go6" >"$T/put6" 2>&1 &
PUT_PID=$!
BG_PIDS="$BG_PIDS $PUT_PID"
for _ in $(seq 200); do grep -q half "$T/put6" && break; sleep 0.05; done
EP=$(enclave_pid)
kill -KILL "$NODE_PID"
bg_wait "$NODE_PID" || true
touch "$T/go6"
bg_wait "$PUT_PID" || true
gone_within "$EP" 10 || bad "the enclave (pid $EP) outlived its SIGKILLed daemon by 10 s"
start_node
off=$(get "api/v1/uploads/$UP6" 'j["upload"]["offset"]')
[ "$off" = 100000 ] || bad "after a SIGKILL mid-PUT the session's offset is $off, expected the acknowledged 100000"
tail -c +100001 "$T/raw6" | curl -s -o "$T/resp6" -X PUT -H 'Upload-Offset: 100000' --data-binary @- "${U}api/v1/uploads/$UP6"
grep -q '"complete":true' "$T/resp6" || bad "resuming after the restart: $(cat "$T/resp6")"
cmp -s <(curl -s "${U}api/v1/blobs/$CID6") "$T/raw6" || bad "the blob resumed across a SIGKILL mid-PUT differs"
blobs_whole "after the daemon's kills"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "crash: all checks passed"
