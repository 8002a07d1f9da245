/* Composite evidence bundles: the format round trip and every malformed header, length and
 * trailing byte; a bundle of real parts (the SEV-SNP milan-1 report and the h100-1 GPU
 * report) whose GPU report is not over the nonce the CVM evidence commits to is rejected for
 * exactly that; duplicates; a policy that requires a GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/nv_test_util.h"
#include "gtee/bundle.h"

static void test_roundtrip_and_malformed(void **state)
{
    static const uint8_t cvm[5] = { 1, 2, 3, 4, 5 }, g0[3] = { 7, 8, 9 }, g1[1] = { 6 };
    struct gtee_bundle b = { .cvm = cvm, .cvm_len = 5, .n_gpu = 2, .gpu = { g0, g1 }, .gpu_len = { 3, 1 } }, p;
    uint8_t *buf, *m;
    size_t len;
    struct gtee_err e = {0};

    assert_int_equal(gtee_bundle_write(&b, &buf, &len, NULL), 0);
    assert_int_equal(len, 12 + 4 + 5 + 4 + 3 + 4 + 1);
    assert_true(gtee_bundle_detect(buf, len));
    assert_int_equal(gtee_bundle_parse(buf, len, &p, NULL), 0);
    assert_int_equal(p.n_gpu, 2);
    assert_memory_equal(p.cvm, cvm, 5);
    assert_memory_equal(p.gpu[0], g0, 3);
    assert_int_equal(p.gpu_len[1], 1);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(gtee_bundle_parse(buf, n, &p, NULL), GTEE_EFORMAT);
    m = malloc(len + 1);
    memcpy(m, buf, len);
    m[len] = 0;
    assert_int_equal(gtee_bundle_parse(m, len + 1, &p, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "after the last part"));
    m[8] = 2; /* version */
    assert_int_equal(gtee_bundle_parse(m, len, &p, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "version 2"));
    m[8] = 1;
    m[9] = 9; /* GPU count */
    assert_int_equal(gtee_bundle_parse(m, len, &p, &e), GTEE_EFORMAT);
    m[9] = 2;
    m[10] = 1; /* reserved */
    assert_int_equal(gtee_bundle_parse(m, len, &p, &e), GTEE_EFORMAT);
    m[10] = 0;
    m[15] = 0; /* CVM length 0 */
    assert_int_equal(gtee_bundle_parse(m, len, &p, &e), GTEE_EFORMAT);
    m[15] = 5;
    m[0] = 'X';
    assert_int_equal(gtee_bundle_parse(m, len, &p, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "magic"));
    free(m);
    free(buf);
}

struct parts {
    uint8_t *bundle;
    size_t len;
    struct gtee_collateral cvm, gpu;
    struct gtee_policy policy;
};

static void make(struct parts *p, int n_gpu)
{
    char dir[4096];
    size_t snp_len, gpu_len;
    uint8_t *snp = nv_vec("snp/milan-1/report.bin", &snp_len), *gpu = nv_vec("nvidia/h100-1/report.bin", &gpu_len);
    struct gtee_bundle b = { .cvm = snp, .cvm_len = snp_len, .n_gpu = (size_t)n_gpu, .gpu = { gpu, gpu },
                             .gpu_len = { gpu_len, gpu_len } };
    static const char pol[] = "{\"allow_debug\": true, \"require_revocation\": false,"
                              " \"gpu\": {\"allow_unchecked_revocation\": true}}";

    assert_int_equal(gtee_bundle_write(&b, &p->bundle, &p->len, NULL), 0);
    free(snp);
    free(gpu);
    assert_int_equal(gtee_collateral_load(vector_path(dir, sizeof(dir), "snp/milan-1"), &p->cvm, NULL), 0);
    memset(&p->gpu, 0, sizeof(p->gpu));
    p->gpu.gpu = calloc(1, sizeof(*p->gpu.gpu));
    nv_col(p->gpu.gpu, 1, 0);
    assert_int_equal(gtee_policy_parse(pol, strlen(pol), &p->policy, NULL), 0);
}

static void drop(struct parts *p)
{
    free(p->bundle);
    gtee_collateral_free(&p->cvm);
    gtee_collateral_free(&p->gpu);
}

static void test_unbound_gpu_rejected(void **state)
{
    struct parts p;
    const struct gtee_collateral *cols[2];
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    int rc;

    make(&p, 1);
    cols[0] = cols[1] = &p.gpu;
    /* The CVM part alone verifies under this policy: the bundle can fail only through the GPU. */
    rc = gtee_bundle_verify(p.bundle, p.len, &p.cvm, cols, 1, NULL, &p.policy, NULL, nv_time("2025-10-24T12:00:00Z"),
                            v, NULL);
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_false(v->accepted);
    assert_int_equal(v->claims.tee, GTEE_TEE_SNP);
    assert_int_equal(v->claims.gpus_bound, 0);
    assert_true(gtee_verdict_has(v, "bundle.gpu.binding"));
    /* and for nothing else: the GPU report, its chain and RIMs are sound */
    assert_int_equal(v->n_reasons, 1);
    free(v);
    drop(&p);
}

static void test_duplicate_and_required(void **state)
{
    struct parts p;
    const struct gtee_collateral *cols[2];
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    size_t len;
    uint8_t *gpu = nv_vec("nvidia/h100-1/report.bin", &len);
    struct gtee_binding_expect x = { .has_nonce = true };

    make(&p, 2);
    cols[0] = cols[1] = &p.gpu;
    assert_int_equal(gtee_bundle_verify(p.bundle, p.len, &p.cvm, cols, 2, NULL, &p.policy, NULL,
                                        nv_time("2025-10-24T12:00:00Z"), v, NULL),
                     GTEE_EPOLICY);
    assert_true(gtee_verdict_has(v, "bundle.gpu.duplicate"));
    /* A policy requiring a GPU: the unbound bundle does not meet it. */
    p.policy.gpu.min_count = 1;
    assert_int_equal(gtee_bundle_verify(p.bundle, p.len, &p.cvm, cols, 2, NULL, &p.policy, NULL,
                                        nv_time("2025-10-24T12:00:00Z"), v, NULL),
                     GTEE_EPOLICY);
    assert_true(gtee_verdict_has(v, "policy.gpu.required"));
    /* Nor does a GPU report alone, which is bound to no CVM, however sound. */
    memcpy(x.nonce, nv_sample_nonce, 32);
    assert_int_equal(gtee_evidence_verify_bound(gpu, len, &p.gpu, NULL, &p.policy, &x, nv_time("2025-10-24T12:00:00Z"),
                                                v, NULL),
                     GTEE_EPOLICY);
    assert_true(v->verified);
    assert_true(gtee_verdict_has(v, "policy.gpu.required"));
    assert_int_equal(v->n_reasons, 1);
    p.policy.gpu.min_count = 0;
    assert_int_equal(gtee_evidence_verify_bound(gpu, len, &p.gpu, NULL, &p.policy, &x, nv_time("2025-10-24T12:00:00Z"),
                                                v, NULL),
                     0);
    free(gpu);
    free(v);
    drop(&p);
}

/* Prepared collateral with a GPU directory: the same verdict, and never a result for bytes
 * other than those it was prepared from. */
static void test_prepared_gpu_collateral(void **state)
{
    struct parts p;
    struct gtee_verdict *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    struct gtee_binding_expect x = { .has_nonce = true };
    size_t len;
    uint8_t *gpu = nv_vec("nvidia/h100-1/report.bin", &len);
    int64_t at = nv_time("2025-10-24T12:00:00Z");
    char *h;

    make(&p, 1);
    memcpy(x.nonce, nv_sample_nonce, 32);
    assert_int_equal(gtee_evidence_verify_bound(gpu, len, &p.gpu, NULL, &p.policy, &x, at, a, NULL), 0);
    assert_int_equal(gtee_collateral_prepare(&p.gpu, NULL, NULL), 0);
    assert_int_equal(gtee_evidence_verify_bound(gpu, len, &p.gpu, NULL, &p.policy, &x, at, b, NULL), 0);
    assert_int_equal(a->claims.gpu.matched, b->claims.gpu.matched);
    assert_int_equal(b->n_reasons, 0);
    /* A golden value of the driver RIM changed after preparing: the full path runs and sees it. */
    h = strstr((char *)p.gpu.gpu->driver_rim, "ns2:Hash0=\"8");
    assert_non_null(h);
    h[11] = '9';
    assert_int_equal(gtee_evidence_verify_bound(gpu, len, &p.gpu, NULL, &p.policy, &x, at, b, NULL), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(b, "gpu.rim.driver.signature"));
    free(gpu);
    free(a);
    free(b);
    drop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_malformed),
        cmocka_unit_test(test_unbound_gpu_rejected),
        cmocka_unit_test(test_duplicate_and_required),
        cmocka_unit_test(test_prepared_gpu_collateral),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
