/* The attested channel over a socket pair, enclave side on the simulated TEE: accepted with
 * its claims when the policy allows simulation; rejected, with the reason named, without
 * that, for a wrong measurement, a debug enclave, evidence bound to another key, evidence
 * replayed from another enclave, and a certificate the host substituted. Mutual attestation,
 * freshness over a client nonce, and TLS 1.3 only. */
#include "ratls/ratls_testlib.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SIM_OK "{\"allow_simulation\":true}"

static char base[PATH_MAX], dev_a[PATH_MAX], dev_b[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    t_tmpdir(base, sizeof(base), "ratls");
    snprintf(dev_a, sizeof(dev_a), "%.*s/dev-a", PATH_MAX - 16, base);
    snprintf(dev_b, sizeof(dev_b), "%.*s/dev-b", PATH_MAX - 16, base);
    return gtee_sim_init(dev_a, NULL) == 0 && gtee_sim_init(dev_b, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    t_rmtree(base);
    return 0;
}

struct run {
    int client_rc;
    struct gtee_ratls_peer peer;   /* the server, as the client verified it */
    struct gtee_err err;
    struct t_server srv;
    int echo_ok;
    int fresh_rc;
    struct gtee_ratls_peer fresh_peer;
};

/* One connection: server with scred (and svfy: mutual), client with cvfy (and ccred). When
 * the handshake passes, one echoed message and, if asked, one freshness exchange. */
static void run(const struct gtee_ratls_cred *scred, const struct gtee_ratls_verify *svfy,
                const struct gtee_ratls_verify *cvfy, const struct gtee_ratls_cred *ccred, int fresh, int stale,
                struct run *r)
{
    struct gtee_ratls_ctx *sctx = NULL, *cctx = NULL;
    struct gtee_ratls_conn *c = NULL;
    struct gtee_err err = {0};
    int sv[2];

    memset(r, 0, sizeof(*r));
    if (gtee_ratls_server_new(scred, svfy, &sctx, &err) != 0)
        fail_msg("server: %s", err.msg);
    if (gtee_ratls_client_new(cvfy, ccred, &cctx, &err) != 0)
        fail_msg("client: %s", err.msg);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t_server_start(&r->srv, sctx, sv[0], stale);
    r->client_rc = gtee_ratls_connect(cctx, sv[1], &c, &r->peer, &r->err);
    if (r->client_rc == 0) {
        static const char hello[] = "attested hello";
        uint8_t *body = NULL;
        size_t len = 0;
        uint16_t type = 0;

        if (gtee_ratls_send_msg(c, GTEE_RATLS_MSG_APP, hello, sizeof(hello), &err) == 0 &&
            gtee_ratls_recv_msg(c, &type, &body, &len, &err) == 0)
            r->echo_ok = type == GTEE_RATLS_MSG_APP && len == sizeof(hello) && memcmp(body, hello, len) == 0;
        free(body);
        if (fresh) {
            uint8_t nonce[32];
            r->fresh_rc = gtee_ratls_fresh(c, nonce, &r->fresh_peer, &r->err);
        }
    }
    gtee_ratls_conn_free(c);
    shutdown(sv[1], SHUT_RDWR);
    t_server_join(&r->srv);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(sctx);
    gtee_ratls_ctx_free(cctx);
}

static void expect_rejected(const struct run *r, enum gtee_ratls_failure f, const char *why_prefix)
{
    assert_int_equal(r->client_rc, GTEE_EPOLICY);
    if (r->peer.failure != f || strncmp(r->peer.why, why_prefix, strlen(why_prefix)) != 0)
        fail_msg("expected %s / %s, got %s / %s", gtee_ratls_failure_name(f), why_prefix,
                 gtee_ratls_failure_name(r->peer.failure), r->peer.why);
    assert_non_null(strstr(r->err.msg, why_prefix));
    assert_int_not_equal(r->srv.accept_rc, 0); /* the server's handshake did not complete either */
}

static void test_ratls_sim_enclave_accepted_with_claims(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;
    uint8_t id[20];

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 1, 0, &r);
    if (r.client_rc != 0)
        fail_msg("%s", r.err.msg);
    assert_int_equal(r.srv.accept_rc, 0);
    assert_true(r.echo_ok);
    assert_int_equal(r.peer.failure, GTEE_RATLS_OK);
    assert_true(r.peer.verdict.accepted);
    assert_int_equal(r.peer.verdict.claims.tee, GTEE_TEE_SGX);
    assert_true(r.peer.verdict.claims.simulated);
    assert_false(r.peer.verdict.claims.debug);
    assert_int_equal(r.peer.verdict.claims.tcb_status, GTEE_TCB_UP_TO_DATE);
    assert_memory_equal(r.peer.verdict.claims.sgx.mrenclave, e.id.mrenclave, 32);
    assert_memory_equal(r.peer.channel_pub, e.channel_pub, 65);
    assert_memory_equal(r.peer.enclave_pub, e.enclave_pub, 65);
    assert_int_equal(gtee_eth_address(e.enclave_pub, id), 0);
    assert_memory_equal(r.peer.enclave_id, id, 20);
    assert_int_equal(r.fresh_rc, 0);
    assert_true(r.fresh_peer.verdict.accepted);
    assert_int_equal(r.srv.serve_rc, GTEE_ENOTFOUND); /* the client closed cleanly */
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_tdx_quote_accepted_under_tdx_oid(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    e.quote_version = GTEE_SIM_QUOTE_TDX;
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 1, 0, &r);
    if (r.client_rc != 0)
        fail_msg("%s", r.err.msg);
    assert_int_equal(r.peer.verdict.claims.tee, GTEE_TEE_TDX);
    assert_memory_equal(r.peer.verdict.claims.tdx.mrtd, e.id.mrenclave, 32);
    assert_int_equal(r.fresh_rc, 0);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_sim_enclave_rejected_without_allow_simulation(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, "{}");
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_POLICY, "policy.simulation");
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_wrong_measurement_rejected(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a,
                    "{\"allow_simulation\":true,\"sgx\":{\"mrenclave\":"
                    "[\"1111111111111111111111111111111111111111111111111111111111111111\"]}}");
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_POLICY, "policy.sgx.mrenclave");
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_pinned_measurement_accepted(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0x11, 0);
    t_verifier_open(&v, dev_a,
                    "{\"allow_simulation\":true,\"sgx\":{\"mrenclave\":"
                    "[\"1111111111111111111111111111111111111111111111111111111111111111\"]}}");
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    assert_int_equal(r.client_rc, 0);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_debug_enclave_rejected(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 1);
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_POLICY, "policy.debug");
    assert_true(r.peer.verdict.claims.debug);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_evidence_bound_to_other_key_rejected(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    uint8_t other_priv[32];
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    assert_int_equal(gtee_ecdsa_keypair(GTEE_EC_P256, other_priv, e.other_channel_pub), 0);
    e.bind_other_key = 1;
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_BINDING, "binding");
    assert_true(r.peer.verdict.verified); /* genuine evidence, about another key */
    t_verifier_close(&v);
    t_enclave_close(&e);
}

/* The certificate of enclave b (another device), made the way b makes it. */
static void cert_of(struct t_enclave *b, uint8_t **der, size_t *len)
{
    uint8_t rd[64], *ev = NULL;
    size_t ev_len = 0;
    struct gtee_err err = {0};

    assert_int_equal(gtee_ratls_report_data(b->enclave_pub, b->channel_pub, NULL, rd), 0);
    assert_int_equal(t_evidence(b, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(gtee_ratls_cert_new(b->channel_priv, b->channel_pub, b->enclave_pub, GTEE_TEE_SGX, ev, ev_len,
                                         der, len, &err), 0);
    free(ev);
}

static void test_ratls_evidence_replayed_from_other_enclave_rejected(void **state)
{
    struct t_enclave a, b;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ext ext;
    struct gtee_err err = {0};
    uint8_t *der_b = NULL, *der = NULL;
    size_t len_b = 0, len = 0;
    struct run r;

    (void)state;
    t_enclave_open(&a, dev_a, 0xa1, 0);
    t_enclave_open(&b, dev_a, 0xb2, 0); /* another enclave on the same device: its evidence verifies */
    t_verifier_open(&v, dev_a, SIM_OK);
    cert_of(&b, &der_b, &len_b);
    assert_int_equal(gtee_ratls_ext_parse(der_b, len_b, &ext, &err), 0);
    /* a presents b's evidence in a certificate for a's own channel key, with either Enclave key */
    for (int which = 0; which < 2; which++) {
        assert_int_equal(gtee_ratls_cert_new(a.channel_priv, a.channel_pub, which ? b.enclave_pub : a.enclave_pub,
                                             GTEE_TEE_SGX, ext.evidence, ext.evidence_len, &der, &len, &err), 0);
        cred = t_cred(&a);
        cred.cert_der = der;
        cred.cert_der_len = len;
        run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
        expect_rejected(&r, GTEE_RATLS_FAIL_BINDING, "binding");
        free(der);
    }
    gtee_ratls_ext_free(&ext);
    free(der_b);
    t_verifier_close(&v);
    t_enclave_close(&a);
    t_enclave_close(&b);
}

/* A plain self-signed certificate for key h: what a host without evidence could present. */
static void plain_cert(const uint8_t h_priv[32], const uint8_t h_pub[65], uint8_t **der, size_t *len)
{
    X509 *x = X509_new();
    EVP_PKEY *k = NULL;
    unsigned char *buf = NULL;
    int n;

    assert_non_null(x);
    /* Build through the library's certificate maker, then strip its extensions. */
    {
        struct gtee_err err = {0};
        uint8_t *tmp = NULL, ev[8] = { 1 }, ek[65] = { 4 };
        size_t tmp_len = 0;
        const unsigned char *p;

        assert_int_equal(gtee_ratls_cert_new(h_priv, h_pub, ek, GTEE_TEE_SGX, ev, sizeof(ev), &tmp, &tmp_len, &err), 0);
        p = tmp;
        X509_free(x);
        x = d2i_X509(NULL, &p, (long)tmp_len);
        assert_non_null(x);
        k = X509_get_pubkey(x);
        free(tmp);
    }
    while (X509_get_ext_count(x) > 0)
        X509_EXTENSION_free(X509_delete_ext(x, 0));
    /* Re-sign with h: needs the private key as EVP_PKEY; the key re-imports from raw bytes. */
    EVP_PKEY_free(k);
    {
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        BIGNUM *d = BN_bin2bn(h_priv, 32, NULL);
        OSSL_PARAM *params;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

        assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, "group", "prime256v1", 0));
        assert_true(OSSL_PARAM_BLD_push_octet_string(bld, "pub", h_pub, 65));
        assert_true(OSSL_PARAM_BLD_push_BN(bld, "priv", d));
        params = OSSL_PARAM_BLD_to_param(bld);
        k = NULL;
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params), 1);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        BN_free(d);
        EVP_PKEY_CTX_free(ctx);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    n = i2d_X509(x, &buf);
    assert_true(n > 0);
    *der = malloc((size_t)n);
    memcpy(*der, buf, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(buf);
    EVP_PKEY_free(k);
    X509_free(x);
}

static void test_ratls_host_substituted_certificate_rejected(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ext ext;
    struct gtee_err err = {0};
    uint8_t h_priv[32], h_pub[65], *der_e = NULL, *der = NULL;
    size_t len_e = 0, len = 0;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, SIM_OK);
    assert_int_equal(gtee_ecdsa_keypair(GTEE_EC_P256, h_priv, h_pub), 0);
    cert_of(&e, &der_e, &len_e);
    assert_int_equal(gtee_ratls_ext_parse(der_e, len_e, &ext, &err), 0);

    /* 1: the host copies the enclave's evidence and Enclave key into a certificate for its key */
    assert_int_equal(gtee_ratls_cert_new(h_priv, h_pub, ext.enclave_pub, GTEE_TEE_SGX, ext.evidence, ext.evidence_len,
                                         &der, &len, &err), 0);
    cred = t_cred(&e);
    memcpy(cred.channel_priv, h_priv, 32);
    memcpy(cred.channel_pub, h_pub, 65);
    cred.cert_der = der;
    cred.cert_der_len = len;
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_BINDING, "binding");
    free(der);

    /* 2: the host presents the enclave's own certificate, but holds only its own key: the
     * TLS 1.3 CertificateVerify cannot be made, so the server cannot even load the pair */
    cred.cert_der = der_e;
    cred.cert_der_len = len_e;
    {
        struct gtee_ratls_ctx *ctx = NULL;
        assert_int_equal(gtee_ratls_server_new(&cred, NULL, &ctx, &err), GTEE_EKEY);
        assert_null(ctx);
    }

    /* 3: the host presents a plain certificate with no evidence */
    plain_cert(h_priv, h_pub, &der, &len);
    cred.cert_der = der;
    cred.cert_der_len = len;
    run(&cred, NULL, &v.vfy, NULL, 0, 0, &r);
    expect_rejected(&r, GTEE_RATLS_FAIL_CERT, "ratls: no quote extension");
    free(der);

    gtee_ratls_ext_free(&ext);
    free(der_e);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_mutual_attestation_gives_both_sides_claims(void **state)
{
    struct t_enclave s, c;
    struct t_verifier v;
    struct gtee_ratls_cred scred, ccred;
    struct run r;

    (void)state;
    t_enclave_open(&s, dev_a, 0xa1, 0);
    t_enclave_open(&c, dev_b, 0xc2, 0);
    t_verifier_open(&v, dev_a, SIM_OK); /* both devices share no collateral: b's is its own */
    {
        struct t_verifier vb;
        t_verifier_open(&vb, dev_b, SIM_OK);
        scred = t_cred(&s);
        ccred = t_cred(&c);
        run(&scred, &vb.vfy, &v.vfy, &ccred, 0, 0, &r);
        if (r.client_rc != 0 || r.srv.accept_rc != 0)
            fail_msg("client %d (%s), server %d (%s)", r.client_rc, r.err.msg, r.srv.accept_rc, r.srv.msg);
        assert_true(r.echo_ok);
        assert_memory_equal(r.peer.verdict.claims.sgx.mrenclave, s.id.mrenclave, 32);
        assert_int_equal(r.srv.peer.failure, GTEE_RATLS_OK);
        assert_memory_equal(r.srv.peer.verdict.claims.sgx.mrenclave, c.id.mrenclave, 32);
        assert_memory_equal(r.srv.peer.enclave_pub, c.enclave_pub, 65);

        /* The server demands an attested client: one without a certificate is refused. */
        run(&scred, &vb.vfy, &v.vfy, NULL, 0, 0, &r);
        assert_int_not_equal(r.srv.accept_rc, 0);
        assert_false(r.echo_ok);
        t_verifier_close(&vb);
    }
    t_verifier_close(&v);
    t_enclave_close(&s);
    t_enclave_close(&c);
}

static void test_ratls_stale_fresh_evidence_rejected(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct run r;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    run(&cred, NULL, &v.vfy, NULL, 1, 1, &r); /* the server answers with evidence over a zero nonce */
    assert_int_equal(r.client_rc, 0);
    assert_int_equal(r.fresh_rc, GTEE_EPOLICY);
    assert_int_equal(r.fresh_peer.failure, GTEE_RATLS_FAIL_BINDING);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_refuses_tls12(void **state)
{
    struct t_enclave e;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ctx *sctx = NULL;
    struct gtee_err err = {0};
    struct t_server srv;
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    int sv[2];

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    cred = t_cred(&e);
    assert_int_equal(gtee_ratls_server_new(&cred, NULL, &sctx, &err), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t_server_start(&srv, sctx, sv[0], 0);
    assert_int_equal(SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION), 1);
    SSL_CTX_set_verify(old, SSL_VERIFY_NONE, NULL);
    ssl = SSL_new(old);
    assert_int_equal(SSL_set_fd(ssl, sv[1]), 1);
    assert_int_not_equal(SSL_connect(ssl), 1);
    SSL_free(ssl);
    SSL_CTX_free(old);
    shutdown(sv[1], SHUT_RDWR);
    t_server_join(&srv);
    assert_int_not_equal(srv.accept_rc, 0);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(sctx);
    t_enclave_close(&e);
}

static void test_ratls_ext_parse_rejects_truncated_and_trailing(void **state)
{
    struct t_enclave e;
    struct gtee_ratls_ext ext;
    struct gtee_err err = {0};
    uint8_t *der = NULL, *longer;
    size_t len = 0;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    cert_of(&e, &der, &len);
    assert_int_equal(gtee_ratls_ext_parse(der, len, &ext, &err), 0);
    assert_int_equal(ext.tee, GTEE_TEE_SGX);
    assert_memory_equal(ext.channel_pub, e.channel_pub, 65);
    gtee_ratls_ext_free(&ext);
    assert_int_equal(gtee_ratls_ext_parse(der, len - 1, &ext, &err), GTEE_EFORMAT);
    assert_null(ext.evidence);
    longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(gtee_ratls_ext_parse(longer, len + 1, &ext, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "after the certificate"));
    /* a flipped byte inside the signed part breaks the self-signature */
    der[len / 2] ^= 1;
    assert_int_not_equal(gtee_ratls_ext_parse(der, len, &ext, &err), 0);
    free(longer);
    free(der);
    t_enclave_close(&e);
}

/* The certificate checks that need no TLS: a quote under the other TEE's OID, and evidence
 * verified at a time its collateral no longer covers. */
static void test_ratls_quote_under_the_wrong_oid_rejected_as_cert(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_peer peer;
    struct gtee_err err = {0};
    uint8_t rd[64], *ev = NULL, *der = NULL;
    size_t ev_len = 0, len = 0;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    e.quote_version = GTEE_SIM_QUOTE_TDX;
    t_verifier_open(&v, dev_a, SIM_OK);
    assert_int_equal(gtee_ratls_report_data(e.enclave_pub, e.channel_pub, NULL, rd), 0);
    assert_int_equal(t_evidence(&e, rd, &ev, &ev_len, &err), 0);
    /* a TDX quote presented under the SGX quote OID */
    assert_int_equal(gtee_ratls_cert_new(e.channel_priv, e.channel_pub, e.enclave_pub, GTEE_TEE_SGX, ev, ev_len, &der,
                                         &len, &err), 0);
    assert_int_equal(gtee_ratls_verify_cert(der, len, &v.vfy, &peer, &err), GTEE_EPOLICY);
    assert_int_equal(peer.failure, GTEE_RATLS_FAIL_CERT);
    assert_non_null(strstr(peer.why, "TEE type"));
    free(der);
    /* under its own OID the same quote is accepted */
    assert_int_equal(gtee_ratls_cert_new(e.channel_priv, e.channel_pub, e.enclave_pub, GTEE_TEE_TDX, ev, ev_len, &der,
                                         &len, &err), 0);
    if (gtee_ratls_verify_cert(der, len, &v.vfy, &peer, &err) != 0)
        fail_msg("%s", err.msg);
    free(der);
    free(ev);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_ratls_expired_collateral_rejected_as_evidence(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_peer peer;
    struct gtee_err err = {0};
    uint8_t *der = NULL;
    size_t len = 0;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, SIM_OK);
    cert_of(&e, &der, &len);
    assert_int_equal(gtee_ratls_verify_cert(der, len, &v.vfy, &peer, &err), 0);
    assert_true(peer.verdict.claims.collateral_next_update > 0);
    v.vfy.at = peer.verdict.claims.collateral_next_update + 86400; /* a day after it expired */
    assert_int_equal(gtee_ratls_verify_cert(der, len, &v.vfy, &peer, &err), GTEE_EPOLICY);
    assert_int_equal(peer.failure, GTEE_RATLS_FAIL_EVIDENCE);
    assert_false(peer.verdict.accepted);
    free(der);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

/* A peer that vanishes is an error for the writer, never a SIGPIPE that ends the process:
 * this test runs with SIGPIPE at its default action (terminate). */
static void test_ratls_vanished_peer_is_an_error_not_a_signal(void **state)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ctx *sctx = NULL, *cctx = NULL;
    struct gtee_ratls_conn *c = NULL;
    struct gtee_err err = {0};
    struct t_server srv;
    uint8_t buf[1024] = {0};
    int sv[2], rc = 0;

    (void)state;
    t_enclave_open(&e, dev_a, 0xa1, 0);
    t_verifier_open(&v, dev_a, SIM_OK);
    cred = t_cred(&e);
    assert_int_equal(gtee_ratls_server_new(&cred, NULL, &sctx, &err), 0);
    assert_int_equal(gtee_ratls_client_new(&v.vfy, NULL, &cctx, &err), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t_server_start(&srv, sctx, sv[0], 0);
    assert_int_equal(gtee_ratls_connect(cctx, sv[1], &c, NULL, &err), 0);
    signal(SIGPIPE, SIG_DFL);
    shutdown(sv[0], SHUT_RDWR); /* the enclave's side goes away */
    t_server_join(&srv);
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = gtee_ratls_write(c, buf, sizeof(buf), &err);
    assert_int_equal(rc, GTEE_EIO);
    gtee_ratls_conn_free(c); /* its close_notify meets a closed socket too */
    signal(SIGPIPE, SIG_IGN);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(sctx);
    gtee_ratls_ctx_free(cctx);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratls_sim_enclave_accepted_with_claims),
        cmocka_unit_test(test_ratls_tdx_quote_accepted_under_tdx_oid),
        cmocka_unit_test(test_ratls_sim_enclave_rejected_without_allow_simulation),
        cmocka_unit_test(test_ratls_wrong_measurement_rejected),
        cmocka_unit_test(test_ratls_pinned_measurement_accepted),
        cmocka_unit_test(test_ratls_debug_enclave_rejected),
        cmocka_unit_test(test_ratls_evidence_bound_to_other_key_rejected),
        cmocka_unit_test(test_ratls_evidence_replayed_from_other_enclave_rejected),
        cmocka_unit_test(test_ratls_host_substituted_certificate_rejected),
        cmocka_unit_test(test_ratls_mutual_attestation_gives_both_sides_claims),
        cmocka_unit_test(test_ratls_stale_fresh_evidence_rejected),
        cmocka_unit_test(test_ratls_refuses_tls12),
        cmocka_unit_test(test_ratls_ext_parse_rejects_truncated_and_trailing),
        cmocka_unit_test(test_ratls_quote_under_the_wrong_oid_rejected_as_cert),
        cmocka_unit_test(test_ratls_expired_collateral_rejected_as_evidence),
        cmocka_unit_test(test_ratls_vanished_peer_is_an_error_not_a_signal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
