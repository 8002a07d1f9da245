#!/usr/bin/env bash
# `gtee keyrelease serve` under a client that drips 4 bytes a second into its request frame
# (issue 11, finding 3): while the drip is connected, another client's request is answered
# (here refused with its reason: a malformed request) at once, and the drip is cut near its
# --session-timeout of 10 s (well under the 60 s it keeps trying).
set -euo pipefail
. "$(dirname "$0")/../cli_harness.sh"
. "$(dirname "$0")/../drip.sh"

"$GTEE_CLI" keyrelease init "$T/master" >/dev/null
"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
bg_start "$GTEE_CLI" keyrelease serve --secret "$T/master" --collateral "$T/dev/tdx" \
    --sim-root "$T/dev/sim_root_ca.der" --listen 127.0.0.1:0 --session-timeout 10 --max-sessions 4 \
    >"$T/serve.out" 2>"$T/serve.err"
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "serve did not start: $(cat "$T/serve.err")" >&2; exit 1; }

# A request frame announcing 60000 bytes, then 4 of them a second.
drip_start "$port" 0000ea60 58585858

set +e
answer=$(timeout 60 python3 "$NC" oneshot 127.0.0.1 "$port" 0000000458585858 50)
rc=$?
set -e
served=$(date +%s.%N)
# status 1 (refused) || length || "keyrelease: request does not start with ..."
[ "$rc" -eq 0 ] && [[ $answer == 01* ]] && [[ $answer == *$(printf 'request does not' | od -An -tx1 | tr -d ' \n')* ]] ||
    bad "second client not answered while the drip was connected (exit $rc): '$answer'"

drip_check "$served" "the second client was answered"
grep -q "session cut at its 10000 ms deadline" "$T/serve.err" || bad "the cut is not logged: $(cat "$T/serve.err")"

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "key-release service: a slow client neither blocks others nor outlives its deadline"
