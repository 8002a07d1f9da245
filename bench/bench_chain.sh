#!/usr/bin/env bash
# Work Proofs and the contracts benchmark (not a test), one run:
#  - gas per Work Proof submitted alone and in a batch of 32, on a real anvil (the pinned npm
#    @foundry-rs/anvil-linux-amd64), through the contract test's own flow
#    (tests/chain/contracts_check.js); goal <= 60,000 gas per proof in batches;
#  - proofs verified per second of CPU time by `gtee proof verify` on one core (a file of a
#    chain of N proofs: parse, signature, signer, hash chain; the process start included),
#    beside secp256k1 public-key recoveries per second on the same core (over 1024 distinct
#    signatures, as a verifier meets them), as a ratio; goal
#    >= 0.8.
# Usage: bench/bench_chain.sh [BUILD_DIR] [N]   (default: build, 10000; a proof file holds at most 16 MiB)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-10000}
CORE=${BENCH_CORE:-0}
NM="$root/npm/node_modules"
ANVIL="$NM/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -f "$build/sdk/libgtee-core.a" ] && [ -x "$build/gtee" ] || { echo "bench_chain: no $build/gtee or sdk/libgtee-core.a (run make first)" >&2; exit 2; }
for tool in taskset node pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "bench_chain: needs $tool" >&2; exit 2; }
done
[ -x "$ANVIL" ] || { echo "bench_chain: npm anvil missing (scripts/install-deps.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
anvil_pid=
trap '[ -n "$anvil_pid" ] && kill "$anvil_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

bin="$tmp/bench_proof"
# The core library's dependencies as its own pkg-config file lists them (Requires), so the
# helper links whatever the library grows to need.
reqs=$(sed -n 's/^Requires: //p' "$build/gtee-core.pc" | sed 's/ *[<>=]=* *[0-9][0-9.]*//g')
[ -n "$reqs" ] || { echo "bench_chain: no Requires in $build/gtee-core.pc" >&2; exit 2; }
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" "$root/bench/bench_proof.c" "$build/sdk/libgtee-core.a" \
    $(pkg-config --libs $reqs) -lpthread -o "$bin"

echo "# gas (anvil $("$ANVIL" --version | head -1 | awk '{print $3}'), contracts by $(node -e "console.log(require('$NM/solc').version())"))"
node "$root/contracts/compile.js" "$tmp/glacier.json"
"$ANVIL" --host 127.0.0.1 --port 0 >"$tmp/anvil.log" 2>&1 &
anvil_pid=$!
for _ in $(seq 300); do grep -q '^Listening on' "$tmp/anvil.log" && break; sleep 0.05; done
port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/anvil.log")
[ -n "$port" ] || { echo "bench_chain: anvil did not start" >&2; exit 1; }
node "$root/tests/chain/contracts_check.js" "http://127.0.0.1:$port" "$tmp/glacier.json" "$tmp/gas.json" >/dev/null
python3 - "$tmp/gas.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
print(f"{'proof alone':28s} {g['proof_alone']:>9,} gas")
print(f"{'batch of 32':28s} {g['batch_of_32']:>9,} gas")
per = g['per_proof_in_batch']
print(f"{'per proof in a batch of 32':28s} {per:>9,} gas   goal <= 60,000: {'met' if per <= 60000 else 'NOT met'}")
PY

echo "# verification, one core (cpu $CORE), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" make "$tmp/proofs.json" "$n"
TIMEFORMAT='%3U %3S'
cpu=$( { time taskset -c "$CORE" "$build/gtee" proof verify "$tmp/proofs.json" >/dev/null 2>"$tmp/verify.err"; } 2>&1 ) ||
    { echo "bench_chain: gtee proof verify failed: $(cat "$tmp/verify.err")" >&2; exit 1; }
rec=$(taskset -c "$CORE" "$bin" recover 3)
python3 - "$n" "$cpu" "$rec" <<'PY'
import sys
n = int(sys.argv[1]); u, s = map(float, sys.argv[2].split()); rec = float(sys.argv[3])
rate = n / (u + s)
print(f"{'gtee proof verify':28s} {rate:>9,.0f} proofs/s ({n} proofs in {u + s:.2f} s CPU)")
print(f"{'secp256k1 recovery':28s} {rec:>9,.0f} /s")
print(f"{'ratio':28s} {rate / rec:>9.2f}      goal >= 0.8: {'met' if rate / rec >= 0.8 else 'NOT met'}")
PY
