#!/usr/bin/env bash
# SIGTERM while a job runs (docs/node.md, "SIGTERM or SIGINT"): the running job gets the
# drain time (drain_timeout_s, 1 s here) to finish; a training job far longer than that is
# cut: the node stops the enclave under it and exits 0 well within the bound, the job is
# recorded failed with the reason (so it can be submitted again), and the requester's
# `gtee train` ends with an error instead of waiting. After a restart the node reports the
# same. Also the daemon itself killed with SIGKILL mid-job: the next run reports the job
# failed rather than leaving it running.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
sed -i 's/^drain_timeout_s = .*/drain_timeout_s = 1/' "$D/node.conf"
start_node() {
    rm -f "$D/node.url"
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>>"$T/run.log"
    NODE=$BG_PID
    wait_file "$D/node.url" "the node" "$T/run.log"
    U=$(cat "$D/node.url")
    for _ in $(seq 300); do
        curl -s "${U}healthz" | grep -q '"running"' && return 0
        sleep 0.1
    done
    bad "the enclave did not start: $(tail -5 "$T/run.log")"
    exit 1
}
start_node
echo '{"allow_simulation": true}' >"$T/p.json"
ATTEST=(--policy "$T/p.json" --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der")
node_xy "$T" 256
"$GTEE_CLI" keygen "$T/k.key" >/dev/null
"$GTEE_CLI" identity new "$T/me.id" >/dev/null
ids=()
for f in "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" "$T/x.npy" "$T/y.npy"; do
    id=$("$GTEE_CLI" push "$f" --node "$U" --key "$T/k.key" --no-progress)
    "$GTEE_CLI" grant "$id" --node "$U" --key "$T/k.key" --identity "$T/me.id" --kinds train "${ATTEST[@]}" >/dev/null
    ids+=("$id")
done

# A long job: 1000 epochs of single-sample steps; SIGTERM once it trains.
train() {
    bg_start "$GTEE_CLI" train --node "$U" --identity "$T/me.id" --model "${ids[0]}" --data "${ids[1]}" \
        --labels "${ids[2]}" --epochs 1000 --batch 1 --out "$T/t.onnx" --no-progress "${ATTEST[@]}" \
        >"$T/train.out" 2>"$T/train.err"
    TRAIN=$BG_PID
    for _ in $(seq 300); do
        curl -s "${U}api/v1/jobs" | grep -q '"stage":"training"' && return 0
        sleep 0.1
    done
    bad "the job never trained: $(curl -s "${U}api/v1/jobs") $(cat "$T/train.err")"
    exit 1
}
train
t0=$(date +%s)
kill -TERM "$NODE"
st=0
bg_wait "$NODE" || st=$?
t1=$(date +%s)
[ "$st" -eq 0 ] || bad "the node exited $st after SIGTERM"
[ $((t1 - t0)) -lt 20 ] || bad "the node took $((t1 - t0)) s to stop with a 1 s drain time"
grep -q "did not finish in the drain time" "$T/run.log" || bad "the node does not say it cut the job: $(tail -5 "$T/run.log")"
st=0
bg_wait "$TRAIN" || st=$?
[ "$st" -ne 0 ] || bad "gtee train succeeded though the node stopped under it"
[ -e "$T/t.onnx" ] && bad "gtee train wrote an output for a cut job"

start_node
state=$(curl -s "${U}api/v1/jobs" | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["state"], "|", j.get("error", ""))')
case "$state" in
"failed | the node stopped and its drain time ran out while the job ran; submit it again") ;;
*) bad "after the restart the cut job is: $state" ;;
esac

# The daemon killed outright mid-job: the next run reports the job failed. (Its enclave is
# not a child of this shell: it is stopped here by its pid, from the node's status.)
train
EPID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
kill -KILL "$NODE"
bg_wait "$NODE" || true
kill -KILL "$EPID" 2>/dev/null || true
bg_stop "$TRAIN"
start_node
state=$(curl -s "${U}api/v1/jobs" | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["state"], "|", j.get("error", ""))')
case "$state" in
"failed | the node stopped while the job ran"*) ;;
*) bad "after a SIGKILL of the daemon the job is: $state" ;;
esac

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "drain: ok"
