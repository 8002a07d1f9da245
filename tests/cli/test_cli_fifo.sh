#!/usr/bin/env bash
# Finding: `gtee decrypt` wrote into an existing FIFO or device without --force, so an
# attacker's FIFO received the plaintext, or, with a tampered container, the chunks that
# verified before the failure. Now an existing output that is not a regular file is refused
# at once (exit 3, naming it and what it is) unless --force, and with --force a FIFO gets the
# output only once the whole container verified (docs/cli.md, docs/container.md).
set -euo pipefail

. "$(dirname "$0")/../cli_harness.sh"
cd "$T"
RPID=

# reader FIFO GOT: a reader that holds FIFO open from now (so a writer's open succeeds),
# stores all it receives in GOT, and stops when the file "done" appears and the pipe is
# drained, or after 60 s.
reader() {
    rm -f ready done
    # A script file: a here-document given to bg_start would not reach the background
    # command (its stdin is /dev/null).
    cat >reader.py <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open("ready", "w").close()
data, end = b"", time.time() + 60
while time.time() < end:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = None
    if chunk:
        data += chunk
        continue
    if chunk == b"" and os.path.exists("done"):
        break
    time.sleep(0.01)
open(sys.argv[2], "wb").write(data)
PY
    bg_start /usr/bin/python3 reader.py "$1" "$2"
    RPID=$BG_PID
    for _ in $(seq 200); do [ -e ready ] && return 0; sleep 0.05; done
    bad "the FIFO reader did not start"
}
# finish: tells the reader to stop and waits for it.
finish() {
    : >done
    bg_wait "$RPID" || true
    RPID=
}

run keygen k
head -c 300000 /dev/urandom >plain
run encrypt --key k --chunk-size 4K plain box
expect_rc 0 "encrypt"

# ---- without --force: refused at once, nothing written into the FIFO ----
mkfifo pipe
run_cmd timeout 20 "$GTEE_CLI" decrypt --key k box pipe
expect_rc 3 "decrypt into an existing FIFO without --force"
grep -q "pipe" err && grep -q "FIFO" err || bad "the refusal does not name the file and what it is: $(cat err)"
run_cmd timeout 20 "$GTEE_CLI" encrypt --key k plain pipe
expect_rc 3 "encrypt into an existing FIFO without --force"
[ -p pipe ] || bad "the FIFO was replaced"
run decrypt --key k box /dev/null
expect_rc 3 "decrypt into a character device without --force"
grep -q "character device" err || bad "the refusal does not say character device: $(cat err)"

# ---- --force, tampered container: the FIFO's reader receives nothing ----
cp box tampered
python3 - tampered <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 1     # a chunk in the middle: those before it verify
open(sys.argv[1], "wb").write(b)
PY
reader pipe got
run_cmd timeout 30 "$GTEE_CLI" decrypt --force --key k tampered pipe
finish
expect_rc 4 "decrypt --force of a tampered container into a FIFO"
[ -f got ] && [ ! -s got ] || bad "the FIFO's reader received $(stat -c %s got 2>/dev/null) bytes of a tampered container"

# ---- --force, intact container: the reader gets the whole plaintext ----
reader pipe got
run_cmd timeout 30 "$GTEE_CLI" decrypt --force --key k box pipe
finish
expect_rc 0 "decrypt --force into a FIFO"
cmp -s got plain || bad "the FIFO's reader did not receive the plaintext"
[ -p pipe ] || bad "decrypt --force replaced the FIFO"

# ---- --force with no reader: fails at once instead of blocking ----
run_cmd timeout 20 "$GTEE_CLI" decrypt --force --key k box pipe
expect_rc 3 "decrypt --force into a FIFO nobody reads"
grep -q "no process is reading" err || bad "no-reader message: $(cat err)"

# ---- --force into /dev/null works as before ----
run decrypt --force --key k box /dev/null
expect_rc 0 "decrypt --force into /dev/null"
ls -A | grep -q gtee-tmp && bad "a temporary was left: $(ls -A)"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "decrypt/encrypt FIFO checks passed"
