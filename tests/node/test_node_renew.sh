#!/usr/bin/env bash
# The running node renews its registration each epoch (docs/node.md, "Ledger": every half
# epoch, with fresh evidence), on its local ledger: the governor (the operator, on its own
# local ledger) shortens the epoch to 4 s with `gtee chain govern`; the node, started against
# it, is still active after several epochs, and the ledger's record of the enclave shows a new
# round with a later evidence time at each renewal (read from the ledger file itself). Once
# the node is stopped, nothing renews it: the round stays, and the registration expires.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/node_harness.sh"

EPOCH=4
D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
L=local:$D/ledger.db
(umask 077; sed 's/^gtee-operator-key-v1:/0x/' "$D/operator.key" >"$T/governor.key")
run chain govern --ledger "$L" --key "$T/governor.key" --epoch "$EPOCH"
expect_rc 0 "the governor of the node's local ledger shortens the epoch"
run chain status --ledger "$L" --json
[ "$(json 'j["policy"]["epoch"]')" = "$EPOCH" ] || bad "the epoch is not $EPOCH s: $(cat "$T/out")"

# rec: the enclave's round, evidence time and expiry in the ledger file (one enclave there)
rec() {
    python3 - "$D/ledger.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT round, evidence_time, expires, status FROM enclaves").fetchall()
print(" ".join(map(str, rows[0])) if len(rows) == 1 else f"{len(rows)} enclaves")
PY
}
active() { # the node's own view of its standing
    curl -s "${U}api/v1/status" | python3 -c 'import json,sys; e=json.load(sys.stdin)["ledger"]["enclave"]; print(e["status"] == "active" and e["active"])'
}

node_up "$D"
end=$((SECONDS + 60))
until [ "$(rec | cut -d' ' -f4)" = 2 ] || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
read -r round0 time0 _ status0 <<<"$(rec)"
[ "$status0" = 2 ] || { bad "the node did not register its enclave: $(rec) $(tail -5 "$T/run.log")"; exit 1; }

# three epochs: each half epoch a renewal, each with fresh evidence; active all along
rounds=("$round0")
times=("$time0")
end=$((SECONDS + 3 * EPOCH))
while [ "$SECONDS" -lt "$end" ]; do
    read -r r t x s <<<"$(rec)"
    now=$(date +%s)
    [ "$s" = 2 ] && [ "$x" -ge "$now" ] || bad "at $now the enclave's registration is not current: round $r status $s expires $x"
    [ "$(active)" = True ] || bad "at $now the node does not see its enclave active"
    if [ "$r" != "${rounds[-1]}" ]; then
        rounds+=("$r")
        times+=("$t")
    fi
    sleep 0.5
done
[ "${#rounds[@]}" -ge 4 ] || bad "over 3 epochs of $EPOCH s the node renewed ${#rounds[@]} - 1 times (rounds ${rounds[*]}), not at least 3: $(grep -c renewed "$T/run.log" || true) renewals logged"
for i in $(seq 1 $((${#rounds[@]} - 1))); do
    [ "${rounds[$i]}" -gt "${rounds[$((i - 1))]}" ] || bad "the rounds do not advance: ${rounds[*]}"
    [ "${times[$i]}" -gt "${times[$((i - 1))]}" ] || bad "a renewal without fresh evidence: evidence times ${times[*]}"
done
grep -q "ledger: enclave renewed with fresh evidence (epoch $EPOCH s)" "$T/run.log" || bad "the node does not log its renewals"

# stopped, it renews no more: the round stays and the registration runs out
kill -TERM "$NODE_PID"
bg_wait "$NODE_PID" || bad "the node did not stop cleanly"
read -r round1 _ expires1 _ <<<"$(rec)"
sleep $((EPOCH + 2))
read -r round2 _ expires2 _ <<<"$(rec)"
[ "$round2" = "$round1" ] && [ "$expires2" = "$expires1" ] || bad "something renewed the stopped node: $round1/$expires1, then $round2/$expires2"
[ "$expires2" -lt "$(date +%s)" ] || bad "the stopped node's registration did not expire: $expires2"
run nodes --ledger "$L" --json
expect_rc 0 "nodes"
[ "$(json 'len(j["nodes"])')" = 0 ] || bad "the stopped node is still listed active: $(cat "$T/out")"

if [ "$fail" -ne 0 ]; then
    echo "node renew: $fail failure(s)"
    exit 1
fi
echo "node renew: ok"
