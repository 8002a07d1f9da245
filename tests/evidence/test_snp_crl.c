/* AMD's ARK CRL applied to SEV-SNP evidence (docs/evidence-snp.md, "Revocation"), with a
 * chain and CRLs made here. No real AMD CRL is among the samples and the real ARK's key is
 * AMD's, so this test binary pins its own ARK-Milan and ASK: it defines
 * gtee_snp_ark_der / gtee_snp_ask_der itself, and the linker then takes these instead of
 * src/evidence/snp_roots.c's from libgtee.a (an archive member is pulled only for symbols
 * still undefined; that file defines nothing else, so a clash would fail the link loudly).
 * The library and every other binary keep AMD's roots: there is no run-time knob.
 *
 * An empty CRL accepts with revocation_checked; a CRL listing the ASK rejects
 * (snp.ask.revoked); a CRL signed by another key, expired, not yet valid, without a
 * nextUpdate or from another issuer rejects naming why; without a CRL the default policy
 * rejects naming ark_crl.der; prepared collateral gives the same verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/rsa.h>

#include "evidence/dcap.h"
#include "evidence/same_verdict.h"
#include "evidence/snp_forge.h"
#include "evidence/snp_internal.h"
#include "evidence/snp_test_util.h"
#include "gtee/evidence.h"

#define ASK_SERIAL 0x1001
#define ARK_SERIAL 0x0101

/* The test's pinned roots: set by setup, read by the verifier through these two symbols. */
static uint8_t *test_ark, *test_ask;
static size_t test_ark_len, test_ask_len;

const uint8_t *gtee_snp_ark_der(enum gtee_snp_product p, size_t *len)
{
    *len = p == GTEE_SNP_PRODUCT_MILAN ? test_ark_len : 0;
    return p == GTEE_SNP_PRODUCT_MILAN ? test_ark : NULL;
}

const uint8_t *gtee_snp_ask_der(enum gtee_snp_product p, size_t *len)
{
    *len = p == GTEE_SNP_PRODUCT_MILAN ? test_ask_len : 0;
    return p == GTEE_SNP_PRODUCT_MILAN ? test_ask : NULL;
}

struct crl_fix {
    struct forge f;
    EVP_PKEY *other_key;
    uint8_t *vcek;
    size_t vcek_len;
    long vcek_serial;
};

static uint8_t *der_of(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    uint8_t *out;

    assert_true(n > 0);
    out = malloc((size_t)n);
    assert_non_null(out);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

static int setup(void **state)
{
    struct crl_fix *s = calloc(1, sizeof(*s));
    struct forge *f = &s->f;
    size_t n;
    uint8_t *rep = snp_vec_read("snp/milan-1/report.bin", &n);
    const unsigned char *q;
    X509 *leaf;

    memcpy(f->report, rep, sizeof(f->report));
    free(rep);
    f->ark_key = EVP_RSA_gen(2048);
    f->ask_key = EVP_RSA_gen(2048);
    f->vcek_key = EVP_EC_gen("P-384");
    s->other_key = EVP_RSA_gen(2048);
    f->ark = new_cert_serial("ARK-Milan", "ARK-Milan", f->ark_key, true, ARK_SERIAL);
    assert_true(X509_sign(f->ark, f->ark_key, EVP_sha384()) > 0);
    f->ask = new_cert_serial("SEV-Milan", "ARK-Milan", f->ask_key, true, ASK_SERIAL);
    assert_true(X509_sign(f->ask, f->ark_key, EVP_sha384()) > 0);
    test_ark = der_of(f->ark, &test_ark_len);
    test_ask = der_of(f->ask, &test_ask_len);
    f->now = time(NULL);
    sign_report(f);
    s->vcek = forge_vcek(f, 0, &s->vcek_len);
    q = s->vcek;
    leaf = d2i_X509(NULL, &q, (long)s->vcek_len);
    assert_non_null(leaf);
    s->vcek_serial = ASN1_INTEGER_get(X509_get0_serialNumber(leaf));
    X509_free(leaf);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct crl_fix *s = *state;

    X509_free(s->f.ark);
    X509_free(s->f.ask);
    EVP_PKEY_free(s->f.ark_key);
    EVP_PKEY_free(s->f.ask_key);
    EVP_PKEY_free(s->f.vcek_key);
    EVP_PKEY_free(s->other_key);
    free(s->vcek);
    free(test_ark);
    free(test_ask);
    test_ark = test_ask = NULL;
    free(s);
    return 0;
}

/* A DER CRL issued by `issuer` (a CN), valid [now+from, now+to] (no nextUpdate if !has_next),
 * listing `serials` (0-terminated), signed by key with RSA-PSS and SHA-384, as AMD signs. */
static uint8_t *make_crl(const struct crl_fix *s, const char *issuer, EVP_PKEY *key, long from, long to,
                         bool has_next, const long *serials, size_t *len)
{
    X509_CRL *crl = X509_CRL_new();
    X509_NAME *in = X509_NAME_new();
    ASN1_TIME *t = ASN1_TIME_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    uint8_t *out;
    int n;

    assert_true(crl && in && t && md);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, in), 1);
    assert_non_null(ASN1_TIME_set(t, s->f.now + from));
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    if (has_next) {
        assert_non_null(ASN1_TIME_set(t, s->f.now + to));
        assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
    }
    for (size_t i = 0; serials && serials[i]; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();

        assert_non_null(ASN1_TIME_set(t, s->f.now - 86400));
        ASN1_INTEGER_set(sn, serials[i]);
        assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
        ASN1_INTEGER_free(sn);
    }
    assert_int_equal(X509_CRL_sort(crl), 1);
    assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0);
    assert_true(X509_CRL_sign_ctx(crl, md) > 0);
    n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    out = malloc((size_t)n);
    assert_non_null(out);
    memcpy(out, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ASN1_TIME_free(t);
    X509_NAME_free(in);
    X509_CRL_free(crl);
    return out;
}

static uint8_t *good_crl(const struct crl_fix *s, const long *serials, size_t *len)
{
    return make_crl(s, "ARK-Milan", s->f.ark_key, -3600, 3600, true, serials, len);
}

/* Collateral as gtee_collateral_load would make it: the forged VCEK and, if given, the CRL. */
static void collateral(const struct crl_fix *s, const uint8_t *crl, size_t crl_len, struct gtee_collateral *col)
{
    memset(col, 0, sizeof(*col));
    col->snp_vcek.p = malloc(s->vcek_len);
    assert_non_null(col->snp_vcek.p);
    memcpy(col->snp_vcek.p, s->vcek, s->vcek_len);
    col->snp_vcek.len = s->vcek_len;
    if (crl) {
        col->snp_ark_crl.p = malloc(crl_len);
        assert_non_null(col->snp_ark_crl.p);
        memcpy(col->snp_ark_crl.p, crl, crl_len);
        col->snp_ark_crl.len = crl_len;
    }
}

/* The forged report (milan-1's fields: its guest policy allows debug) under the default
 * policy with debug allowed: only revocation and the chain decide. */
static int verify_at(const struct crl_fix *s, const struct gtee_collateral *col, int64_t at, struct gtee_verdict *v)
{
    struct gtee_policy p;

    gtee_policy_default(&p);
    p.allow_debug = true;
    return gtee_evidence_verify(s->f.report, sizeof(s->f.report), col, NULL, &p, at, v, NULL);
}

static int verify(const struct crl_fix *s, const struct gtee_collateral *col, struct gtee_verdict *v)
{
    return verify_at(s, col, s->f.now, v);
}

static const struct gtee_reason *find(const struct gtee_verdict *v, const char *code)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        if (strcmp(v->reasons[i].code, code) == 0)
            return &v->reasons[i];
    return NULL;
}

static void assert_rejected_for(const struct gtee_verdict *v, const char *code, const char *words)
{
    const struct gtee_reason *r = find(v, code);

    if (!r)
        fail_msg("expected %s, got %zu reasons, first %s", code, v->n_reasons,
                 v->n_reasons ? v->reasons[0].code : "-");
    if (words && !strstr(r->msg, words))
        fail_msg("%s: \"%s\" does not say \"%s\"", code, r->msg, words);
    assert_false(v->verified);
    assert_false(v->accepted);
    assert_false(v->claims.revocation_checked);
    assert_int_equal(v->claims.crls_applied, 0);
}

/* The forged chain verifies under the test's pins (the premise of every other case): without
 * a CRL the chain is good and the default policy rejects for revocation alone, naming the file. */
static void test_without_crl_the_default_policy_names_ark_crl(void **state)
{
    struct crl_fix *s = *state;
    struct gtee_collateral col;
    struct gtee_verdict v;

    collateral(s, NULL, 0, &col);
    assert_int_equal(verify(s, &col, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_false(v.claims.revocation_checked);
    assert_int_equal(v.n_reasons, 1);
    assert_string_equal(v.reasons[0].code, "policy.revocation");
    assert_non_null(strstr(v.reasons[0].msg, "ark_crl.der"));
    gtee_collateral_free(&col);
}

static void test_empty_crl_accepts_with_revocation_checked(void **state)
{
    struct crl_fix *s = *state;
    struct gtee_collateral col;
    struct gtee_verdict v;
    static struct gtee_snp_result res;
    size_t n;
    uint8_t *crl = good_crl(s, NULL, &n);
    char *json = NULL;

    collateral(s, crl, n, &col);
    assert_int_equal(verify(s, &col, &v), 0);
    assert_true(v.accepted);
    assert_true(v.claims.revocation_checked);
    assert_int_equal(v.claims.crls_applied, GTEE_CRL_SNP_ARK);
    assert_int_equal(gtee_verdict_to_json(&v, &json, NULL), 0);
    assert_non_null(strstr(json, "\"revocation_checked\":true"));
    assert_non_null(strstr(json, "\"crls_applied\":[\"ark_crl.der\"]"));
    free(json);
    /* the SNP layer's own result says the same */
    assert_int_equal(gtee_snp_verify_crl(s->f.report, sizeof(s->f.report), s->vcek, s->vcek_len, NULL, crl, n,
                                         s->f.now, &res, NULL), 0);
    assert_true(res.verified);
    assert_true(res.crl_given);
    assert_true(res.revocation_checked);
    assert_int_equal(gtee_snp_verify(s->f.report, sizeof(s->f.report), s->vcek, s->vcek_len, NULL, s->f.now, &res,
                                     NULL), 0);
    assert_false(res.revocation_checked);
    gtee_collateral_free(&col);
    free(crl);
}

static void test_crl_listing_the_ask_rejects(void **state)
{
    struct crl_fix *s = *state;
    const long listed[] = { 0x77, ASK_SERIAL, 0 };
    struct gtee_collateral col;
    struct gtee_verdict v;
    size_t n;
    uint8_t *crl = good_crl(s, listed, &n);

    collateral(s, crl, n, &col);
    assert_int_equal(verify(s, &col, &v), GTEE_EPOLICY);
    assert_rejected_for(&v, "snp.ask.revoked", "serial 0x1001");
    assert_non_null(strstr(find(&v, "snp.ask.revoked")->msg, "ark_crl.der"));
    gtee_collateral_free(&col);
    free(crl);
}

/* The ARK's CRL lists certificates the ARK issued. The VCEK is the ASK's (serial numbers are
 * unique per issuer, RFC 5280 4.1.2.2), so the same number in the ARK's CRL is another
 * certificate's: the VCEK is not rejected for it, as AMD revokes no VCEK (TCB versions
 * supersede them). A CRL listing other serials only is applied and accepts. */
static void test_crl_applies_to_the_arks_certificates_only(void **state)
{
    struct crl_fix *s = *state;
    const long listed[] = { s->vcek_serial, ASK_SERIAL + 1, 0 };
    struct gtee_collateral col;
    struct gtee_verdict v;
    size_t n;
    uint8_t *crl = good_crl(s, listed, &n);

    assert_int_not_equal(s->vcek_serial, ASK_SERIAL);
    collateral(s, crl, n, &col);
    assert_int_equal(verify(s, &col, &v), 0);
    assert_true(v.claims.revocation_checked);
    gtee_collateral_free(&col);
    free(crl);
}

static void test_bad_crls_reject_naming_why(void **state)
{
    struct crl_fix *s = *state;
    struct {
        const char *issuer;
        bool other_key, has_next;
        long from, to;
        const char *code, *words;
    } cases[] = {
        { "ARK-Milan", true, true, -3600, 3600, "snp.crl.signature", "pinned ARK-Milan" },
        { "ARK-Milan", false, true, -7200, -3600, "snp.crl.expired", "nextUpdate" },
        { "ARK-Milan", false, true, 600, 7200, "snp.crl.not_yet_valid", "thisUpdate" },
        { "ARK-Milan", false, false, -3600, 0, "snp.crl.format", "nextUpdate" },
        { "SEV-Milan", false, true, -3600, 3600, "snp.crl.issuer", "ARK-Milan" },
    };
    struct gtee_collateral col;
    struct gtee_verdict v;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        uint8_t *crl = make_crl(s, cases[i].issuer, cases[i].other_key ? s->other_key : s->f.ark_key, cases[i].from,
                                cases[i].to, cases[i].has_next, NULL, &n);

        collateral(s, crl, n, &col);
        assert_int_equal(verify(s, &col, &v), GTEE_EPOLICY);
        assert_rejected_for(&v, cases[i].code, cases[i].words);
        gtee_collateral_free(&col);
        free(crl);
    }
    /* not a CRL at all, and a CRL with a byte after it */
    {
        uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
        size_t n;
        uint8_t *crl = good_crl(s, NULL, &n), *longer = malloc(n + 1);

        collateral(s, junk, sizeof(junk), &col);
        assert_int_equal(verify(s, &col, &v), GTEE_EPOLICY);
        assert_rejected_for(&v, "snp.crl.format", "not one DER CRL");
        gtee_collateral_free(&col);
        assert_non_null(longer);
        memcpy(longer, crl, n);
        longer[n] = 0;
        collateral(s, longer, n + 1, &col);
        assert_int_equal(verify(s, &col, &v), GTEE_EPOLICY);
        assert_rejected_for(&v, "snp.crl.format", "not one DER CRL");
        gtee_collateral_free(&col);
        free(longer);
        free(crl);
    }
}

/* Prepared collateral with a CRL: the chain verified once with the CRL applied, used while
 * the CRL's window (and the certificates') is open, the full path otherwise; every verdict
 * equals unprepared collateral's. A revoked ASK or a bad CRL is never kept. */
static void test_prepared_collateral_with_a_crl(void **state)
{
    struct crl_fix *s = *state;
    const long listed[] = { ASK_SERIAL, 0 };
    struct gtee_collateral plain, prep;
    struct gtee_verdict v, full;
    size_t n;
    uint8_t *crl = good_crl(s, NULL, &n);
    const int64_t times[] = { s->f.now, s->f.now - 3600, s->f.now + 3600, s->f.now + 3601, s->f.now - 3601 };
    int rc, rc_full;

    collateral(s, crl, n, &plain);
    collateral(s, crl, n, &prep);
    assert_int_equal(gtee_collateral_prepare(&prep, NULL, NULL), 0);
    assert_non_null(dcap_prepared_snp(&prep));
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        rc = verify_at(s, &prep, times[i], &v);
        rc_full = verify_at(s, &plain, times[i], &full);
        assert_same_verdict(rc, &v, rc_full, &full);
    }
    assert_int_equal(snp_prepared_hits(dcap_prepared_snp(&prep)), 1); /* only inside the CRL's window */
    assert_int_equal(verify(s, &prep, &v), 0);
    assert_true(v.claims.revocation_checked);
    assert_int_equal(snp_prepared_hits(dcap_prepared_snp(&prep)), 2);
    rc = verify_at(s, &prep, s->f.now + 7200, &v);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_rejected_for(&v, "snp.crl.expired", NULL);
    /* the CRL removed after preparing: other bytes, the full path, and no revocation claim */
    free(prep.snp_ark_crl.p);
    prep.snp_ark_crl.p = NULL;
    prep.snp_ark_crl.len = 0;
    assert_int_equal(verify(s, &prep, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_false(v.claims.revocation_checked);
    assert_int_equal(snp_prepared_hits(dcap_prepared_snp(&prep)), 2);
    gtee_collateral_free(&prep);
    free(crl);

    /* prepared with a CRL that lists the ASK: nothing kept, and rejected as unprepared is */
    crl = good_crl(s, listed, &n);
    collateral(s, crl, n, &prep);
    gtee_collateral_free(&plain);
    collateral(s, crl, n, &plain);
    assert_int_equal(gtee_collateral_prepare(&prep, NULL, NULL), 0);
    assert_null(dcap_prepared_snp(&prep));
    rc = verify(s, &prep, &v);
    rc_full = verify(s, &plain, &full);
    assert_same_verdict(rc, &v, rc_full, &full);
    assert_rejected_for(&v, "snp.ask.revoked", NULL);
    gtee_collateral_free(&prep);
    gtee_collateral_free(&plain);
    free(crl);
}

/* gtee_collateral_load reads ark_crl.der beside vcek.der. */
static void test_collateral_load_reads_ark_crl(void **state)
{
    struct crl_fix *s = *state;
    char dir[] = "/tmp/gtee-snp-crl-XXXXXX", path[64];
    struct gtee_collateral col;
    struct gtee_verdict v;
    size_t n;
    uint8_t *crl = good_crl(s, NULL, &n);
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vcek.der", dir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(s->vcek, 1, s->vcek_len, f), s->vcek_len);
    fclose(f);
    snprintf(path, sizeof(path), "%s/ark_crl.der", dir);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(crl, 1, n, f), n);
    fclose(f);
    assert_int_equal(gtee_collateral_load(dir, &col, NULL), 0);
    assert_int_equal(col.snp_ark_crl.len, n);
    assert_int_equal(verify(s, &col, &v), 0);
    assert_true(v.claims.revocation_checked);
    gtee_collateral_free(&col);
    unlink(path);
    snprintf(path, sizeof(path), "%s/vcek.der", dir);
    unlink(path);
    rmdir(dir);
    free(crl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_without_crl_the_default_policy_names_ark_crl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_crl_accepts_with_revocation_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_listing_the_ask_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_applies_to_the_arks_certificates_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_crls_reject_naming_why, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepared_collateral_with_a_crl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collateral_load_reads_ark_crl, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
