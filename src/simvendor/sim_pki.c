/* The simulated Intel SGX PKI: a self-signed root, a PCK Platform CA, a PCK leaf with the
 * SGX extension, a TCB signing certificate, the quoting enclave's attestation key, and
 * empty CRLs of the root and the Platform CA. Shapes follow Intel's "SGX PCK Certificate
 * and CRL Profile Specification"; every subject says SIMULATED (NOT SECURE). */
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "simvendor/sim_internal.h"

#define SIM_CERT_YEARS 20
#define SIM_DAYS_PER_YEAR 365
#define SIM_CRL_DP_BASE "https://glacier-sim.invalid/sgx/certification/v4/"

enum cert_kind { CERT_ROOT, CERT_CA, CERT_LEAF };

struct cert_spec {
    const char *cn;
    enum cert_kind kind;
    const char *crl_dp; /* URI, or NULL */
};

static X509_NAME *sim_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    static const struct { const char *field, *value; } rdn[] = {
        { "O", "Glacier TEE Node SIMULATION" },
        { "L", "Simulated" },
        { "ST", "SIM" },
        { "C", "ZZ" }, /* a user-assigned code: no real country */
    };

    if (!n || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
        goto fail;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(rdn); i++)
        if (!X509_NAME_add_entry_by_txt(n, rdn[i].field, i == 3 ? MBSTRING_ASC : MBSTRING_UTF8,
                                        (const unsigned char *)rdn[i].value, -1, -1, 0))
            goto fail;
    return n;
fail:
    X509_NAME_free(n);
    return NULL;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);

    X509_EXTENSION_free(e);
    return ok;
}

static int set_serial(X509 *x)
{
    uint8_t raw[16];
    BIGNUM *bn;
    int ok;

    if (gtee_random(raw, sizeof(raw)) < 0)
        return 0;
    raw[0] &= 0x7f; /* positive, at most 20 octets (RFC 5280 4.1.2.2) */
    raw[0] |= 0x40;
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

/* Makes and signs one certificate. issuer == NULL: self-signed by key. */
static X509 *make_cert(const struct cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       const X509_EXTENSION *extra, time_t now)
{
    X509 *x = X509_new();
    X509_NAME *name = sim_name(spec->cn);
    X509V3_CTX ctx;
    char dp[160];
    int ok;

    ok = x && name && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
         X509_set_subject_name(x, name) &&
         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
         X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) && /* an hour of clock skew */
         X509_time_adj_ex(X509_getm_notAfter(x), SIM_CERT_YEARS * SIM_DAYS_PER_YEAR, 0, &now) &&
         X509_set_pubkey(x, key);
    if (ok) {
        X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
        ok = add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    }
    if (ok && spec->crl_dp) {
        snprintf(dp, sizeof(dp), "URI:%s%s", SIM_CRL_DP_BASE, spec->crl_dp);
        ok = add_ext(x, &ctx, NID_crl_distribution_points, dp);
    }
    if (ok && spec->kind == CERT_LEAF)
        ok = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
             add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    else if (ok)
        ok = add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, &ctx, NID_basic_constraints,
                     spec->kind == CERT_ROOT ? "critical,CA:TRUE,pathlen:1" : "critical,CA:TRUE,pathlen:0");
    if (ok && extra)
        ok = X509_add_ext(x, (X509_EXTENSION *)extra, -1);
    ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* An empty v2 CRL with CRL number 1 and the issuer's key identifier, as Intel's. */
static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *issuer_key, time_t now)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_new(), *next = ASN1_TIME_new();
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    X509V3_CTX ctx;
    X509_EXTENSION *aki = NULL;
    int ok;

    ok = crl && last && next && number && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
         X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
         X509_time_adj_ex(last, 0, 0, &now) &&
         X509_time_adj_ex(next, SIM_VALIDITY_YEARS * SIM_DAYS_PER_YEAR, 0, &now) &&
         X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next) &&
         ASN1_INTEGER_set(number, 1) && X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0);
    if (ok) {
        X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
        aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
        ok = aki && X509_CRL_add_ext(crl, aki, -1);
    }
    ok = ok && X509_CRL_sign(crl, issuer_key, EVP_sha256()) > 0;
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(number);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    if (!ok) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

static X509_EXTENSION *sgx_extension(const uint8_t secret[SIM_SECRET_LEN], struct gtee_err *err)
{
    uint8_t ppid[16], instance[16];
    uint8_t *der = NULL;
    int der_len = 0;
    ASN1_OCTET_STRING *os = NULL;
    ASN1_OBJECT *oid = NULL;
    X509_EXTENSION *e = NULL;

    /* PPID and PlatformInstanceID: stable per device, unlinkable to the secret. */
    if (sim_derive_id(secret, "glacier-sim-ppid", ppid, sizeof(ppid), err) < 0 ||
        sim_derive_id(secret, "glacier-sim-platform-instance-id", instance, sizeof(instance), err) < 0 ||
        sim_sgxext_der(ppid, instance, &der, &der_len, err) < 0)
        return NULL;
    os = ASN1_OCTET_STRING_new();
    oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    if (os && oid && ASN1_OCTET_STRING_set(os, der, der_len))
        e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
    if (!e)
        GTEE_FAIL(err, GTEE_ECRYPTO, "sim: SGX extension object creation failed");
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    OPENSSL_free(der);
    return e;
}

static const struct cert_spec ROOT_SPEC = { "Glacier SIMULATED SGX Root CA (NOT SECURE)", CERT_ROOT,
                                            "rootcacrl" };
static const struct cert_spec PCA_SPEC = { "Glacier SIMULATED SGX PCK Platform CA (NOT SECURE)", CERT_CA,
                                           "rootcacrl" };
static const struct cert_spec PCK_SPEC = { "Glacier SIMULATED SGX PCK Certificate (NOT SECURE)", CERT_LEAF,
                                           "pckcrl?ca=platform&encoding=der" };
static const struct cert_spec TCB_SPEC = { "Glacier SIMULATED SGX TCB Signing (NOT SECURE)", CERT_LEAF,
                                           "rootcacrl" };

int sim_pki_create(struct sim_pki *pki, const uint8_t secret[SIM_SECRET_LEN], time_t now, struct gtee_err *err)
{
    X509_EXTENSION *ext = NULL;
    int rc = GTEE_ECRYPTO;

    memset(pki, 0, sizeof(*pki));
    pki->root_key = EVP_EC_gen("P-256");
    pki->pca_key = EVP_EC_gen("P-256");
    pki->pck_key = EVP_EC_gen("P-256");
    pki->tcb_key = EVP_EC_gen("P-256");
    pki->qe_key = EVP_EC_gen("P-256");
    ENSURE(pki->root_key && pki->pca_key && pki->pck_key && pki->tcb_key && pki->qe_key, err,
           GTEE_ECRYPTO, "sim: P-256 key generation failed");
    pki->root = make_cert(&ROOT_SPEC, pki->root_key, NULL, pki->root_key, NULL, now);
    ENSURE(pki->root, err, GTEE_ECRYPTO, "sim: building the root CA certificate failed");
    pki->pca = make_cert(&PCA_SPEC, pki->pca_key, pki->root, pki->root_key, NULL, now);
    ENSURE(pki->pca, err, GTEE_ECRYPTO, "sim: building the Platform CA certificate failed");
    ext = sgx_extension(secret, err);
    if (!ext)
        goto out;
    pki->pck = make_cert(&PCK_SPEC, pki->pck_key, pki->pca, pki->pca_key, ext, now);
    ENSURE(pki->pck, err, GTEE_ECRYPTO, "sim: building the PCK certificate failed");
    pki->tcb = make_cert(&TCB_SPEC, pki->tcb_key, pki->root, pki->root_key, NULL, now);
    ENSURE(pki->tcb, err, GTEE_ECRYPTO, "sim: building the TCB signing certificate failed");
    pki->root_crl = make_crl(pki->root, pki->root_key, now);
    pki->pck_crl = make_crl(pki->pca, pki->pca_key, now);
    ENSURE(pki->root_crl && pki->pck_crl, err, GTEE_ECRYPTO, "sim: building the CRLs failed");
    rc = 0;
out:
    X509_EXTENSION_free(ext);
    if (rc < 0)
        sim_pki_free(pki);
    return rc;
}

void sim_pki_free(struct sim_pki *pki)
{
    EVP_PKEY_free(pki->root_key);
    EVP_PKEY_free(pki->pca_key);
    EVP_PKEY_free(pki->pck_key);
    EVP_PKEY_free(pki->tcb_key);
    EVP_PKEY_free(pki->qe_key);
    X509_free(pki->root);
    X509_free(pki->pca);
    X509_free(pki->pck);
    X509_free(pki->tcb);
    X509_CRL_free(pki->root_crl);
    X509_CRL_free(pki->pck_crl);
    memset(pki, 0, sizeof(*pki));
}
