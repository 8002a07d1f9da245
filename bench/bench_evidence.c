/* Evidence verification throughput (not a test): quote verifications per second on one core
 * for each Intel sample, collateral already loaded in memory and prepared, at the sample's
 * time; then again with the quote's PCK chain prepared as well ("+pck"). Prints
 * one line per case: "<sample>[+pck] <verifications/s> <tcb status>"; last the SEV-SNP
 * sample milan-1 ("snp/milan-1 <verifications/s> -", rate mode only). Built and run by
 * bench/bench_evidence.sh. Usage: bench_evidence VECTORS_DIR SECONDS (0: count mode, below) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gtee/evidence.h"

/* CPU time of this process, as `openssl speed` measures by default: the rate per core stays
 * comparable on a machine shared with other work. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(1 << 20);

    if (!f || !p) {
        free(p);
        if (f)
            fclose(f);
        return NULL;
    }
    *len = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

/* Signature-count mode (bench_evidence.sh runs it under gdb, which counts the calls of
 * libcrypto's ECDSA_do_verify between count_begin and count_end): the case's label and the
 * number of verifications in between are in these globals. */
const char *volatile bench_label;
volatile int bench_iters;

__attribute__((noinline)) void count_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void count_end(void)
{
    __asm__ volatile("" ::: "memory");
}

/* pck: also prepare the quote's PCK chain (gtee_collateral_prepare_pck). secs 0:
 * signature-count mode, 10 verifications between count_begin and count_end. */
static int bench(const char *vectors, const char *rel, const char *at_s, double secs, bool pck)
{
    char dir[1024], path[1100];
    struct gtee_collateral col;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_err err;
    int64_t at;
    size_t len;
    uint8_t *quote;
    long n = 0;
    double t0, t;

    snprintf(dir, sizeof(dir), "%s/%s", vectors, rel);
    snprintf(path, sizeof(path), "%s/quote.bin", dir);
    quote = slurp(path, &len);
    if (!quote || gtee_collateral_load(dir, &col, &err) != 0 || gtee_time_parse(at_s, &at, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot load %s\n", rel);
        return 1;
    }
    /* Collateral already loaded and prepared: its time-independent checks done once
     * (docs/evidence.md, "Prepared collateral"). */
    if (gtee_collateral_prepare(&col, NULL, &err) != 0 ||
        (pck && gtee_collateral_prepare_pck(&col, quote, len, &err) != 0)) {
        fprintf(stderr, "bench_evidence: %s\n", err.msg);
        return 1;
    }
    gtee_policy_default(&p);
    p.accepted_tcb = ~1u;
    if (secs <= 0) {
        static char label[128];

        snprintf(label, sizeof(label), "%s%s", rel, pck ? "+pck" : "");
        bench_label = label;
        bench_iters = 10;
        if (gtee_evidence_verify(quote, len, &col, NULL, &p, at, &v, &err) != 0)
            return 1;
        count_begin();
        for (int i = 0; i < bench_iters; i++)
            if (gtee_evidence_verify(quote, len, &col, NULL, &p, at, &v, &err) != 0)
                return 1;
        count_end();
        gtee_collateral_free(&col);
        free(quote);
        return 0;
    }
    t0 = now();
    do {
        for (int i = 0; i < 50; i++, n++)
            if (gtee_evidence_verify(quote, len, &col, NULL, &p, at, &v, &err) != 0) {
                fprintf(stderr, "bench_evidence: %s rejected: %s\n", rel, err.msg);
                return 1;
            }
        t = now() - t0;
    } while (t < secs);
    printf("%s%s %.1f %s\n", rel, pck ? "+pck" : "", (double)n / t, gtee_tcb_status_name(v.claims.tcb_status));
    gtee_collateral_free(&col);
    free(quote);
    return 0;
}

/* The SEV-SNP sample milan-1 (VCEK from the collateral, pinned ASK/ARK), debug allowed by
 * the policy as its source requires for acceptance. Line: "snp/milan-1 <verifications/s> -". */
static int bench_snp(const char *vectors, double secs)
{
    char dir[1024], path[1100];
    struct gtee_collateral col;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_err err;
    int64_t at;
    size_t len;
    uint8_t *report;
    long n = 0;
    double t0, t;

    if (secs <= 0)
        return 0; /* the signature-count mode counts the Intel cases only */
    snprintf(dir, sizeof(dir), "%s/snp/milan-1", vectors);
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    report = slurp(path, &len);
    if (!report || gtee_collateral_load(dir, &col, &err) != 0 ||
        gtee_time_parse("2025-07-19T00:00:00Z", &at, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot load snp/milan-1\n");
        free(report);
        return 1;
    }
    gtee_policy_default(&p);
    p.allow_debug = true;
    t0 = now();
    do {
        for (int i = 0; i < 20; i++, n++)
            if (gtee_evidence_verify(report, len, &col, NULL, &p, at, &v, &err) != 0) {
                fprintf(stderr, "bench_evidence: snp/milan-1 rejected: %s\n", err.msg);
                return 1;
            }
        t = now() - t0;
    } while (t < secs);
    printf("snp/milan-1 %.1f -\n", (double)n / t);
    gtee_collateral_free(&col);
    free(report);
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 2 ? atof(argv[2]) : 3.0; /* 0: signature-count mode */

    if (argc < 2) {
        fprintf(stderr, "usage: bench_evidence VECTORS_DIR [SECONDS]\n");
        return 2;
    }
    for (int pck = 0; pck < 2; pck++)
        if (bench(argv[1], "sgx/sgx-1", "2025-07-19T10:01:17Z", secs, pck) != 0 ||
            bench(argv[1], "tdx/tdx-1", "2025-07-19T10:00:34Z", secs, pck) != 0)
            return 1;
    return bench_snp(argv[1], secs);
}
