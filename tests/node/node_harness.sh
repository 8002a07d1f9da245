# Shared start of the node's shell tests (sourced after tests/cli_harness.sh): node_up DIR
# starts `gtee node run` on the data directory DIR in the background (stopped with the
# test), waits, bounded, for its URL and for its enclave to run, and sets U (the URL),
# NODE_PID and ATTEST (a client's options that accept this node's simulated enclave: a
# policy allowing simulation, its collateral and its simulated root).
node_up() {
    local d=$1 log=${2:-$T/run.log}
    rm -f "$d/node.url"
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$d" >"$T/run.out" 2>>"$log"
    NODE_PID=$BG_PID
    wait_file "$d/node.url" "the node" "$log"
    U=$(cat "$d/node.url")
    for _ in $(seq 300); do
        curl -s "${U}healthz" | grep -q '"running"' && break
        sleep 0.1
    done
    curl -s "${U}healthz" | grep -q '"running"' || { bad "the node's enclave never ran: $(tail -5 "$log")"; exit 1; }
    [ -s "$T/sim-policy.json" ] || echo '{"allow_simulation": true}' >"$T/sim-policy.json"
    ATTEST=(--policy "$T/sim-policy.json" --collateral "$d/sim" --sim-root "$d/sim/sim_root_ca.der")
}

# node_set_counter DIR SEQ FILE: the node (NODE_PID) stopped with SIGTERM, then its stored
# proof counter set to SEQ with the sealed bytes of FILE, as a host restoring saved state does.
node_set_counter() {
    kill -TERM "$NODE_PID"
    bg_wait "$NODE_PID" || bad "the node did not stop cleanly"
    python3 - "$1/state.db" "$2" "$3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("update proof_counter set seq = ?, blob = ? where id = 1", (int(sys.argv[2]), open(sys.argv[3], "rb").read()))
db.commit()
PY
}

# node_xy DIR N: DIR/x.npy, N float32 images of shape (1, 28, 28) with values in [0, 1), and
# DIR/y.npy, their int64 labels 0..9: a small deterministic dataset for the MLP or CNN.
node_xy() {
    python3 - "$1" "$2" <<'PY'
import struct, sys
d, n = sys.argv[1], int(sys.argv[2])
def npy(path, descr, shape, payload):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    hdr += " " * (118 - len(hdr) - 1) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload)
x = [((i * 2654435761) % 1000) / 1000.0 for i in range(n * 784)]
npy(d + "/x.npy", "<f4", "(%d, 1, 28, 28)" % n, struct.pack("<%df" % len(x), *x))
npy(d + "/y.npy", "<i8", "(%d,)" % n, struct.pack("<%dq" % n, *[i % 10 for i in range(n)]))
PY
}
