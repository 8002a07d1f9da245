/* Evidence verification throughput (not a test): verifications per second on one core for
 * each kind of evidence, collateral already loaded in memory and prepared
 * (gtee_collateral_prepare), at the sample's time. Cases: the Intel samples sgx-1 and
 * tdx-1, a simulated SGX quote and a simulated TDX quote (a fresh `gtee sim` device in a
 * temporary directory), each twice: "warm" (the steady state: the quote's PCK chain in the
 * PCK chain cache since an earlier verification) and "cold" (the cache cleared before every
 * call: the first quote of a platform); then the SEV-SNP sample milan-1, warm (collateral
 * prepared) and cold (never prepared). Prints one line per case: "<case> <verifications/s>
 * <tcb status or ->". Built and run by
 * bench/bench_evidence.sh. Usage: bench_evidence VECTORS_DIR SECONDS (0: count mode, below) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gtee/evidence.h"
#include "gtee/sim.h"

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
 * libcrypto's ECDSA_do_verify and RSA_public_decrypt between count_begin and count_end): the
 * case's label and the number of verifications in between are in these globals. */
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

/* One case: evidence, its collateral (prepared), anchors, policy and time. */
struct bcase {
    const char *label;
    uint8_t *ev;
    size_t len;
    struct gtee_collateral col;
    struct gtee_anchors anchors;
    uint8_t *sim_root;
    struct gtee_policy p;
    int64_t at;
    char dir[1024]; /* SEV-SNP: the collateral directory, reloaded unprepared for "cold" */
};

static int verify_once(struct bcase *c, bool cold, struct gtee_verdict *v)
{
    struct gtee_err err = {0};

    if (cold)
        gtee_collateral_pck_clear(&c->col);
    if (gtee_evidence_verify(c->ev, c->len, &c->col, &c->anchors, &c->p, c->at, v, &err) != 0) {
        fprintf(stderr, "bench_evidence: %s rejected: %s\n", c->label, err.msg);
        return 1;
    }
    return 0;
}

/* secs 0: signature-count mode, 10 verifications between count_begin and count_end after a
 * warm-up one. */
static int run(struct bcase *c, bool cold, double secs)
{
    struct gtee_verdict v;
    char label[128];
    long n = 0;
    double t0, t;

    snprintf(label, sizeof(label), "%s%s", c->label, cold ? "/cold" : "/warm");
    if (verify_once(c, cold, &v) != 0) /* warm: fills the PCK chain cache */
        return 1;
    if (secs <= 0) {
        static char keep[128];

        memcpy(keep, label, sizeof(keep));
        bench_label = keep;
        bench_iters = 10;
        count_begin();
        for (int i = 0; i < bench_iters; i++)
            if (verify_once(c, cold, &v) != 0)
                return 1;
        count_end();
        return 0;
    }
    t0 = now();
    do {
        for (int i = 0; i < 20; i++, n++)
            if (verify_once(c, cold, &v) != 0)
                return 1;
        t = now() - t0;
    } while (t < secs);
    printf("%s %.1f %s\n", label, (double)n / t,
           v.claims.tcb_status != GTEE_TCB_NONE ? gtee_tcb_status_name(v.claims.tcb_status) : "-");
    return 0;
}

static void case_free(struct bcase *c)
{
    gtee_collateral_free(&c->col);
    free(c->ev);
    free(c->sim_root);
}

/* An Intel sample of tests/vectors at its time; every TCB status accepted (the bench
 * measures verification, not a policy). */
static int load_intel(struct bcase *c, const char *vectors, const char *rel, const char *at_s)
{
    char dir[1024], path[1100];
    struct gtee_err err = {0};

    memset(c, 0, sizeof(*c));
    c->label = rel;
    snprintf(dir, sizeof(dir), "%s/%s", vectors, rel);
    snprintf(path, sizeof(path), "%s/quote.bin", dir);
    c->ev = slurp(path, &c->len);
    if (!c->ev || gtee_collateral_load(dir, &c->col, &err) != 0 || gtee_time_parse(at_s, &c->at, &err) != 0 ||
        gtee_collateral_prepare(&c->col, NULL, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot load %s: %s\n", rel, err.msg);
        return 1;
    }
    gtee_policy_default(&c->p);
    c->p.accepted_tcb = ~1u;
    return 0;
}

/* A quote of a fresh simulated device (version 3: SGX, 4: TDX), its collateral and root. */
static int load_sim(struct bcase *c, const char *dev, int version)
{
    static const struct gtee_sim_identity id = { .isv_prod_id = 1, .isv_svn = 1 };
    uint8_t rd[GTEE_SIM_REPORT_DATA_LEN] = { 0x42 };
    char dir[1024], path[1100];
    struct gtee_sim *sim = NULL;
    struct gtee_err err = {0};
    size_t n = 0;

    memset(c, 0, sizeof(*c));
    c->label = version == GTEE_SIM_QUOTE_SGX ? "sim/sgx" : "sim/tdx";
    snprintf(dir, sizeof(dir), "%s/%s", dev, version == GTEE_SIM_QUOTE_SGX ? GTEE_SIM_SGX_COLLATERAL_DIR
                                                                               : GTEE_SIM_TDX_COLLATERAL_DIR);
    snprintf(path, sizeof(path), "%s/%s", dev, GTEE_SIM_ROOT_CA_FILE);
    if (gtee_sim_open(dev, &sim, &err) != 0 || gtee_sim_quote(sim, version, &id, rd, &c->ev, &c->len, &err) != 0 ||
        (c->sim_root = slurp(path, &n)) == NULL || gtee_collateral_load(dir, &c->col, &err) != 0) {
        fprintf(stderr, "bench_evidence: simulated device: %s\n", err.msg);
        gtee_sim_close(sim);
        return 1;
    }
    gtee_sim_close(sim);
    c->anchors.sim_root_der = c->sim_root;
    c->anchors.sim_root_len = n;
    if (gtee_collateral_prepare(&c->col, &c->anchors, &err) != 0)
        return 1;
    gtee_policy_default(&c->p);
    c->p.allow_simulation = true;
    c->p.accepted_tcb = ~1u;
    /* A minute after the device was made: its certificates and CRLs start at its creation,
     * and a verification at a window's boundary second takes the full path on purpose. */
    c->at = (int64_t)time(NULL) + 60;
    return 0;
}

/* The SEV-SNP sample milan-1 (VCEK from the collateral, pinned ASK/ARK), debug allowed by
 * the policy as its source requires for acceptance, revocation not required (no AMD CRL
 * comes with it); collateral prepared (the VCEK parsed and
 * its chain verified once, docs/evidence-snp.md "Prepared collateral"). */
static int load_snp(struct bcase *c, const char *vectors)
{
    char dir[1024], path[1100];
    struct gtee_err err = {0};

    memset(c, 0, sizeof(*c));
    c->label = "snp/milan-1";
    snprintf(dir, sizeof(dir), "%s/snp/milan-1", vectors);
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    c->ev = slurp(path, &c->len);
    if (!c->ev || gtee_collateral_load(dir, &c->col, &err) != 0 ||
        gtee_time_parse("2025-07-19T00:00:00Z", &c->at, &err) != 0 ||
        gtee_collateral_prepare(&c->col, NULL, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot load snp/milan-1\n");
        return 1;
    }
    gtee_policy_default(&c->p);
    c->p.allow_debug = true;
    c->p.require_revocation = 0; /* no real AMD CRL (ark_crl.der) beside the sample */
    return 0;
}

static int run_both(struct bcase *c, double secs)
{
    int rc = run(c, false, secs) || run(c, true, secs);

    case_free(c);
    return rc;
}

/* SEV-SNP: warm with the prepared collateral; cold with the same collateral never prepared
 * (a VCEK not seen before: parsed and its chain verified in full on every call). */
static int run_snp(struct bcase *c, double secs)
{
    struct gtee_err err = {0};
    int rc = run(c, false, secs);

    gtee_collateral_free(&c->col);
    if (!rc && gtee_collateral_load(c->dir, &c->col, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot reload snp/milan-1: %s\n", err.msg);
        rc = 1;
    }
    rc = rc || run(c, true, secs);
    case_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 2 ? atof(argv[2]) : 3.0; /* 0: signature-count mode */
    char dev[] = "/tmp/gtee-bench-sim-XXXXXX";
    struct gtee_err err = {0};
    struct bcase c;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_evidence VECTORS_DIR [SECONDS]\n");
        return 2;
    }
    if (!mkdtemp(dev) || rmdir(dev) != 0 || gtee_sim_init(dev, &err) != 0) {
        fprintf(stderr, "bench_evidence: cannot make a simulated device: %s\n", err.msg);
        return 1;
    }
    if (load_intel(&c, argv[1], "sgx/sgx-1", "2025-07-19T10:01:17Z") || run_both(&c, secs) ||
        load_intel(&c, argv[1], "tdx/tdx-1", "2025-07-19T10:00:34Z") || run_both(&c, secs) ||
        load_sim(&c, dev, GTEE_SIM_QUOTE_SGX) || run_both(&c, secs) ||
        load_sim(&c, dev, GTEE_SIM_QUOTE_TDX) || run_both(&c, secs) ||
        load_snp(&c, argv[1]))
        goto out;
    rc = run_snp(&c, secs);
out:
    {
        char cmd[1100];

        /* the device directory holds only files gtee_sim_init wrote */
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dev);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_evidence: could not remove %s\n", dev);
    }
    return rc;
}
