/* Certificates of NVIDIA GPU evidence: the GPU's chain and the RIM signing chains, verified
 * with OpenSSL's X509_STORE to a pinned root at the caller's time (every problem of every
 * certificate recorded, not only the first), the FWID of the leaf's TCG DICE extension
 * (DER-parsed), and raw r||s ECDSA P-384 signatures. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/guard.h"
#include "evidence/nv_internal.h"

#define PEM_MAX (64 * 1024) /* a chain of five certificates is about 4 KB */
#define FWID_OID "2.23.133.5.4.1"

void nv_reason(struct gtee_nv_result *res, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (res->n_reasons >= GTEE_NV_REASON_MAX) {
        res->reasons_truncated = true;
        return;
    }
    snprintf(res->reasons[res->n_reasons].code, GTEE_NV_CODE_MAX, "%s", code);
    va_start(ap, fmt);
    vsnprintf(res->reasons[res->n_reasons].msg, GTEE_NV_REASON_MSG_MAX, fmt, ap);
    va_end(ap);
    res->n_reasons++;
}

STACK_OF(X509) *nv_pem_chain(const uint8_t *pem, size_t len)
{
    STACK_OF(X509) *sk = NULL;
    BIO *b;
    X509 *x;

    if (!pem || len == 0 || len > PEM_MAX || !(b = BIO_new_mem_buf(pem, (int)len)))
        return NULL;
    sk = sk_X509_new_null();
    while (sk && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    }
    /* The end of the text is the only acceptable way out: a bad certificate fails the whole. */
    if (sk && ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
        sk_X509_pop_free(sk, X509_free);
        sk = NULL;
    }
    ERR_clear_error();
    BIO_free(b);
    if (sk && sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        sk = NULL;
    }
    return sk;
}

X509 *nv_pinned(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    ERR_clear_error();
    return x;
}

static void cert_name(X509 *x, char *out, size_t n)
{
    X509_NAME *nm = x ? X509_get_subject_name(x) : NULL;
    int i = nm ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
    ASN1_STRING *d = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)) : NULL;
    int len = d ? ASN1_STRING_length(d) : 0;
    const unsigned char *p = d ? ASN1_STRING_get0_data(d) : NULL;
    size_t k = 0;

    for (int j = 0; p && j < len && k + 1 < n; j++)
        out[k++] = (p[j] >= 0x20 && p[j] < 0x7f) ? (char)p[j] : '?';
    out[k] = '\0';
    if (k == 0)
        snprintf(out, n, "(no common name)");
}

struct chain_cb {
    struct gtee_nv_result *res;
    const char *what, *prefix;
    size_t n_bad;
};

static int cb_index = -1;
static pthread_once_t cb_once = PTHREAD_ONCE_INIT;

static void cb_init(void)
{
    cb_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static const char *suffix_of(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not_yet_valid";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "signature";
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION: return "critical_extension";
    default: return "invalid";
    }
}

/* Records every problem OpenSSL finds and lets it carry on, so that the verdict names all
 * of them (e.g. each expired certificate of a chain), then fails the chain. */
static int record(int ok, X509_STORE_CTX *ctx)
{
    struct chain_cb *cb = X509_STORE_CTX_get_ex_data(ctx, cb_index);
    int e = X509_STORE_CTX_get_error(ctx), depth = X509_STORE_CTX_get_error_depth(ctx);
    char name[96], code[GTEE_NV_CODE_MAX];

    if (ok || !cb)
        return ok;
    cert_name(X509_STORE_CTX_get_current_cert(ctx), name, sizeof(name));
    snprintf(code, sizeof(code), "%s.%s", cb->prefix, suffix_of(e));
    nv_reason(cb->res, code, "%s certificate %d (\"%s\"): %s", cb->what, depth, name, X509_verify_cert_error_string(e));
    cb->n_bad++;
    return 1;
}

static bool p384(X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[32];
    size_t glen = 0;

    return k && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

bool nv_chain_verify(STACK_OF(X509) *chain, X509 *root, int64_t at, const char *what, const char *prefix,
                     struct gtee_nv_result *res)
{
    struct chain_cb cb = { res, what, prefix, 0 };
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int n = chain ? sk_X509_num(chain) : 0, r = 0;
    char code[GTEE_NV_CODE_MAX], name[96];
    bool ok = false;

    pthread_once(&cb_once, cb_init);
    if (cb_index < 0 || !store || !ctx || !untrusted || !root || n < 2) {
        snprintf(code, sizeof(code), "%s.invalid", prefix);
        nv_reason(res, code, "%s: no chain to verify (%d certificates)", what, n);
        goto out;
    }
    if (X509_cmp(sk_X509_value(chain, n - 1), root) != 0) {
        snprintf(code, sizeof(code), "%s.root", prefix);
        nv_reason(res, code, "%s: the last certificate is not the pinned root", what);
        goto out;
    }
    for (int i = 1; i < n - 1; i++)
        if (!sk_X509_push(untrusted, sk_X509_value(chain, i)))
            goto out;
    if (X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted) != 1)
        goto out;
    if (at < 0) /* the windows are checked on their own, at each verification (nv_chain_windows) */
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    else
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
    X509_STORE_CTX_set_ex_data(ctx, cb_index, &cb);
    X509_STORE_CTX_set_verify_cb(ctx, record);
    r = X509_verify_cert(ctx);
    if (r == 1 && cb.n_bad == 0 && sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) != n) {
        snprintf(code, sizeof(code), "%s.invalid", prefix);
        nv_reason(res, code, "%s: the path built has %d certificates, the chain given %d", what,
                  sk_X509_num(X509_STORE_CTX_get0_chain(ctx)), n);
        cb.n_bad++;
    }
    for (int i = 0; i < n; i++) {
        if (!p384(sk_X509_value(chain, i))) {
            cert_name(sk_X509_value(chain, i), name, sizeof(name));
            snprintf(code, sizeof(code), "%s.key", prefix);
            nv_reason(res, code, "%s certificate %d (\"%s\"): key is not ECDSA P-384", what, i, name);
            cb.n_bad++;
        }
    }
    if (!(X509_get_key_usage(sk_X509_value(chain, 0)) & KU_DIGITAL_SIGNATURE)) {
        snprintf(code, sizeof(code), "%s.key_usage", prefix);
        nv_reason(res, code, "%s certificate 0: key usage lacks digitalSignature", what);
        cb.n_bad++;
    }
    ok = r == 1 && cb.n_bad == 0;
    if (!ok && cb.n_bad == 0) {
        snprintf(code, sizeof(code), "%s.invalid", prefix);
        nv_reason(res, code, "%s: %s", what, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
out:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return ok;
}

int nv_leaf_fwid(X509 *leaf, uint8_t fwid[GTEE_NV_DIGEST_LEN], struct gtee_err *err)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(FWID_OID, 1);
    STACK_OF(ASN1_TYPE) *outer = NULL, *digest = NULL;
    const ASN1_TYPE *t0, *t1, *t2, *d0, *d1;
    const unsigned char *p, *end;
    ASN1_OCTET_STRING *v;
    int i, rc = GTEE_EFORMAT;

    ENSURE(oid != NULL, err, GTEE_ECRYPTO, "gpu chain: OID " FWID_OID " unknown to the crypto library");
    i = X509_get_ext_by_OBJ(leaf, oid, -1);
    ENSURE(i >= 0, err, GTEE_ENOTFOUND, "gpu chain: the leaf has no " FWID_OID " (TCG DICE) extension");
    ENSURE(X509_get_ext_by_OBJ(leaf, oid, i) < 0, err, GTEE_EFORMAT,
           "gpu chain: the leaf has two " FWID_OID " extensions");
    v = X509_EXTENSION_get_data(X509_get_ext(leaf, i));
    p = ASN1_STRING_get0_data(v);
    end = p + ASN1_STRING_length(v);
    outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, end - p);
    ENSURE(outer && p == end && sk_ASN1_TYPE_num(outer) == 3, err, GTEE_EFORMAT,
           "gpu chain: leaf extension " FWID_OID " is not SEQUENCE { version, key, fwid }");
    t0 = sk_ASN1_TYPE_value(outer, 0);
    t1 = sk_ASN1_TYPE_value(outer, 1);
    t2 = sk_ASN1_TYPE_value(outer, 2);
    ENSURE(t0->type == V_ASN1_INTEGER && t1->type == V_ASN1_SEQUENCE && t2->type == V_ASN1_SEQUENCE, err,
           GTEE_EFORMAT, "gpu chain: leaf extension " FWID_OID " fields are not INTEGER, SEQUENCE, SEQUENCE");
    p = t2->value.sequence->data;
    end = p + t2->value.sequence->length;
    digest = d2i_ASN1_SEQUENCE_ANY(NULL, &p, end - p);
    ENSURE(digest && p == end && sk_ASN1_TYPE_num(digest) == 2, err, GTEE_EFORMAT,
           "gpu chain: leaf extension " FWID_OID " FWID is not SEQUENCE { hashAlg, digest }");
    d0 = sk_ASN1_TYPE_value(digest, 0);
    d1 = sk_ASN1_TYPE_value(digest, 1);
    ENSURE(d0->type == V_ASN1_OBJECT && OBJ_obj2nid(d0->value.object) == NID_sha384, err, GTEE_EFORMAT,
           "gpu chain: leaf FWID hash algorithm is not SHA-384");
    ENSURE(d1->type == V_ASN1_OCTET_STRING && d1->value.octet_string->length == GTEE_NV_DIGEST_LEN, err,
           GTEE_EFORMAT, "gpu chain: leaf FWID is not a 48-byte OCTET STRING");
    memcpy(fwid, d1->value.octet_string->data, GTEE_NV_DIGEST_LEN);
    rc = 0;
out:
    sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(digest, ASN1_TYPE_free);
    ASN1_OBJECT_free(oid);
    ERR_clear_error();
    return rc;
}

int nv_p384_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[GTEE_NV_SIG_LEN])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 48, NULL), *ss = BN_bin2bn(sig + 48, 48, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int der_len = 0, rc = GTEE_EAUTH;

    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 384) {
        rc = GTEE_EKEY;
        goto out;
    }
    /* r, s in 1..n-1: OpenSSL's verify rejects 0 and values >= n itself. */
    if (!s || !r || !ss || BN_is_zero(r) || BN_is_zero(ss) || !ECDSA_SIG_set0(s, r, ss))
        goto out;
    r = ss = NULL;
    der_len = i2d_ECDSA_SIG(s, &der);
    if (der_len > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
        EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1)
        rc = 0;
out:
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

bool nv_chain_windows(STACK_OF(X509) *chain, int64_t at, const char *what, const char *prefix,
                      struct gtee_nv_result *res)
{
    time_t t = (time_t)at;
    char name[96], code[GTEE_NV_CODE_MAX];
    bool ok = true;

    /* Top down, as OpenSSL's path check reports them. */
    for (int i = chain ? sk_X509_num(chain) - 1 : -1; i >= 0; i--) {
        X509 *x = sk_X509_value(chain, i);
        int e = X509_cmp_time(X509_get0_notBefore(x), &t) > 0   ? X509_V_ERR_CERT_NOT_YET_VALID
                : X509_cmp_time(X509_get0_notAfter(x), &t) < 0 ? X509_V_ERR_CERT_HAS_EXPIRED
                                                                : X509_V_OK;

        if (e == X509_V_OK)
            continue;
        cert_name(x, name, sizeof(name));
        snprintf(code, sizeof(code), "%s.%s", prefix, suffix_of(e));
        nv_reason(res, code, "%s certificate %d (\"%s\"): %s", what, i, name, X509_verify_cert_error_string(e));
        ok = false;
    }
    return ok;
}
