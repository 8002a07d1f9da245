/* The NVML collector against the fake management library the test suite builds (same symbols
 * and calling convention as libnvidia-ml.so.1, serving the real h100-1 sample): the report
 * and chain come back byte for byte and verify; no library, a library without NVML's
 * symbols, a failing driver, no GPU, CC off and a report over another nonce are each a clear
 * error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/nv_test_util.h"
#include "gtee/tee_gpu.h"

static char fake[4096];

static int setup(void **state)
{
    const char *bin = getenv("GTEE_BINARY_DIR");

    snprintf(fake, sizeof(fake), "%s/tests/libfake-nvidia-ml.so.1", bin ? bin : ".");
    unsetenv("FAKE_NVML_MODE");
    return 0;
}

static void test_collect_sample(void **state)
{
    struct gtee_tee_gpu g;
    struct gtee_err e = {0};
    unsigned n = 0;
    size_t len, chain_len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len), *chain = nv_vec("nvidia/h100-1/cert_chain.pem", &chain_len);
    struct gtee_nv_collateral c;
    struct gtee_nv_result *res = calloc(1, sizeof(*res));

    assert_int_equal(gtee_tee_gpu_count(fake, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(gtee_tee_gpu_collect(fake, 0, nv_sample_nonce, &g, &e), 0);
    assert_int_equal(g.report_len, len);
    assert_memory_equal(g.report, rep, len);
    assert_int_equal(g.cert_chain_len, chain_len);
    assert_memory_equal(g.cert_chain, chain, chain_len);
    assert_string_equal(g.driver_version, "550.90.07");
    assert_string_equal(g.vbios_version, "96.00.9F.00.01");
    /* What the collector gives is what the verifier accepts. */
    nv_col(&c, 1, 0);
    free(c.chain_pem);
    c.chain_pem = (uint8_t *)g.cert_chain;
    c.chain_len = g.cert_chain_len;
    g.cert_chain = NULL;
    assert_int_equal(gtee_nv_verify(g.report, g.report_len, nv_sample_nonce, &c, nv_time("2025-10-24T12:00:00Z"), res, NULL), 0);
    gtee_nv_collateral_free(&c);
    gtee_tee_gpu_free(&g);
    free(res);
    free(rep);
    free(chain);
}

static void expect_err(const char *lib, const char *mode, const uint8_t *nonce, int want, const char *says)
{
    struct gtee_tee_gpu g;
    struct gtee_err e = {0};

    if (mode)
        setenv("FAKE_NVML_MODE", mode, 1);
    else
        unsetenv("FAKE_NVML_MODE");
    assert_int_equal(gtee_tee_gpu_collect(lib, 0, nonce, &g, &e), want);
    if (!strstr(e.msg, says))
        print_message("%s: %s\n", mode ? mode : lib, e.msg);
    assert_non_null(strstr(e.msg, says));
    assert_null(g.report);
    assert_null(g.cert_chain);
    unsetenv("FAKE_NVML_MODE");
}

static void test_errors(void **state)
{
    uint8_t other[32];

    memcpy(other, nv_sample_nonce, 32);
    other[0] ^= 1;
    expect_err("/nonexistent/libnvidia-ml.so.1", NULL, nv_sample_nonce, GTEE_ENOTFOUND, "could not be loaded");
    expect_err("libc.so.6", NULL, nv_sample_nonce, GTEE_EUNSUPPORTED, "has no nvmlInit_v2");
    expect_err(fake, "initfail", nv_sample_nonce, GTEE_EIO, "nvmlInit_v2 failed: Driver Not Loaded");
    expect_err(fake, "nogpu", nv_sample_nonce, GTEE_ENOTFOUND, "no GPU");
    expect_err(fake, "ccoff", nv_sample_nonce, GTEE_ESTATE, "confidential computing is off");
    /* a library whose report is not over the nonce asked for */
    expect_err(fake, "fixed", other, GTEE_EAUTH, "not an SPDM 1.1 GET_MEASUREMENTS over our nonce");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_collect_sample, setup),
        cmocka_unit_test_setup(test_errors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
