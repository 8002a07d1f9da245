/* Composite evidence over the attested channel: an enclave whose evidence source gives a
 * bundle (its simulated TEE's quote over the report data, and the real h100-1 GPU report)
 * presents it in its certificate under the bundle OID, and the client's check reaches the
 * GPU part: the sample's nonce is not the one the quote commits to, so the verdict names the
 * binding (bundle.gpu.binding), beside the sample RIMs' expired signing certificates and
 * nothing else; so do its FRESH answers. A policy requiring a GPU refuses a certificate with
 * the TEE's evidence alone
 * (policy.gpu.required). The parser refuses a bundle that does not parse, whose CVM part is
 * not an Intel quote, or beside a quote extension. */
#include "ratls/ratls_testlib.h"
#include "ratls/ratls_gpu_testlib.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "gtee/bundle.h"

static char base[PATH_MAX], dev[PATH_MAX], bdir[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    t_tmpdir(base, sizeof(base), "ratls-gpu");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    snprintf(bdir, sizeof(bdir), "%.*s/bundle", PATH_MAX - 16, base);
    if (gtee_sim_init(dev, NULL) != 0)
        return -1;
    t_bundle_collateral(dev, bdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rmtree(base);
    return 0;
}

/* The enclave's evidence source with one GPU: the quote over rd, then the sample's report as
 * a GPU would give it for its own nonce (the producer's side: src/runtime/app_tee.c). */
static uint8_t *sample_report;
static size_t sample_report_len;
static const uint8_t *cvm_override; /* a CVM part other than the quote (parser tests) */
static size_t cvm_override_len;

static int bundle_evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *ev_len, struct gtee_err *err)
{
    struct gtee_bundle b = {0};
    uint8_t *q = NULL;
    size_t q_len = 0;
    int rc = t_evidence(arg, rd, &q, &q_len, err);

    if (rc < 0)
        return rc;
    b.cvm = cvm_override ? cvm_override : q;
    b.cvm_len = cvm_override ? cvm_override_len : q_len;
    b.n_gpu = 1;
    b.gpu[0] = sample_report;
    b.gpu_len[0] = sample_report_len;
    rc = gtee_bundle_write(&b, ev, ev_len, err);
    free(q);
    return rc;
}

struct conn {
    int client_rc;
    struct gtee_ratls_peer peer;
    struct gtee_err err;
    struct t_server srv;
    int fresh;                        /* ask for fresh evidence after the handshake */
    int fresh_rc;
    struct gtee_ratls_peer fresh_peer;
};

static void connect_once(const struct gtee_ratls_cred *scred, const struct gtee_ratls_verify *cvfy, struct conn *r)
{
    struct gtee_ratls_ctx *sctx = NULL, *cctx = NULL;
    struct gtee_ratls_conn *c = NULL;
    struct gtee_err err = {0};
    int sv[2], fresh = r->fresh;

    memset(r, 0, sizeof(*r));
    r->fresh = fresh;
    if (gtee_ratls_server_new(scred, NULL, &sctx, &err) != 0)
        fail_msg("server: %s", err.msg);
    if (gtee_ratls_client_new(cvfy, NULL, &cctx, &err) != 0)
        fail_msg("client: %s", err.msg);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t_server_start(&r->srv, sctx, sv[0], 0);
    r->client_rc = gtee_ratls_connect(cctx, sv[1], &c, &r->peer, &r->err);
    if (r->client_rc == 0 && r->fresh) {
        uint8_t nonce[32];

        r->fresh_peer = r->peer;
        r->fresh_rc = gtee_ratls_fresh(c, nonce, &r->fresh_peer, &r->err);
    }
    gtee_ratls_conn_free(c);
    shutdown(sv[1], SHUT_RDWR);
    t_server_join(&r->srv);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(sctx);
    gtee_ratls_ctx_free(cctx);
}

static struct gtee_ratls_cred gpu_cred(struct t_enclave *e)
{
    struct gtee_ratls_cred c = t_cred(e);

    c.evidence = bundle_evidence;
    return c;
}

static void test_ratls_bundle_certificate_reaches_the_gpu(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ext ext;
    struct gtee_err err = {0};
    struct conn *r = calloc(1, sizeof(*r));
    uint8_t rd[64], *ev = NULL, *der = NULL;
    size_t ev_len = 0, len = 0, expired;

    (void)state;
    t_enclave_open(&e, dev, 0xa1, 0);
    t_verifier_bundle(&v, dev, bdir, T_GPU_POLICY);
    cred = gpu_cred(&e);

    /* The certificate carries the bundle under its OID; the quote's kind is the CVM part's. */
    assert_int_equal(gtee_ratls_report_data(e.enclave_pub, e.channel_pub, NULL, rd), 0);
    assert_int_equal(bundle_evidence(&e, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(gtee_ratls_cert_new(e.channel_priv, e.channel_pub, e.enclave_pub, GTEE_TEE_SGX, ev, ev_len, &der,
                                         &len, &err), 0);
    if (gtee_ratls_ext_parse(der, len, &ext, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(ext.bundle);
    assert_int_equal(ext.tee, GTEE_TEE_SGX);
    assert_int_equal(ext.evidence_len, ev_len);
    assert_memory_equal(ext.evidence, ev, ev_len);
    gtee_ratls_ext_free(&ext);

    /* Over the handshake: every part verified, the GPU's report not over the quote's nonce. */
    connect_once(&cred, &v.vfy, r);
    t_print_reasons(&r->peer.verdict);
    print_message("why: %s\n", r->peer.why);
    assert_int_equal(r->client_rc, GTEE_EPOLICY);
    assert_int_not_equal(r->srv.accept_rc, 0);
    assert_int_equal(r->peer.verdict.claims.tee, GTEE_TEE_SGX);
    assert_true(r->peer.verdict.claims.simulated);
    assert_int_equal(r->peer.verdict.claims.gpus_bound, 0);
    assert_int_equal(t_count(&r->peer.verdict, "report_data.", NULL), 0); /* the quote is bound to the keys */
    assert_int_equal(t_count(&r->peer.verdict, "bundle.gpu.binding", "GPU 0: "), 1);
    expired = t_expired_rims(&r->peer.verdict);
    assert_true(expired >= 1); /* the GPU part was verified with its collateral */
    assert_int_equal(r->peer.verdict.n_reasons, 1 + expired);
    /* cert -> evidence -> binding -> policy: the expired RIM certificates come first. */
    assert_int_equal(r->peer.failure, GTEE_RATLS_FAIL_EVIDENCE);
    assert_non_null(strstr(r->peer.why, "chain.expired: GPU 0: "));

    /* The same certificate under a policy that requires a GPU: also the count. */
    v.policy.gpu.min_count = 1;
    connect_once(&cred, &v.vfy, r);
    assert_int_equal(r->client_rc, GTEE_EPOLICY);
    assert_int_equal(t_count(&r->peer.verdict, "bundle.gpu.binding", "GPU 0: "), 1);
    assert_int_equal(t_count(&r->peer.verdict, "policy.gpu.required", NULL), 1);

    /* Plain collateral for a bundle: the GPU has none, and the verdict says so. */
    t_verifier_close(&v);
    t_verifier_open(&v, dev, T_GPU_POLICY);
    connect_once(&cred, &v.vfy, r);
    assert_int_equal(r->client_rc, GTEE_EPOLICY);
    assert_int_equal(r->peer.failure, GTEE_RATLS_FAIL_EVIDENCE);
    assert_non_null(strstr(r->peer.why, "gpu.collateral.missing: GPU 0"));

    free(der);
    free(ev);
    free(r);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

/* FRESH answers are bundles too: behind a certificate with the quote alone (presented as is,
 * the only way to pass a handshake with the sample), the fresh bundle's GPU part is verified
 * over the client's nonce, and the sample's report is not over it. */
static void test_ratls_fresh_bundle_reaches_the_gpu(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_err err = {0};
    struct conn *r = calloc(1, sizeof(*r));
    uint8_t rd[64], *ev = NULL, *der = NULL;
    size_t ev_len = 0, len = 0, expired;

    (void)state;
    t_enclave_open(&e, dev, 0xa1, 0);
    t_verifier_bundle(&v, dev, bdir, T_GPU_POLICY);
    assert_int_equal(gtee_ratls_report_data(e.enclave_pub, e.channel_pub, NULL, rd), 0);
    assert_int_equal(t_evidence(&e, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(gtee_ratls_cert_new(e.channel_priv, e.channel_pub, e.enclave_pub, GTEE_TEE_SGX, ev, ev_len, &der,
                                         &len, &err), 0);
    cred = gpu_cred(&e);
    cred.cert_der = der;
    cred.cert_der_len = len;
    r->fresh = 1;
    connect_once(&cred, &v.vfy, r);
    if (r->client_rc != 0) /* the quote alone, verified with the bundle directory's cvm/ */
        fail_msg("%s", r->err.msg);
    t_print_reasons(&r->fresh_peer.verdict);
    assert_int_equal(r->fresh_rc, GTEE_EPOLICY);
    assert_int_equal(t_count(&r->fresh_peer.verdict, "report_data.", NULL), 0); /* bound to this session's keys and nonce */
    assert_int_equal(t_count(&r->fresh_peer.verdict, "bundle.gpu.binding", "GPU 0: "), 1);
    expired = t_expired_rims(&r->fresh_peer.verdict);
    assert_true(expired >= 1);
    assert_int_equal(r->fresh_peer.verdict.n_reasons, 1 + expired);
    assert_int_equal(r->fresh_peer.failure, GTEE_RATLS_FAIL_EVIDENCE);
    free(der);
    free(ev);
    free(r);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

/* The TEE's evidence alone, to a client whose policy requires a GPU: refused by the policy,
 * named. */
static void test_ratls_gpu_policy_refuses_a_plain_certificate(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct conn *r = calloc(1, sizeof(*r));

    (void)state;
    t_enclave_open(&e, dev, 0xa1, 0);
    t_verifier_open(&v, dev, T_GPU_POLICY);
    cred = t_cred(&e);
    connect_once(&cred, &v.vfy, r);
    if (r->client_rc != 0)
        fail_msg("without a GPU requirement: %s", r->err.msg);
    t_verifier_close(&v);
    t_verifier_open(&v, dev, T_GPU_POLICY_REQUIRED);
    connect_once(&cred, &v.vfy, r);
    print_message("why: %s\n", r->peer.why);
    assert_int_equal(r->client_rc, GTEE_EPOLICY);
    assert_int_equal(r->peer.failure, GTEE_RATLS_FAIL_POLICY);
    assert_true(strncmp(r->peer.why, "policy.gpu.required: ", 21) == 0);
    assert_non_null(strstr(r->err.msg, "policy.gpu.required"));
    assert_int_equal(r->peer.verdict.claims.gpus_bound, 0);
    free(r);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

/* The channel key h as an EVP_PKEY (private and public halves). */
static EVP_PKEY *p256_key(const uint8_t priv[32], const uint8_t pub[65])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *d = BN_bin2bn(priv, 32, NULL);
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;

    assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, "group", "prime256v1", 0));
    assert_true(OSSL_PARAM_BLD_push_octet_string(bld, "pub", pub, 65));
    assert_true(OSSL_PARAM_BLD_push_BN(bld, "priv", d));
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(d);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* The certificate the enclave makes for evidence ev, parsed: rc, the parser's message in why. */
static int parse_cert_of(struct t_enclave *e, const uint8_t *ev, size_t ev_len, int add_quote, char *why, size_t n)
{
    struct gtee_ratls_ext ext;
    struct gtee_err err = {0};
    uint8_t *der = NULL;
    size_t len = 0;
    int rc;

    assert_int_equal(gtee_ratls_cert_new(e->channel_priv, e->channel_pub, e->enclave_pub, GTEE_TEE_SGX, ev, ev_len,
                                         &der, &len, &err), 0);
    if (add_quote) {
        /* a quote extension beside the bundle, re-signed by the channel key */
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        ASN1_OBJECT *obj = OBJ_txt2obj(GTEE_RATLS_OID_SGX_QUOTE, 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *xe;
        EVP_PKEY *k = p256_key(e->channel_priv, e->channel_pub);
        unsigned char *buf = NULL;
        int m;

        assert_non_null(x);
        assert_int_equal(ASN1_OCTET_STRING_set(os, ev + 16, 64), 1);
        xe = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        assert_int_equal(X509_add_ext(x, xe, -1), 1);
        assert_true(X509_sign(x, k, EVP_sha256()) > 0);
        m = i2d_X509(x, &buf);
        assert_true(m > 0);
        free(der);
        der = malloc((size_t)m);
        memcpy(der, buf, (size_t)m);
        len = (size_t)m;
        OPENSSL_free(buf);
        X509_EXTENSION_free(xe);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
        EVP_PKEY_free(k);
        X509_free(x);
    }
    rc = gtee_ratls_ext_parse(der, len, &ext, &err);
    snprintf(why, n, "%s", err.msg);
    if (rc == 0)
        gtee_ratls_ext_free(&ext);
    free(der);
    return rc;
}

static void test_ratls_bundle_extension_parsed_exactly(void **state)
{
    struct t_enclave e;
    struct gtee_err err = {0};
    char why[GTEE_ERR_MSG_MAX];
    uint8_t rd[64], *ev = NULL, *snp;
    size_t ev_len = 0, snp_len;

    (void)state;
    t_enclave_open(&e, dev, 0xa1, 0);
    assert_int_equal(gtee_ratls_report_data(e.enclave_pub, e.channel_pub, NULL, rd), 0);
    assert_int_equal(bundle_evidence(&e, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(parse_cert_of(&e, ev, ev_len, 0, why, sizeof(why)), 0);

    /* A TDX quote as the CVM part: the bundle names TDX, whatever the credential's kind. */
    {
        struct gtee_ratls_ext ext;
        uint8_t *tev = NULL, *der = NULL;
        size_t tev_len = 0, len = 0;

        e.quote_version = GTEE_SIM_QUOTE_TDX;
        assert_int_equal(bundle_evidence(&e, rd, &tev, &tev_len, &err), 0);
        e.quote_version = GTEE_SIM_QUOTE_SGX;
        assert_int_equal(gtee_ratls_cert_new(e.channel_priv, e.channel_pub, e.enclave_pub, GTEE_TEE_SGX, tev, tev_len,
                                             &der, &len, &err), 0);
        assert_int_equal(gtee_ratls_ext_parse(der, len, &ext, &err), 0);
        assert_true(ext.bundle);
        assert_int_equal(ext.tee, GTEE_TEE_TDX);
        gtee_ratls_ext_free(&ext);
        free(der);
        free(tev);
    }

    /* A byte after the last part: the bundle does not parse, and the parser says where. */
    ev = realloc(ev, ev_len + 1);
    ev[ev_len] = 0;
    assert_int_equal(parse_cert_of(&e, ev, ev_len + 1, 0, why, sizeof(why)), GTEE_EFORMAT);
    print_message("trailing: %s\n", why);
    assert_non_null(strstr(why, "ratls: bundle extension: bundle: 1 bytes after the last part"));

    /* A quote extension beside the bundle: which one is the enclave's? */
    assert_int_equal(parse_cert_of(&e, ev, ev_len, 1, why, sizeof(why)), GTEE_EFORMAT);
    print_message("both: %s\n", why);
    assert_non_null(strstr(why, "more than one evidence extension"));

    /* A CVM part that is not an Intel quote (the SEV-SNP sample): no collateral to pick. */
    snp = nv_vec("snp/milan-1/report.bin", &snp_len);
    cvm_override = snp;
    cvm_override_len = snp_len;
    free(ev);
    ev = NULL;
    assert_int_equal(bundle_evidence(&e, rd, &ev, &ev_len, &err), 0);
    cvm_override = NULL;
    assert_int_equal(parse_cert_of(&e, ev, ev_len, 0, why, sizeof(why)), GTEE_EFORMAT);
    print_message("snp: %s\n", why);
    assert_non_null(strstr(why, "bundle extension's CVM part has version 2, key type 0"));
    assert_non_null(strstr(why, "not an SGX or TDX quote"));
    free(snp);
    free(ev);
    t_enclave_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratls_bundle_certificate_reaches_the_gpu),
        cmocka_unit_test(test_ratls_fresh_bundle_reaches_the_gpu),
        cmocka_unit_test(test_ratls_gpu_policy_refuses_a_plain_certificate),
        cmocka_unit_test(test_ratls_bundle_extension_parsed_exactly),
    };
    int rc;

    sample_report = nv_vec("nvidia/h100-1/report.bin", &sample_report_len);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    free(sample_report);
    return rc;
}
