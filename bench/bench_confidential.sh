#!/usr/bin/env bash
# Confidential overhead (not a test; one run): a confidential inference job over the 10,000
# Fashion-MNIST test images against the ML engine's plaintext run of the same model on the
# same images (`gtee model run`), with the same threads. The confidential job goes through
# every stage, each timed: seal and upload (`gtee push` of the model and of the images, which
# seals and uploads at once),
# attest and grant (`gtee grant` of each), then `gtee infer`: attest, submit, the node
# passing the blobs into the enclave, the run and the result's encryption inside it, fetch
# and decrypt. Against a node this script starts on the simulated TEE. Prints each stage's
# share and the ratio confidential / plaintext (goal <= 1.10, moonshot 1.02;
# docs/performance.md, "Confidential overhead"), of the wall clock and of CPU time (every
# confidential command, the node daemon and the enclave, against the plaintext command: on
# a shared machine the wall clock moves with the others' load much more than CPU time).
# Also the job alone: `gtee infer` on blobs pushed and granted before, as a data provider
# runs job after job once the providers have uploaded and granted.
#
#   bench/bench_confidential.sh [BUILD_DIR]     (environment: MODELS="cnn mlp", THREADS=1,
#                                                 REPEAT=3)
#
# Each model is measured REPEAT times in a row on the same node (the plaintext command, the
# three-party job, the one-shot job, each time with fresh keys and containers), each run
# printed, then the median of each ratio: on a machine shared with other work one run's
# wall clock moves by tens of percent; the first run is also the node's first job.
#
# How the stages are told apart: each `gtee push` is one stage (it uploads each request as
# soon as its bytes are sealed, so the two overlap); `gtee infer` reports on stderr
# when it has attested the enclave and each stage change of the job it polls (the node's
# stages: queued, loading, running / inference, done), and each line is timestamped as it
# comes; the time after the job is seen done is fetching the record and the result and
# opening them. Each `gtee grant` (an attestation, then the grant) is one stage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
GTEE=$BUILD/gtee
ENCLAVE=$BUILD/gtee-enclave
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
MODELS=${MODELS:-cnn mlp}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
if [ ! -x "$GTEE" ] || [ ! -x "$ENCLAVE" ]; then
    echo "bench_confidential: no gtee or gtee-enclave in $BUILD (build first)" >&2
    exit 2
fi
[ -r "$IMAGES" ] || { echo "bench_confidential: needs $IMAGES (Debian's Fashion-MNIST; make deps)" >&2; exit 2; }
for tool in python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench_confidential: needs $tool" >&2; exit 2; }
done

T=$(mktemp -d)
node_pid=
cleanup() {
    if [ -n "$node_pid" ]; then
        kill -TERM "$node_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# The images as a float32 .npy scaled to [0, 1] (what `gtee model train` makes of IDX).
python3 - "$IMAGES" "$T/x.npy" <<'PY'
import array, gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
magic, n, r, c = struct.unpack('>IIII', raw[:16])
assert magic == 2051 and len(raw) == 16 + n * r * c, 'not an IDX3 image file'
x = array.array('f', (v / 255.0 for v in raw[16:]))
if sys.byteorder != 'little':
    x.byteswap()
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, %d, %d), }" % (n, r, c)
hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
with open(sys.argv[2], 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode())
    x.tofile(f)
PY

# stamp OUT CMD...: runs CMD with its stderr lines timestamped into OUT ("SECONDS LINE",
# seconds since the start), its stdout into OUT.stdout, and a last line "SECONDS exit RC
# CPU_SECONDS" (its user + system time, all threads).
cat >"$T/stamp.py" <<'PY'
import os, subprocess, sys, time
out = open(sys.argv[1], 'w')
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + '.stdout', 'w'), stderr=subprocess.PIPE, text=True)
for line in p.stderr:
    out.write('%.6f %s' % (time.monotonic() - t0, line))
_, status, ru = os.wait4(p.pid, 0)
rc = os.waitstatus_to_exitcode(status)
out.write('%.6f exit %d %.6f\n' % (time.monotonic() - t0, rc, ru.ru_utime + ru.ru_stime))
sys.exit(rc)
PY
stamp() { # a failed command ends the benchmark, saying what it printed
    local rc=0
    python3 "$T/stamp.py" "$@" || rc=$?
    [ "$rc" = 0 ] || { echo "bench_confidential: ${*:2} failed (exit $rc): $(cut -d' ' -f2- "$1" | tail -n 5)" >&2; exit 1; }
}
secs() { tail -n 1 "$1" | cut -d' ' -f1; }
# cpu PID: the process's user + system CPU seconds so far (/proc/PID/stat, in clock ticks)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"; }
# quiet PID...: waits (at most 10 s) until none of the processes used CPU over 0.2 s. The
# enclave wipes and unmaps a job's memory after it reports the job done: that work belongs
# to the job's CPU time, and must not overlap the next command's measurement.
quiet() {
    local before after
    for _ in $(seq 50); do
        before=$(for p in "$@"; do cpu "$p"; done)
        sleep 0.2
        after=$(for p in "$@"; do cpu "$p"; done)
        [ "$before" = "$after" ] && return 0
    done
    echo "bench_confidential: the node stayed busy for 10 s" >&2
}

# The node: simulated TEE, oneDNN's JIT allowed (the CNN's convolutions need it), and room
# for the CNN's 10,000 images (its plan's arena is 1.6 GB).
D=$T/node
"$GTEE" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null
sed -i -e 's/^enclave_allow_jit = .*/enclave_allow_jit = 1/' \
    -e 's/^enclave_memory_limit = .*/enclave_memory_limit = 4294967296/' "$D/node.conf"
"$GTEE" node run --enclave "$ENCLAVE" "$D" >"$T/node.out" 2>"$T/node.log" &
node_pid=$!
for _ in $(seq 600); do [ -s "$D/node.url" ] && break; sleep 0.05; done
[ -s "$D/node.url" ] || { echo "bench_confidential: the node did not start: $(cat "$T/node.log")" >&2; exit 1; }
U=$(cat "$D/node.url")
for _ in $(seq 600); do
    curl -s "${U}healthz" | grep -q '"running"' && break
    sleep 0.05
done
echo '{"allow_simulation": true}' >"$T/policy.json"
ATTEST=(--policy "$T/policy.json" --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der")
"$GTEE" keygen "$T/model.key" >/dev/null
"$GTEE" keygen "$T/data.key" >/dev/null
"$GTEE" identity new "$T/owner.id" >/dev/null
"$GTEE" identity new "$T/user.id" >/dev/null
USER_PUB=$("$GTEE" identity show "$T/user.id" | sed 's/^public key //')

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
echo "cpu: $cpu, $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg); threads $THREADS; 10000 images ($(stat -c %s "$T/x.npy") bytes as .npy)"
echo "node: $U (SIMULATED TEE: the enclave is a process on this host)"
echo
summary=()
for m in $MODELS; do
for rep in $(seq "$REPEAT"); do
    MODEL=$ROOT/tests/ml/models/$m.onnx
    [ -r "$MODEL" ] || { echo "bench_confidential: no model $MODEL" >&2; exit 2; }
    # A fresh key per model run, so neither container is on the node already.
    "$GTEE" keygen --force "$T/model.key" >/dev/null
    "$GTEE" keygen --force "$T/data.key" >/dev/null
    rm -f "$T/pred.npy" "$T/pred1.npy" "$T/plain.npy"

    # Plaintext: the engine on the host, the whole command (load, read, run, write), on a
    # quiet node.
    if [ -n "${enclave_pid:-}" ]; then quiet "$node_pid" "$enclave_pid"; fi
    stamp "$T/plain.t" "$GTEE" model run --threads "$THREADS" --json "$MODEL" --input "$T/x.npy" --out "$T/plain.npy"
    plain=$(secs "$T/plain.t")
    plain_run_ms=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["ms"])' "$T/plain.t.stdout")

    # Confidential: the model provider's and the data provider's seal + upload ...
    enclave_pid=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
    node_cpu0=$(cpu "$node_pid")
    enclave_cpu0=$(cpu "$enclave_pid")
    stamp "$T/push_m.t" "$GTEE" push "$MODEL" --node "$U" --key "$T/model.key" --no-progress
    stamp "$T/push_x.t" "$GTEE" push "$T/x.npy" --node "$U" --key "$T/data.key" --no-progress
    MID=$(cat "$T/push_m.t.stdout")
    XID=$(cat "$T/push_x.t.stdout")
    # ... each attests the enclave and grants ...
    stamp "$T/grant_m.t" "$GTEE" grant "$MID" --node "$U" --key "$T/model.key" --identity "$T/owner.id" \
        --to "$USER_PUB" --kinds infer "${ATTEST[@]}"
    stamp "$T/grant_x.t" "$GTEE" grant "$XID" --node "$U" --key "$T/data.key" --identity "$T/user.id" \
        --kinds infer "${ATTEST[@]}"
    # ... and the data provider runs the job: attest, submit, follow, fetch, decrypt.
    stamp "$T/infer.t" "$GTEE" infer --node "$U" --identity "$T/user.id" --model "$MID" --input "$XID" \
        --threads "$THREADS" --out "$T/pred.npy" --progress "${ATTEST[@]}"
    quiet "$node_pid" "$enclave_pid"
    node_cpu=$(awk -v a="$(cpu "$node_pid")" -v b="$node_cpu0" 'BEGIN { print a - b }')
    enclave_cpu=$(awk -v a="$(cpu "$enclave_pid")" -v b="$enclave_cpu0" 'BEGIN { print a - b }')
    # The same predictions as the plaintext run (the same engine, in the enclave).
    python3 - "$T/pred.npy" "$T/plain.npy" <<'PY' || { echo "bench_confidential: $m: the enclave's output is not the plaintext run's" >&2; exit 1; }
import struct, sys
def payload(p):
    b = open(p, 'rb').read()
    return b[10 + struct.unpack('<H', b[8:10])[0]:]
assert payload(sys.argv[1]) == payload(sys.argv[2]), 'outputs differ'
PY

    # The one-shot form, for one user who is both providers: one command seals, uploads,
    # attests once, grants, runs, fetches and decrypts (docs/cli.md, "One-shot").
    node_cpu0=$(cpu "$node_pid")
    enclave_cpu0=$(cpu "$enclave_pid")
    stamp "$T/oneshot.t" "$GTEE" infer --node "$U" --model "$MODEL" --input "$T/x.npy" --threads "$THREADS" \
        --out "$T/pred1.npy" "${ATTEST[@]}"
    quiet "$node_pid" "$enclave_pid"
    os_node_cpu=$(awk -v a="$(cpu "$node_pid")" -v b="$node_cpu0" 'BEGIN { print a - b }')
    os_enclave_cpu=$(awk -v a="$(cpu "$enclave_pid")" -v b="$enclave_cpu0" 'BEGIN { print a - b }')
    cmp -s "$T/pred1.npy" "$T/pred.npy" ||
        { echo "bench_confidential: $m: the one-shot job's output is not the plaintext run's" >&2; exit 1; }

    echo "$m: run $rep of $REPEAT"
    python3 - "$T" "$m" "$plain" "$plain_run_ms" "$node_cpu" "$enclave_cpu" "$os_node_cpu" "$os_enclave_cpu" <<'PY' | tee "$T/$m.summary"
import sys
T, m, plain, plain_run_ms = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
node_cpu, enclave_cpu = float(sys.argv[5]), float(sys.argv[6])
os_node_cpu, os_enclave_cpu = float(sys.argv[7]), float(sys.argv[8])
def lines(name):
    return [l.rstrip('\n').split(' ', 1) for l in open('%s/%s.t' % (T, name))]
def total(name):
    return float(lines(name)[-1][0])
def cpu(name):
    return float(lines(name)[-1][1].split()[2])
def first(name, *words):
    for t, text in lines(name):
        if any(w in text for w in words):
            return float(t)
    return None
inf = lines('infer')
t_att = first('infer', 'attested')
t_load = first('infer', 'job loading', 'job queued')
t_run = first('infer', 'job running', 'job inference')
t_done = first('infer', 'job done')
t_end = total('infer')
assert None not in (t_att, t_done), 'gtee infer did not report its stages: %r' % inf
# A stage over before infer's next poll is not seen: its time goes with the next one.
t_load = t_load if t_load is not None else t_att
t_run = t_run if t_run is not None else t_load
stages = [
    ('seal + upload of the model (gtee push)', total('push_m')),
    ('seal + upload of the images (gtee push)', total('push_x')),
    ('attest + grant (2 gtee grant)', total('grant_m') + total('grant_x')),
    ('attest (gtee infer)', t_att),
    ('submit (until the node reports the job)', t_load - t_att),
    ('load: the node passes the blobs into the enclave', t_run - t_load),
    ('run + encrypt inside the enclave (until seen done)', t_done - t_run),
    ('fetch + decrypt + write', t_end - t_done),
]
conf = sum(s for _, s in stages)
# CPU time, which the machine's other load disturbs much less than the wall clock: every
# command of the confidential job, the node daemon and the enclave, against gtee model run.
conf_cpu = sum(cpu(n) for n in ('push_m', 'push_x', 'grant_m', 'grant_x', 'infer')) + node_cpu + enclave_cpu
plain_cpu = cpu('plain')
print('%s: gtee infer %.3f s (attested at %.3f s, the job seen done at %.3f s)' % (m, t_end, t_att, t_done))
print('%s: plaintext `gtee model run` %.3f s (its run %s ms); confidential %.3f s; ratio %.2f (goal <= 1.10, moonshot 1.02)'
      % (m, plain, plain_run_ms, conf, conf / plain))
print('%s: CPU seconds: plaintext %.2f; confidential %.2f (clients %.2f, node %.2f, enclave %.2f); ratio %.2f'
      % (m, plain_cpu, conf_cpu, conf_cpu - node_cpu - enclave_cpu, node_cpu, enclave_cpu, conf_cpu / plain_cpu))
# The providers push and grant once, then the data provider runs job after job: the job
# alone is gtee infer on blobs granted before (attest, submit, load, run, fetch, decrypt).
print('%s: the job alone (gtee infer on blobs granted before) %.3f s; job ratio %.2f' % (m, t_end, t_end / plain))
os_wall = total('oneshot')
os_cpu = cpu('oneshot') + os_node_cpu + os_enclave_cpu
print('%s: one-shot `gtee infer` on the files %.3f s; ratio %.2f; CPU seconds %.2f (client %.2f, node %.2f, enclave %.2f); ratio %.2f'
      % (m, os_wall, os_wall / plain, os_cpu, cpu('oneshot'), os_node_cpu, os_enclave_cpu, os_cpu / plain_cpu))
print('  %-52s %9s %7s' % ('stage', 'seconds', 'share'))
for name, s in stages:
    print('  %-52s %9.3f %6.1f%%' % (name, s, 100.0 * s / conf))
PY
    echo
    summary+=("$m $rep $(sed -n 's/.*; ratio \([0-9.]*\) (goal.*/\1/p' "$T/$m.summary") $(sed -n 's/.*: CPU seconds.*ratio \([0-9.]*\)$/\1/p' "$T/$m.summary") $(sed -n 's/.*one-shot .* ratio \([0-9.]*\); CPU.*/\1/p' "$T/$m.summary") $(sed -n 's/.*one-shot .*; ratio \([0-9.]*\)$/\1/p' "$T/$m.summary") $(sed -n 's/.*; job ratio \([0-9.]*\)$/\1/p' "$T/$m.summary")")
done
done
printf '%-6s %4s %10s %10s %16s %15s %10s\n' model run wall_ratio cpu_ratio oneshot_wall oneshot_cpu job_wall
runs=()
for s in "${summary[@]}"; do
    read -r m rep wall cpu_ratio os_wall os_cpu job_wall <<<"$s"
    runs+=("$m $wall $cpu_ratio $os_wall $os_cpu $job_wall")
    printf '%-6s %4s %10s %10s %16s %15s %10s\n' "$m" "$rep" "$wall" "$cpu_ratio" "$os_wall" "$os_cpu" "$job_wall"
done
printf '%s\n' "${runs[@]}" | python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    m, *r = line.split()
    rows.setdefault(m, []).append([float(x) for x in r])
for m, rs in rows.items():
    med = [statistics.median(c) for c in zip(*rs)]
    print("%-6s %4s %10.2f %10.2f %16.2f %15.2f %10.2f" % (m, "med", *med))
'
