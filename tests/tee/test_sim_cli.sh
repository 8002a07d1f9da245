#!/usr/bin/env bash
# `gtee sim init` as a user drives it: creates a private device directory, warns loudly
# that it is a simulation, lists what it made (text and --json), refuses to overwrite.
set -euo pipefail

. "$(dirname "$0")/../cli_harness.sh"

run sim init "$T/dev"
expect_rc 0 "sim init"
grep -q "SIMULATED TEE device" "$T/err" || bad "no simulation warning on stderr"
grep -q "NOT SECURE" "$T/err" || bad "warning does not say NOT SECURE"
grep -q "0600  device_secret" "$T/out" || bad "device_secret not listed with mode 0600"
grep -q "sgx/tcb_info.json" "$T/out" || bad "collateral not listed"
[ "$(stat -c %a "$T/dev")" = 700 ] || bad "device directory is not 0700"
[ "$(stat -c %a "$T/dev/device_secret")" = 600 ] || bad "device_secret is not 0600"
fp=$(sha256sum "$T/dev/sim_root_ca.der" | cut -d' ' -f1)
grep -q "$fp" "$T/out" || bad "root CA fingerprint not printed"
openssl x509 -inform der -in "$T/dev/sim_root_ca.der" -noout -subject | grep -q "SIMULATED" ||
    bad "root CA subject does not say SIMULATED"

# Refuses an existing non-empty directory (exit 3, io), and leaves it alone.
before=$(ls -R "$T/dev" | sha256sum)
run sim init "$T/dev"
expect_rc 3 "second init"
grep -q "not empty" "$T/err" || bad "refusal does not say why"
[ "$(ls -R "$T/dev" | sha256sum)" = "$before" ] || bad "refused init changed the directory"

run sim init --json "$T/dev2"
expect_rc 0 "sim init --json"
[ "$(json 'j["simulated"]')" = True ] || bad "--json does not say simulated"
[ "$(json '[f["mode"] for f in j["files"] if f["path"]=="qe_attest.key.pem"][0]')" = 0600 ] ||
    bad "--json: attestation key not 0600"
[ "$(json 'j["root_ca_sha256"]')" = "$(sha256sum "$T/dev2/sim_root_ca.der" | cut -d' ' -f1)" ] ||
    bad "--json: root fingerprint wrong"
# Two devices are two devices.
cmp -s "$T/dev/device_secret" "$T/dev2/device_secret" && bad "two devices share a secret"

# A symlink at DIR is never followed: refused, naming it, and its target keeps its mode
# (it used to be chmod'ed 0700 before the init failed).
mkdir "$T/target"
chmod 755 "$T/target"
ln -s "$T/target" "$T/link"
run sim init "$T/link"
[ "$rc" -ne 0 ] || bad "sim init on a symlink succeeded"
grep -q "symbolic link" "$T/err" || bad "sim init on a symlink does not name it: $(cat "$T/err")"
[ "$(stat -c %a "$T/target")" = 755 ] || bad "sim init chmod'ed the symlink's target to $(stat -c %a "$T/target")"
[ -z "$(ls -A "$T/target")" ] || bad "sim init wrote through the symlink"

# A symlink to a file: refused as well, the file's mode unchanged.
: >"$T/victim"
chmod 644 "$T/victim"
ln -s "$T/victim" "$T/flink"
run sim init "$T/flink"
[ "$rc" -ne 0 ] || bad "sim init on a symlink to a file succeeded"
[ "$(stat -c %a "$T/victim")" = 644 ] || bad "sim init chmod'ed a file through a symlink"

# An empty directory owned by another user is refused (exit 6) and left as it was. Needs
# root to chown; skipped otherwise.
if [ "$(id -u)" = 0 ]; then
    mkdir "$T/theirs"
    chmod 755 "$T/theirs"
    chown 65534:65534 "$T/theirs"
    run sim init "$T/theirs"
    expect_rc 6 "sim init on another user's directory"
    grep -q "owned by uid 65534" "$T/err" || bad "refusal does not name the owner: $(cat "$T/err")"
    [ "$(stat -c %a "$T/theirs")" = 755 ] || bad "sim init chmod'ed another user's directory"
    [ -z "$(ls -A "$T/theirs")" ] || bad "sim init wrote into another user's directory"
else
    echo "not root: the other-owner case of sim init is not checked"
fi

run sim init
expect_rc 2 "sim init without DIR"
run sim frobnicate
expect_rc 2 "unknown sim command"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "all sim CLI checks passed"
