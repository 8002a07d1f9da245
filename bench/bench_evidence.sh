#!/usr/bin/env bash
# Evidence verification benchmark (not a test): quote verifications per second per core for
# each Intel sample (collateral loaded), beside the reference verifier @phala/dcap-qvl on the
# same samples and `openssl speed` ECDSA P-256/P-384 verify on the same core.
# Goals (issue "Evidence verification and policy"): >= 10x dcap-qvl's rate; the verification
# logic adds < 25% over its signature checks (15 ECDSA P-256 verifications per quote, as
# counted in a run: PCK leaf and CA certificates, the PCK CRL, the root CRL for the CA and
# for the root itself (CRL_CHECK_ALL); for each collateral chain the TCB signing certificate
# and the root CRL twice; TCB info; QE identity; QE report; quote). Last, the SEV-SNP sample
# milan-1 (no reference verifier), beside its raw checks: one ECDSA P-384 verification and
# two RSA-PSS 4096 ones (openssl speed ecdsap384, rsa4096).
#
# Usage: bench/bench_evidence.sh [BUILD_DIR] [SECONDS]   (default: build, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-3}
CORE=${BENCH_CORE:-0}
SIGS_PER_QUOTE=15
[ -f "$build/libgtee.a" ] || { echo "bench_evidence: no $build/libgtee.a (run make first)" >&2; exit 2; }
for tool in taskset openssl node pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "bench_evidence: needs $tool" >&2; exit 2; }
done

bin="$build/bench_evidence"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/include" -I"$root/src" "$root/bench/bench_evidence.c" "$build/libgtee.a" \
    $(pkg-config --libs libssl libcrypto jansson libsecp256k1) -o "$bin"

echo "# one core (cpu $CORE), $secs s of process CPU time per measurement (as openssl speed counts)"
ours=$(taskset -c "$CORE" "$bin" "$root/../shared/vectors" "$secs")
ref=$(taskset -c "$CORE" node "$root/bench/bench_dcap_qvl.js" "$root" "$secs")
speed=$(taskset -c "$CORE" openssl speed -seconds "$secs" ecdsap256 ecdsap384 rsa4096 2>/dev/null)
p256=$(awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' <<<"$speed")
p384=$(awk '/384 bits ecdsa \(nistp384\)/ {print $NF}' <<<"$speed")
rsa4096=$(awk '/^rsa 4096 bits/ {print $NF}' <<<"$speed")

printf '%-14s %14s %14s %8s %16s %10s\n' sample "gtee verif/s" "dcap-qvl /s" ratio "sig-only bound/s" overhead
while read -r s rate status; do
    if [ "${s#snp/}" != "$s" ]; then
        # SEV-SNP: no reference verifier; its raw checks are one ECDSA P-384 verification
        # (the report) and two RSA-PSS 4096 ones (VCEK by ASK, ASK by ARK).
        awk -v s="$s" -v a="$rate" -v e="$p384" -v r="$rsa4096" 'BEGIN {
            bound = 1 / (1 / e + 2 / r); over = (bound / a - 1) * 100;
            printf "%-14s %14.1f %14s %8s %16.1f %9.1f%%  (P-384 + 2 RSA-4096)\n", s, a, "-", "-", bound, over }'
        continue
    fi
    r=$(awk -v s="${s%+pck}" '$1 == s {print $2}' <<<"$ref")
    awk -v s="$s" -v a="$rate" -v b="$r" -v v="$p256" -v k="$SIGS_PER_QUOTE" -v st="$status" 'BEGIN {
        bound = v / k; over = (bound / a - 1) * 100;
        printf "%-14s %14.1f %14.1f %7.1fx %16.1f %9.1f%%  (%s)\n", s, a, b, a / b, bound, over, st }'
done <<<"$ours"
echo "openssl speed verify/s: ecdsap256 $p256, ecdsap384 $p384, rsa4096 $rsa4096"
echo "goals: ratio >= 10x; overhead (time beyond $SIGS_PER_QUOTE P-256 verifications) < 25%"
echo "+pck: the quote's PCK certificates also kept parsed (gtee_collateral_prepare_pck); every"
echo "      signature, chain, CRL and validity check still runs on every verification"
