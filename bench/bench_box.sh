#!/usr/bin/env bash
# Sealed-container throughput and memory benchmark (not a test): seals and opens a random
# file on tmpfs with `gtee`, one core each, and compares with `openssl speed` AES-256-GCM
# on the same core. Goals (docs/performance.md): ratio >= 0.85 both ways, peak RSS < 16 MiB.
#
# Usage: bench/bench_box.sh [--json] [GTEE] [SIZE_MIB]
#   GTEE      path of the gtee binary (default: $GTEE_CLI, else build/gtee)
#   SIZE_MIB  size of the test file in MiB (default 1024)
set -euo pipefail

json=0
size_mib=1024
gtee=${GTEE_CLI:-build/gtee}
for a in "$@"; do
    case "$a" in
    --json) json=1 ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *[!0-9]*) gtee=$a ;;
    *) size_mib=$a ;;
    esac
done
[ -x "$gtee" ] || { echo "bench_box: no gtee binary at '$gtee' (run make first)" >&2; exit 2; }
[ "$size_mib" -ge 1 ] || { echo "bench_box: size must be at least 1 MiB" >&2; exit 2; }
for tool in taskset openssl python3; do
    command -v "$tool" >/dev/null || { echo "bench_box: needs $tool" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench_box: needs GNU time at /usr/bin/time" >&2; exit 2; }

CORE=${BENCH_CORE:-0}
RATIO_GOAL=0.85
RSS_GOAL_KIB=$((16 * 1024))

if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    dir=$(mktemp -d /dev/shm/gtee-bench.XXXXXX)
else
    dir=$(mktemp -d)
    echo "bench_box: /dev/shm not available; using $dir (disk speed may dominate)" >&2
fi
trap 'rm -rf "$dir"' EXIT
note() { [ "$json" -eq 1 ] || echo "$@" >&2; }

"$gtee" keygen "$dir/key" >/dev/null
note "bench_box: writing ${size_mib} MiB of random data to $dir"
head -c $((size_mib << 20)) /dev/urandom >"$dir/plain"
want=$(sha256sum "$dir/plain" | cut -d' ' -f1)
bytes=$((size_mib << 20))

# measure NAME CMD...: runs CMD on one core under GNU time; sets secs and rss_kib.
# %e has 10 ms resolution, so secs comes from bash's microsecond clock around the same
# run (it includes starting time and taskset, a millisecond or two); %e is shown beside.
measure() {
    local name=$1 t0 t1 e
    shift
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%e %M' -o "$dir/time" taskset -c "$CORE" "$@" >/dev/null
    t1=$EPOCHREALTIME
    read -r e rss_kib <"$dir/time"
    secs=$(python3 -c 'import sys; print("%.6f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
    note "bench_box: $name: ${secs}s (time %e: ${e}s), peak RSS ${rss_kib} KiB"
}

measure encrypt "$gtee" encrypt --no-progress --key "$dir/key" "$dir/plain" "$dir/sealed"
enc_s=$secs enc_rss=$rss_kib
rm -f "$dir/plain" # keep tmpfs use at two copies
measure decrypt "$gtee" decrypt --no-progress --key "$dir/key" "$dir/sealed" "$dir/opened"
dec_s=$secs dec_rss=$rss_kib
got=$(sha256sum "$dir/opened" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "bench_box: decrypted data differs from the input" >&2; exit 1; }

note "bench_box: openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 on core $CORE"
# -mr prints "+F:<n>:AES-256-GCM:<bytes per second>" for the one block size asked.
ossl_bps=$(taskset -c "$CORE" openssl speed -mr -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null |
    awk -F: '/^\+F:/ { print $4 }' | tail -n1)
[ -n "$ossl_bps" ] || { echo "bench_box: could not parse openssl speed output" >&2; exit 1; }

python3 - "$json" "$size_mib" "$bytes" "$enc_s" "$enc_rss" "$dec_s" "$dec_rss" "$ossl_bps" \
    "$RATIO_GOAL" "$RSS_GOAL_KIB" "$(openssl version)" "$("$gtee" --version)" <<'EOF'
import json, sys
(js, mib, n, es, er, ds, dr, obps, goal, rss_goal, ossl_v, gtee_v) = sys.argv[1:]
n, es, ds, er, dr, rss_goal = int(n), float(es), float(ds), int(er), int(dr), int(rss_goal)
goal = float(goal)
ossl = float(obps) / 1e6
enc = n / 1e6 / es if es > 0 else 0.0
dec = n / 1e6 / ds if ds > 0 else 0.0
rss = max(er, dr)
verdict = lambda ok: "PASS" if ok else "MISS"
res = {
    "size_mib": int(mib), "gtee": gtee_v, "openssl": ossl_v,
    "encrypt_mb_s": round(enc, 1), "decrypt_mb_s": round(dec, 1),
    "openssl_aes_256_gcm_16k_mb_s": round(ossl, 1),
    "encrypt_ratio": round(enc / ossl, 3), "decrypt_ratio": round(dec / ossl, 3),
    "encrypt_seconds": es, "decrypt_seconds": ds,
    "peak_rss_kib": rss, "encrypt_rss_kib": er, "decrypt_rss_kib": dr,
    "ratio_goal": goal, "rss_goal_kib": rss_goal,
    "encrypt_ratio_verdict": verdict(enc / ossl >= goal),
    "decrypt_ratio_verdict": verdict(dec / ossl >= goal),
    "rss_verdict": verdict(rss < rss_goal),
}
if js == "1":
    print(json.dumps(res))
    sys.exit(0)
print(f"sealed container, {mib} MiB on tmpfs, one core, aes-256-gcm, 64 KiB chunks")
print(f"  {gtee_v}; {ossl_v}")
print(f"  {'measure':<34}{'value':>12}  {'goal':>10}  verdict")
print(f"  {'gtee encrypt (MB/s)':<34}{enc:>12.1f}")
print(f"  {'gtee decrypt (MB/s)':<34}{dec:>12.1f}")
print(f"  {'openssl speed aes-256-gcm 16 KiB':<34}{ossl:>12.1f}")
print(f"  {'encrypt / openssl':<34}{enc / ossl:>12.3f}  {'>= ' + str(goal):>10}  {res['encrypt_ratio_verdict']}")
print(f"  {'decrypt / openssl':<34}{dec / ossl:>12.3f}  {'>= ' + str(goal):>10}  {res['decrypt_ratio_verdict']}")
print(f"  {'peak RSS (KiB)':<34}{rss:>12d}  {'< ' + str(rss_goal):>10}  {res['rss_verdict']}")
EOF
