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

[ "$fail" = 0 ] && echo "evidence cli: all checks passed"
exit "$fail"
