/* The enclave process on the simulated TEE: it says it is simulated, its Enclave ID is
 * the same across restarts on one device, and differs for another configuration (so
 * another measurement) and for another device; its evidence is a quote over the report
 * data that commits to its keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "gtee/crypto.h"
#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "gtee/sim.h"
#include "tee/fake_fifo.c"

struct devs {
    char base[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
};

static int setup(void **state)
{
    struct devs *d = calloc(1, sizeof(*d));

    if (!d || fake_tmpdir(d->base, sizeof(d->base), "encsim") != 0)
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

static void start(const char *dir, const char *config, struct gtee_enclave_proc *p)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_err err = {0};
    const char *bin = getenv("GTEE_ENCLAVE");

    l.binary = bin ? bin : "gtee-enclave";
    l.tee = "sim";
    l.sim_dir = dir;
    l.config = config;
    if (gtee_enclave_start(&l, p, &err) != 0)
        fail_msg("%s", err.msg);
}

static void info_of(const char *dir, const char *config, struct gtee_enclave_info *info)
{
    struct gtee_enclave_proc p;
    struct gtee_err err = {0};
    int st = 0;

    start(dir, config, &p);
    if (gtee_enclave_info(&p, info, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_sim_enclave_says_it_is_simulated(void **state)
{
    struct devs *d = *state;
    struct gtee_enclave_info i;

    info_of(d->a, "job=inference", &i);
    assert_int_equal(i.kind, GTEE_TEE_KIND_SIM);
    assert_true(i.simulated);
    assert_int_equal(i.measurement_len, 32);
}

static void test_sim_enclave_id_same_across_restarts(void **state)
{
    struct devs *d = *state;
    struct gtee_enclave_info i1, i2;

    info_of(d->a, "job=inference", &i1);
    info_of(d->a, "job=inference", &i2);
    assert_memory_equal(i1.measurement, i2.measurement, 32);
    assert_memory_equal(i1.enclave_addr, i2.enclave_addr, 20);
    assert_memory_not_equal(i1.channel_pub, i2.channel_pub, 65); /* fresh each start */
}

static void test_sim_enclave_other_configuration_other_measurement_and_id(void **state)
{
    struct devs *d = *state;
    struct gtee_enclave_info i1, i2;

    info_of(d->a, "job=inference", &i1);
    info_of(d->a, "job=training", &i2);
    assert_memory_equal(i1.exe_sha256, i2.exe_sha256, 32);
    assert_memory_not_equal(i1.measurement, i2.measurement, 32);
    assert_memory_not_equal(i1.enclave_addr, i2.enclave_addr, 20);
}

static void test_sim_enclave_other_device_other_id(void **state)
{
    struct devs *d = *state;
    struct gtee_enclave_info i1, i2;

    info_of(d->a, "job=inference", &i1);
    info_of(d->b, "job=inference", &i2);
    assert_memory_equal(i1.measurement, i2.measurement, 32);
    assert_memory_not_equal(i1.enclave_addr, i2.enclave_addr, 20);
}

static void test_sim_enclave_evidence_is_a_quote_over_its_keys(void **state)
{
    struct devs *d = *state;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info i;
    struct gtee_err err = {0};
    uint8_t nonce[32], rd[64], *r = NULL;
    size_t n = 0;
    int st = 0;

    start(d->a, "job=inference", &p);
    assert_int_equal(gtee_enclave_info(&p, &i, &err), 0);
    memset(nonce, 0xc3, sizeof(nonce));
    if (gtee_enclave_call(&p, GTEE_MSG_EVIDENCE, nonce, sizeof(nonce), &r, &n, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(gtee_tee_report_data(i.enclave_pub, i.channel_pub, nonce, rd), 0);
    assert_memory_equal(r, rd, 64);
    assert_int_equal(r[64] | (r[65] << 8), 3);          /* DCAP quote v3 */
    assert_memory_equal(r + 64 + 112, i.measurement, 32); /* MRENCLAVE */
    assert_memory_equal(r + 64 + 368, rd, 64);            /* REPORTDATA */
    free(r);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* no SIGSYS while quoting */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_enclave_says_it_is_simulated),
        cmocka_unit_test(test_sim_enclave_id_same_across_restarts),
        cmocka_unit_test(test_sim_enclave_other_configuration_other_measurement_and_id),
        cmocka_unit_test(test_sim_enclave_other_device_other_id),
        cmocka_unit_test(test_sim_enclave_evidence_is_a_quote_over_its_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
