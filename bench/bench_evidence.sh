#!/usr/bin/env bash
# Evidence verification benchmark (not a test): verifications per second per core for each
# kind of evidence, collateral loaded and prepared: the Intel samples sgx-1 and tdx-1 beside
# the reference verifier @phala/dcap-qvl on the same samples, simulated SGX and TDX quotes,
# and the SEV-SNP sample milan-1; every kind beside `openssl speed` ECDSA P-256 / P-384 and
# RSA-4096 verify on the same core. Every kind has two rows: "warm", the steady state (Intel
# and simulated quotes: the quote's PCK chain in the prepared collateral's PCK chain cache
# since an earlier verification; SEV-SNP: the collateral's VCEK chain prepared), and "cold",
# the first quote of a platform (cache cleared before every call; SEV-SNP: the collateral
# never prepared). Goals (issue "Evidence verification and policy"): >= 10x dcap-qvl's rate; the
# verification logic adds < 25% over the signature checks it performs.
# The signature checks per verification are counted, not assumed: bench_evidence runs once in
# its signature-count mode under gdb (bench/count_sigs.gdb), which counts libcrypto's
# ECDSA_do_verify and RSA_public_decrypt calls over 10 verifications of each case after a
# warm-up one. The signature-only bound of a case is 1 / (ecdsa / ecdsa_rate + rsa /
# rsa4096_rate), with P-256's rate for Intel and simulated quotes and P-384's for SEV-SNP.
#
# Usage: bench/bench_evidence.sh [BUILD_DIR] [SECONDS]   (default: build, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-3}
CORE=${BENCH_CORE:-0}
. "$root/bench/link.sh"
libs=$(bench_link "$build") || exit 2
for tool in taskset openssl node pkg-config cc gdb; do
    command -v "$tool" >/dev/null || { echo "bench_evidence: needs $tool" >&2; exit 2; }
done

. "$root/tests/vectors.sh"
need_vectors
bin="$build/bench_evidence"
cc -O2 -g -std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src" "$root/bench/bench_evidence.c" $libs -o "$bin"

# "<case> <ecdsa checks> <rsa checks> <verifications>" per case
counts=$(gdb -q -batch -x "$root/bench/count_sigs.gdb" --args "$bin" "$VECTORS" 0 2>/dev/null |
         awk 'NF == 4 && $1 ~ /^(sgx|tdx|sim|snp)\// {print}')
[ -n "$counts" ] || { echo "bench_evidence: signature count under gdb failed" >&2; exit 2; }

echo "# one core (cpu $CORE), $secs s of process CPU time per measurement (as openssl speed counts)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$(taskset -c "$CORE" "$bin" "$VECTORS" "$secs")
ref=$(taskset -c "$CORE" node "$root/bench/bench_dcap_qvl.js" "$root" "$secs")
speed=$(taskset -c "$CORE" openssl speed -seconds "$secs" ecdsap256 ecdsap384 rsa4096 2>/dev/null)
p256=$(awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' <<<"$speed")
p384=$(awk '/384 bits ecdsa \(nistp384\)/ {print $NF}' <<<"$speed")
rsa4096=$(awk '/^rsa 4096 bits/ {print $NF}' <<<"$speed")

printf '%-18s %12s %11s %7s %12s %16s %9s  %s\n' case "gtee verif/s" "dcap-qvl /s" ratio "sigs/verif" \
    "sig-only bound/s" overhead goals
while read -r s rate status; do
    base=${s%/warm}; base=${base%/cold}
    r=$(awk -v s="$base" '$1 == s {print $2}' <<<"$ref")
    read -r ne nr n < <(awk -v s="$s" '$1 == s {print $2, $3, $4}' <<<"$counts")
    awk -v s="$s" -v a="$rate" -v b="${r:-0}" -v e="$p256" -v e384="$p384" -v rsa="$rsa4096" \
        -v ne="$ne" -v nr="$nr" -v n="$n" -v st="$status" 'BEGIN {
        snp = (s ~ /^snp\//); erate = snp ? e384 : e;
        ke = ne / n; kr = nr / n;
        bound = 1 / (ke / erate + kr / rsa); over = (bound / a - 1) * 100;
        sigs = snp ? sprintf("%gxP384+%gxRSA", ke, kr) : sprintf("%gxP256", ke);
        if (b > 0) {
            ratio = sprintf("%6.1fx", a / b);
            goal = (a / b >= 10 ? "ratio PASS" : "ratio MISS") ", " (over < 25 ? "overhead PASS" : "overhead MISS");
        } else {
            ratio = "-";
            goal = (over < 25 ? "overhead PASS" : "overhead MISS") " (no reference verifier)";
        }
        qvl = (b > 0) ? sprintf("%.1f", b) : "-";
        printf "%-18s %12.1f %11s %7s %12s %16.1f %8.1f%%  %s  (%s)\n", s, a, qvl,
               ratio, sigs, bound, over, goal, st }'
done <<<"$ours"
echo "openssl speed verify/s: ecdsap256 $p256, ecdsap384 $p384, rsa4096 $rsa4096"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "goals: ratio >= 10x dcap-qvl; overhead (time beyond the counted signature checks at openssl speed's rates) < 25%"
echo "every row: collateral prepared (gtee_collateral_prepare): its chains, CRLs and signed documents verified"
echo "      once except for the validity windows, which every call checks"
echo "warm: the quote's PCK chain found in the PCK chain cache (filled by the first verification): its windows"
echo "      checked; the QE report and quote signatures checked on every call"
echo "cold: the cache cleared before every call: the PCK chain parsed and verified in full (X509_verify_cert"
echo "      with the CRLs), as for the first quote of a platform"
echo "snp: warm: VCEK parsed and its chain verified once (gtee_collateral_prepare), windows checked per call;"
echo "      cold: collateral not prepared, VCEK parsed and VCEK -> ASK -> ARK verified on every call"
