#!/usr/bin/env bash
# --key-release HOST:PORT --key-release-pub HEX on the commands that start the enclave: a
# malformed address or service key, or one without the other, is refused (exit 2) naming
# it, before anything starts; the options are refused with backends that never ask a
# service for a key (they would otherwise be silently ignored); gtee-enclave itself refuses
# the same way; `gtee keyrelease init` prints the key to pin; the help of each command
# documents the options. (The release itself, with the real service, is
# tests/tee/test_tdx_keyrelease_tcp.c.)
set -euo pipefail

NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
expect_rc() { [ "$rc" -eq "$1" ] || bad "$2: exit $rc, expected $1; stderr: $(head -c 400 "$T/err")"; }

run sim init "$T/dev"
expect_rc 0 "sim init"
mkdir -p "$T/tsmroot/sys/kernel/config/tsm/report"
run keyrelease init "$T/master"
expect_rc 0 "keyrelease init"
pin=$(sed -n 's/^service key: \([0-9a-f]*\)$/\1/p' "$T/out")
[ "${#pin}" -eq 130 ] && [ "${pin:0:2}" = 04 ] || bad "keyrelease init prints no service key: $(cat "$T/out")"

run enclave info --tee tdx --root "$T/tsmroot" --key-release 127.0.0.1:7000
expect_rc 2 "--key-release without --key-release-pub"
grep -q -- "--key-release-pub" "$T/err" || bad "a missing pin is refused without naming the option"
run enclave info --tee tdx --root "$T/tsmroot" --key-release-pub "$pin"
expect_rc 2 "--key-release-pub without --key-release"
run enclave info --tee tdx --root "$T/tsmroot" --key-release 127.0.0.1:7000 --key-release-pub "${pin:0:128}"
expect_rc 2 "a truncated service key"
grep -q "130 hex digits" "$T/err" || bad "a bad service key is refused without saying why: $(cat "$T/err")"

for addr in "127.0.0.1" "127.0.0.1:0" "127.0.0.1:99999" "::1:7000" "localhost:7000"; do
    run enclave info --tee tdx --root "$T/tsmroot" --key-release "$addr" --key-release-pub "$pin"
    expect_rc 2 "enclave info --key-release '$addr'"
    grep -q -- "$addr" "$T/err" || bad "the refusal of '$addr' does not name it: $(cat "$T/err")"
done
grep -q "numeric IPv4" "$T/err" || bad "a name (the last one) is refused without saying why: $(cat "$T/err")"

run enclave info --tee sim --sim-dir "$T/dev" --key-release 127.0.0.1:7000 --key-release-pub "$pin"
expect_rc 2 "enclave info --tee sim --key-release"
grep -q "only for --tee tdx" "$T/err" || bad "sim with --key-release: no reason given: $(cat "$T/err")"
run evidence get --tee sim --sim-dir "$T/dev" --key-release 127.0.0.1:7000 --key-release-pub "$pin" \
    --report-data "$(printf '%064d' 0)" --out "$T/q.bin"
expect_rc 2 "evidence get --tee sim --key-release"
[ ! -e "$T/q.bin" ] || bad "evidence written although the options were refused"

# gtee-enclave on its own: usage errors (exit 2), reasons on stderr, before any socket exists
set +e
"$GTEE_ENCLAVE" --fd 0 --tee sim --sim-dir "$T/dev" --key-release 127.0.0.1:7000 --key-release-pub "$pin" </dev/null >/dev/null 2>"$T/err"
rc=$?
set -e
expect_rc 2 "gtee-enclave --tee sim --key-release"
grep -q "only for the tdx backend" "$T/err" || bad "gtee-enclave: no reason for refusing --key-release with sim"
set +e
"$GTEE_ENCLAVE" --fd 0 --tee tdx --root "$T/tsmroot" --key-release host.example:7000 --key-release-pub "$pin" </dev/null >/dev/null 2>"$T/err"
rc=$?
set -e
expect_rc 2 "gtee-enclave --key-release NAME"
grep -q "host.example:7000" "$T/err" || bad "gtee-enclave: the bad address is not named"
set +e
"$GTEE_ENCLAVE" --fd 0 --tee tdx --root "$T/tsmroot" --key-release 127.0.0.1:7000 </dev/null >/dev/null 2>"$T/err"
rc=$?
set -e
expect_rc 2 "gtee-enclave --key-release without a pin"

for cmd in "enclave info" "evidence get"; do
    # shellcheck disable=SC2086
    run $cmd --help
    grep -q -- "--key-release HOST:PORT" "$T/out" || bad "$cmd --help does not document --key-release"
    grep -q -- "--key-release-pub HEX" "$T/out" || bad "$cmd --help does not document --key-release-pub"
done

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo ok
