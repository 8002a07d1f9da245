#!/usr/bin/env bash
# `gtee node register DIR` (docs/node.md, "Ledger"): the node's enclave registered on the
# local ledger node.conf names without running the node, then renewed; what it prints is what
# the ledger holds (read from the ledger file itself), with the TCB its evidence shows. A ledger that refuses (simulation not
# allowed) is named with its reason and exit 7; an evm ledger nobody answers for, exit 3; a
# running node's directory is refused; a listen port of 0 needs --url.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
# ledger FIELD: the enclave's FIELD in the local ledger file (one enclave there)
ledger() {
    python3 - "$D/ledger.db" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute(f"SELECT {sys.argv[2]} FROM enclaves").fetchall()
print(rows[0][0] if len(rows) == 1 else f"{len(rows)} enclaves")
PY
}

run node register --enclave "$GTEE_ENCLAVE" "$D"
expect_rc 2 "register with node.conf listening on port 0 and no --url"
grep -q -- "--url" "$T/err" || bad "the port-0 refusal does not name --url: $(cat "$T/err")"

# the ledger refuses the simulation: its reason, exit 7, nothing registered
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE ledger SET allow_simulated = 0"); c.commit()' "$D/ledger.db"
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$D"
expect_rc 7 "register on a ledger that does not allow the simulation"
grep -qi "simulat" "$T/err" || bad "the refusal does not give the ledger's reason: $(cat "$T/err")"
[ "$(ledger 'count(*)')" = 0 ] || bad "a refused registration left an enclave on the ledger"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE ledger SET allow_simulated = 1"); c.commit()' "$D/ledger.db"

before=$(date +%s)
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 --json "$D"
expect_rc 0 "register on the local ledger"
[ "$(json 'j["registration"], j["status"], j["active"]')" = "('registered', 'active', True)" ] ||
    bad "register: $(cat "$T/out")"
id=$(json 'j["enclave_id"]')
[ "$(ledger "lower(hex(id))")" = "$(echo "${id#0x}" | tr A-F a-f)" ] || bad "the ledger holds another enclave than $id"
[ "$(ledger status)" = 2 ] || bad "the ledger's status of the enclave is $(ledger status), not active (2)"
[ "$(json 'j["expires"]')" = "$(ledger expires)" ] || bad "expires $(json 'j["expires"]') is not the ledger's $(ledger expires)"
[ "$(json 'j["expires"]')" -ge $((before + 86400)) ] || bad "expires $(json 'j["expires"]') is not an epoch (a day) away"
[ "$(ledger node_url)" = "http://127.0.0.1:8470/" ] || bad "the ledger records the node URL $(ledger node_url)"
t1=$(ledger evidence_time)
# the TCB it declares is its evidence's figure (docs/chain.md, "The TCB rule"): the simulated
# device's collateral's tcbEvaluationDataNumber, read from its files (the lower of the TCB info
# and the QE identity; the sim device writes SGX and TDX collateral alike)
want_tcb=$(python3 - "$D/sim" <<'PY'
import json, sys
nums = set()
for tee in ("sgx", "tdx"):
    t = json.load(open(f"{sys.argv[1]}/{tee}/tcb_info.json"))["tcbInfo"]["tcbEvaluationDataNumber"]
    q = json.load(open(f"{sys.argv[1]}/{tee}/qe_identity.json"))["enclaveIdentity"]["tcbEvaluationDataNumber"]
    nums.add(min(t, q))
print(nums.pop() if len(nums) == 1 else "differ: %s" % sorted(nums))
PY
)
[ "$(ledger tcb)" = "$want_tcb" ] || bad "the node declared TCB $(ledger tcb), its evidence shows $want_tcb"
[ "$want_tcb" -gt 0 ] || bad "the simulated collateral's TCB figure is $want_tcb"

sleep 1
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$D"
expect_rc 0 "register again (a renewal)"
grep -q "renewed" "$T/out" || bad "a second register is not a renewal: $(cat "$T/out")"
grep -q "^status active" "$T/out" || bad "the renewal's status: $(cat "$T/out")"
[ "$(ledger evidence_time)" -gt "$t1" ] || bad "the renewal did not bring fresh evidence ($(ledger evidence_time) vs $t1)"

# a running node registers itself: its directory is refused
sed -i 's|^listen = .*|listen = 127.0.0.1:0|' "$D/node.conf"
node_up "$D"
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$D"
[ "$rc" -ne 0 ] || bad "register ran beside a running node"
grep -q "running node" "$T/err" || bad "the refusal beside a running node: $(cat "$T/err")"
bg_stop "$NODE_PID"

# an evm ledger nobody answers for: exit 3, said so
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s|^ledger = .*|ledger = evm:http://127.0.0.1:$port,0x5FbDB2315678afecb367f032d93F642f64180aa3|" "$D/node.conf"
run node register --enclave "$GTEE_ENCLAVE" --url http://127.0.0.1:8470 "$D"
expect_rc 3 "register on an evm ledger that does not answer"

if [ "$fail" -ne 0 ]; then
    echo "node register: $fail failure(s)"
    exit 1
fi
echo "node register: ok"
