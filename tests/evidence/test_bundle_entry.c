/* The one verification entry takes a composite bundle like any other evidence: a bundle's
 * collateral directory (cvm/, gpu0/) is read by gtee_collateral_load, and a bundle given to
 * gtee_evidence_verify_bound or gtee_evidence_verify is verified part by part (the real
 * SEV-SNP milan-1 report and the h100-1 GPU report: every part sound, the GPU report not over
 * the CVM's nonce, so "bundle.gpu.binding" and nothing else); plain evidence with that
 * directory is verified with its cvm/ part; a policy requiring a GPU refuses plain evidence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "evidence/nv_test_util.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"

static const char policy_json[] = "{\"allow_debug\": true, \"require_revocation\": false,"
                                  " \"gpu\": {\"allow_unchecked_revocation\": true}}";

static void copy(const char *rel, const char *dir, const char *name)
{
    char to[4096];
    size_t len;
    uint8_t *p = nv_vec(rel, &len);

    snprintf(to, sizeof(to), "%s/%s", dir, name);
    assert_int_equal(gtee_file_write(to, p, len, 0600, 0, NULL), 0);
    free(p);
}

/* DIR/cvm (milan-1's VCEK) and DIR/gpu0 (h100-1's chain and production RIMs). */
static void make_dir(char *tmp, size_t n)
{
    char sub[4096];

    snprintf(tmp, n, "/tmp/gtee-bundle-entry-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    snprintf(sub, sizeof(sub), "%s/cvm", tmp);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy("snp/milan-1/vcek.der", sub, "vcek.der");
    snprintf(sub, sizeof(sub), "%s/gpu0", tmp);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy("nvidia/h100-1/cert_chain.pem", sub, "cert_chain.pem");
    copy("nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml", sub, "NV_GPU_DRIVER_GH100_550.90.07.xml");
    copy("nvidia/h100-1/production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml", sub,
         "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml");
}

static void remove_dir(const char *tmp)
{
    static const char *const files[] = { "cvm/vcek.der", "gpu0/cert_chain.pem", "gpu0/NV_GPU_DRIVER_GH100_550.90.07.xml",
                                         "gpu0/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml", "cvm", "gpu0" };
    char p[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmp, files[i]);
        remove(p);
    }
    rmdir(tmp);
}

static uint8_t *make_bundle(size_t *len)
{
    size_t snp_len, gpu_len;
    uint8_t *snp = nv_vec("snp/milan-1/report.bin", &snp_len), *gpu = nv_vec("nvidia/h100-1/report.bin", &gpu_len), *out;
    struct gtee_bundle b = { .cvm = snp, .cvm_len = snp_len, .n_gpu = 1, .gpu = { gpu }, .gpu_len = { gpu_len } };

    assert_int_equal(gtee_bundle_write(&b, &out, len, NULL), 0);
    free(snp);
    free(gpu);
    return out;
}

static void print_reasons(const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
}

static void test_bundle_through_the_entry(void **state)
{
    char tmp[256];
    struct gtee_collateral col;
    struct gtee_policy policy;
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_binding_expect x = { .has_nonce = true }; /* milan-1's nonce half is zero */
    struct gtee_err e = {0};
    int64_t at = nv_time("2025-10-24T12:00:00Z");
    size_t len;
    uint8_t *bundle = make_bundle(&len);

    (void)state;
    make_dir(tmp, sizeof(tmp));
    assert_int_equal(gtee_collateral_load(tmp, &col, &e), 0);
    assert_non_null(col.cvm);
    assert_non_null(col.cvm->snp_vcek.p);
    assert_int_equal(col.n_gpus, 1);
    assert_non_null(col.gpus[0].gpu);
    assert_int_equal(gtee_policy_parse(policy_json, strlen(policy_json), &policy, NULL), 0);

    /* Bound: the CVM part with the expected nonce, the GPU part over the CVM's nonce. */
    assert_int_equal(gtee_evidence_verify_bound(bundle, len, &col, NULL, &policy, &x, at, v, &e), GTEE_EPOLICY);
    print_reasons(v);
    assert_false(v->accepted);
    assert_int_equal(v->claims.tee, GTEE_TEE_SNP);
    assert_true(v->claims.binding.nonce_checked);
    assert_true(gtee_verdict_has(v, "bundle.gpu.binding"));
    assert_int_equal(v->n_reasons, 1);
    assert_int_equal(v->claims.gpus_bound, 0);

    /* Unbound entry: the same verdict. */
    assert_int_equal(gtee_evidence_verify(bundle, len, &col, NULL, &policy, at, v, &e), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(v, "bundle.gpu.binding"));
    assert_int_equal(v->n_reasons, 1);

    /* Prepared collateral (as the attested channel's verifier keeps it): the same verdict. */
    assert_int_equal(gtee_collateral_prepare(&col, NULL, &e), 0);
    assert_int_equal(gtee_evidence_verify_bound(bundle, len, &col, NULL, &policy, &x, at, v, &e), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(v, "bundle.gpu.binding"));
    assert_int_equal(v->n_reasons, 1);

    /* A policy requiring a GPU: the bundle's count says it once, no part says it of itself. */
    policy.gpu.min_count = 1;
    assert_int_equal(gtee_evidence_verify_bound(bundle, len, &col, NULL, &policy, &x, at, v, &e), GTEE_EPOLICY);
    print_reasons(v);
    assert_true(gtee_verdict_has(v, "bundle.gpu.binding"));
    assert_true(gtee_verdict_has(v, "policy.gpu.required"));
    assert_int_equal(v->n_reasons, 2);
    policy.gpu.min_count = 0;

    /* A truncated bundle is malformed, named as a bundle. */
    assert_int_equal(gtee_evidence_verify_bound(bundle, 100, &col, NULL, &policy, &x, at, v, &e), GTEE_EFORMAT);
    assert_true(gtee_verdict_has(v, "bundle.malformed"));

    free(v);
    free(bundle);
    gtee_collateral_free(&col);
    remove_dir(tmp);
}

static void test_plain_evidence_and_gpu_policy(void **state)
{
    char tmp[256];
    struct gtee_collateral col;
    struct gtee_policy policy;
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_binding_expect x = { .has_nonce = true };
    int64_t at = nv_time("2025-10-24T12:00:00Z");
    size_t len;
    uint8_t *snp = nv_vec("snp/milan-1/report.bin", &len);

    (void)state;
    make_dir(tmp, sizeof(tmp));
    assert_int_equal(gtee_collateral_load(tmp, &col, NULL), 0);
    assert_int_equal(gtee_policy_parse(policy_json, strlen(policy_json), &policy, NULL), 0);
    /* Plain CVM evidence with a bundle's directory: its cvm/ part verifies it. */
    assert_int_equal(gtee_evidence_verify_bound(snp, len, &col, NULL, &policy, &x, at, v, NULL), 0);
    print_reasons(v);
    assert_true(v->accepted);
    /* A policy that requires a GPU refuses plain evidence, on the bound and the plain entry. */
    policy.gpu.min_count = 1;
    assert_int_equal(gtee_evidence_verify_bound(snp, len, &col, NULL, &policy, &x, at, v, NULL), GTEE_EPOLICY);
    assert_true(v->verified);
    assert_true(gtee_verdict_has(v, "policy.gpu.required"));
    assert_int_equal(v->n_reasons, 1);
    assert_int_equal(gtee_evidence_verify(snp, len, &col, NULL, &policy, at, v, NULL), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(v, "policy.gpu.required"));
    free(v);
    free(snp);
    gtee_collateral_free(&col);
    remove_dir(tmp);
}

/* A bundle whose CVM part is itself a bundle is of no known kind: parts do not nest. */
static void test_nested_bundle_refused(void **state)
{
    size_t len, outer_len;
    uint8_t *inner = make_bundle(&len), *outer;
    struct gtee_bundle b = { .cvm = inner, .cvm_len = len };
    struct gtee_verdict *v = calloc(1, sizeof(*v));

    (void)state;
    assert_int_equal(gtee_bundle_write(&b, &outer, &outer_len, NULL), 0);
    assert_int_equal(gtee_evidence_verify(outer, outer_len, NULL, NULL, NULL, 0, v, NULL), GTEE_EFORMAT);
    assert_true(gtee_verdict_has(v, "evidence.malformed"));
    free(outer);
    free(inner);
    free(v);
}

/* A Work Proof's gpuEvidenceHash: keccak256 over each GPU report after its length (4 bytes
 * big-endian), recomputed here from the parts; zero for plain evidence and for a bundle of
 * no GPU; a malformed bundle refused. */
static void test_gpu_evidence_hash(void **state)
{
    static const uint8_t cvm[] = { 1, 2, 3 }, g0[] = { 9, 8, 7, 6, 5 }, g1[] = { 0x42 };
    struct gtee_bundle b = { .cvm = cvm, .cvm_len = sizeof(cvm), .n_gpu = 2, .gpu = { g0, g1 },
                             .gpu_len = { sizeof(g0), sizeof(g1) } };
    uint8_t *ev = NULL, got[32], want[32], zero[32] = { 0 };
    uint8_t msg[4 + sizeof(g0) + 4 + sizeof(g1)] = { 0, 0, 0, 5, 9, 8, 7, 6, 5, 0, 0, 0, 1, 0x42 };
    size_t len = 0;

    (void)state;
    assert_int_equal(gtee_bundle_write(&b, &ev, &len, NULL), 0);
    assert_int_equal(gtee_bundle_gpu_hash(ev, len, got, NULL), 0);
    gtee_keccak256(msg, sizeof(msg), want);
    assert_memory_equal(got, want, 32);
    /* the last byte cut: malformed */
    assert_int_equal(gtee_bundle_gpu_hash(ev, len - 1, got, NULL), GTEE_EFORMAT);
    free(ev);
    /* no GPU; plain evidence */
    b.n_gpu = 0;
    assert_int_equal(gtee_bundle_write(&b, &ev, &len, NULL), 0);
    memset(got, 0xff, sizeof(got));
    assert_int_equal(gtee_bundle_gpu_hash(ev, len, got, NULL), 0);
    assert_memory_equal(got, zero, 32);
    free(ev);
    memset(got, 0xff, sizeof(got));
    assert_int_equal(gtee_bundle_gpu_hash(cvm, sizeof(cvm), got, NULL), 0);
    assert_memory_equal(got, zero, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_through_the_entry),
        cmocka_unit_test(test_plain_evidence_and_gpu_policy),
        cmocka_unit_test(test_nested_bundle_refused),
        cmocka_unit_test(test_gpu_evidence_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
