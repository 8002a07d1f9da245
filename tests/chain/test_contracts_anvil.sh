#!/usr/bin/env bash
# The contracts (contracts/*.sol) compiled by the pinned npm solc and run on a real anvil on a
# loopback port: every rule and attack of tests/chain/contracts_check.js (registration and
# its refusals, the verifiers' quorum, proofs alone and in a batch, rewards, equivocation
# slashing, revocation, expiry and renewal, TCB, key-release receipts).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/anvil_harness.sh"
anvil_start "$T/anvil.log" 0
node "$GTEE_SOURCE_DIR/tests/chain/contracts_check.js" "http://127.0.0.1:$port" "$T/glacier.json"
