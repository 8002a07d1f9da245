/* Cross-check with an independent verifier: @phala/dcap-qvl (npm), given the simulated
 * root in place of Intel's, accepts the simulated SGX v3 and TDX v4 quotes with their
 * collateral as UpToDate, and rejects them under Intel's root. The harness
 * (dcap_qvl_verify.js) is first shown to give the documented verdicts on the real
 * samples. Skipped when node or the npm module is absent. */
#include <sys/stat.h>
#include <unistd.h>

#include "tee/sim_testlib.h"

static char harness[1024];

static int have_harness(void)
{
    const char *src = getenv("GTEE_SOURCE_DIR");
    char module[1024];
    struct stat st;

    if (!src || system("node --version >/dev/null 2>&1") != 0)
        return 0;
    snprintf(module, sizeof(module), "%s/npm/node_modules/@phala/dcap-qvl/src/verify.js", src);
    snprintf(harness, sizeof(harness), "%s/tests/tee/dcap_qvl_verify.js", src);
    return stat(module, &st) == 0;
}

/* Runs the harness; returns its exit status, output in out. */
static int run_harness(const char *quote, const char *dir, const char *root, const char *when, char *out, size_t n)
{
    char cmd[4096];
    FILE *p;
    size_t got;
    int status;

    snprintf(cmd, sizeof(cmd), "node '%s' '%s' '%s' '%s' %s", harness, quote, dir, root, when ? when : "");
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, n - 1, p);
    out[got] = 0;
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_harness_gives_the_documented_verdicts_on_real_samples(void **state)
{
    char quote[1024], dir[1024], root[1024], out[2048];

    (void)state;
    if (!have_harness())
        skip();
    vector_path(root, sizeof(root), "intel/sgx_root_ca.der");
    vector_path(quote, sizeof(quote), "sgx/sgx-1/quote.bin");
    vector_path(dir, sizeof(dir), "sgx/sgx-1");
    /* 2025-07-19T10:01:17Z and 2025-07-19T10:00:34Z (expected.json) */
    assert_int_equal(run_harness(quote, dir, root, "1752919277", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"ConfigurationAndSWHardeningNeeded\""));
    vector_path(quote, sizeof(quote), "tdx/tdx-1/quote.bin");
    vector_path(dir, sizeof(dir), "tdx/tdx-1");
    assert_int_equal(run_harness(quote, dir, root, "1752919234", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"UpToDate\""));
}

static void test_independent_verifier_accepts_simulated_quotes_under_the_simulated_root(void **state)
{
    char *dev;
    struct gtee_sim *sim = NULL;
    struct gtee_err err = { 0 };
    struct gtee_sim_identity id = { .mrenclave = { 0x11 }, .mrsigner = { 0x22 }, .isv_prod_id = 1, .isv_svn = 2 };
    uint8_t rd[64] = { 'g', 'l', 'a', 'c', 'i', 'e', 'r' }, *q;
    size_t qlen;
    char quote[1024], dir[1024], root[1024], intel[1024], out[2048];
    FILE *f;

    (void)state;
    if (!have_harness())
        skip();
    dev = make_device();
    assert_int_equal(gtee_sim_open(dev, &sim, &err), 0);
    path_join(root, sizeof(root), dev, GTEE_SIM_ROOT_CA_FILE);
    vector_path(intel, sizeof(intel), "intel/sgx_root_ca.der");
    for (int v = 3; v <= 4; v++) {
        assert_int_equal(gtee_sim_quote(sim, v, &id, rd, &q, &qlen, &err), 0);
        path_join(quote, sizeof(quote), dev, v == 4 ? "tdx-quote.bin" : "sgx-quote.bin");
        f = fopen(quote, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(q, 1, qlen, f), qlen);
        fclose(f);
        free(q);
        path_join(dir, sizeof(dir), dev, v == 4 ? GTEE_SIM_TDX_COLLATERAL_DIR : GTEE_SIM_SGX_COLLATERAL_DIR);
        if (run_harness(quote, dir, root, NULL, out, sizeof(out)) != 0)
            fail_msg("dcap-qvl rejected the simulated v%d quote: %s", v, out);
        assert_non_null(strstr(out, "\"UpToDate\""));
        /* Only the pinned root differs: under Intel's root the same quote is rejected. */
        assert_int_not_equal(run_harness(quote, dir, intel, NULL, out, sizeof(out)), 0);
        /* The TDX collateral does not verify an SGX quote (and the other way round). */
        path_join(dir, sizeof(dir), dev, v == 4 ? GTEE_SIM_SGX_COLLATERAL_DIR : GTEE_SIM_TDX_COLLATERAL_DIR);
        assert_int_not_equal(run_harness(quote, dir, root, NULL, out, sizeof(out)), 0);
    }
    gtee_sim_close(sim);
    rm_device(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_gives_the_documented_verdicts_on_real_samples),
        cmocka_unit_test(test_independent_verifier_accepts_simulated_quotes_under_the_simulated_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
