#!/usr/bin/env bash
# The contracts (contracts/*.sol) compiled by the pinned npm solc and run on a real anvil on a
# loopback port: every rule and attack of tests/chain/contracts_check.js (registration and
# its refusals, the verifiers' quorum, proofs alone and in a batch, rewards, equivocation
# slashing, revocation, expiry and renewal, TCB, key-release receipts).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
NM="$GTEE_SOURCE_DIR/npm/node_modules"
ANVIL="$NM/@foundry-rs/anvil-linux-amd64/bin/anvil"
for need in "$ANVIL" "$NM/solc" "$NM/js-sha3"; do
    if [ ! -e "$need" ]; then
        echo "FAIL: $need is not installed (run scripts/install-deps.sh)" >&2
        exit 1
    fi
done
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }

node "$GTEE_SOURCE_DIR/contracts/compile.js" "$T/glacier.json"
bg_start "$ANVIL" --host 127.0.0.1 --port 0 >"$T/anvil.log" 2>&1
for _ in $(seq 300); do grep -q '^Listening on' "$T/anvil.log" && break; sleep 0.05; done
port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/anvil.log")
[ -n "$port" ] || { bad "anvil did not start: $(cat "$T/anvil.log")"; exit 1; }
node "$GTEE_SOURCE_DIR/tests/chain/contracts_check.js" "http://127.0.0.1:$port" "$T/glacier.json"
