/* TDX and SEV-SNP through a fake configfs-tsm that hands back the real tdx-1 quote and the
 * real milan-1 report. */
#include <dirent.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/tee.h"
#include "tee/fake_tsm.c"
#include "tee/tee_int.h"

static void make_fake(struct fake_tsm *f, const char *provider, const char *sample)
{
    char root[PATH_MAX], p[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "tsm"), 0);
    vector_path(p, sizeof(p), sample);
    assert_int_equal(fake_tsm_create(f, root, provider, p), 0);
}

static struct gtee_tee *open_tsm(const char *name, struct fake_tsm *f)
{
    struct gtee_tee_options opt = { .root = f->root, .tsm_dirops = &f->ops };
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    assert_int_equal(gtee_tee_open(name, &opt, &t, &err), 0);
    return t;
}

static int report_dir_entries(const struct fake_tsm *f)
{
    char p[PATH_MAX + 64];
    struct dirent *d;
    int n = 0;
    DIR *dir;

    snprintf(p, sizeof(p), "%s/sys/kernel/config/tsm/report", f->root);
    dir = opendir(p);
    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL)
        if (d->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static void evidence_round(const char *name, const char *provider, const char *sample)
{
    struct fake_tsm f;
    struct gtee_err err = {0};
    uint8_t rd[GTEE_REPORT_DATA_LEN], *ev = NULL;
    size_t ev_len = 0;
    struct gtee_tee *t;

    make_fake(&f, provider, sample);
    assert_int_equal(gtee_random(rd, sizeof(rd)), 0);
    t = open_tsm(name, &f);
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(ev_len, f.sample_len);
    assert_memory_equal(ev, f.sample, f.sample_len);
    assert_int_equal(f.last_inblob_len, GTEE_REPORT_DATA_LEN);
    assert_memory_equal(f.last_inblob, rd, GTEE_REPORT_DATA_LEN);
    /* One entry per request, removed afterwards. */
    assert_int_equal(f.made, 1);
    assert_int_equal(f.removed, 1);
    assert_int_equal(report_dir_entries(&f), 0);
    free(ev);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_tdx_evidence_is_the_outblob_quote_over_our_inblob(void **state)
{
    evidence_round("tdx", "tdx_guest", "tdx/tdx-1/quote.bin");
}

static void test_snp_evidence_is_the_outblob_report_over_our_inblob(void **state)
{
    evidence_round("snp", "sev_guest", "snp/milan-1/report.bin");
}

static void test_snp_measurement_matches_the_sample_report(void **state)
{
    /* expected.json of milan-1 names the report's MEASUREMENT field. */
    static const char want_hex[] = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
                                   "6bdf8a9ece31a5a608eb0cf2e4872b01";
    uint8_t want[48], m[GTEE_MEASUREMENT_MAX];
    struct fake_tsm f;
    struct gtee_err err = {0};
    size_t m_len = 0;
    struct gtee_tee *t;

    assert_int_equal(gtee_hex_decode(want_hex, want, sizeof(want)), 0);
    make_fake(&f, "sev_guest", "snp/milan-1/report.bin");
    t = open_tsm("snp", &f);
    assert_int_equal(gtee_tee_measurement(t, m, &m_len, &err), 0);
    assert_int_equal(m_len, 48);
    assert_memory_equal(m, want, 48);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_tdx_measurement_is_mrtd_of_the_quote(void **state)
{
    uint8_t m[GTEE_MEASUREMENT_MAX];
    struct fake_tsm f;
    struct gtee_err err = {0};
    size_t m_len = 0;
    struct gtee_tee *t;

    make_fake(&f, "tdx_guest", "tdx/tdx-1/quote.bin");
    t = open_tsm("tdx", &f);
    assert_int_equal(gtee_tee_measurement(t, m, &m_len, &err), 0);
    assert_int_equal(m_len, 48);
    /* Intel TDX DCAP quote v4: header 48, TD report body; MRTD at body offset 136. */
    assert_memory_equal(m, f.sample + 184, 48);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_tsm_detects_a_concurrent_writer_by_generation(void **state)
{
    struct fake_tsm f;
    struct gtee_err err = {0};
    uint8_t rd[GTEE_REPORT_DATA_LEN] = {0}, *ev = NULL;
    size_t ev_len = 0;
    struct gtee_tee *t;

    make_fake(&f, "tdx_guest", "tdx/tdx-1/quote.bin");
    t = open_tsm("tdx", &f);
    f.gen_step = 2; /* someone else wrote inblob between our write and our read */
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), GTEE_ESTATE);
    assert_null(ev);
    assert_int_equal(ev_len, 0);
    assert_non_null(strstr(err.msg, "from 0 to 2"));
    assert_non_null(strstr(err.msg, "another writer"));
    assert_int_equal(report_dir_entries(&f), 0);
    f.gen_step = 1;
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), 0);
    free(ev);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_tsm_fails_clearly_without_or_with_another_provider(void **state)
{
    struct fake_tsm f;
    struct gtee_err err = {0};
    uint8_t rd[GTEE_REPORT_DATA_LEN] = {0}, *ev = NULL;
    size_t ev_len = 0;
    struct gtee_tee *t;

    make_fake(&f, NULL, "tdx/tdx-1/quote.bin");
    t = open_tsm("tdx", &f);
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no provider attribute"));
    assert_int_equal(report_dir_entries(&f), 0);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);

    make_fake(&f, "sev_guest", "snp/milan-1/report.bin");
    t = open_tsm("tdx", &f);
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "'sev_guest', expected 'tdx_guest'"));
    assert_int_equal(f.last_inblob_len, 0); /* nothing was requested from the wrong provider */
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

static void test_tdx_gives_no_sealing_key(void **state)
{
    struct fake_tsm f;
    struct gtee_err err = {0};
    uint8_t k[GTEE_SEAL_KEY_LEN] = {0}, zero[GTEE_SEAL_KEY_LEN] = {0};
    struct gtee_tee *t;

    make_fake(&f, "tdx_guest", "tdx/tdx-1/quote.bin");
    t = open_tsm("tdx", &f);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, k, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "docs/tee.md"));
    assert_memory_equal(k, zero, sizeof(k));
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
}

/* A fake SEV firmware behind the one replaceable call: checks the MSG_KEY_REQ we send and
 * answers a key that depends on its chip secret and the guest's measurement. */
struct fake_psp {
    uint8_t chip[32];
    uint8_t measurement[48];
    uint32_t status;
    int fail_errno;
    int calls;
};

static int fake_psp_ioctl(int fd, unsigned long request, void *arg, void *ctx)
{
    struct fake_psp *psp = ctx;
    struct snp_guest_request_ioctl *io = arg;
    struct snp_derived_key_req *req = (struct snp_derived_key_req *)(uintptr_t)io->req_data;
    struct snp_derived_key_resp *resp = (struct snp_derived_key_resp *)(uintptr_t)io->resp_data;
    uint8_t in[80];

    psp->calls++;
    if (fd < 0 || request != SNP_GET_DERIVED_KEY || io->msg_version != 1)
        return -EINVAL;
    if (req->root_key_select != 0 || req->guest_field_select != 0x9 || req->vmpl != 0)
        return -EINVAL; /* VCEK root; guest policy and measurement; VMPL 0 */
    if (psp->fail_errno) {
        io->fw_error = 0x16;
        return -psp->fail_errno;
    }
    memset(resp->data, 0, sizeof(resp->data));
    memcpy(resp->data, &psp->status, 4);
    memcpy(in, psp->chip, 32);
    memcpy(in + 32, psp->measurement, 48);
    if (gtee_sha256(in, sizeof(in), resp->data + 0x20) != 0)
        return -EIO;
    return 0;
}

static void snp_key(struct fake_tsm *f, struct fake_psp *psp, enum gtee_seal_policy pol, uint8_t k[32], int want_rc)
{
    struct gtee_snp_ioctl_ops ops = { fake_psp_ioctl, psp };
    struct gtee_tee_options opt = { .root = f->root, .tsm_dirops = &f->ops, .snp_ioctl = &ops };
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    assert_int_equal(gtee_tee_open("snp", &opt, &t, &err), 0);
    assert_int_equal(gtee_tee_sealing_key(t, pol, k, &err), want_rc);
    gtee_tee_close(t);
}

static void test_snp_sealing_key_comes_from_the_firmware_derived_key(void **state)
{
    struct fake_tsm f;
    struct fake_psp psp;
    uint8_t k1[32], k2[32], k3[32], raw[32], in[80];
    char dev[PATH_MAX + 32];

    make_fake(&f, "sev_guest", "snp/milan-1/report.bin");
    memset(&psp, 0, sizeof(psp));
    memset(psp.chip, 0xc1, 32);
    memset(psp.measurement, 0x4d, 48);
    /* no /dev/sev-guest: a clear refusal */
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k1, GTEE_ENOTFOUND);
    snprintf(dev, sizeof(dev), "%s/dev", f.root);
    assert_int_equal(fake_mkdirs(dev), 0);
    snprintf(dev, sizeof(dev), "%s/dev/sev-guest", f.root);
    assert_int_equal(fake_write(dev, "", 0), 0);

    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k1, 0);
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k2, 0);
    assert_memory_equal(k1, k2, 32);                 /* stable on one chip and launch */
    memcpy(in, psp.chip, 32);
    memcpy(in + 32, psp.measurement, 48);
    assert_int_equal(gtee_sha256(in, sizeof(in), raw), 0);
    assert_memory_not_equal(k1, raw, 32);            /* expanded, never the raw key */
    psp.measurement[0] ^= 1;
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k3, 0);
    assert_memory_not_equal(k1, k3, 32);             /* another measurement */
    psp.measurement[0] ^= 1;
    psp.chip[0] ^= 1;
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k3, 0);
    assert_memory_not_equal(k1, k3, 32);             /* another chip */
    psp.chip[0] ^= 1;

    snp_key(&f, &psp, GTEE_SEAL_MRSIGNER, k3, GTEE_EUNSUPPORTED);
    psp.status = 0x16;                               /* firmware INVALID_PARAM */
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k3, GTEE_EIO);
    psp.status = 0;
    psp.fail_errno = EIO;
    snp_key(&f, &psp, GTEE_SEAL_MRENCLAVE, k3, GTEE_EIO);
    unlink(dev);
    snprintf(dev, sizeof(dev), "%s/dev", f.root);
    rmdir(dev);
    fake_tsm_destroy(&f);
}

/* Only plain digits: "-1" must not become ULONG_MAX (g0 + 1 would wrap to 0 and pass the
 * concurrent-writer check), nor may signs, spaces or an overflow slip through. */
static void test_generation_text_must_be_plain_digits(void **state)
{
    static const char *const bad[] = { "", "-1", "+1", " 1", "1 2", "0x10", "18446744073709551615",
                                       "99999999999999999999999" };
    unsigned long g = 0;
    char max_minus_1[32];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tee_tsm_parse_generation(bad[i], &g, "t", NULL) != GTEE_EFORMAT)
            fail_msg("accepted generation '%s'", bad[i]);
    assert_int_equal(tee_tsm_parse_generation("0", &g, "t", NULL), 0);
    assert_int_equal(g, 0);
    assert_int_equal(tee_tsm_parse_generation("41", &g, "t", NULL), 0);
    assert_int_equal(g, 41);
    snprintf(max_minus_1, sizeof(max_minus_1), "%lu", ULONG_MAX - 1);
    assert_int_equal(tee_tsm_parse_generation(max_minus_1, &g, "t", NULL), 0);
    assert_true(g == ULONG_MAX - 1);
}

static void test_tsm_open_fails_without_configfs_tsm(void **state)
{
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "empty"), 0);
    opt.root = root;
    assert_int_equal(gtee_tee_open("snp", &opt, &t, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "configfs-tsm"));
    rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tdx_evidence_is_the_outblob_quote_over_our_inblob),
        cmocka_unit_test(test_snp_evidence_is_the_outblob_report_over_our_inblob),
        cmocka_unit_test(test_snp_measurement_matches_the_sample_report),
        cmocka_unit_test(test_tdx_measurement_is_mrtd_of_the_quote),
        cmocka_unit_test(test_tsm_detects_a_concurrent_writer_by_generation),
        cmocka_unit_test(test_tsm_fails_clearly_without_or_with_another_provider),
        cmocka_unit_test(test_tdx_gives_no_sealing_key),
        cmocka_unit_test(test_snp_sealing_key_comes_from_the_firmware_derived_key),
        cmocka_unit_test(test_tsm_open_fails_without_configfs_tsm),
        cmocka_unit_test(test_generation_text_must_be_plain_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
