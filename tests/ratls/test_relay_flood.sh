#!/usr/bin/env bash
# `gtee relay` under a flood (issue 11, finding 1): 200 connections that send nothing, 64
# that send bytes that are not TLS and 32 that send the start of a ClientHello and stall do
# not stop a legitimate `gtee attest` through the relay (the stalled ones never reach the
# enclave: the relay waits for a whole first record); the relay closes the garbage at
# once and the silent and stalled ones at their --handshake-timeout of 3 s (well under the
# 60 s the flood would hold them), and a connection the enclave has closed is freed even
# though its client stays silent.
set -euo pipefail

. "$(dirname "$0")/../cli_harness.sh"
: "${GTEE_BINARY_DIR:?GTEE_BINARY_DIR must name the build directory}"
EX="$GTEE_BINARY_DIR/examples"

"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
echo '{"allow_simulation":true}' >"$T/sim.json"
SIM=(--collateral "$T/dev" --sim-root "$T/dev/sim_root_ca.der")

bg_start "$EX/kvstore-enclave" --tee sim --sim-dir "$T/dev" --state "$T/state" --port-file "$T/port" 2>"$T/enclave.log"
wait_file "$T/port" "the enclave" "$T/enclave.log"
bg_start "$GTEE_CLI" relay --listen 127.0.0.1:0 --to "127.0.0.1:$(cat "$T/port")" --port-file "$T/rport" \
    --handshake-timeout 3 2>"$T/relay.log"
wait_file "$T/rport" "the relay" "$T/relay.log"
RPORT=$(cat "$T/rport")

bg_start python3 "$NC" flood 127.0.0.1 "$RPORT" 200 "" 60 >"$T/silent"
bg_start python3 "$NC" flood 127.0.0.1 "$RPORT" 64 474554202f20485454502f312e300d0a 60 >"$T/garbage"
bg_start python3 "$NC" flood 127.0.0.1 "$RPORT" 32 160301020001000100 60 >"$T/stalled"
for f in silent garbage stalled; do
    for _ in $(seq 400); do grep -q "^open" "$T/$f" && break; sleep 0.05; done
    grep -q "^open" "$T/$f" || bad "the $f flood did not start: $(cat "$T/$f")"
done
grep -q "^open 200 connected 200" "$T/silent" || bad "the relay left silent connections unaccepted: $(cat "$T/silent")"

run_cmd timeout 60 "$GTEE_CLI" attest --connect "127.0.0.1:$RPORT" --policy "$T/sim.json" "${SIM[@]}"
[ "$rc" -eq 0 ] || bad "attest through the flooded relay: exit $rc: $(head -c 400 "$T/err")"
grep -q "^enclave  *accepted" "$T/out" || bad "attest did not accept the enclave: $(head -c 300 "$T/out")"

for f in silent garbage stalled; do
    for _ in $(seq 600); do grep -q "^closed" "$T/$f" && break; sleep 0.1; done
done
read -r _ n t <<<"$(grep "^closed" "$T/silent" || echo "closed 0 -")"
[ "$n" = 200 ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 30 else 1)" "$t" ||
    bad "silent connections: $n of 200 closed by the relay after ${t}s (handshake timeout 3 s)"
read -r _ n t <<<"$(grep "^closed" "$T/garbage" || echo "closed 0 -")"
[ "$n" = 64 ] || bad "connections that sent no TLS: $n of 64 closed by the relay"
read -r _ n t <<<"$(grep "^closed" "$T/stalled" || echo "closed 0 -")"
[ "$n" = 32 ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 30 else 1)" "$t" ||
    bad "stalled handshakes: $n of 32 closed by the relay after ${t}s (handshake timeout 3 s)"
grep -q "not TLS: first byte 0x47" "$T/relay.log" || bad "the relay does not say why it dropped the garbage"
grep -q "no TLS handshake within 3000 ms" "$T/relay.log" || bad "the relay does not say why it dropped the silent"
# A ClientHello record cut short never reaches the enclave: the relay waits for the whole
# first record, so stalled clients cannot take the enclave's sessions from the real one.
[ "$(grep -c "no TLS handshake within 3000 ms (ClientHello incomplete)" "$T/relay.log")" = 32 ] ||
    bad "stalled ClientHellos were not held at the relay: $(grep -c "ClientHello incomplete" "$T/relay.log") of 32"

# The enclave closes at once on a ClientHello it cannot parse, while its client never closes:
# the relay frees the slot within its drain time, not at the handshake or idle limit. With 4
# slots, 4 such clients would otherwise shut every later client out for 100 s.
bg_start "$GTEE_CLI" relay --listen 127.0.0.1:0 --to "127.0.0.1:$(cat "$T/port")" --port-file "$T/rport2" \
    --max-active 4 --handshake-timeout 100 --idle-timeout 100 2>"$T/relay2.log"
wait_file "$T/rport2" "the second relay" "$T/relay2.log"
RPORT2=$(cat "$T/rport2")
bg_start python3 "$NC" flood 127.0.0.1 "$RPORT2" 4 16030100050100000000 60 keep >"$T/halfclosed"
for _ in $(seq 400); do grep -q "^closed" "$T/halfclosed" && break; sleep 0.05; done
grep -q "^closed 4" "$T/halfclosed" || bad "the enclave's end did not reach the clients: $(cat "$T/halfclosed")"
for _ in $(seq 300); do [ "$(grep -c "did not finish within the drain time" "$T/relay2.log")" = 4 ] && break; sleep 0.1; done
[ "$(grep -c "did not finish within the drain time" "$T/relay2.log")" = 4 ] ||
    bad "connections the enclave closed were not freed: $(tail -5 "$T/relay2.log")"
run_cmd timeout 60 "$GTEE_CLI" attest --connect "127.0.0.1:$RPORT2" --policy "$T/sim.json" "${SIM[@]}"
[ "$rc" -eq 0 ] || bad "attest through a relay whose slots clients that never close had held: exit $rc: $(head -c 400 "$T/err")"

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "relay: a flood of silent, garbage and stalled connections does not stop a client"
