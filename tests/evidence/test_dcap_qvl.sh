#!/usr/bin/env bash
# Cross-check with the reference verifier @phala/dcap-qvl (npm): every Intel sample and its
# mutated copies must get the same accept/reject and TCB status from both (dcap_qvl_check.js).
set -euo pipefail
: "${GTEE_SOURCE_DIR:?}" "${GTEE_CLI:?}"
if [ ! -d "$GTEE_SOURCE_DIR/npm/node_modules/@phala/dcap-qvl" ]; then
    echo "FAIL: @phala/dcap-qvl is not installed in npm/node_modules (run scripts/install-deps.sh)" >&2
    exit 1
fi
GTEE_CLI=$(readlink -f "$GTEE_CLI") exec node "$GTEE_SOURCE_DIR/tests/evidence/dcap_qvl_check.js"
