#!/usr/bin/env bash
# The providers' commands against a node on the simulated TEE (docs/cli.md, "gtee grant"):
# a model provider pushes a container and grants it after attesting the enclave with its own
# policy and the simulated root; the enclave answers with the key id, the node keeps only
# the sealed grant. A grant is refused before anything is released when the client's policy
# does not accept the enclave (simulation not allowed, exit 7) or when the node is not
# running; bad arguments are usage errors (exit 2).
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>"$T/run.log"
wait_file "$D/node.url" "the node" "$T/run.log"
U=$(cat "$D/node.url")
for _ in $(seq 200); do
    curl -s "${U}healthz" | grep -q '"running"' && break
    sleep 0.1
done
echo '{"allow_simulation": true}' >"$T/sim-policy.json"
ATTEST=(--policy "$T/sim-policy.json" --collateral "$D/sim" --sim-root "$D/sim/sim_root_ca.der")

"$GTEE_CLI" keygen "$T/model.key" >/dev/null
"$GTEE_CLI" identity new "$T/owner.id" >/dev/null
"$GTEE_CLI" identity new "$T/user.id" >/dev/null
USER_PUB=$("$GTEE_CLI" identity show "$T/user.id" | sed 's/^public key //')
head -c 100000 /dev/urandom >"$T/model.bin"
MODEL=$("$GTEE_CLI" push "$T/model.bin" --node "$U" --key "$T/model.key" --no-progress)

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
