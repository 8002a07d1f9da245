#!/usr/bin/env bash
# `gtee keyrelease serve` under a client that drips 4 bytes a second into its request frame
# (issue 11, finding 3): while the drip is connected, another client's request is answered
# (here refused with its reason: a malformed request) at once, and the drip is cut near its
# --session-timeout of 10 s (well under the 60 s it keeps trying).
set -euo pipefail
: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
: "${GTEE_SOURCE_DIR:?GTEE_SOURCE_DIR must name the source directory}"
NC="$GTEE_SOURCE_DIR/tests/net_clients.py"
T=$(mktemp -d)
PID=
DPID=
cleanup() {
    for p in $DPID $PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
fail=0
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

"$GTEE_CLI" keyrelease init "$T/master" >/dev/null
"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
"$GTEE_CLI" keyrelease serve --secret "$T/master" --collateral "$T/dev/tdx" --sim-root "$T/dev/sim_root_ca.der" \
    --listen 127.0.0.1:0 --session-timeout 10 --max-sessions 4 >"$T/out" 2>"$T/err" &
PID=$!
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "serve did not start: $(cat "$T/err")" >&2; exit 1; }

# A request frame announcing 60000 bytes, then 4 of them a second.
python3 "$NC" drip 127.0.0.1 "$port" 0000ea60 58585858 1 60 >"$T/drip" &
DPID=$!
for _ in $(seq 200); do grep -q connected "$T/drip" && break; sleep 0.05; done
grep -q connected "$T/drip" || { echo "the drip client did not connect" >&2; exit 1; }
sleep 1

set +e
answer=$(timeout 60 python3 "$NC" oneshot 127.0.0.1 "$port" 0000000458585858 50)
rc=$?
set -e
served=$(date +%s.%N)
# status 1 (refused) || length || "keyrelease: request does not start with ..."
[ "$rc" -eq 0 ] && [[ $answer == 01* ]] && [[ $answer == *$(printf 'request does not' | od -An -tx1 | tr -d ' \n')* ]] ||
    bad "second client not answered while the drip was connected (exit $rc): '$answer'"

wait "$DPID" || true
DPID=
read -r what held at <<<"$(tail -1 "$T/drip")"
[ "$what" = closed ] || bad "the drip client was never cut: $(cat "$T/drip")"
[ "$what" = closed ] && python3 -c "import sys; sys.exit(0 if 9 <= float(sys.argv[1]) < 45 else 1)" "$held" ||
    bad "the drip client was cut after ${held}s, expected near its 10 s deadline"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$served" "$at" ||
    bad "the second client was answered only after the drip was cut (served one at a time)"
grep -q "session cut at its 10000 ms deadline" "$T/err" || bad "the cut is not logged: $(cat "$T/err")"

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "key-release service: a slow client neither blocks others nor outlives its deadline"
