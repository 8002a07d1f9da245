#!/usr/bin/env bash
# The report data binding through `gtee evidence verify` on a simulated enclave's real
# evidence: the keys `gtee evidence get --json` announces (and the nonce the verifier chose)
# are accepted and named in the claims with the Enclave ID; another start's channel key, a
# foreign Enclave key, a wrong Enclave ID and a wrong nonce are rejected with
# report_data.binding / report_data.nonce; missing --collateral is a usage error.
set -euo pipefail

NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
# jsonf FILE EXPR: a Python expression over the JSON object in FILE (as `j`).
jsonf() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
codes() { python3 -c 'import json,sys; print(" ".join(r["code"] for r in json.load(open(sys.argv[1]))["reasons"]))' "$T/out"; }

run sim init "$T/dev"
expect_rc 0 "sim init"
nonce=$(openssl rand -hex 32)
run evidence get --tee sim --sim-dir "$T/dev" --report-data "$nonce" --out "$T/q.bin" --json
expect_rc 0 "evidence get"
cp "$T/out" "$T/get.json"
id=$(jsonf "$T/get.json" 'j["enclave_id"]')
ekey=$(jsonf "$T/get.json" 'j["enclave_public_key"]')
ckey=$(jsonf "$T/get.json" 'j["channel_public_key"]')
[ ${#ekey} -eq 130 ] && [ ${#ckey} -eq 130 ] || bad "evidence get --json does not give both keys"

echo '{"allow_simulation": true}' >"$T/allow.json"
V=(evidence verify "$T/q.bin" --collateral "$T/dev/sgx" --sim-root "$T/dev/sim_root_ca.der" --policy "$T/allow.json")

# the keys of this start, and the nonce: accepted, the claims name them
run "${V[@]}" --enclave-info "$T/get.json" --nonce "$nonce" --json
expect_rc 0 "matching keys and nonce"
[ "$(jsonf "$T/out" 'j["claims"]["enclave_id"]')" = "$id" ] || bad "claims lack the EIP-55 Enclave ID $id"
[ "$(jsonf "$T/out" 'j["claims"]["enclave_public_key"]')" = "$ekey" ] || bad "claims lack the Enclave key"
[ "$(jsonf "$T/out" 'j["claims"]["channel_public_key"]')" = "$ckey" ] || bad "claims lack the channel key"
[ "$(jsonf "$T/out" 'j["claims"]["nonce"]')" = "$nonce" ] || bad "claims do not report the nonce"
[ "$(jsonf "$T/out" 'j["claims"]["keys_bound"]')" = True ] || bad "keys_bound not set"
[ "$(jsonf "$T/out" 'j["claims"]["nonce_checked"]')" = True ] || bad "nonce_checked not set"
run "${V[@]}" --enclave-key "$ekey" --channel-key "0x$ckey"
expect_rc 0 "the same keys as options, text output"
grep -Eq "^enclave_id +$id\$" "$T/out" || bad "text output lacks the Enclave ID"
grep -Eq "^nonce +$nonce\$" "$T/out" || bad "text output lacks the nonce"

# without binding options the claims report the nonce but no keys
run "${V[@]}" --json
expect_rc 0 "no binding options"
[ "$(jsonf "$T/out" 'j["claims"]["keys_bound"]')" = False ] || bad "keys bound without keys given"
[ "$(jsonf "$T/out" 'j["claims"].get("enclave_id")')" = None ] || bad "Enclave ID claimed without keys"

# another start of the same enclave: same Enclave key, fresh channel key -> binding fails
run enclave info --tee sim --sim-dir "$T/dev" --json
expect_rc 0 "enclave info"
cp "$T/out" "$T/info.json"
[ "$(jsonf "$T/info.json" 'j["enclave_public_key"]')" = "$ekey" ] || bad "Enclave key changed between starts"
[ "$(jsonf "$T/info.json" 'j["channel_public_key"]')" != "$ckey" ] || bad "channel key did not change between starts"
run "${V[@]}" --enclave-info "$T/info.json" --json
expect_rc 7 "another start's channel key"
[ "$(codes)" = "report_data.binding" ] || bad "reasons '$(codes)', want report_data.binding"
[ "$(jsonf "$T/out" 'j["claims"].get("enclave_id")')" = None ] || bad "Enclave ID claimed on a mismatch"

# a foreign Enclave key: the P-256 channel key in its place, not even a secp256k1 point
run "${V[@]}" --enclave-key "$ckey" --channel-key "$ckey" --json
expect_rc 7 "foreign Enclave key"
[ "$(codes)" = "report_data.binding report_data.binding" ] || bad "foreign key: reasons '$(codes)'"
grep -q "not a secp256k1 public key" "$T/out" || bad "foreign key: invalid point not named"

# right keys, but an Enclave ID that is not the Enclave key's address
python3 - "$T/get.json" "$T/badid.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["enclave_id"] = "0x" + ("00" * 20)
json.dump(j, open(sys.argv[2], "w"))
PY
run "${V[@]}" --enclave-info "$T/badid.json" --json
expect_rc 7 "wrong Enclave ID"
grep -q "not the address of the given Enclave key" "$T/out" || bad "wrong Enclave ID not named"

# a wrong nonce: report_data.nonce only
run "${V[@]}" --enclave-info "$T/get.json" --nonce "$(openssl rand -hex 32)" --json
expect_rc 7 "wrong nonce"
[ "$(codes)" = "report_data.nonce" ] || bad "wrong nonce: reasons '$(codes)'"
[ "$(jsonf "$T/out" 'j["claims"]["keys_bound"]')" = True ] || bad "keys not bound beside a wrong nonce"

# a policy rejection and a binding mismatch are both listed
run evidence verify "$T/q.bin" --collateral "$T/dev/sgx" --sim-root "$T/dev/sim_root_ca.der" \
    --nonce "$(openssl rand -hex 32)" --json
expect_rc 7 "simulation refused and wrong nonce"
[ "$(codes)" = "policy.simulation report_data.nonce" ] || bad "both reasons: got '$(codes)'"

# usage errors
run "${V[@]}" --enclave-key "$ekey"
expect_rc 2 "--enclave-key without --channel-key"
run "${V[@]}" --enclave-info "$T/get.json" --enclave-key "$ekey" --channel-key "$ckey"
expect_rc 2 "--enclave-info beside the key options"
run "${V[@]}" --nonce abcd
expect_rc 2 "short nonce"
run "${V[@]}" --enclave-key "${ekey:0:128}" --channel-key "$ckey"
expect_rc 2 "short Enclave key"
echo '{"enclave_public_key": "00"}' >"$T/short.json"
run "${V[@]}" --enclave-info "$T/short.json"
expect_rc 5 "--enclave-info without keys"
run "${V[@]}" --enclave-info "$T/none.json"
expect_rc 3 "--enclave-info missing"
run evidence verify "$T/q.bin"
expect_rc 2 "no --collateral"
grep -q -- "--collateral DIR is required" "$T/err" || bad "missing --collateral not explained"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "ok"
