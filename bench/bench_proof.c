/* Work Proof benchmark helper (bench/bench_chain.sh runs it; not a test).
 *   bench_proof make FILE N      writes a chain of N proofs of one enclave, signed
 *   bench_proof recover SECONDS  prints secp256k1 public-key recoveries per second of CPU time,
 *                                over 1024 distinct signatures
 * Built against the installed-style core library (build/sdk/libgtee-core.a), public API only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/proof.h"

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make(const char *path, unsigned long n)
{
    uint8_t key[32], pub[65], prev[32] = {0};
    struct gtee_err err = {0};
    struct gtee_proof p;
    size_t cap = n * 1200 + 16, len = 0;
    char *out = malloc(cap);

    if (!out || gtee_secp256k1_keypair(key, pub) != 0 || gtee_eth_address(pub, p.enclave_id) != 0)
        return 1;
    out[len++] = '[';
    for (unsigned long i = 0; i < n; i++) {
        uint8_t id[20];
        char *js = NULL;

        memcpy(id, p.enclave_id, 20);
        memset(&p, 0, sizeof(p));
        memcpy(p.enclave_id, id, 20);
        p.domain.chain_id = 31337;
        memset(p.domain.contract, 0xc0, 20);
        memset(p.job_id, (int)(i & 0xff), 32);
        p.job_kind = GTEE_JOB_INFERENCE;
        memset(p.model_cid, 2, 32);
        memset(p.input_cid, 3, 32);
        memset(p.output_cid, 4, 32);
        p.units = 1000 + i;
        p.start_time = 1780000000 + i;
        p.end_time = p.start_time + 5;
        p.seq = i + 1;
        memcpy(p.prev_hash, prev, 32);
        memset(p.evidence_hash, 6, 32);
        if (gtee_proof_sign_key(&p, key, &err) != 0 || gtee_proof_encode(&p, &js, &err) != 0) {
            fprintf(stderr, "bench_proof: %s\n", err.msg);
            return 1;
        }
        gtee_proof_hash(&p, prev);
        if (len + strlen(js) + 2 > cap)
            return 1;
        if (i)
            out[len++] = ',';
        memcpy(out + len, js, strlen(js));
        len += strlen(js);
        free(js);
    }
    out[len++] = ']';
    gtee_wipe(key, sizeof(key));
    if (gtee_file_write(path, out, len, 0644, GTEE_FILE_REPLACE, &err) != 0) {
        fprintf(stderr, "bench_proof: %s\n", err.msg);
        return 1;
    }
    free(out);
    return 0;
}

/* Recoveries per CPU second over 1024 distinct signatures (of distinct digests), cycled:
 * a verifier meets a new signature with each proof, and one signature recovered over and
 * over lets the CPU learn its branches (its wNAF digits), about 5 % faster here, which
 * would flatter the baseline the ratio divides by. */
#define RECOVER_SIGS 1024
static int recover_rate(double secs)
{
    static uint8_t digest[RECOVER_SIGS][32], sig[RECOVER_SIGS][65];
    uint8_t key[32], pub[65], got[65];
    unsigned long n = 0;
    double t0;

    if (gtee_secp256k1_keypair(key, pub) != 0)
        return 1;
    for (int i = 0; i < RECOVER_SIGS; i++)
        if (gtee_random(digest[i], 32) != 0 || gtee_secp256k1_sign(key, digest[i], sig[i]) != 0)
            return 1;
    t0 = cpu_now();
    do {
        for (int i = 0; i < 100; i++, n++)
            if (gtee_secp256k1_recover(digest[n % RECOVER_SIGS], sig[n % RECOVER_SIGS], got) != 0)
                return 1;
    } while (cpu_now() - t0 < secs);
    printf("%.0f\n", (double)n / (cpu_now() - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "make"))
        return make(argv[2], strtoul(argv[3], NULL, 10));
    if (argc == 3 && !strcmp(argv[1], "recover"))
        return recover_rate(atof(argv[2]));
    fprintf(stderr, "usage: bench_proof make FILE N | bench_proof recover SECONDS\n");
    return 2;
}
