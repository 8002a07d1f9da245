/* The "sim" backend behind the ops table: only by name, quotes in the DCAP layouts with our
 * report data and measurement where the formats put them, and the Enclave ID bound to the
 * device and the measurement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/sim.h"
#include "gtee/tee.h"
#include "tee/fake_fifo.c"

struct devs {
    char base[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
};

static int setup(void **state)
{
    struct devs *d = calloc(1, sizeof(*d));

    if (!d || fake_tmpdir(d->base, sizeof(d->base), "simb") != 0)
        return -1;
    snprintf(d->a, sizeof(d->a), "%.*s/dev-a", PATH_MAX - 16, d->base);
    snprintf(d->b, sizeof(d->b), "%.*s/dev-b", PATH_MAX - 16, d->base);
    if (gtee_sim_init(d->a, NULL) != 0 || gtee_sim_init(d->b, NULL) != 0)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct devs *d = *state;

    fake_rmtree(d->base);
    free(d);
    return 0;
}

static struct gtee_tee *open_sim(const char *dir, uint8_t mr_byte, int version)
{
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    opt.sim_dir = dir;
    opt.sim_quote_version = version;
    memset(opt.sim_id.mrenclave, mr_byte, 32);
    memset(opt.sim_id.mrsigner, 0x77, 32);
    opt.sim_id.isv_prod_id = 1;
    opt.sim_id.isv_svn = 2;
    if (gtee_tee_open("sim", &opt, &t, &err) != 0)
        fail_msg("%s", err.msg);
    return t;
}

static void id_of(const char *dir, uint8_t mr_byte, uint8_t addr[20])
{
    struct gtee_tee *t = open_sim(dir, mr_byte, 3);
    struct gtee_err err = {0};
    uint8_t priv[32], pub[65];

    assert_int_equal(gtee_tee_enclave_key(t, priv, pub, addr, &err), 0);
    gtee_wipe(priv, sizeof(priv));
    gtee_tee_close(t);
}

static void test_sim_same_code_same_device_same_id_across_restarts(void **state)
{
    struct devs *d = *state;
    uint8_t a1[20], a2[20];

    id_of(d->a, 0x11, a1);
    id_of(d->a, 0x11, a2);
    assert_memory_equal(a1, a2, 20);
}

static void test_sim_other_measurement_other_id(void **state)
{
    struct devs *d = *state;
    uint8_t a1[20], a2[20];

    id_of(d->a, 0x11, a1);
    id_of(d->a, 0x12, a2);
    assert_memory_not_equal(a1, a2, 20);
}

static void test_sim_other_device_other_id(void **state)
{
    struct devs *d = *state;
    uint8_t a1[20], a2[20];

    id_of(d->a, 0x11, a1);
    id_of(d->b, 0x11, a2);
    assert_memory_not_equal(a1, a2, 20);
}

static void test_sim_quote_v3_carries_report_data_and_mrenclave(void **state)
{
    struct devs *d = *state;
    struct gtee_tee *t = open_sim(d->a, 0x11, 3);
    struct gtee_err err = {0};
    uint8_t rd[64], m[GTEE_MEASUREMENT_MAX], *q = NULL, want[32];
    size_t qlen = 0, mlen = 0;

    assert_true(gtee_tee_is_simulated(t));
    assert_int_equal(gtee_tee_kind(t), GTEE_TEE_KIND_SIM);
    assert_int_equal(gtee_random(rd, sizeof(rd)), 0);
    assert_int_equal(gtee_tee_evidence(t, rd, &q, &qlen, &err), 0);
    assert_true(qlen > 432);
    assert_int_equal(q[0] | (q[1] << 8), 3);
    /* SGX report body at 48: MRENCLAVE at +64, REPORTDATA at +320 */
    memset(want, 0x11, 32);
    assert_memory_equal(q + 112, want, 32);
    assert_memory_equal(q + 368, rd, 64);
    assert_int_equal(gtee_tee_measurement(t, m, &mlen, &err), 0);
    assert_int_equal(mlen, 32);
    assert_memory_equal(m, want, 32);
    free(q);
    gtee_tee_close(t);
}

static void test_sim_quote_v4_carries_report_data_and_mrtd(void **state)
{
    struct devs *d = *state;
    struct gtee_tee *t = open_sim(d->a, 0x11, 4);
    struct gtee_err err = {0};
    uint8_t rd[64], m[GTEE_MEASUREMENT_MAX], *q = NULL;
    size_t qlen = 0, mlen = 0;

    assert_int_equal(gtee_random(rd, sizeof(rd)), 0);
    assert_int_equal(gtee_tee_evidence(t, rd, &q, &qlen, &err), 0);
    assert_int_equal(q[0] | (q[1] << 8), 4);
    /* TD report body at 48: MRTD at +136, REPORTDATA at +520 */
    assert_int_equal(gtee_tee_measurement(t, m, &mlen, &err), 0);
    assert_int_equal(mlen, 48);
    assert_memory_equal(q + 184, m, 48);
    assert_memory_equal(q + 568, rd, 64);
    free(q);
    gtee_tee_close(t);
}

static void test_sim_is_never_chosen_by_auto_and_needs_a_device(void **state)
{
    struct devs *d = *state;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char empty[PATH_MAX];

    assert_int_equal(fake_tmpdir(empty, sizeof(empty), "noh"), 0);
    opt.root = empty;
    opt.sim_dir = d->a; /* a device is at hand, and still "auto" does not take it */
    assert_int_equal(gtee_tee_open("auto", &opt, &t, &err), GTEE_ENOTFOUND);
    assert_null(t);
    opt.sim_dir = NULL;
    assert_int_equal(gtee_tee_open("sim", &opt, &t, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "gtee sim init"));
    rmdir(empty);
}

static void test_sim_sealing_is_bound_to_measurement_but_not_across_signer(void **state)
{
    struct devs *d = *state;
    struct gtee_tee *a = open_sim(d->a, 0x11, 3), *b = open_sim(d->a, 0x12, 3), *other = open_sim(d->b, 0x11, 3);
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;

    assert_int_equal(gtee_tee_seal(a, GTEE_SEAL_MRENCLAVE, "s3cr3t", 6, &blob, &blob_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(b, blob, blob_len, &pt, &pt_len, &err), GTEE_EKEY);
    assert_int_equal(gtee_tee_unseal(other, blob, blob_len, &pt, &pt_len, &err), GTEE_EKEY);
    free(blob);
    assert_int_equal(gtee_tee_seal(a, GTEE_SEAL_MRSIGNER, "s3cr3t", 6, &blob, &blob_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(b, blob, blob_len, &pt, &pt_len, &err), 0);
    assert_memory_equal(pt, "s3cr3t", 6);
    gtee_tee_free_secret(pt, pt_len);
    assert_int_equal(gtee_tee_unseal(other, blob, blob_len, &pt, &pt_len, &err), GTEE_EKEY);
    free(blob);
    gtee_tee_close(a);
    gtee_tee_close(b);
    gtee_tee_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_same_code_same_device_same_id_across_restarts),
        cmocka_unit_test(test_sim_other_measurement_other_id),
        cmocka_unit_test(test_sim_other_device_other_id),
        cmocka_unit_test(test_sim_quote_v3_carries_report_data_and_mrenclave),
        cmocka_unit_test(test_sim_quote_v4_carries_report_data_and_mrtd),
        cmocka_unit_test(test_sim_is_never_chosen_by_auto_and_needs_a_device),
        cmocka_unit_test(test_sim_sealing_is_bound_to_measurement_but_not_across_signer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
