#!/usr/bin/env bash
# The node's check of its own enclave's evidence after each start: on the simulated TEE it
# verifies (collateral and simulated root of the device) and is labelled SIMULATED; with a
# policy in node.conf that names another measurement it is rejected, with the policy's
# reason, as an error the operator sees in `gtee node status` and the status API.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

verdict() { # DIR: the verdict and detail the running node reports
    local u
    u=$(cat "$1/node.url")
    for _ in $(seq 200); do
        curl -s "${u}api/v1/status" >"$T/st.json" 2>/dev/null &&
            python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["evidence"]["verdict"] == "not checked")' "$T/st.json" &&
            break
        sleep 0.05
    done
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["evidence"]; print(e["verdict"] + " | " + e["detail"])' "$T/st.json"
}

for n in good strict; do
    "$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$T/$n" >/dev/null 2>&1
done
printf '{"allow_simulation": true, "sgx": {"mrenclave": ["%s"]}}\n' "$(printf '0%.0s' $(seq 64))" >"$T/strict/other.json"
sed -i 's/^policy = $/policy = other.json/' "$T/strict/node.conf"
grep -q "^policy = other.json$" "$T/strict/node.conf" || bad "node.conf has no policy line to set"

for n in good strict; do
    bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$T/$n" >"$T/$n.out" 2>"$T/$n.log"
    wait_file "$T/$n/node.url" "node $n" "$T/$n.log"
done
v=$(verdict "$T/good")
case $v in
"accepted (SIMULATED) | SIMULATED evidence"*) ;;
*) bad "the default check on sim: $v" ;;
esac
v=$(verdict "$T/strict")
case $v in
"rejected | policy.sgx.mrenclave"*) ;;
*) bad "a policy naming another measurement: $v" ;;
esac
run node status "$T/strict"
grep -q "^evidence: *rejected$" "$T/out" || bad "node status does not show the rejection: $(cat "$T/out")"
grep -q "evidence check: rejected: policy.sgx.mrenclave" "$T/out" || bad "node status does not list the rejection among errors"
grep -q "evidence check: rejected" "$T/strict.log" || bad "the log does not show the rejection"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "evidence check: all checks passed"
