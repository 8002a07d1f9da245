/* A Work Proof signed inside an SDK application through its signing slot (gtee_app_sign, the
 * Enclave key on the simulated TEE) verifies, and its signer is the application's Enclave ID;
 * a proof naming another Enclave ID does not. */
#include "ratls/ratls_testlib.h"

#include "gtee/proof.h"
#include "gtee/sdk.h"

static char base[PATH_MAX], dev[PATH_MAX];

static int sign_in_app(void *arg, const uint8_t digest[32], uint8_t sig[65], struct gtee_err *err)
{
    return gtee_app_sign(arg, digest, sig, err);
}

static void test_proof_signed_through_the_sdk_slot(void **state)
{
    /* the application lives inside this test process: linked with tests/unhardened.c */
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = "proof v1" };
    struct gtee_app *app = NULL;
    struct gtee_app_identity id;
    struct gtee_proof p = {0}, q;
    struct gtee_err err = {0};

    (void)state;
    t_tmpdir(base, sizeof(base), "proof");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    assert_int_equal(gtee_sim_init(dev, NULL), 0);
    if (gtee_app_open(&o, &app, &err) != 0)
        fail_msg("%s", err.msg);
    gtee_app_identity(app, &id);
    p.domain.chain_id = 1;
    memset(p.domain.contract, 0xc0, sizeof(p.domain.contract));
    memcpy(p.enclave_id, id.enclave_id, sizeof(p.enclave_id));
    p.job_kind = GTEE_JOB_APP;
    p.units = 1;
    p.seq = 1;
    memset(p.evidence_hash, 0xee, 32);
    assert_int_equal(gtee_proof_sign(&p, sign_in_app, app, &err), 0);
    assert_int_equal(gtee_proof_verify(&p, NULL, &err), 0);
    q = p;
    q.enclave_id[0] ^= 1;
    assert_int_equal(gtee_proof_sign(&q, sign_in_app, app, &err), 0);
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    gtee_app_close(app);
    t_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof_signed_through_the_sdk_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
