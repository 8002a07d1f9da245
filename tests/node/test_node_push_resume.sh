#!/usr/bin/env bash
# `gtee push` resumes an interrupted upload: through a proxy that cuts the first upload
# request mid-body (tests/node/cut_proxy.py), push asks the node for the session's offset,
# resumes from there, and the node stores exactly the container push sealed (its content
# id checked), with the bytes before the cut not sent twice. Then a node killed with
# SIGKILL mid-session and restarted: the session's acknowledged offset survives and the
# upload resumes there (through the API). Last, a byte changed on the way: push, which
# seals while it uploads and so learns the blob's id from the node, refuses it.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>"$T/run.log"
NODE_PID=$BG_PID
wait_file "$D/node.url" "the node" "$T/run.log"
U=$(cat "$D/node.url")
PORT=${U##*:}
PORT=${PORT%/}
bg_start python3 "$(dirname "$0")/cut_proxy.py" "$PORT" 700000 "$T/pport" >"$T/proxy.log" 2>&1
wait_file "$T/pport" "the proxy" "$T/proxy.log"
P="http://127.0.0.1:$(cat "$T/pport")/"

"$GTEE_CLI" keygen "$T/k.key" >/dev/null
head -c 3000000 /dev/urandom >"$T/data.bin"
run push "$T/data.bin" --node "$P" --key "$T/k.key" --chunk 1M --retries 3
expect_rc 0 "push through a connection cut mid-upload"
ID=$(cat "$T/out")
grep -q "cutting a PUT" "$T/proxy.log" || bad "the proxy never cut a request: $(cat "$T/proxy.log")"
grep -q "^gtee push: resuming at byte [1-9][0-9]*$" "$T/err" || bad "push did not resume from the node's offset: $(cat "$T/err")"
# The node kept what arrived before the cut: push resumed inside the first chunk, not at 0.
off=$(sed -n 's/^gtee push: resuming at byte //p' "$T/err" | head -1)
[ "$off" -gt 0 ] && [ "$off" -lt 1048576 ] || bad "resumed at $off, expected inside the first 1 MiB chunk"
curl -s "${U}api/v1/blobs/$ID" -o "$T/dl.box"
[ "$(sha256sum <"$T/dl.box" | cut -c1-64)" = "$ID" ] || bad "the stored blob is not its content id"
"$GTEE_CLI" decrypt --key "$T/k.key" "$T/dl.box" "$T/dl.bin" >/dev/null && cmp -s "$T/dl.bin" "$T/data.bin" ||
    bad "the resumed upload does not open to the pushed file"
grep -q '^gtee_node_upload_bytes_total ' <(curl -s "${U}metrics") || bad "no upload metric"
sent=$(curl -s "${U}metrics" | sed -n 's/^gtee_node_upload_bytes_total //p')
[ "$sent" -lt 3100000 ] || bad "the node received $sent bytes for a 3 MB container: bytes were sent twice"

# A node SIGKILLed mid-session: the synced offset survives the restart.
head -c 200000 /dev/urandom >"$T/raw"
CID=$(sha256sum <"$T/raw" | cut -c1-64)
UID_=$(curl -s -X POST -d "{\"size\":200000,\"content_id\":\"$CID\"}" "${U}api/v1/uploads" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["id"])')
head -c 50000 "$T/raw" | curl -s -o /dev/null -X PUT -H 'Upload-Offset: 0' --data-binary @- "${U}api/v1/uploads/$UID_"
kill -KILL "$NODE_PID"
bg_wait "$NODE_PID" || true
rm -f "$D/node.url"
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run2.out" 2>>"$T/run.log"
wait_file "$D/node.url" "the restarted node" "$T/run.log"
U=$(cat "$D/node.url")
off=$(curl -s "${U}api/v1/uploads/$UID_" | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload"]["offset"])')
[ "$off" = 50000 ] || bad "after a SIGKILL the session's offset is $off, expected the acknowledged 50000"
tail -c +50001 "$T/raw" | curl -s -o "$T/resp" -X PUT -H 'Upload-Offset: 50000' --data-binary @- "${U}api/v1/uploads/$UID_"
grep -q '"complete":true' "$T/resp" || bad "resuming after the restart: $(cat "$T/resp")"
cmp -s <(curl -s "${U}api/v1/blobs/$CID") "$T/raw" || bad "the blob resumed across a SIGKILL differs"
cmp -s <(curl -s "${U}api/v1/blobs/$ID") "$T/dl.box" || bad "a stored blob changed across the SIGKILL"

# push seals while it uploads, so the node names the blob by the bytes it got: a byte
# changed on the way makes another blob, which push refuses to call its own (exit 4).
PORT=${U##*:}
PORT=${PORT%/}
bg_start python3 "$(dirname "$0")/cut_proxy.py" "$PORT" 500000 "$T/fport" flip >"$T/flip.log" 2>&1
wait_file "$T/fport" "the flipping proxy" "$T/flip.log"
run push "$T/data.bin" --node "http://127.0.0.1:$(cat "$T/fport")/" --key "$T/k.key" --chunk 1M
expect_rc 4 "push through a proxy that changes a byte"
grep -q "flipped byte" "$T/flip.log" || bad "the proxy changed no byte: $(cat "$T/flip.log")"
grep -q "the node stored it as blob [0-9a-f]\{64\}, but the sealed container is [0-9a-f]\{64\}" "$T/err" ||
    bad "push did not name the two ids: $(cat "$T/err")"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "push resume: all checks passed"
