#!/usr/bin/env bash
# Finding: files written under a predictable temporary name (PATH.tmp) followed a symlink
# planted there, so another user with write access to the directory could make the writer
# overwrite any file. The relay's and kvstore-enclave's --port-file and kvstore's state file
# now go through the output helper: a symlink at the old temporary name, pointing at a
# victim, leaves the victim untouched, and the files are written mode 0600.
set -euo pipefail

: "${GTEE_BINARY_DIR:?GTEE_BINARY_DIR must name the build directory}"
# The relay and the enclave are stopped on every path (tests/bg.sh, through the harness).
. "$(dirname "$0")/../cli_harness.sh"
EX="$GTEE_BINARY_DIR/examples"
PID=

# plant NAME: a victim file and a symlink at NAME.tmp pointing at it.
plant() {
    echo "victim of $1" >"$T/victim.$1"
    chmod 644 "$T/victim.$1"
    ln -s "$T/victim.$1" "$T/$1.tmp"
}
# untouched NAME: the victim still holds what plant wrote.
untouched() {
    [ "$(cat "$T/victim.$1")" = "victim of $1" ] || bad "$1: the victim behind $1.tmp was overwritten: $(head -c 80 "$T/victim.$1")"
    [ ! -L "$T/$1" ] || bad "$1: the planted link was renamed into place"
}
stop() {
    bg_stop "$PID"
    PID=
}

# ---- gtee relay --port-file ----
plant rport
bg_start "$GTEE_CLI" relay --listen 127.0.0.1:0 --to 127.0.0.1:9 --port-file "$T/rport" 2>"$T/relay.log"
PID=$BG_PID
wait_for "$T/rport" || bad "relay wrote no port file: $(cat "$T/relay.log")"
stop
untouched rport
grep -Eqx '[0-9]+' "$T/rport" 2>/dev/null || bad "relay port file does not hold a port"
[ "$(stat -c %a "$T/rport")" = 600 ] || bad "relay port file mode $(stat -c %a "$T/rport"), expected 600"

# ---- kvstore-enclave --port-file and --state ----
"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
echo '{"allow_simulation":true}' >"$T/sim.json"
plant kport
plant state
bg_start "$EX/kvstore-enclave" --tee sim --sim-dir "$T/dev" --state "$T/state" --port-file "$T/kport" \
    --max-clients 1 2>"$T/enclave.log"
PID=$BG_PID
wait_for "$T/kport" || bad "kvstore wrote no port file: $(cat "$T/enclave.log")"
untouched kport
if [ -s "$T/kport" ] && [ ! -L "$T/kport" ]; then
    set +e
    timeout 60 "$EX/kvstore-client" --connect "127.0.0.1:$(cat "$T/kport")" --policy "$T/sim.json" \
        --collateral "$T/dev" --sim-root "$T/dev/sim_root_ca.der" put k v >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || bad "kvstore put: exit $rc: $(head -c 400 "$T/err")"
fi
stop
untouched state
[ -s "$T/state" ] && [ ! -L "$T/state" ] || bad "kvstore wrote no state file"
[ "$(stat -c %a "$T/state" 2>/dev/null)" = 600 ] || bad "kvstore state mode $(stat -c %a "$T/state" 2>/dev/null), expected 600"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "planted links at the old temporary names were not followed"
