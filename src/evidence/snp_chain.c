/* SEV-SNP certificate chain: VCEK (or VLEK) -> ASK (or ASVK) -> ARK, verified with
 * OpenSSL's X509_STORE at a caller-given time, where the only trust anchor is the pinned
 * ARK of the product line (AMD document 57230, "Certificate Chain"). */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/snp_internal.h"

#define BUNDLE_MAX_CERTS 8

static X509 *pinned(const uint8_t *(*get)(enum gtee_snp_product, size_t *), enum gtee_snp_product p)
{
    size_t len = 0;
    const uint8_t *der = get(p, &len);
    const unsigned char *q = der;

    return der ? d2i_X509(NULL, &q, (long)len) : NULL;
}

static bool same_der(X509 *x, const uint8_t *der, size_t len)
{
    unsigned char *enc = NULL;
    int n = i2d_X509(x, &enc);
    bool eq = n > 0 && (size_t)n == len && memcmp(enc, der, len) == 0;

    OPENSSL_free(enc);
    return eq;
}

/* A self-signed certificate in the caller's bundle claims to be a root: it must be the
 * pinned ARK of product p. Says which pinned ARK it is when it is another product's. */
static void check_claimed_root(X509 *x, enum gtee_snp_product p, int index,
                               struct gtee_snp_result *res)
{
    static const enum gtee_snp_product all[] = { GTEE_SNP_PRODUCT_MILAN, GTEE_SNP_PRODUCT_GENOA };
    size_t len = 0;
    const uint8_t *der = gtee_snp_ark_der(p, &len);

    if (der && same_der(x, der, len))
        return;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(all); i++) {
        der = gtee_snp_ark_der(all[i], &len);
        if (all[i] != p && same_der(x, der, len)) {
            snp_reason_add(res, GTEE_EAUTH, "snp.ark.untrusted",
                           "ASK/ARK bundle certificate %d is ARK-%s, but the VCEK is a %s key",
                           index, gtee_snp_product_name(all[i]), gtee_snp_product_name(p));
            return;
        }
    }
    snp_reason_add(res, GTEE_EAUTH, "snp.ark.untrusted",
                   "ASK/ARK bundle certificate %d is self-signed but is not the pinned ARK-%s",
                   index, gtee_snp_product_name(p));
}

/* Splits the caller's PEM bundle: roots are checked against the pin and dropped (the
 * pinned copy is the anchor); the others become untrusted intermediates. */
static int load_bundle(const char *pem, enum gtee_snp_product p, STACK_OF(X509) *inter,
                       struct gtee_snp_result *res)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x;
    int n = 0, rc = GTEE_EFORMAT;

    if (!bio)
        return snp_reason_add(res, GTEE_ENOMEM, "snp.internal", "cannot read the ASK/ARK bundle");
    ERR_clear_error(); /* the end-of-bundle test below reads the queue */
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (++n > BUNDLE_MAX_CERTS) {
            X509_free(x);
            rc = snp_reason_add(res, GTEE_EFORMAT, "snp.bundle.format",
                                "ASK/ARK bundle holds more than %d certificates", BUNDLE_MAX_CERTS);
            goto out;
        }
        if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0) {
            check_claimed_root(x, p, n - 1, res);
            X509_free(x);
        } else if (!sk_X509_push(inter, x)) {
            X509_free(x);
            rc = snp_reason_add(res, GTEE_ENOMEM, "snp.internal", "out of memory");
            goto out;
        }
    }
    /* PEM_read_bio_X509 ends with "no start line" at the end of the text; any other
     * error (bad base64, bad DER) is a malformed bundle. */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || n == 0) {
        rc = snp_reason_add(res, GTEE_EFORMAT, "snp.bundle.format",
                            "ASK/ARK bundle: certificate %d is not a PEM certificate", n);
        goto out;
    }
    rc = 0;
out:
    BIO_free(bio);
    return rc;
}

/* Maps an X509_verify_cert failure to a reason naming the certificate. */
static void chain_failure(X509_STORE_CTX *ctx, enum gtee_snp_product p, bool vlek,
                          struct gtee_snp_result *res)
{
    static const char *const expired[] = { "snp.vcek.expired", "snp.ask.expired", "snp.ark.expired" };
    static const char *const early[] = { "snp.vcek.not_yet_valid", "snp.ask.not_yet_valid",
                                         "snp.ark.not_yet_valid" };
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    const char *who[3] = { vlek ? "VLEK" : "VCEK", vlek ? "ASVK" : "ASK", "ARK" };
    int d = depth < 0 ? 0 : depth > 2 ? 2 : depth;

    if (e == X509_V_ERR_CERT_HAS_EXPIRED)
        snp_reason_add(res, GTEE_EAUTH, expired[d], "%s certificate (chain depth %d) has expired "
                       "at the verification time", who[d], depth);
    else if (e == X509_V_ERR_CERT_NOT_YET_VALID)
        snp_reason_add(res, GTEE_EAUTH, early[d], "%s certificate (chain depth %d) is not yet "
                       "valid at the verification time", who[d], depth);
    else
        snp_reason_add(res, GTEE_EAUTH, "snp.vcek.chain",
                       "chain %s -> %s -> ARK-%s fails at depth %d (%s): %s", who[0], who[1],
                       gtee_snp_product_name(p), depth, who[d], X509_verify_cert_error_string(e));
}

/* Records the built path's validity windows (leaf first); false if a time does not
 * convert or the path is too long: the result is then not kept. */
static bool record_path(X509_STORE_CTX *ctx, struct snp_path *path)
{
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);

    path->n = built ? sk_X509_num(built) : 0;
    if (path->n < 1 || path->n > SNP_PATH_MAX)
        return false;
    for (int i = 0; i < path->n; i++)
        if (!dcap_cert_window(sk_X509_value(built, i), &path->not_before[i], &path->not_after[i]))
            return false;
    return true;
}

/* path NULL: at the caller's time. path set: without a time (X509_V_FLAG_NO_CHECK_TIME:
 * every check but the certificates' windows), which are recorded in *path instead. */
static int chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem, time_t at,
                        struct snp_path *path, struct gtee_snp_result *res)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *inter = sk_X509_new_null();
    X509 *ark = pinned(gtee_snp_ark_der, p);
    X509 *ask = pinned(gtee_snp_ask_der, p);
    size_t before = res->n_reasons;
    int rc = GTEE_ENOMEM;

    if (!store || !ctx || !inter || !ark || !ask) {
        rc = snp_reason_add(res, GTEE_ENOMEM, "snp.internal", "cannot load the pinned ARK-%s",
                            gtee_snp_product_name(p));
        goto out;
    }
    if (bundle_pem && (rc = load_bundle(bundle_pem, p, inter, res)) < 0)
        goto out;
    rc = GTEE_EAUTH;
    if (res->n_reasons != before) /* an untrusted root was offered: reject, do not fall back */
        goto out;
    if (!sk_X509_push(inter, ask)) {
        rc = snp_reason_add(res, GTEE_ENOMEM, "snp.internal", "out of memory");
        goto out;
    }
    ask = NULL; /* owned by inter now */
    if (X509_STORE_add_cert(store, ark) != 1 || X509_STORE_CTX_init(ctx, store, leaf, inter) != 1) {
        rc = snp_reason_add(res, GTEE_ECRYPTO, "snp.internal", "cannot set up chain verification");
        goto out;
    }
    /* Verify at the caller's time (or without one), and check the ARK's own self-signature too. */
    if (path) {
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
                                    X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE);
    } else {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
                                    X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE);
    }
    if (X509_verify_cert(ctx) != 1) {
        chain_failure(ctx, p, vlek, res);
        goto out;
    }
    if (path)
        path->ok = record_path(ctx, path);
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(inter, X509_free);
    X509_free(ark);
    X509_free(ask);
    ERR_clear_error(); /* failures are reported as reasons, not left in OpenSSL's queue */
    return rc;
}

int snp_chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                     time_t at, struct gtee_snp_result *res)
{
    return chain_verify(leaf, p, vlek, bundle_pem, at, NULL, res);
}

int snp_chain_verify_untimed(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                             struct snp_path *path, struct gtee_snp_result *res)
{
    memset(path, 0, sizeof(*path));
    return chain_verify(leaf, p, vlek, bundle_pem, 0, path, res);
}
