#!/usr/bin/env bash
# Evidence verification benchmark (not a test): quote verifications per second per core for
# each Intel sample (collateral loaded and prepared), beside the reference verifier
# @phala/dcap-qvl on the same samples and `openssl speed` ECDSA P-256/P-384 verify on the same
# core. Goals (issue "Evidence verification and policy"): >= 10x dcap-qvl's rate; the
# verification logic adds < 25% over the signature checks it performs.
# The signature checks per quote are counted, not assumed: bench_evidence runs once in its
# signature-count mode under gdb (bench/count_sigs.gdb), which counts libcrypto's
# ECDSA_do_verify calls (every ECDSA verification: certificates, CRLs, collateral, QE report,
# quote) over 10 verifications of each case after a warm-up one.
# Last, the SEV-SNP sample milan-1 (no reference verifier), beside its raw checks: one ECDSA
# P-384 verification and two RSA-PSS 4096 ones (openssl speed ecdsap384, rsa4096).
#
# Usage: bench/bench_evidence.sh [BUILD_DIR] [SECONDS]   (default: build, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-3}
CORE=${BENCH_CORE:-0}
[ -f "$build/libgtee.a" ] || { echo "bench_evidence: no $build/libgtee.a (run make first)" >&2; exit 2; }
for tool in taskset openssl node pkg-config cc gdb; do
    command -v "$tool" >/dev/null || { echo "bench_evidence: needs $tool" >&2; exit 2; }
done

bin="$build/bench_evidence"
cc -O2 -g -std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src" "$root/bench/bench_evidence.c" "$build/libgtee.a" \
    $(pkg-config --libs libssl libcrypto jansson libsecp256k1) -o "$bin"

# "<case> <signature checks> <verifications>" per case
counts=$(gdb -q -batch -x "$root/bench/count_sigs.gdb" --args "$bin" "$root/../shared/vectors" 0 2>/dev/null |
         awk 'NF == 3 && $1 ~ /^(sgx|tdx)\// {print}')
[ -n "$counts" ] || { echo "bench_evidence: signature count under gdb failed" >&2; exit 2; }

echo "# one core (cpu $CORE), $secs s of process CPU time per measurement (as openssl speed counts)"
ours=$(taskset -c "$CORE" "$bin" "$root/../shared/vectors" "$secs")
ref=$(taskset -c "$CORE" node "$root/bench/bench_dcap_qvl.js" "$root" "$secs")
speed=$(taskset -c "$CORE" openssl speed -seconds "$secs" ecdsap256 ecdsap384 rsa4096 2>/dev/null)
p256=$(awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' <<<"$speed")
p384=$(awk '/384 bits ecdsa \(nistp384\)/ {print $NF}' <<<"$speed")
rsa4096=$(awk '/^rsa 4096 bits/ {print $NF}' <<<"$speed")

printf '%-14s %12s %11s %7s %10s %16s %9s\n' sample "gtee verif/s" "dcap-qvl /s" ratio "sigs/quote" "sig-only bound/s" overhead
while read -r s rate status; do
    if [ "${s#snp/}" != "$s" ]; then
        # SEV-SNP: no reference verifier; its raw checks are one ECDSA P-384 verification
        # (the report) and two RSA-PSS 4096 ones (VCEK by ASK, ASK by ARK).
        awk -v s="$s" -v a="$rate" -v e="$p384" -v r="$rsa4096" 'BEGIN {
            bound = 1 / (1 / e + 2 / r); over = (bound / a - 1) * 100;
            printf "%-14s %12.1f %11s %7s %10s %16.1f %8.1f%%  (P-384 + 2 RSA-4096)\n", s, a, "-", "-", "1+2", bound, over }'
        continue
    fi
    r=$(awk -v s="${s%+pck}" '$1 == s {print $2}' <<<"$ref")
    k=$(awk -v s="$s" '$1 == s {print $2 / $3}' <<<"$counts")
    awk -v s="$s" -v a="$rate" -v b="$r" -v v="$p256" -v k="$k" -v st="$status" 'BEGIN {
        bound = v / k; over = (bound / a - 1) * 100;
        printf "%-14s %12.1f %11.1f %6.1fx %10g %16.1f %8.1f%%  %s %s\n", s, a, b, a / b, k, bound, over,
               (a / b >= 10 && over < 25) ? "PASS" : "MISS", "(" st ")" }'
done <<<"$ours"
echo "openssl speed verify/s: ecdsap256 $p256, ecdsap384 $p384, rsa4096 $rsa4096"
echo "goals: ratio >= 10x; overhead (time beyond the counted P-256 verifications at openssl speed's rate) < 25%"
echo "all rows: collateral prepared (gtee_collateral_prepare): its chains, CRLs and signed documents"
echo "      verified once except for the validity windows, which every call checks; the quote's PCK"
echo "      chain verified in full (X509_verify_cert with the CRLs) on every call"
echo "+pck: the quote's PCK chain prepared as well (gtee_collateral_prepare_pck): only the windows"
echo "      are checked per call; the QE report and quote signatures are checked on every call"
