#!/usr/bin/env bash
# An enclave stuck on a request (tests' fake-enclave, mode mute: it never answers RELAY)
# holds no HTTP worker and no lock the rest of the API needs: while relay requests wait on
# it, health, status, metrics and listings still answer at once; the waiting requests get a
# JSON error at the enclave timeout, the supervisor restarts the enclave it had to kill, and
# SIGTERM still stops the node cleanly.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
FAKE=$GTEE_BINARY_DIR/tests/fake-enclave
[ -x "$FAKE" ] || { bad "no $FAKE"; exit 1; }

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 --enclave "$FAKE" "$D" >/dev/null 2>&1
sed -i 's/^enclave_config = $/enclave_config = mute/; s/^enclave_timeout_s = .*/enclave_timeout_s = 6/; s/^threads = .*/threads = 2/' "$D/node.conf"
bg_start "$GTEE_CLI" node run "$D" >"$T/run.out" 2>"$T/run.log"
NODE_PID=$BG_PID
wait_file "$D/node.url" "the node" "$T/run.log"
U=$(cat "$D/node.url")
for _ in $(seq 200); do curl -sf "${U}healthz" >/dev/null && break; sleep 0.05; done

head -c 200 /dev/urandom >"$T/box"
pids=""
for i in 1 2 3 4; do
    curl -s -m 60 -o "$T/rl$i" -w '%{http_code}' --data-binary @"$T/box" "${U}api/v1/relay" >"$T/code$i" &
    pids="$pids $!"
done
sleep 1
start=$(date +%s%N)
for p in healthz api/v1/status metrics api/v1/blobs api/v1/jobs; do
    t0=$(date +%s%N)
    curl -s -m 10 -o /dev/null "${U}$p" || bad "GET /$p did not answer while requests waited on the enclave"
    t=$((($(date +%s%N) - t0) / 1000000))
    [ "$t" -lt 2500 ] || bad "GET /$p took ${t} ms while the enclave was stuck (it waited on the enclave)"
done
for p in $pids; do wait "$p" || true; done
for i in 1 2 3 4; do
    code=$(cat "$T/code$i")
    case $code in
    502 | 503) grep -q '"error"' "$T/rl$i" || bad "relay request $i: HTTP $code without a JSON error" ;;
    *) bad "relay request $i against a stuck enclave: HTTP $code" ;;
    esac
done
grep -q "was stopped after a request went unanswered" "$T/run.log" || bad "the log does not say the stuck enclave was stopped"
kill -TERM "$NODE_PID"
st=0
bg_wait "$NODE_PID" || st=$?
[ "$st" = 0 ] || bad "SIGTERM with a stuck enclave: exit $st"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "slow enclave: all checks passed"
