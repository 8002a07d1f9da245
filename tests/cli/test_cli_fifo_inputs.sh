#!/usr/bin/env bash
# Inputs named on the command line are regular files only: a FIFO given as a model (to
# model inspect and to the engine's loader behind model run), as a dataset file, or as
# kvstore-enclave's state file, or as the simulated root of attest and keyrelease serve,
# used to block the reader until a writer came (forever, for
# an attacker who never writes). Now each is refused at once, naming the file and what it is.
set -euo pipefail

: "${GTEE_BINARY_DIR:?GTEE_BINARY_DIR must name the build directory}"
. "$(dirname "$0")/../cli_harness.sh"
cd "$T"
mkfifo model.onnx state

# gtee model inspect FIFO
for sub in inspect; do
    set +e
    timeout 20 "$GTEE_CLI" model "$sub" model.onnx >out 2>err
    rc=$?
    set -e
    [ "$rc" -ne 124 ] || bad "model $sub on a FIFO still blocks"
    [ "$rc" -eq 3 ] || bad "model $sub on a FIFO: exit $rc, expected 3 ($(head -c 200 err))"
    grep -q "model.onnx is a FIFO" err || bad "model $sub on a FIFO: error does not name it: $(head -c 200 err)"
done

# kvstore-enclave --state FIFO: refused at start-up, not blocked.
"$GTEE_CLI" sim init "$T/dev" >/dev/null
set +e
timeout 20 "$GTEE_BINARY_DIR/examples/kvstore-enclave" --tee sim --sim-dir "$T/dev" --state "$T/state" \
    --listen 127.0.0.1:0 >out 2>err
rc=$?
set -e
[ "$rc" -ne 124 ] || bad "kvstore-enclave with a FIFO as its state file still blocks"
[ "$rc" -ne 0 ] || bad "kvstore-enclave accepted a FIFO as its state file"
grep -q "state is a FIFO" err || bad "kvstore-enclave does not name the FIFO: $(head -c 300 err)"

# gtee model run: the engine's own loader (gtee_ml_model_load_file)
set +e
timeout 20 "$GTEE_CLI" model run model.onnx --input x.npy --out y.npy >out 2>err
rc=$?
set -e
[ "$rc" -eq 3 ] || bad "model run on a FIFO: exit $rc, expected 3 ($(head -c 200 err))"
grep -q "model.onnx is a FIFO" err || bad "model run on a FIFO: error does not name it: $(head -c 200 err)"
[ ! -e y.npy ] || bad "model run on a FIFO left an output"

# gtee model train --data DIR whose x_train.npy is a FIFO
mkdir data
mkfifo data/x_train.npy data/y_train.npy
set +e
timeout 20 "$GTEE_CLI" model train "$GTEE_SOURCE_DIR/tests/ml/models/mlp.onnx" --data data --epochs 1 \
    --out trained.onnx >out 2>err
rc=$?
set -e
[ "$rc" -eq 3 ] || bad "model train on a FIFO dataset: exit $rc, expected 3 ($(head -c 200 err))"
grep -q "x_train.npy: not a regular file" err || bad "model train: error does not name the FIFO: $(head -c 200 err)"
[ ! -e trained.onnx ] || bad "model train on a FIFO dataset left an output"

# --sim-root of gtee attest and gtee keyrelease serve (the SDK's verifier reads it the same way)
mkfifo root.der
echo '{"allow_simulation":true}' >sim.json
"$GTEE_CLI" keyrelease init secret >/dev/null
for cmd in "attest --connect 127.0.0.1:9 --policy sim.json --collateral $T/dev" \
           "keyrelease serve --secret secret --collateral $T/dev/tdx --listen 127.0.0.1:0"; do
    set +e
    # shellcheck disable=SC2086
    timeout 20 "$GTEE_CLI" $cmd --sim-root root.der >out 2>err
    rc=$?
    set -e
    [ "$rc" -eq 3 ] || bad "${cmd%% -*} with a FIFO as --sim-root: exit $rc, expected 3 ($(head -c 200 err))"
    grep -q "root.der is a FIFO" err || bad "${cmd%% -*}: error does not name the FIFO: $(head -c 200 err)"
done

[ "$fail" -eq 0 ] || exit 1
echo "FIFO inputs: refused at once"
