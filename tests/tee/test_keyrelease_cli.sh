#!/usr/bin/env bash
# `gtee keyrelease init FILE`: a 32-byte secret, mode 0600, never overwritten.
# `gtee keyrelease serve`: listens, refuses a malformed request with its reason, exits (--once).
set -euo pipefail
: "${GTEE_CLI:?GTEE_CLI not set}"
# The service is stopped on every path, a failed check included (tests/bg.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../bg.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/gtee-krcli-XXXXXX")
at_exit 'rm -rf "$dir"'
"$GTEE_CLI" keyrelease init "$dir/master" >/dev/null
[ "$(stat -c %a "$dir/master")" = 600 ] || { echo "mode is not 600"; exit 1; }
[ "$(stat -c %s "$dir/master")" = 32 ] || { echo "size is not 32"; exit 1; }
before=$(sha256sum "$dir/master")
if "$GTEE_CLI" keyrelease init "$dir/master" 2>/dev/null; then echo "overwrote an existing secret"; exit 1; fi
[ "$(sha256sum "$dir/master")" = "$before" ] || { echo "secret changed"; exit 1; }
"$GTEE_CLI" keyrelease init "$dir/other" >/dev/null
[ "$(sha256sum < "$dir/master")" != "$(sha256sum < "$dir/other")" ] || { echo "two secrets are equal"; exit 1; }

"$GTEE_CLI" sim init "$dir/dev" >/dev/null 2>&1
bg_start "$GTEE_CLI" keyrelease serve --secret "$dir/master" --collateral "$dir/dev/tdx" \
    --sim-root "$dir/dev/sim_root_ca.der" --listen 127.0.0.1:0 --once >"$dir/out" 2>"$dir/err"
pid=$BG_PID
port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start"; cat "$dir/err"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\x00\x00\x00\x04XXXX' >&3
answer=$(head -c 600 <&3 | od -An -c | tr -d ' \n')
exec 3>&-
case "$answer" in
    *001*GKQ1*) ;;
    *) echo "unexpected answer: $answer"; exit 1 ;;
esac
if bg_wait "$pid"; then echo "serve --once exited 0 after a refusal"; exit 1; fi
grep -q "refused: keyrelease: request does not start with" "$dir/err" || { echo "no reason logged"; cat "$dir/err"; exit 1; }
echo ok
