#!/usr/bin/env bash
# GPU evidence benchmark (not a test): NVIDIA GPU reports verified per second on one core,
# warm (the h100-1 production RIMs and the chains prepared once), beside the raw ECDSA P-384
# verification rate of `openssl speed` on the same core, as a ratio. A warm verification makes
# one signature check (the report's P-384 signature); the goal (issue "NVIDIA Confidential
# Computing") is a rate within 1.25 times the cost of that check.
# Usage: bench/bench_gpu.sh [BUILD_DIR] [SECONDS]   (default: build, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-3}
CORE=${BENCH_CORE:-0}
. "$root/bench/link.sh"
libs=$(bench_link "$build") || exit 2
for tool in taskset openssl pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "bench_gpu: needs $tool" >&2; exit 2; }
done
. "$root/tests/vectors.sh"
need_vectors
bin="$build/bench_gpu"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" "$root/bench/bench_gpu.c" $libs -o "$bin"

echo "# one core (cpu $CORE), $secs s of process CPU time per measurement (as openssl speed counts)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r n t < <(taskset -c "$CORE" "$bin" "$VECTORS" "$secs")
speed=$(taskset -c "$CORE" openssl speed -seconds "$secs" ecdsap384 2>/dev/null)
p384=$(awk '/384 bits ecdsa \(nistp384\)/ {print $NF}' <<<"$speed")
awk -v n="$n" -v t="$t" -v p="$p384" 'BEGIN {
    rate = n / t;
    printf "%-24s %14s %18s %10s  %s\n", "case", "gpu verif/s", "p384 verify/s", "ratio", "goal"
    # ratio: the time of one verification over the time of its one P-384 check
    ratio = p / rate;
    printf "%-24s %14.1f %18.1f %9.2fx  %s\n", "h100-1 warm (1 sig)", rate, p, ratio,
           ratio <= 1.25 ? "met (<= 1.25x)" : "NOT met (> 1.25x)"
}'
