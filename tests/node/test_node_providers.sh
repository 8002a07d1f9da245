#!/usr/bin/env bash
# The providers' commands against a node on the simulated TEE (docs/cli.md, "gtee grant",
# "gtee infer", "gtee train"): a model provider pushes the MLP of tests/ml/models and grants
# it to a data provider after attesting the enclave with its own policy and the simulated
# root (the node keeps only the sealed grant, never the key); the data provider pushes its
# input and a small dataset, grants them to itself, runs inference (PyTorch's output for
# that model and input) and training (loss and accuracy per epoch; the weights go to the
# model's owner until its grant gives them to the requester). A grant is refused before
# anything is released when the client's policy does not accept the enclave (exit 7); a job
# by someone no grant names is refused with the enclave's reason (exit 7); bad arguments are
# usage errors (exit 2). `gtee job status` and `gtee job list` show the node's account;
# `gtee job fetch` opens a done job's result with an identity alone: the model's owner gets
# the weights a data provider's training sent it, a requester whose `gtee infer` was killed
# after submitting gets its predictions, and another identity is refused (exit 4).
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
# oneDNN's JIT for the convolutions of the CNN below (docs/node.md, enclave_allow_jit).
sed -i 's/^enclave_allow_jit = .*/enclave_allow_jit = 1/' "$D/node.conf"
node_up "$D"

"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
USER_PUB=$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')
MODELS=$GTEE_SOURCE_DIR/tests/ml/models
MODEL=$("$GTEE_CLI" push "$MODELS/mlp.onnx" --node "$U" --key "$T/model.key" --no-progress)

run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --to "$USER_PUB" --kinds infer,train \
    --until 2099-01-01T00:00:00Z "${ATTEST[@]}" --json
expect_rc 0 "grant"
[ "$(json 'j["content_id"]')" = "$MODEL" ] || bad "grant names another content id: $(cat "$T/out")"
[ "$(json 'j["simulated"]')" = True ] || bad "grant does not say the enclave is simulated: $(cat "$T/out")"
# The node keeps the grant sealed to the enclave, never the key.
key_hex=$(sed 's/^gtee-box-key-v1://' "$T/model.key")
n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from sealed").fetchone()[0])' "$D/state.db")
[ "$n" -ge 1 ] || bad "the node keeps no sealed grant"
grep -rqi "$key_hex" "$D" "$T/run.log" && bad "the container key is in the node's data directory or log"

# The client's own policy decides: without simulation allowed, nothing is released (exit 7).
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer \
    --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der"
expect_rc 7 "grant to a simulated enclave under the strict policy"
grep -q "rejected" "$T/err" || bad "the refusal does not say the evidence is rejected: $(cat "$T/err")"
# Without the simulated root the evidence chains to nothing the client trusts.
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer \
    --policy "$T/sim-policy.json" --collateral "$D/sim"
expect_rc 7 "grant without the simulated root"

# The data provider: its input and a dataset, granted to itself.
node_xy "$T" 64
"$GTEE_CLI" keygen "$T/data.key" >/dev/null
INPUT=$("$GTEE_CLI" push "$MODELS/mlp.input.npy" --node "$U" --key "$T/data.key" --no-progress)
X=$("$GTEE_CLI" push "$T/x.npy" --node "$U" --key "$T/data.key" --no-progress)
Y=$("$GTEE_CLI" push "$T/y.npy" --node "$U" --key "$T/data.key" --no-progress)
for c in "$INPUT" "$X" "$Y"; do
    run grant "$c" --node "$U" --key "$T/data.key" --identity "$T/user.id" --kinds infer,train "${ATTEST[@]}"
    expect_rc 0 "the data provider's grant of $c"
done

run infer --node "$U" --identity "$T/user.id" --model "$MODEL" --input "$INPUT" --out "$T/pred.npy" "${ATTEST[@]}"
expect_rc 0 "infer"
grep -q "^wrote $T/pred.npy" "$T/out" || bad "infer wrote nothing: $(cat "$T/out") $(cat "$T/err")"
python3 - "$T/pred.npy" "$MODELS/mlp.torch.npy" <<'PY' || bad "the enclave's predictions are not PyTorch's"
import struct, sys
def load(p):
    b = open(p, "rb").read()
    h = struct.unpack("<H", b[8:10])[0]
    d = b[10 + h:]
    return struct.unpack("<%df" % (len(d) // 4), d)
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b) == 40, (len(a), len(b))
assert all(abs(x - y) <= 1e-4 * max(1.0, abs(y)) for x, y in zip(a, b))
PY
# The node's own account of the job: done, with its result blob; nothing else about it.
JOB=$(sed -n 's/^job \([0-9a-f]\{64\}\) done$/\1/p' "$T/out")
[ -n "$JOB" ] || bad "infer printed no job id: $(cat "$T/out")"
run job status "$JOB" --node "$U" --json
expect_rc 0 "job status"
[ "$(json 'j["state"]')" = done ] || bad "job status: $(cat "$T/out")"
run job list --node "$U"
expect_rc 0 "job list"
grep -q "^$JOB infer done" "$T/out" || bad "job list does not show the job: $(cat "$T/out")"
run job status "$(printf '%064d' 0)" --node "$U"
expect_rc 3 "job status of an unknown job"
run job status nope --node "$U"
expect_rc 2 "job status with a malformed id"
# The same output again: refused without --force, the file untouched.
run infer --node "$U" --identity "$T/user.id" --model "$MODEL" --input "$INPUT" --out "$T/pred.npy" "${ATTEST[@]}"
expect_rc 3 "infer over an existing output"

# Training: the model's grant does not give the weights to the requester, so they go to
# the model's owner and the data provider gets the metrics only.
run train --node "$U" --identity "$T/user.id" --model "$MODEL" --data "$X" --labels "$Y" --epochs 2 --batch 16 \
    --out "$T/trained.onnx" --json "${ATTEST[@]}"
expect_rc 0 "train"
[ "$(json 'len(j["epochs"])')" = 2 ] || bad "train reports no two epochs: $(cat "$T/out")"
[ "$(json 'j["output"]')" = None ] || bad "the weights came to the requester without the model's grant: $(cat "$T/out")"
[ -e "$T/trained.onnx" ] && bad "train wrote weights it was not given"
TJOB=$(json 'j["job"]')
cp "$T/out" "$T/train.json"
# The model's owner fetches the weights that went to it, with its identity alone, and reads
# the metrics of the training that made them (the record inside the result).
run job fetch "$TJOB" --node "$U" --identity "$T/owner.id" --out "$T/owner-trained.onnx" --json
expect_rc 0 "the model's owner fetches the trained weights"
[ "$(json 'j["kind"]')" = train ] || bad "job fetch: not a training: $(cat "$T/out")"
[ "$(json 'j["recipient"]')" = "model owner" ] || bad "job fetch: the weights are not the owner's: $(cat "$T/out")"
[ "$(json 'j["model"]')" = "$MODEL" ] || bad "job fetch names another model: $(cat "$T/out")"
python3 - "$T/train.json" "$T/out" <<'PY' || bad "the owner's epochs are not the requester's: $(cat "$T/out")"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert [e["loss"] for e in a["epochs"]] == [e["loss"] for e in b["epochs"]] and len(b["epochs"]) == 2
assert a["macs"] == b["macs"] and a["samples"] == b["samples"]
PY
run model inspect "$T/owner-trained.onnx"
expect_rc 0 "the owner's trained model loads"
# The requester cannot open what was sealed to the owner: refused (exit 4), nothing written.
run job fetch "$TJOB" --node "$U" --identity "$T/user.id" --out "$T/user-trained.onnx"
expect_rc 4 "the requester fetches weights sealed to the model's owner"
grep -q "does not open with the identity" "$T/err" || bad "the refusal does not say why: $(cat "$T/err")"
[ -e "$T/user-trained.onnx" ] && bad "a refused fetch left a file"
run job fetch "$TJOB" --node "$U" --identity "$T/owner.id" --out "$T/owner-trained.onnx"
expect_rc 3 "job fetch over an existing output"
run job fetch "$TJOB" --node "$U" --identity "$T/owner.id" --out "$T/owner-trained.onnx" --force
expect_rc 0 "job fetch --force"
run job fetch "$(printf '%064d' 0)" --node "$U" --identity "$T/owner.id" --out "$T/none"
expect_rc 3 "job fetch of an unknown job"
run job fetch "$TJOB" --node "$U" --out "$T/none"
expect_rc 2 "job fetch without --identity"

# A requester whose `gtee infer` dies after it submitted fetches the result later. The job
# is long enough to be seen running (the CNN of tests/ml/models on 3000 images, a few
# seconds), and its client is killed then.
# jobs_now: the node's jobs, one "id kind state stage" line each, newest first (never fails).
jobs_now() {
    "$GTEE_CLI" job list --node "$U" --json 2>/dev/null | python3 -c 'import json,sys
try:
    for j in json.load(sys.stdin)["jobs"]:
        print(j["id"], j["kind"], j["state"], j["stage"])
except (ValueError, BrokenPipeError):
    pass' 2>/dev/null || true
}
# job_state ID: its state now ("" when the node does not list it).
job_state() { jobs_now | awk -v id="$1" '$1 == id {print $3}'; }
python3 - "$T" <<'PY'
import struct, sys
n = 3000
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, 28, 28), }" % n
hdr += " " * (118 - len(hdr) - 1) + "\n"
x = [((i * 40503) % 997) / 997.0 for i in range(n * 784)]
open(sys.argv[1] + "/many.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode()
                                           + struct.pack("<%df" % len(x), *x))
PY
CNN=$("$GTEE_CLI" push "$MODELS/cnn.onnx" --node "$U" --key "$T/data.key" --no-progress)
MANY=$("$GTEE_CLI" push "$T/many.npy" --node "$U" --key "$T/data.key" --no-progress)
for c in "$CNN" "$MANY"; do
    run grant "$c" --node "$U" --key "$T/data.key" --identity "$T/user.id" --kinds infer "${ATTEST[@]}"
    expect_rc 0 "the data provider's grant of $c"
done
# A long training job holds the node's one job slot first, so the inference below waits
# queued behind it: its client is killed while the job cannot have ended, however fast the
# engine runs it on this machine (the inference alone now takes a fraction of a second).
# 1000 epochs (the most) last about 10 s here: 120 lasted 1.2 s, which a loaded machine's
# slow client steps (attest, submit, list the jobs) once outlasted. The sanitizers' build
# trains some twenty times slower (1000 epochs took over ten minutes), its clients less so.
HOLD_EPOCHS=1000
[ "${GTEE_SANITIZED:-0}" = 1 ] && HOLD_EPOCHS=100
bg_start "$GTEE_CLI" train --node "$U" --identity "$T/user.id" --model "$MODEL" --data "$X" --labels "$Y" \
    --epochs "$HOLD_EPOCHS" --batch 1 --out "$T/hold.onnx" --no-progress "${ATTEST[@]}" >"$T/hold.out" 2>"$T/hold.err"
HOLD=$BG_PID
for _ in $(seq 1200); do
    jobs_now | grep -q " train running training" && break
    sleep 0.05
done
jobs_now | grep -q " train running training" || bad "the holding training job never ran: $(cat "$T/hold.err")"
jobs_now | awk '{print $1}' >"$T/before"
bg_start "$GTEE_CLI" infer --node "$U" --identity "$T/user.id" --model "$CNN" --input "$MANY" \
    --out "$T/pred2.npy" --no-progress "${ATTEST[@]}" >"$T/infer2.out" 2>"$T/infer2.err"
INF=$BG_PID
IJOB=
for _ in $(seq 1200); do
    IJOB=$(jobs_now | awk 'NR == FNR {seen[$1] = 1; next} !($1 in seen) && $2 == "infer" {print $1; exit}' \
        "$T/before" -)
    [ -n "$IJOB" ] && break
    sleep 0.05
done
[ -n "$IJOB" ] || bad "the inference was never submitted: $(cat "$T/infer2.err")"
bg_alive "$INF" || bad "gtee infer ended by itself before it was killed: $(cat "$T/infer2.err")"
kill -KILL "$INF" 2>/dev/null || true
bg_wait "$INF" || true
state=$(job_state "$IJOB")
case "$state" in
queued | running) ;;
*) bad "the inference was $state when its client died: the check proves nothing" ;;
esac
[ -e "$T/pred2.npy" ] && bad "the killed infer wrote its output"
bg_wait "$HOLD" || bad "the holding training job failed: $(cat "$T/hold.err")"
for _ in $(seq 600); do
    case "$(job_state "$IJOB")" in done | failed) break ;; esac
    sleep 0.1
done
run job fetch "$IJOB" --node "$U" --identity "$T/user.id" --out "$T/pred2.npy"
expect_rc 0 "the requester fetches the result of its interrupted infer"
grep -q "^job $IJOB (infer): result for the requester" "$T/out" || bad "job fetch summary: $(cat "$T/out")"
grep -q "^work: [0-9]* multiply-accumulates over 3000 samples" "$T/out" || bad "job fetch work: $(cat "$T/out")"
# What the plaintext engine gives for that model and input.
run model run "$MODELS/cnn.onnx" --input "$T/many.npy" --out "$T/pred2.local.npy"
expect_rc 0 "the plaintext engine on the same input"
python3 - "$T/pred2.npy" "$T/pred2.local.npy" <<'PY' || bad "the fetched predictions are not the plaintext engine's"
import struct, sys
def load(p):
    b = open(p, "rb").read()
    h = struct.unpack("<H", b[8:10])[0]
    d = b[10 + h:]
    return struct.unpack("<%df" % (len(d) // 4), d)
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b) == 30000, (len(a), len(b))
assert all(abs(x - y) <= 1e-5 * max(1.0, abs(y)) for x, y in zip(a, b))
PY

run job fetch "$IJOB" --node "$U" --identity "$T/stranger0.id" --out "$T/s0.npy"
expect_rc 3 "job fetch with an identity file that does not exist"
"$GTEE_CLI" identity new "$T/other.id" >/dev/null
run job fetch "$IJOB" --node "$U" --identity "$T/other.id" --out "$T/o.npy"
expect_rc 4 "job fetch with another identity"
[ -e "$T/o.npy" ] && bad "a refused fetch left a file"
# A newer grant from the model's owner gives the weights to the requester.
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --to "$USER_PUB" --kinds infer,train \
    --weights-to-data-provider "${ATTEST[@]}"
expect_rc 0 "grant --weights-to-data-provider"
run train --node "$U" --identity "$T/user.id" --model "$MODEL" --data "$X" --labels "$Y" --epochs 1 \
    --out "$T/trained.onnx" "${ATTEST[@]}"
expect_rc 0 "train with the weights granted"
grep -q "^epoch 1/1: loss [0-9.]* accuracy [0-9.]*" "$T/out" || bad "train prints no epoch summary: $(cat "$T/out")"
run model inspect "$T/trained.onnx"
expect_rc 0 "the trained model loads"

# Someone no grant names: the enclave refuses the job, with its reason.
"$GTEE_CLI" identity new "$T/stranger.id" >/dev/null
run infer --node "$U" --identity "$T/stranger.id" --model "$MODEL" --input "$INPUT" --out "$T/s.npy" "${ATTEST[@]}"
expect_rc 7 "infer by a stranger"
grep -q "names this requester" "$T/err" || bad "the refusal gives no reason: $(cat "$T/err")"
[ -e "$T/s.npy" ] && bad "a refused job left an output"

# What the host saw: the node's data directory and its log hold none of the keys, the
# identities' private keys, a window of the model's weights, the features, the labels or
# the plaintext results.
python3 - "$D" "$T/run.log" "$T" "$MODELS/mlp.onnx" <<'PY' || bad "plaintext or a key is in what the host holds"
import os, sys
d, log, t, model = sys.argv[1:5]
needles = []
for f in ("model.key", "data.key", "owner.id", "user.id"):
    hexkey = open(os.path.join(t, f)).read().split(":")[1].strip()
    needles += [hexkey.encode(), bytes.fromhex(hexkey)]
m = open(model, "rb").read()
needles.append(m[len(m) // 2:len(m) // 2 + 64])
for f in ("x.npy", "pred.npy", "trained.onnx", "owner-trained.onnx"):
    b = open(os.path.join(t, f), "rb").read()
    needles.append(b[len(b) // 2:len(b) // 2 + 32])
y = open(os.path.join(t, "y.npy"), "rb").read()
needles.append(y[-64:])
files = [log] + [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs]
for path in files:
    data = open(path, "rb").read()
    for i, n in enumerate(needles):
        if n in data:
            sys.exit("needle %d in %s" % (i, path))
PY

run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds sing "${ATTEST[@]}"
expect_rc 2 "grant --kinds sing"
run grant "$MODEL" --node "$U" --key "$T/model.key" --identity "$T/owner.id" --kinds infer --to abc "${ATTEST[@]}"
expect_rc 2 "grant --to abc"
run grant "$MODEL" --node "$U" --key "$T/model.key" --kinds infer "${ATTEST[@]}"
expect_rc 2 "grant without --identity"
run grant "$MODEL" --node "http://127.0.0.1:1/" --key "$T/model.key" --identity "$T/owner.id" --kinds infer "${ATTEST[@]}"
expect_rc 3 "grant to a node that does not answer"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "providers: ok"
