#!/usr/bin/env bash
# The node's status page at "/" in a real headless browser (Debian's chromium, its own
# headless mode with --dump-dom after the page's script ran): what a person sees is the
# SIMULATED banner, the Enclave ID and measurement the API reports, the evidence verdict, a
# job with its progress, and recent errors; after the job moves on, a reload shows the new
# progress. The page holds no key material. Skips (77) where chromium is not installed.
set -euo pipefail
NEED_ENCLAVE=1
. "$(dirname "$0")/../cli_harness.sh"
BROWSER=$(command -v chromium || command -v chromium-browser || true)
[ -n "$BROWSER" ] || { echo "chromium is not installed (scripts/debian-packages, test:): skipped"; exit 77; }

D=$T/node
"$GTEE_CLI" node init --tee sim --listen 127.0.0.1:0 "$D" >/dev/null 2>&1
bg_start "$GTEE_CLI" node run --enclave "$GTEE_ENCLAVE" "$D" >"$T/run.out" 2>"$T/run.log"
wait_file "$D/node.url" "the node" "$T/run.log"
U=$(cat "$D/node.url")
for _ in $(seq 200); do curl -sf "${U}healthz" >/dev/null && break; sleep 0.05; done

# A job as the enclave runtime records it (stage, epoch, percent), and an error event.
JOB=$(printf 'c%.0s' $(seq 64))
job() {
    python3 - "$D/state.db" "$JOB" "$1" "$2" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time())
db.execute("INSERT INTO jobs(id, kind, state, stage, epoch, epochs, percent, created, updated) "
           "VALUES(?, 'train', 'running', 'training', ?, 5, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
           "epoch = excluded.epoch, percent = excluded.percent, updated = excluded.updated",
           (sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), now, now))
db.commit()
PY
}
job 1 20
EPID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["pid"])')
ENCLAVE_ID=$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["enclave_id"])')

# look NAME: the page as the browser shows it once its script ran, as text per element.
look() {
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/chrome" \
        --virtual-time-budget=5000 --dump-dom "$U" >"$T/$1.html" 2>"$T/$1.browser.log" ||
        { bad "chromium failed on the page: $(tail -3 "$T/$1.browser.log")"; exit 1; }
    python3 - "$T/$1.html" >"$T/$1.txt" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.hidden = 0; s.stack = []; s.out = []
    def handle_starttag(s, tag, attrs):
        a = dict(attrs)
        hide = tag in ("script", "style") or "display: none" in (a.get("style") or "") or \
               (a.get("id") == "sim" and "display: block" not in (a.get("style") or ""))
        s.stack.append((tag, hide)); s.hidden += hide
        if tag in ("tr", "li", "p", "h1", "h2", "div"): s.out.append("\n")
    def handle_endtag(s, tag):
        while s.stack:
            t, h = s.stack.pop(); s.hidden -= h
            if t == tag: break
    def handle_data(s, d):
        if not s.hidden: s.out.append(d + " ")
p = P(); p.feed(open(sys.argv[1]).read()); print("".join(p.out))
PY
}
look first
T1=$T/first.txt
grep -q "SIMULATED TEE: NOT SECURE" "$T1" || bad "the page shows no SIMULATED banner: $(head -c 400 "$T1")"
grep -q "Enclave ID $ENCLAVE_ID" "$T1" || bad "the page does not show Enclave ID $ENCLAVE_ID"
grep -q "TEE sim (SIMULATED)" "$T1" || bad "the page does not show the TEE as simulated"
grep -q "Measurement [0-9a-f]\{64\}" "$T1" || bad "the page shows no measurement"
grep -q "^accepted (SIMULATED): SIMULATED evidence, accepted only because" "$T1" || bad "the page shows no evidence verdict: $(grep -A1 Evidence "$T1")"
grep -q "${JOB:0:16} train running training 1/5 *20.0%" "$T1" || bad "the page does not show the job at 20%: $(grep -A3 Jobs "$T1")"
grep -q "^none" "$T1" || bad "the page shows errors where there are none"
grep -qi "operator.key\|gtee-operator-key\|private" "$T/first.html" && bad "the page holds key material"

# The job moves on and the enclave dies: a reload shows both.
job 3 60
kill -KILL "$EPID"
for _ in $(seq 200); do
    [ "$(curl -s "${U}api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["enclave"]["restarts"])')" = 1 ] && break
    sleep 0.05
done
job 4 80
look second
T2=$T/second.txt
grep -q "${JOB:0:16} train failed (the enclave ended while the job ran; submit it again) training 1/5\|${JOB:0:16} train failed" "$T2" ||
    bad "the page does not show the job failed with the enclave: $(grep -A3 Jobs "$T2")"
grep -q "4/5 *80.0%" "$T2" || bad "the reload does not show the job's new progress (epoch 4, 80%): $(grep -A3 Jobs "$T2")"
grep -q "killed by signal 9" "$T2" || bad "the page does not show the enclave's death among recent errors"
grep -q "restarted 1 times" "$T2" || bad "the page does not show the restart"

[ "$fail" -eq 0 ] || { echo "$fail failure(s)" >&2; exit 1; }
echo "status page: all checks passed"
