#!/usr/bin/env bash
# The blob store's bounds through the node (docs/node.md, "Blob store"): blob_store_max_bytes
# refuses an upload that would pass it with HTTP 507 and a JSON error naming the upload's
# size and the quota, before a byte is written; `gtee node gc` lists with --dry-run while the
# node runs and refuses to delete under it (exit 3, nothing changed); stopped, it deletes
# what the retention rule names, and the node started again serves what is left.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
grep -q '^blob_store_max_bytes = 0$' "$D/node.conf" || bad "node.conf has no blob_store_max_bytes"
grep -q '^blob_retention_days = 0$' "$D/node.conf" || bad "node.conf has no blob_retention_days"
grep -B3 '^blob_store_max_bytes' "$D/node.conf" | grep -q '^# ' || bad "blob_store_max_bytes has no comment"
sed -i 's/^blob_store_max_bytes = .*/blob_store_max_bytes = 500000/' "$D/node.conf"
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>"$T/run.log"
NODE_PID=$BG_PID
wait_file "$D/node.url" "the node" "$T/run.log"
U=$(cat "$D/node.url")

upload() { # FILE: the whole file in one session; prints the HTTP status of the POST
    local cid size id
    cid=$(sha256sum <"$1" | cut -c1-64)
    size=$(stat -c %s "$1")
    code=$(curl -s -o "$T/post" -w '%{http_code}' -X POST -d "{\"size\":$size,\"content_id\":\"$cid\"}" \
        "${U}api/v1/uploads")
    if [ "$code" = 201 ]; then
        id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["upload"]["id"])' "$T/post")
        curl -s -o /dev/null -X PUT -H 'Upload-Offset: 0' --data-binary @"$1" "${U}api/v1/uploads/$id"
    fi
    echo "$code"
}
head -c 300000 /dev/urandom >"$T/a"
head -c 150000 /dev/urandom >"$T/b"
head -c 100000 /dev/urandom >"$T/c"
A=$(sha256sum <"$T/a" | cut -c1-64)
B=$(sha256sum <"$T/b" | cut -c1-64)
[ "$(upload "$T/a")" = 201 ] || bad "an upload under the quota was refused: $(cat "$T/post")"
[ "$(upload "$T/b")" = 201 ] || bad "an upload up to the quota was refused: $(cat "$T/post")"
# 450000 held of 500000: 100000 more would pass the quota.
[ "$(upload "$T/c")" = 507 ] || bad "an upload past the quota was not refused with 507: $(cat "$T/post")"
python3 - "$T/post" <<'PY' || bad "the 507's JSON error: $(cat "$T/post")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["code"] == "insufficient_storage", e
assert e["size"] == 100000 and e["quota"] == 500000, e
assert "100000 bytes" in e["message"] and "450000 of its 500000 bytes" in e["message"], e
PY
[ -z "$(ls -A "$D/uploads")" ] || bad "the refused upload left a staging file: $(ls -A "$D/uploads")"
curl -s "${U}metrics" >"$T/metrics"
grep -q '^gtee_node_blob_store_bytes 450000$' "$T/metrics" || bad "metrics: $(grep blob_store "$T/metrics")"
grep -q '^gtee_node_blob_store_max_bytes 500000$' "$T/metrics" || bad "metrics: $(grep blob_store "$T/metrics")"

# While the node runs: a dry run lists, a real run is refused and changes nothing. (A rule
# of 0 days counts blobs last used before this second.)
sleep 1.1
run node gc --days 0 --dry-run --json "$D"
expect_rc 0 "gc --dry-run while the node runs"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(sorted(b["id"] for b in j["blobs"]) != sorted(sys.argv[2:]))' \
    "$T/out" "$A" "$B" || bad "the dry run does not list the two unused blobs: $(cat "$T/out")"
[ "$(json 'j["node_running"]')" = True ] || bad "the dry run does not say the node runs: $(cat "$T/out")"
run node gc --days 0 "$D"
expect_rc 3 "gc while the node runs"
grep -q "in use by its running node" "$T/err" || bad "the refusal does not say why: $(cat "$T/err")"
[ -e "$D/blobs/$A" ] && [ -e "$D/blobs/$B" ] || bad "the refused gc deleted a blob"
# Under the config's rule (none: blob_retention_days = 0), nothing is due.
run node gc --dry-run "$D"
expect_rc 0 "gc --dry-run without a rule"
grep -q "no retention rule" "$T/out" || bad "gc does not say there is no rule: $(cat "$T/out")"

# Stopped: gc deletes (a rule of 0 days: every blob no job names), row before file.
bg_stop "$NODE_PID"
run node gc --days 0 "$D"
expect_rc 0 "gc with the node stopped"
grep -q "^deleted 2 blobs (450000 bytes)" "$T/out" || bad "gc's summary: $(cat "$T/out")"
[ -e "$D/blobs/$A" ] && bad "gc left the file of a deleted blob"
n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from blobs").fetchone()[0])' "$D/state.db")
[ "$n" = 0 ] || bad "gc left $n blob rows"
run node gc --days 0 --bogus "$D"
expect_rc 2 "gc with an unknown option"
run node gc --days -1 "$D"
expect_rc 2 "gc with a negative --days"

# The node starts again on what is left, and the freed quota admits the upload refused before.
rm -f "$D/node.url"
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>>"$T/run.log"
NODE_PID=$BG_PID
wait_file "$D/node.url" "the node restarted" "$T/run.log"
U=$(cat "$D/node.url")
[ "$(curl -s -o /dev/null -w '%{http_code}' "${U}api/v1/blobs/$A")" = 404 ] || bad "a deleted blob is still served"
[ "$(upload "$T/c")" = 201 ] || bad "the upload refused before was refused after gc: $(cat "$T/post")"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "gc: all checks passed"
