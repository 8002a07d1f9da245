/* The TCB figure a verdict's claims carry for a ledger (claims.tcb_number, docs/evidence.md
 * "The TCB figure"; docs/chain.md "The TCB rule"): on the real Intel samples, the
 * tcbEvaluationDataNumber their own tcb_info.json and qe_identity.json carry (read here from
 * the files, the lower of the two); on the real SEV-SNP sample, REPORTED_TCB as its
 * expected.json records it, packed bootloader << 24 | tee << 16 | snp << 8 | microcode; on the
 * simulated TEE, the number its generated collateral carries (SIM_TCB_EVAL_NUMBER); under a
 * test PKI, the lower of two differing numbers, and a document without one refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "evidence/evidence_samples.h"
#include "evidence/sim_pki.h"
#include "gtee/crypto.h"
#include "gtee/sim.h"

/* tcbEvaluationDataNumber of the signed document file (dir/name), under its top-level key. */
static uint32_t eval_number_of(const char *dir, const char *name, const char *key)
{
    char path[1200];
    json_error_t je;
    json_t *root, *n;
    uint32_t out;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    root = json_load_file(path, 0, &je);
    if (!root)
        fail_msg("%s: %s", path, je.text);
    n = json_object_get(json_object_get(root, key), "tcbEvaluationDataNumber");
    assert_true(json_is_integer(n));
    assert_true(json_integer_value(n) >= 0 && json_integer_value(n) <= UINT32_MAX);
    out = (uint32_t)json_integer_value(n);
    json_decref(root);
    return out;
}

/* The figure a verdict must carry for an Intel collateral directory: the lower of its two
 * documents' numbers. */
static uint32_t expected_intel(const char *dir)
{
    uint32_t t = eval_number_of(dir, "tcb_info.json", "tcbInfo");
    uint32_t q = eval_number_of(dir, "qe_identity.json", "enclaveIdentity");

    print_message("%s: tcbEvaluationDataNumber %u in tcb_info.json, %u in qe_identity.json\n", dir, t, q);
    return t < q ? t : q;
}

/* The verdict JSON's claims.tcb_number. */
static json_int_t json_tcb_number(const struct gtee_verdict *v)
{
    char *text = NULL;
    json_t *o, *n;
    json_int_t out;

    assert_int_equal(gtee_verdict_to_json(v, &text, NULL), 0);
    o = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(o);
    n = json_object_get(json_object_get(o, "claims"), "tcb_number");
    assert_true(json_is_integer(n));
    out = json_integer_value(n);
    json_decref(o);
    return out;
}

static void check_intel_sample(const char *rel)
{
    struct sample s;
    struct gtee_verdict v;
    struct gtee_policy p;
    char dir[1024];
    uint32_t want;

    assert_int_equal(sample_load(rel, &s), 0);
    vector_path(dir, sizeof(dir), rel);
    want = expected_intel(dir);
    assert_true(want > 0); /* the samples carry one (17 in both documents at this writing) */
    policy_any_tcb(&p);
    assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
    assert_int_equal(v.claims.tcb_number, want);
    assert_int_equal(json_tcb_number(&v), want);
    sample_free(&s);
}

static void test_sgx_sample_carries_its_collaterals_evaluation_number(void **state)
{
    (void)state;
    check_intel_sample("sgx/sgx-1");
}

static void test_tdx_sample_carries_its_collaterals_evaluation_number(void **state)
{
    (void)state;
    check_intel_sample("tdx/tdx-1");
}

/* tests/vectors/snp/milan-1: REPORTED_TCB as expected.json writes it (the report's eight
 * little-endian bytes in hex: bootloader, tee, four reserved, snp, microcode). */
static void test_snp_sample_carries_its_reported_tcb_packed(void **state)
{
    char dir[1024], path[1100];
    uint8_t *report, raw[8];
    size_t len = 0;
    struct gtee_collateral col;
    struct gtee_verdict v;
    struct gtee_policy p;
    json_t *exp;
    int64_t at;
    uint32_t want;

    (void)state;
    vector_path(dir, sizeof(dir), "snp/milan-1");
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    report = read_all(path, &len);
    assert_non_null(report);
    assert_int_equal(gtee_collateral_load(dir, &col, NULL), 0);
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    exp = json_load_file(path, 0, NULL);
    assert_non_null(exp);
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(exp, "reported_tcb")), raw, 8), 0);
    assert_int_equal(gtee_time_parse(json_string_value(json_object_get(exp, "verify_at")), &at, NULL), 0);
    want = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[6] << 8 | raw[7];
    json_decref(exp);
    gtee_policy_default(&p); /* the sample allows debug and comes without a CRL (tests/vectors/README.md) */
    p.allow_debug = true;
    p.require_revocation = 0;
    assert_int_equal(gtee_evidence_verify(report, len, &col, NULL, &p, at, &v, NULL), 0);
    assert_int_equal(v.claims.tee, GTEE_TEE_SNP);
    assert_int_equal(v.claims.tcb_number, want);
    assert_int_equal(json_tcb_number(&v), want);
    gtee_collateral_free(&col);
    free(report);
}

/* The simulated TEE: a fresh device's quotes carry the number of the collateral it wrote. */
static void check_sim(int version, const char *coldir)
{
    char tmpl[] = "/tmp/gtee-tcb-number-XXXXXX", dev[128], path[256], cmd[300];
    struct gtee_sim *sim = NULL;
    struct gtee_sim_identity id = { .isv_prod_id = 1, .isv_svn = 1 };
    struct gtee_collateral col;
    struct gtee_anchors a = { 0 };
    struct gtee_verdict v;
    struct gtee_policy p;
    uint8_t rd[GTEE_SIM_REPORT_DATA_LEN] = { 0 }, *q = NULL, *root = NULL;
    size_t qlen = 0, root_len = 0;
    uint32_t want;

    assert_non_null(mkdtemp(tmpl));
    snprintf(dev, sizeof(dev), "%s/dev", tmpl);
    assert_int_equal(gtee_sim_init(dev, NULL), 0);
    assert_int_equal(gtee_sim_open(dev, &sim, NULL), 0);
    memset(id.mrenclave, 0x4d, sizeof(id.mrenclave));
    assert_int_equal(gtee_sim_quote(sim, version, &id, rd, &q, &qlen, NULL), 0);
    snprintf(path, sizeof(path), "%s/%s", dev, GTEE_SIM_ROOT_CA_FILE);
    root = read_all(path, &root_len);
    assert_non_null(root);
    a.sim_root_der = root;
    a.sim_root_len = root_len;
    snprintf(path, sizeof(path), "%s/%s", dev, coldir);
    want = expected_intel(path);
    assert_true(want > 0);
    assert_int_equal(gtee_collateral_load(path, &col, NULL), 0);
    gtee_policy_default(&p);
    p.allow_simulation = true;
    assert_int_equal(gtee_evidence_verify(q, qlen, &col, &a, &p, (int64_t)time(NULL), &v, NULL), 0);
    assert_true(v.claims.simulated);
    assert_int_equal(v.claims.tcb_number, want);
    gtee_collateral_free(&col);
    gtee_sim_close(sim);
    free(q);
    free(root);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

static void test_simulated_sgx_carries_the_simulated_collaterals_number(void **state)
{
    (void)state;
    check_sim(GTEE_SIM_QUOTE_SGX, GTEE_SIM_SGX_COLLATERAL_DIR);
}

static void test_simulated_tdx_carries_the_simulated_collaterals_number(void **state)
{
    (void)state;
    check_sim(GTEE_SIM_QUOTE_TDX, GTEE_SIM_TDX_COLLATERAL_DIR);
}

/* Under the test PKI of sim_pki.h: collateral whose two documents carry the given numbers. */
static int verify_pki(int tcb_eval, int qe_eval, bool tdx, struct gtee_verdict *v)
{
    struct sim_opts o = { .tcb_eval = tcb_eval, .qe_eval = qe_eval, .tdx = tdx };
    struct sim_world w;
    struct gtee_collateral col;
    struct gtee_anchors a = { 0 };
    struct gtee_policy p;
    int rc;

    sim_world_make(&w, &o);
    assert_int_equal(gtee_collateral_load(w.dir, &col, NULL), 0);
    a.sim_root_der = w.root_der;
    a.sim_root_len = w.root_der_len;
    gtee_policy_default(&p);
    p.allow_simulation = true;
    p.require_revocation = 0;
    rc = gtee_evidence_verify(w.quote, w.quote_len, &col, &a, &p, w.at, v, NULL);
    gtee_collateral_free(&col);
    sim_world_free(&w);
    return rc;
}

static void test_the_lower_of_the_two_documents_numbers(void **state)
{
    struct gtee_verdict v;

    (void)state;
    assert_int_equal(verify_pki(20, 18, false, &v), 0);
    assert_int_equal(v.claims.tcb_number, 18);
    assert_int_equal(verify_pki(18, 20, false, &v), 0);
    assert_int_equal(v.claims.tcb_number, 18);
    assert_int_equal(verify_pki(21, 23, true, &v), 0);
    assert_int_equal(v.claims.tcb_number, 21);
}

static void test_a_document_without_a_number_is_refused(void **state)
{
    struct gtee_verdict v;

    (void)state;
    assert_int_not_equal(verify_pki(-1, 0, false, &v), 0);
    assert_false(v.accepted);
    assert_int_equal(v.claims.tcb_number, 0);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.malformed"));
    assert_int_not_equal(verify_pki(0, -1, false, &v), 0);
    assert_false(v.accepted);
    assert_int_equal(v.claims.tcb_number, 0);
    assert_true(gtee_verdict_has(&v, "collateral.qe_identity.malformed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_sample_carries_its_collaterals_evaluation_number),
        cmocka_unit_test(test_tdx_sample_carries_its_collaterals_evaluation_number),
        cmocka_unit_test(test_snp_sample_carries_its_reported_tcb_packed),
        cmocka_unit_test(test_simulated_sgx_carries_the_simulated_collaterals_number),
        cmocka_unit_test(test_simulated_tdx_carries_the_simulated_collaterals_number),
        cmocka_unit_test(test_the_lower_of_the_two_documents_numbers),
        cmocka_unit_test(test_a_document_without_a_number_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
