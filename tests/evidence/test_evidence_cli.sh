#!/usr/bin/env bash
# `gtee evidence verify` as a user drives it: verdicts and exit codes on the real samples,
# JSON output, policy files, malformed and missing inputs (docs/evidence.md).
set -uo pipefail
: "${GTEE_CLI:?}" "${GTEE_SOURCE_DIR:?}"
GTEE_CLI=$(readlink -f "$GTEE_CLI")
. "$GTEE_SOURCE_DIR/tests/vectors.sh"
need_vectors
V=$VECTORS
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0

# expect CODE DESC ARGS...: runs gtee evidence verify ARGS, wants exit CODE.
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

SGX="$V/sgx/sgx-1" TDX="$V/tdx/tdx-1"
expect 0 "tdx-1 under the default policy" "$TDX/quote.bin" --collateral "$TDX" --at 2025-07-19T10:00:34Z
has "verdict       accepted"
has "tcb_status    UpToDate"
expect 7 "sgx-1 under the default policy (UpToDate only)" "$SGX/quote.bin" --collateral "$SGX" \
    --at 2025-07-19T10:01:17Z
has "policy.tcb_status"
has "advisories    INTEL-SA-00289 INTEL-SA-00615"

printf '{"accepted_tcb_statuses":["UpToDate","ConfigurationAndSWHardeningNeeded"]}' >"$T/p.json"
expect 0 "sgx-1 with its status accepted, unix time" "$SGX/quote.bin" --collateral "$SGX" --policy "$T/p.json" \
    --at 1752919277 --json
has '"accepted":true'
has '"tcb_status":"ConfigurationAndSWHardeningNeeded"'
has '"simulated":false'
node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1]));
  if (v.claims.tee!=="sgx"||v.claims.advisory_ids.join()!=="INTEL-SA-00289,INTEL-SA-00615") process.exit(1)' \
    "$T/out" || { echo "FAIL: JSON claims" >&2; fail=1; }
# the TCB figure a ledger compares: the sample's own tcbEvaluationDataNumber (the lower of its
# TCB info's and QE identity's, read from the files; docs/evidence.md, "The TCB figure")
node -e 'const fs=require("fs"), v=JSON.parse(fs.readFileSync(process.argv[1]));
  const n=(f,k)=>JSON.parse(fs.readFileSync(process.argv[2]+"/"+f))[k].tcbEvaluationDataNumber;
  const want=Math.min(n("tcb_info.json","tcbInfo"), n("qe_identity.json","enclaveIdentity"));
  if (!(want>0) || v.claims.tcb_number!==want) process.exit(1)' "$T/out" "$SGX" ||
    { echo "FAIL: JSON tcb_number is not the collateral's tcbEvaluationDataNumber" >&2; fail=1; }

expect 7 "sgx-1 a day after its collateral expired" "$SGX/quote.bin" --collateral "$SGX" --policy "$T/p.json" \
    --at 2025-07-20T10:01:17Z --json
has "collateral.qe_identity.expired"

head -c 1000 "$SGX/quote.bin" >"$T/short.bin"
expect 5 "a truncated quote is malformed" "$T/short.bin" --collateral "$SGX" --at 1752919277 --json
has "quote.malformed"
expect 3 "a missing evidence file" "$T/none.bin" --collateral "$SGX"
expect 3 "a missing collateral directory" "$SGX/quote.bin" --collateral "$T/none"
printf '{"allow_debugging":true}' >"$T/bad.json"
expect 5 "a policy with an unknown key" "$SGX/quote.bin" --collateral "$SGX" --policy "$T/bad.json"
grep -q allow_debugging "$T/err" || { echo "FAIL: unknown key not named" >&2; fail=1; }
expect 2 "a bad --at" "$SGX/quote.bin" --collateral "$SGX" --at yesterday
expect 2 "no FILE" --collateral "$SGX"
"$GTEE_CLI" evidence verify --help | grep -q -- "--collateral" || { echo "FAIL: help" >&2; fail=1; }

# --at beyond what a time can be: a usage error naming the option and the range, not a
# misleading CRL rejection later.
expect 2 "an --at that overflows" "$SGX/quote.bin" --collateral "$SGX" --at 99999999999999999999
grep -q -- "--at: .*out of range.*253402300799" "$T/err" || { echo "FAIL: --at range not named" >&2; cat "$T/err" >&2; fail=1; }
expect 2 "an --at past year 9999" "$SGX/quote.bin" --collateral "$SGX" --at 253402300800

# A duplicate policy key is named, with where it is.
printf '{"allow_debug":false,\n "allow_debug":true}' >"$T/dup.json"
expect 5 "a policy with a duplicate key" "$SGX/quote.bin" --collateral "$SGX" --policy "$T/dup.json"
grep -q 'duplicate key "allow_debug" at line 2, byte offset 23' "$T/err" ||
    { echo "FAIL: duplicate key not named" >&2; cat "$T/err" >&2; fail=1; }

# Revocation: a copy of the collateral without one CRL, then without both. The default policy
# rejects (naming the CRL); a policy that does not require revocation accepts, and the verdict
# says revocation was not checked and which CRL was applied.
ANY='"accepted_tcb_statuses":["UpToDate","ConfigurationAndSWHardeningNeeded"]'
printf '{%s,"require_revocation":false}' "$ANY" >"$T/norev.json"
printf '{%s}' "$ANY" >"$T/any.json"
for kind in sgx tdx; do
    if [ "$kind" = sgx ]; then dir=$SGX at=1752919277; else dir=$TDX at=2025-07-19T10:00:34Z; fi
    expect 0 "$kind with both CRLs" "$dir/quote.bin" --collateral "$dir" --policy "$T/any.json" --at "$at"
    has "revocation_checked yes (CRLs applied: pck_crl.der root_ca_crl.der)"
    for gone in pck_crl.der root_ca_crl.der both; do
        rm -rf "$T/col" && cp -r "$dir" "$T/col"
        if [ "$gone" = both ]; then rm "$T/col/pck_crl.der" "$T/col/root_ca_crl.der"; else rm "$T/col/$gone"; fi
        expect 7 "$kind without $gone, default policy" "$dir/quote.bin" --collateral "$T/col" \
            --policy "$T/any.json" --at "$at"
        has "policy.revocation: revocation not fully checked: .*${gone/both/pck_crl.der and root_ca_crl.der} not applied"
        expect 0 "$kind without $gone, revocation not required" "$dir/quote.bin" --collateral "$T/col" \
            --policy "$T/norev.json" --at "$at" --json
        has '"revocation_checked":false'
        case $gone in
            pck_crl.der) has '"crls_applied":\["root_ca_crl.der"\]' ;;
            root_ca_crl.der) has '"crls_applied":\["pck_crl.der"\]' ;;
            both) has '"crls_applied":\[\]' ;;
        esac
    done
done

# SEV-SNP: the default policy requires AMD's ARK CRL too. milan-1 has none (no real one is
# among the samples): rejected naming ark_crl.der (and debug); accepted when debug is allowed
# and revocation not required; a file that is not a CRL rejects the evidence itself.
SNP="$V/snp/milan-1"
expect 7 "milan-1 under the default policy" "$SNP/report.bin" --collateral "$SNP" --at 2025-07-19T00:00:00Z
has "policy.revocation: .*ark_crl.der"
has "policy.debug"
has "revocation_checked no (CRLs applied: none)"
echo '{"allow_debug":true,"require_revocation":["sgx","tdx"]}' >"$T/snp.json"
expect 0 "milan-1, debug allowed, revocation not required for snp" "$SNP/report.bin" --collateral "$SNP" \
    --policy "$T/snp.json" --at 2025-07-19T00:00:00Z --json
has '"accepted":true'
has '"revocation_checked":false'
# REPORTED_TCB packed for a ledger: expected.json's bytes (bootloader, tee, 4 reserved, snp, microcode)
node -e 'const fs=require("fs"), v=JSON.parse(fs.readFileSync(process.argv[1]));
  const b=Buffer.from(JSON.parse(fs.readFileSync(process.argv[2]+"/expected.json")).reported_tcb, "hex");
  const want=((b[0]<<24)|(b[1]<<16)|(b[6]<<8)|b[7])>>>0;
  if (!(want>0) || v.claims.tcb_number!==want) process.exit(1)' "$T/out" "$SNP" ||
    { echo "FAIL: JSON tcb_number is not the report's REPORTED_TCB packed" >&2; fail=1; }
rm -rf "$T/col" && cp -r "$SNP" "$T/col" && head -c 300 "$SNP/vcek.der" >"$T/col/ark_crl.der"
expect 7 "milan-1 with a malformed ark_crl.der" "$T/col/report.bin" --collateral "$T/col" \
    --policy "$T/snp.json" --at 2025-07-19T00:00:00Z
has "snp.crl.format: ark_crl.der"

# A FIFO as a collateral file or as --policy is refused at once, naming it (it used to block
# in open() forever: `timeout` turns that into a failure here).
rm -rf "$T/col" && cp -r "$SGX" "$T/col" && rm "$T/col/pck_crl.der" && mkfifo "$T/col/pck_crl.der"
mkfifo "$T/fifo.json"
for what in collateral policy; do
    if [ "$what" = collateral ]; then args=(--collateral "$T/col"); else args=(--collateral "$SGX" --policy "$T/fifo.json"); fi
    timeout 20 "$GTEE_CLI" evidence verify "$SGX/quote.bin" "${args[@]}" --at 1752919277 >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" != 3 ]; then
        echo "FAIL: a FIFO as $what: exit $rc, want 3 (124: it blocked)" >&2
        cat "$T/err" >&2
        fail=1
    fi
    name=$([ "$what" = collateral ] && echo "pck_crl.der" || echo "fifo.json")
    grep -q "$name is a FIFO, not a regular file" "$T/err" ||
        { echo "FAIL: the FIFO ($what) is not named" >&2; cat "$T/err" >&2; fail=1; }
done

[ "$fail" = 0 ] && echo "evidence cli: all checks passed"
exit "$fail"
