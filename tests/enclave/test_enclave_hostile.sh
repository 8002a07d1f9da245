#!/usr/bin/env bash
# The host does not believe what the enclave process says of itself (issue 11, finding 9):
# a fake enclave binary (tests/enclave/fake_enclave.c) started with --tee sim that claims
# to be sgx, reports another measurement, or an Enclave ID that is not its key's address is
# refused (exit 7); its ERROR text reaches the terminal escaped; one that never answers is
# killed at the deadline instead of hanging the host; a FIFO as the sim device's
# device_secret fails at once. Every run is under `timeout`, so a hang is a failure.
set -euo pipefail

NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
FAKE="$GTEE_BINARY_DIR/tests/fake-enclave"
[ -x "$FAKE" ] || { echo "fake-enclave not built"; exit 1; }

# trun SECONDS ARGS...: gtee under a hard limit (exit 124 if it hangs).
trun() {
    local limit=$1
    shift
    set +e
    timeout -k 5 "$limit" "$GTEE_CLI" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}

run sim init "$T/dev"
expect_rc 0 "sim init"

# The real enclave passes every check (the control).
trun 120 enclave info --tee sim --sim-dir "$T/dev"
expect_rc 0 "the real enclave"

# A forged TEE kind: not printed as sgx, refused.
trun 120 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config forge-tee
expect_rc 7 "forged INFO claiming sgx"
grep -q "tee: *sgx" "$T/out" && bad "a sim enclave was printed as sgx"
grep -q "claims TEE sgx, but the host started it with backend sim" "$T/err" || bad "forge-tee: $(cat "$T/err")"
trun 120 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config forge-tee --json
expect_rc 7 "forged INFO claiming sgx (JSON)"

# A forged measurement: not what the executable the host ran and its configuration measure.
trun 120 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config forge-measurement
expect_rc 7 "forged measurement"
grep -q "reports measurement 4242" "$T/err" || bad "forge-measurement: $(cat "$T/err")"

# An Enclave ID that is not the address of the Enclave key.
trun 120 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config forge-id
expect_rc 7 "forged Enclave ID"
grep -q "Enclave ID is not the address of its Enclave public key" "$T/err" || bad "forge-id: $(cat "$T/err")"
trun 120 evidence get --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config forge-id \
    --report-data "$(printf '%064d' 0)" --out "$T/q.bin"
expect_rc 7 "evidence get from a forged Enclave ID"
[ -e "$T/q.bin" ] && bad "evidence get wrote evidence of a forged enclave"

# The enclave's error text: escaped, no raw control byte reaches the terminal.
trun 120 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config escape
expect_rc 3 "an ERROR from the enclave"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/err" && bad "raw control bytes on stderr: $(od -c "$T/err" | head -3)"
grep -qF 'enclave: \x1b]0;owned\x07\x1b[2J\x1b[31mall is well' "$T/err" || bad "escape: $(cat "$T/err")"

# An enclave that never answers: killed at the deadline, well before the hard limit.
start=$(date +%s)
trun 60 enclave info --tee sim --sim-dir "$T/dev" --enclave "$FAKE" --config silent --enclave-timeout 2
expect_rc 3 "a silent enclave"
grep -q "no answer within 2 s" "$T/err" || bad "silent: $(cat "$T/err")"
[ $(($(date +%s) - start)) -lt 40 ] || bad "the host waited $(($(date +%s) - start)) s for a 2 s deadline"
# and it was reaped: no fake enclave of this test is left
for p in /proc/[0-9]*; do
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "^gtee-enclave --fd 3 --tee sim --sim-dir $T/dev --config silent"; then
        bad "the silent enclave ${p#/proc/} is still running"
    fi
done

# A FIFO as the device's root secret: refused at once, no hang.
run sim init "$T/fifo"
expect_rc 0 "sim init fifo"
rm -f "$T/fifo/device_secret"
mkfifo -m 600 "$T/fifo/device_secret"
trun 60 enclave info --tee sim --sim-dir "$T/fifo"
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || bad "enclave info hung on a FIFO as device_secret"
[ "$rc" -ne 0 ] || bad "a FIFO as device_secret was accepted"
grep -q "device_secret is not a regular file" "$T/err" || bad "fifo: $(cat "$T/err")"

[ "$fail" -eq 0 ] || exit 1
echo ok
