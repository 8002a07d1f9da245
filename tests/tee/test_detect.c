/* Backend selection: "auto" finds the hardware interface that is present and never the
 * simulation; names are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/tee.h"
#include "tee/fake_gramine.c"
#include "tee/fake_tsm.c"

static void test_auto_fails_clearly_on_an_empty_root(void **state)
{
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "empty"), 0);
    opt.root = root;
    assert_null(gtee_tee_detect(&opt));
    assert_int_equal(gtee_tee_open("auto", &opt, &t, &err), GTEE_ENOTFOUND);
    assert_null(t);
    assert_non_null(strstr(err.msg, "no TEE hardware found"));
    assert_non_null(strstr(err.msg, "--tee sim"));
    rmdir(root);
}

static void test_auto_picks_gramine_sgx(void **state)
{
    static const uint8_t k[16] = {0};
    struct fake_gramine f;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], q[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "gramine"), 0);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    assert_int_equal(fake_gramine_create(&f, root, q, "dcap", k, k), 0);
    opt.root = root;
    assert_int_equal(gtee_tee_open("auto", &opt, &t, &err), 0);
    assert_string_equal(gtee_tee_name(t), "sgx");
    assert_int_equal(gtee_tee_kind(t), GTEE_TEE_KIND_SGX);
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

static void auto_picks_tsm(const char *provider, const char *sample, const char *want, enum gtee_tee_kind kind)
{
    struct fake_tsm f;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], p[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "tsm"), 0);
    vector_path(p, sizeof(p), sample);
    assert_int_equal(fake_tsm_create(&f, root, provider, p), 0);
    opt.root = root;
    opt.tsm_dirops = &f.ops;
    assert_int_equal(gtee_tee_open("auto", &opt, &t, &err), 0);
    assert_string_equal(gtee_tee_name(t), want);
    assert_int_equal(gtee_tee_kind(t), kind);
    assert_int_equal(f.made, f.removed); /* the probe entries are gone */
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_auto_picks_tdx_by_provider(void **state)
{
    auto_picks_tsm("tdx_guest", "tdx/tdx-1/quote.bin", "tdx", GTEE_TEE_KIND_TDX);
}

static void test_auto_picks_snp_by_provider(void **state)
{
    auto_picks_tsm("sev_guest", "snp/milan-1/report.bin", "snp", GTEE_TEE_KIND_SNP);
}

static void test_auto_ignores_configfs_tsm_with_an_unknown_provider(void **state)
{
    struct fake_tsm f;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], p[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "tsm"), 0);
    vector_path(p, sizeof(p), "tdx/tdx-1/quote.bin");
    assert_int_equal(fake_tsm_create(&f, root, "cca_guest", p), 0);
    opt.root = root;
    opt.tsm_dirops = &f.ops;
    assert_int_equal(gtee_tee_open("auto", &opt, &t, &err), GTEE_ENOTFOUND);
    fake_tsm_destroy(&f);
}

static void test_unknown_backend_name_is_rejected(void **state)
{
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    assert_int_equal(gtee_tee_open("sgx2", NULL, &t, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "'sgx2'"));
    assert_int_equal(gtee_tee_open(NULL, NULL, &t, &err), GTEE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_fails_clearly_on_an_empty_root),
        cmocka_unit_test(test_auto_picks_gramine_sgx),
        cmocka_unit_test(test_auto_picks_tdx_by_provider),
        cmocka_unit_test(test_auto_picks_snp_by_provider),
        cmocka_unit_test(test_auto_ignores_configfs_tsm_with_an_unknown_provider),
        cmocka_unit_test(test_unknown_backend_name_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
