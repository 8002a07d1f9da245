# Shared start of the shell tests that train on Fashion-MNIST (sourced, not run): checks
# that GTEE_CLI and GTEE_SOURCE_DIR are set, sets DATA (Debian's dataset-fashion-mnist) and
# M (the committed reference models), says SKIP (exit 77) when the dataset is not
# installed, makes the scratch directory $T (removed on exit) and defines check DESC EXPR,
# which counts failures in $fail.
: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source tree}"
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
DATA=/usr/share/datasets/fashion-mnist
M="$GTEE_SOURCE_DIR/tests/ml/models"
if [ ! -e "$DATA/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: $DATA missing (Debian package dataset-fashion-mnist)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=$((fail + 1)); fi; }
