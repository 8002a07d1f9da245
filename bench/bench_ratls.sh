#!/usr/bin/env bash
# Attested channel benchmark (not a test), in the simulated TEE over loopback TCP: median
# handshake latency (connect, evidence + binding + policy verification, first byte back) and
# bulk throughput through the host relay, beside a plain OpenSSL TLS 1.3 connection on the
# same machine, as ratios. Goals (issue "Attested channel (RA-TLS) and the Glacier TEE SDK"):
# throughput >= 0.9 of plain TLS; handshake < 5 ms.
#
# Usage: bench/bench_ratls.sh [BUILD_DIR] [HANDSHAKES] [BULK_MIB]   (default: build, 200, 256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-200}
mib=${3:-256}
. "$root/bench/link.sh"
libs=$(bench_link "$build") || exit 2
[ -x "$build/gtee" ] || { echo "bench_ratls: no $build/gtee" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bin="$T/bench_ratls"
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" "$root/bench/bench_ratls.c" $libs -o "$bin"
"$build/gtee" sim init "$T/dev" >/dev/null 2>&1

out=$("$bin" "$T/dev" "$n" "$mib")
get() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
vms=$(get verify_ms); hs_r=$(get handshake_ms_ratls); hs_p=$(get handshake_ms_plain)
bw_r=$(get bulk_mibps_ratls_relay); bw_p=$(get bulk_mibps_plain); bw_pr=$(get bulk_mibps_plain_relay)
echo "# $(uname -m), $(nproc) cpus, load $(cut -d" " -f1-3 /proc/loadavg), $(openssl version | cut -d" " -f1-2), $n handshakes, $mib MiB bulk"
printf '%-34s %12s %12s %8s %10s\n' measure "RA-TLS" "plain TLS" ratio goal
awk -v a="$hs_r" -v b="$hs_p" 'BEGIN { printf "%-34s %10.3f ms %9.3f ms %7.2fx %10s\n", "handshake + first byte (median)", a, b, a / b, "< 5 ms" }'
awk -v a="$vms" 'BEGIN { printf "%-34s %10.3f ms %12s %8s %10s\n", "  of which evidence verification", a, "-", "-", "-" }'
awk -v a="$bw_r" -v b="$bw_p" 'BEGIN { printf "%-34s %8.1f MiB/s %7.1f MiB/s %7.2f %10s\n", "bulk (RA-TLS through the relay)", a, b, a / b, ">= 0.90" }'
awk -v a="$bw_pr" -v b="$bw_p" 'BEGIN { printf "%-34s %8.1f MiB/s %7.1f MiB/s %7.2f %10s\n", "  (plain TLS through the relay)", a, b, a / b, "-" }'
