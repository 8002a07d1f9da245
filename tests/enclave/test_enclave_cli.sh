#!/usr/bin/env bash
# `gtee enclave info` and `gtee evidence get` as a user drives them on the simulated TEE:
# SIMULATED said loudly, the same Enclave ID across runs, another one for another
# configuration or device, evidence that the evidence verifier accepts (only with
# simulation allowed) with the measurement and report data the enclave announced; `auto`
# never falls back to sim.
set -euo pipefail

NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

run sim init "$T/dev"
expect_rc 0 "sim init"
run sim init "$T/dev2"
expect_rc 0 "sim init 2"

# text output says SIMULATED on stdout and stderr
run enclave info --tee sim --sim-dir "$T/dev"
expect_rc 0 "enclave info"
grep -q "SIMULATED - NOT SECURE" "$T/out" || bad "text output does not say SIMULATED"
grep -q "WARNING: SIMULATED TEE" "$T/err" || bad "no simulation warning on stderr"
grep -Eq '^enclave id: +0x[0-9a-fA-F]{40}$' "$T/out" || bad "no Enclave ID line"

run enclave info --tee sim --sim-dir "$T/dev" --config "model=a" --json
expect_rc 0 "enclave info --json"
[ "$(json 'j["tee"]')" = sim ] || bad "tee is not sim"
[ "$(json 'j["simulated"]')" = True ] || bad "simulated is not true"
id1=$(json 'j["enclave_id"]')
m1=$(json 'j["measurement"]')
ch1=$(json 'j["channel_public_key"]')

run enclave info --tee sim --sim-dir "$T/dev" --config "model=a" --json
id2=$(json 'j["enclave_id"]')
[ "$id1" = "$id2" ] || bad "Enclave ID changed across restarts ($id1, $id2)"
[ "$ch1" != "$(json 'j["channel_public_key"]')" ] || bad "channel key not fresh"

run enclave info --tee sim --sim-dir "$T/dev" --config "model=b" --json
[ "$id1" != "$(json 'j["enclave_id"]')" ] || bad "another configuration kept the Enclave ID"
[ "$m1" != "$(json 'j["measurement"]')" ] || bad "another configuration kept the measurement"

run enclave info --tee sim --sim-dir "$T/dev2" --config "model=a" --json
[ "$id1" != "$(json 'j["enclave_id"]')" ] || bad "another device kept the Enclave ID"

# evidence get, then verify it with the evidence verifier
nonce=$(openssl rand -hex 32)
run evidence get --tee sim --sim-dir "$T/dev" --config "model=a" --report-data "$nonce" --out "$T/q.bin" --json
expect_rc 0 "evidence get"
[ -s "$T/q.bin" ] || bad "no evidence written"
rd=$(json 'j["report_data"]')
[ "${rd:64}" = "$nonce" ] || bad "report data does not end with the nonce"
[ "$(json 'j["enclave_id"]')" = "$id1" ] || bad "evidence get reports another Enclave ID"
run evidence get --tee sim --sim-dir "$T/dev" --report-data "$nonce" --out "$T/q.bin"
expect_rc 3 "evidence get refuses to overwrite"
run evidence get --tee sim --sim-dir "$T/dev" --report-data "${nonce}${nonce}" --out "$T/q2.bin"
expect_rc 2 "64 bytes of report data are refused"

echo '{"allow_simulation": true}' >"$T/allow.json"
run evidence verify "$T/q.bin" --collateral "$T/dev/sgx" --sim-root "$T/dev/sim_root_ca.der" --policy "$T/allow.json" --json
expect_rc 0 "evidence verify (simulation allowed)"
[ "$(json 'j["claims"]["simulated"]')" = True ] || bad "verifier does not name the evidence simulated"
[ "$(json 'j["claims"]["mrenclave"]')" = "$m1" ] || bad "quote MRENCLAVE is not the announced measurement"
[ "$(json 'j["claims"]["report_data"]')" = "$rd" ] || bad "quote report data is not the announced one"
run evidence verify "$T/q.bin" --collateral "$T/dev/sgx" --sim-root "$T/dev/sim_root_ca.der" --json
expect_rc 7 "evidence verify rejects simulation by default"

# auto never falls back to sim, even with a device at hand
run enclave info --tee auto --sim-dir "$T/dev" --root "$T"
expect_rc 3 "auto without hardware"
grep -q "no TEE hardware found" "$T/err" || bad "auto failure does not say why"
grep -q -- "--tee sim" "$T/err" || bad "auto failure does not name --tee sim"

# tdx/snp give no sealing key through configfs-tsm: a clear refusal, never a fake key
mkdir -p "$T/tsmroot/sys/kernel/config/tsm/report"
run enclave info --tee tdx --root "$T/tsmroot"
[ "$rc" -ne 0 ] || bad "tdx enclave started without a key"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "ok"
