#!/usr/bin/env bash
# `gtee evidence verify` on NVIDIA GPU evidence (docs/evidence-nvidia.md): the kind recognised
# from the bytes, h100-1 with its production RIMs accepted under a policy that allows unchecked
# revocation and refused by the default policy for it, the test RIMs rejected with their
# reasons, a wrong or missing nonce, the policy's GPU versions, OCSP staleness, JSON output.
set -uo pipefail
: "${GTEE_CLI:?}" "${GTEE_SOURCE_DIR:?}"
GTEE_CLI=$(readlink -f "$GTEE_CLI")
. "$GTEE_SOURCE_DIR/tests/vectors.sh"
need_vectors
H=$VECTORS/nvidia/h100-1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
NONCE=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
AT=2025-10-24T12:00:00Z

expect() {
    local want=$1 desc=$2
    shift 2
    "$GTEE_CLI" evidence verify "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $desc: exit $rc, want $want" >&2
        cat "$T/out" "$T/err" >&2
        fail=1
    fi
}
has() {
    if ! grep -q -- "$1" "$T/out"; then
        echo "FAIL: output lacks '$1'" >&2
        cat "$T/out" >&2
        fail=1
    fi
}

mkdir -p "$T/prod" "$T/test" "$T/ocsp"
cp "$H/cert_chain.pem" "$H"/production_rims/*.xml "$T/prod/"
cp "$H/cert_chain.pem" "$H"/*_rim_test.swidtag "$T/test/"
cp -r "$H/cert_chain.pem" "$H"/production_rims/*.xml "$H/ocsp" "$T/ocsp/"
echo '{"gpu":{"allow_unchecked_revocation":true}}' >"$T/unchecked.json"

# Production RIMs at a time inside their chains: accepted, 32 of 32, revocation not checked.
expect 0 "production RIMs" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT" --policy "$T/unchecked.json"
has "verdict       accepted"
has "32 of 32 compared golden values match"
has "revocation    not checked"
expect 0 "production RIMs, JSON" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT" \
    --policy "$T/unchecked.json" --json
[ "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["claims"]; print(j["tee"], j["golden_matched"], j["golden_compared"], j["gpu_revocation"], j["driver_version"], j["vbios_version"])' "$T/out")" = \
    "gpu 32 32 not-checked 550.90.07 96.00.9f.00.01" ] || { echo "FAIL: JSON claims" >&2; cat "$T/out" >&2; fail=1; }
# The default policy does not take unchecked revocation.
expect 7 "default policy" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT"
has "policy.revocation: GPU revocation not checked"
# The policy's version lists.
echo '{"gpu":{"allow_unchecked_revocation":true,"driver_versions":["550.90.07"],"vbios_versions":["96.00.9F.00.01"]}}' >"$T/v.json"
expect 0 "listed versions" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT" --policy "$T/v.json"
echo '{"gpu":{"allow_unchecked_revocation":true,"driver_versions":["560.35.03"]}}' >"$T/v.json"
expect 7 "unlisted driver" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT" --policy "$T/v.json"
has "policy.gpu.driver_version"
echo '{"gpu":{"drivers":[]}}' >"$T/v.json"
expect 5 "unknown GPU policy key" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT" --policy "$T/v.json"
# A wrong nonce, and none.
expect 7 "wrong nonce" "$H/report.bin" --collateral "$T/prod" --nonce "${NONCE%?}0" --at "$AT" --policy "$T/unchecked.json"
has "gpu.nonce"
expect 7 "no nonce" "$H/report.bin" --collateral "$T/prod" --at "$AT" --policy "$T/unchecked.json"
has "gpu.nonce: no expected nonce"
# The test RIMs at a fixed "today": both versions, the 20 indices, the expired signers.
expect 7 "test RIMs" "$H/report.bin" --collateral "$T/test" --nonce "$NONCE" --at 2026-12-06T00:00:00Z \
    --policy "$T/unchecked.json"
has "gpu.rim.driver.version: driver RIM is for version 545.00"
has "gpu.rim.vbios.version: vbios RIM is for version 96.00.5E.00.01"
has "gpu.measurement.vbios: 5 of 12 .* indices 1, 2, 3, 9, 11"
has "gpu.measurement.driver: 15 of 20 .* indices 7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40"
has "gpu.rim.driver.chain.expired: .*HCC RIM L4 Signer"
has "gpu.rim.vbios.chain.expired: .*GH100 001"
has "12 of 32 compared golden values match"
# The stored OCSP responses: the RIM ones fresh at AT, the GPU ones named stale.
expect 7 "OCSP at AT" "$H/report.bin" --collateral "$T/ocsp" --nonce "$NONCE" --at "$AT"
has "gpu.ocsp.stale: ocsp/gpu_certificate_l2.der"
has "gpu.ocsp.stale: ocsp/gpu_certificate_l4.der"
grep -q "gpu_driver_rim" "$T/out" && { echo "FAIL: a fresh RIM response was named" >&2; fail=1; }
# Malformed evidence: exit 5, the field named.
head -c 4000 "$H/report.bin" >"$T/short.bin"
expect 5 "truncated report" "$T/short.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT"
has "gpu.response.opaque_length\|gpu.signature.length"
# A composite bundle of the SEV-SNP milan-1 report and the h100-1 GPU report: every part
# verifies, but the GPU report is not over the nonce the CVM evidence commits to.
python3 - "$VECTORS/snp/milan-1/report.bin" "$H/report.bin" "$T/bundle.bin" <<'PY'
import struct, sys
cvm, gpu = (open(p, 'rb').read() for p in sys.argv[1:3])
open(sys.argv[3], 'wb').write(b'GTEEBNDL' + bytes([1, 1, 0, 0]) + struct.pack('>I', len(cvm)) + cvm +
                              struct.pack('>I', len(gpu)) + gpu)
PY
mkdir -p "$T/bundle"
cp -r "$VECTORS/snp/milan-1" "$T/bundle/cvm"
cp -r "$T/prod" "$T/bundle/gpu0"
echo '{"allow_debug":true,"require_revocation":false,"gpu":{"allow_unchecked_revocation":true}}' >"$T/b.json"
expect 7 "unbound bundle" "$T/bundle.bin" --collateral "$T/bundle" --at "$AT" --policy "$T/b.json"
has "reason        bundle.gpu.binding: GPU 0"
has "tee           snp"
has "gpus_bound    0"
[ "$(grep -c '^reason' "$T/out")" = 1 ] || { echo "FAIL: the unbound bundle has other reasons" >&2; cat "$T/out" >&2; fail=1; }
head -c 100 "$T/bundle.bin" >"$T/short-bundle.bin"
expect 5 "truncated bundle" "$T/short-bundle.bin" --collateral "$T/bundle" --at "$AT" --policy "$T/b.json"
has "bundle.malformed"
rm -r "$T/bundle/gpu0"
# The bundle's collateral directory without gpu0/: that GPU has none, and the verdict says so.
expect 7 "bundle without its GPU collateral" "$T/bundle.bin" --collateral "$T/bundle" --at "$AT" --policy "$T/b.json"
has "reason        gpu.collateral.missing: GPU 0"
# Collection through NVML (`gtee evidence gpu`), against the fake management library the test
# suite builds (it serves the h100-1 sample): the files written verify; CC off, no library, a
# report over another nonce and an existing file are each refused with a clear error.
FAKE=${GTEE_BINARY_DIR:?}/tests/libfake-nvidia-ml.so.1
mkdir -p "$T/c"
cp "$H"/production_rims/*.xml "$T/c/"
gpu() { "$GTEE_CLI" evidence gpu "$@" >"$T/out" 2>"$T/err"; echo $?; }
[ "$(gpu --nvml "$FAKE" --nonce "$NONCE" --out-report "$T/c/report.bin" --out-chain "$T/c/cert_chain.pem")" = 0 ] ||
    { echo "FAIL: gtee evidence gpu" >&2; cat "$T/out" "$T/err" >&2; fail=1; }
has "driver:      550.90.07"
cmp -s "$T/c/report.bin" "$H/report.bin" || { echo "FAIL: collected report differs from the sample" >&2; fail=1; }
expect 0 "collected evidence" "$T/c/report.bin" --collateral "$T/c" --nonce "$NONCE" --at "$AT" --policy "$T/unchecked.json"
[ "$(gpu --nvml "$FAKE" --nonce "$NONCE" --out-report "$T/c/report.bin" --out-chain "$T/c/x.pem")" = 3 ] ||
    { echo "FAIL: overwrote a report" >&2; fail=1; }
[ ! -e "$T/c/x.pem" ] || { echo "FAIL: a chain was left behind without its report" >&2; fail=1; }
[ "$(FAKE_NVML_MODE=ccoff gpu --nvml "$FAKE" --nonce "$NONCE" --out-report "$T/r2" --out-chain "$T/c2")" = 1 ] ||
    { echo "FAIL: CC off not refused" >&2; fail=1; }
grep -q "confidential computing is off" "$T/err" || { echo "FAIL: CC off not named" >&2; cat "$T/err" >&2; fail=1; }
[ ! -e "$T/r2" ] && [ ! -e "$T/c2" ] || { echo "FAIL: files written with CC off" >&2; fail=1; }
[ "$(gpu --nvml "$T/none.so" --nonce "$NONCE" --out-report "$T/r2" --out-chain "$T/c2")" = 3 ] ||
    { echo "FAIL: a missing library not refused with 3" >&2; fail=1; }
grep -q "could not be loaded" "$T/err" || { echo "FAIL: missing library not named" >&2; cat "$T/err" >&2; fail=1; }
[ "$(FAKE_NVML_MODE=fixed gpu --nvml "$FAKE" --nonce "${NONCE%?}0" --out-report "$T/r2" --out-chain "$T/c2")" = 4 ] ||
    { echo "FAIL: a report over another nonce not refused" >&2; fail=1; }
# A GPU directory without a RIM: named, exit 3.
rm "$T/prod/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"
expect 3 "missing VBIOS RIM" "$H/report.bin" --collateral "$T/prod" --nonce "$NONCE" --at "$AT"
grep -q "no VBIOS RIM" "$T/err" || { echo "FAIL: missing RIM not named" >&2; cat "$T/err" >&2; fail=1; }
exit $fail
