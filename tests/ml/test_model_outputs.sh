#!/usr/bin/env bash
# How `gtee model train` and `gtee model run` write their --out files (docs/cli.md,
# "Conventions"): through the output helper, so a symlink planted at the old temporary name
# (OUT.tmp) is never followed; an existing file is refused (exit 3) unless --force, before
# any training or inference; the files are mode 0600 whatever the umask; and `--help`
# prints the help and exits 0 (it used to fail with "cannot open (null)").
set -euo pipefail

: "${GTEE_SOURCE_DIR:?}"
. "$(dirname "$0")/../cli_harness.sh"
cd "$T"
M="$GTEE_SOURCE_DIR/tests/ml/models"

# A tiny dataset for the exported MLP: 8 images, 8 labels.
mkdir data
/usr/bin/python3 - data <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
np.save(sys.argv[1] + "/x_train.npy", rng.random((8, 1, 28, 28), dtype=np.float32))
np.save(sys.argv[1] + "/y_train.npy", np.arange(8, dtype=np.int64) % 10)
PY
train() { run model train "$M/mlp.onnx" --data data --epochs 1 --batch 4 "$@"; }

# ---- --help ----
run model train --help
expect_rc 0 "model train --help"
grep -q "^Usage: gtee model train" out || bad "model train --help prints no usage: $(head -c 200 err)"
run model run --help
expect_rc 0 "model run --help"

# ---- model train --out: a symlink at OUT.tmp is not followed ----
echo "victim" >victim
ln -s "$T/victim" trained.onnx.tmp
umask 022
train --out trained.onnx
expect_rc 0 "model train"
[ "$(cat victim)" = victim ] || bad "model train wrote through the symlink at trained.onnx.tmp"
[ -f trained.onnx ] && [ ! -L trained.onnx ] || bad "model train: trained.onnx is not a regular file"
[ "$(stat -c %a trained.onnx)" = 600 ] || bad "trained model mode $(stat -c %a trained.onnx), expected 600"

# ---- model train --out: an existing file is refused without --force, at once ----
cp trained.onnx before.onnx
train --out trained.onnx
expect_rc 3 "model train onto an existing file"
grep -q "trained.onnx" err || bad "model train refusal does not name the file: $(cat err)"
grep -q "^epoch" out && bad "model train trained before refusing the existing output"
cmp -s trained.onnx before.onnx || bad "refused model train changed the existing file"
train --out trained.onnx --force
expect_rc 0 "model train --force"
[ "$(stat -c %a trained.onnx)" = 600 ] || bad "model train --force: mode $(stat -c %a trained.onnx)"
ls -A | grep -q gtee-tmp && bad "model train left a temporary: $(ls -A)"

# ---- model run --out ----
run model run "$M/mlp.onnx" --input "$M/mlp.input.npy" --out logits.npy
expect_rc 0 "model run"
[ "$(stat -c %a logits.npy)" = 600 ] || bad "model run output mode $(stat -c %a logits.npy), expected 600"
cp logits.npy logits.before
echo "older" >older.npy
run model run "$M/mlp.onnx" --input "$M/mlp.input.npy" --out older.npy
expect_rc 3 "model run onto an existing file"
grep -q "older.npy" err || bad "model run refusal does not name the file: $(cat err)"
[ "$(cat older.npy)" = older ] || bad "refused model run replaced the existing file"
run model run "$M/mlp.onnx" --input "$M/mlp.input.npy" --out older.npy --force
expect_rc 0 "model run --force"
cmp -s older.npy logits.before || bad "model run --force did not write the output"
[ "$(stat -c %a older.npy)" = 600 ] || bad "model run --force: mode $(stat -c %a older.npy)"
ls -A | grep -q gtee-tmp && bad "model run left a temporary: $(ls -A)"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "model outputs: all checks passed"
