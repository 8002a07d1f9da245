/* SEV-SNP certificate chain: VCEK (or VLEK) -> ASK (or ASVK) -> ARK, verified with
 * OpenSSL's X509_STORE at a caller-given time, where the only trust anchor is the pinned
 * ARK of the product line (AMD document 57230, "Certificate Chain"), with AMD's ARK CRL
 * applied when the caller has one (docs/evidence-snp.md, "Revocation"). */
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/dcap_check.h"
#include "evidence/snp_internal.h"

#define BUNDLE_MAX_CERTS 8
#define CRL_MAX_LEN (1u << 20) /* AMD's is about 1 KiB */

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

/* OpenSSL's verification errors about a CRL rather than a certificate. */
static bool crl_error(int e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
        return true;
    default:
        return false;
    }
}

/* A certificate of the path is listed in the ARK's CRL: names it and its serial. Only the
 * certificates the ARK issued can be (the ASK or ASVK, and the ARK itself). */
static void revoked(X509_STORE_CTX *ctx, int depth, const char *who, struct gtee_snp_result *res)
{
    X509 *x = X509_STORE_CTX_get_current_cert(ctx);
    BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    snp_reason_add(res, GTEE_EAUTH, depth >= 2 ? "snp.ark.revoked" : "snp.ask.revoked",
                   "%s certificate (chain depth %d, serial 0x%.40s%s) is listed in ark_crl.der", who, depth,
                   hex ? hex : "?", hex && strlen(hex) > 40 ? "..." : "");
    OPENSSL_free(hex);
    BN_free(bn);
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

    if (e == X509_V_ERR_CERT_REVOKED)
        revoked(ctx, depth, who[d], res);
    else if (e == X509_V_ERR_CRL_HAS_EXPIRED)
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.expired", "ark_crl.der's nextUpdate has passed at the "
                       "verification time");
    else if (e == X509_V_ERR_CRL_NOT_YET_VALID)
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.not_yet_valid", "ark_crl.der's thisUpdate is after the "
                       "verification time");
    else if (e == X509_V_ERR_CRL_SIGNATURE_FAILURE)
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.signature", "ark_crl.der's signature does not verify under "
                       "the pinned ARK-%s key", gtee_snp_product_name(p));
    else if (crl_error(e))
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.invalid", "ark_crl.der cannot be applied to the %s "
                       "certificate (chain depth %d): %s", who[d], depth, X509_verify_cert_error_string(e));
    else if (e == X509_V_ERR_CERT_HAS_EXPIRED)
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

/* AMD's ARK CRL (document 57230, "KDS interface": /vcek/v1/{product}/crl): one DER CRL
 * with a nextUpdate, issued by the pinned ARK of product p and signed by it (RSA-PSS with
 * SHA-384: X509_CRL_verify takes the padding and digest from the signature's parameters).
 * Checked here first, so that each of these failures is named; OpenSSL's CRL check in the
 * chain then applies it (window, listed serials). NULL with a reason otherwise. */
static X509_CRL *load_crl(const uint8_t *der, size_t len, X509 *ark, enum gtee_snp_product p,
                          struct gtee_snp_result *res)
{
    static const enum gtee_snp_product all[] = { GTEE_SNP_PRODUCT_MILAN, GTEE_SNP_PRODUCT_GENOA };
    const unsigned char *q = der;
    X509_CRL *crl = NULL;
    EVP_PKEY *key = X509_get0_pubkey(ark);

    if (len == 0 || len > CRL_MAX_LEN || (crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL || q != der + len) {
        snp_reason_add(res, GTEE_EFORMAT, "snp.crl.format", "ark_crl.der (%zu bytes) is not one DER CRL", len);
        goto fail;
    }
    if (!X509_CRL_get0_nextUpdate(crl)) {
        snp_reason_add(res, GTEE_EFORMAT, "snp.crl.format", "ark_crl.der has no nextUpdate, so it cannot "
                       "be current at any time");
        goto fail;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0) {
        for (size_t i = 0; i < GTEE_ARRAY_LEN(all); i++) {
            X509 *other = all[i] != p ? pinned(gtee_snp_ark_der, all[i]) : NULL;
            bool theirs = other && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(other)) == 0;

            X509_free(other);
            if (theirs) {
                snp_reason_add(res, GTEE_EAUTH, "snp.crl.issuer", "ark_crl.der is ARK-%s's CRL, but the VCEK is "
                               "a %s key", gtee_snp_product_name(all[i]), gtee_snp_product_name(p));
                goto fail;
            }
        }
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.issuer", "ark_crl.der's issuer is not the pinned ARK-%s",
                       gtee_snp_product_name(p));
        goto fail;
    }
    if (!key || X509_CRL_verify(crl, key) != 1) {
        snp_reason_add(res, GTEE_EAUTH, "snp.crl.signature", "ark_crl.der's signature does not verify under the "
                       "pinned ARK-%s key", gtee_snp_product_name(p));
        goto fail;
    }
    return crl;
fail:
    X509_CRL_free(crl);
    return NULL;
}

/* With the ARK's CRL, OpenSSL checks every certificate of the path
 * (X509_V_FLAG_CRL_CHECK_ALL). The VCEK/VLEK (depth 0) is issued by the ASK/ASVK, which
 * publishes no CRL (AMD supersedes VCEKs by TCB version), so its missing CRL, and only that,
 * is let through; every other CRL problem stays an error. */
static int crl_cb(int ok, X509_STORE_CTX *ctx)
{
    if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
        X509_STORE_CTX_get_error_depth(ctx) == 0)
        return 1;
    return ok;
}

static bool asn1_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* Records the built path's validity windows (leaf first); false if a time does not
 * convert or the path is too long: the result is then not kept. */
static bool record_path(X509_STORE_CTX *ctx, const X509_CRL *crl, struct snp_path *path)
{
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);

    path->has_crl = crl != NULL;
    if (crl && (!asn1_unix(X509_CRL_get0_lastUpdate(crl), &path->crl_this_update) ||
                !asn1_unix(X509_CRL_get0_nextUpdate(crl), &path->crl_next_update)))
        return false;

    path->n = built ? sk_X509_num(built) : 0;
    if (path->n < 1 || path->n > SNP_PATH_MAX)
        return false;
    for (int i = 0; i < path->n; i++)
        if (!dcap_cert_window(sk_X509_value(built, i), &path->not_before[i], &path->not_after[i]))
            return false;
    return true;
}

/* path NULL: at the caller's time. path set: without a time (X509_V_FLAG_NO_CHECK_TIME:
 * every check but the certificates' and the CRL's windows), which are recorded in *path
 * instead. crl_der NULL: no CRL; else a CRL problem is a reason and fails the chain. */
static int chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                        const uint8_t *crl_der, size_t crl_len, time_t at, struct snp_path *path,
                        struct gtee_snp_result *res)
{
    X509_CRL *crl = NULL;
    unsigned long flags = X509_V_FLAG_CHECK_SS_SIGNATURE;
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
    if (crl_der) {
        res->crl_given = true;
        if ((crl = load_crl(crl_der, crl_len, ark, p, res)) == NULL)
            goto out; /* a CRL that cannot be applied rejects: never verify as if it were absent */
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    }
    if (X509_STORE_add_cert(store, ark) != 1 || (crl && X509_STORE_add_crl(store, crl) != 1) ||
        X509_STORE_CTX_init(ctx, store, leaf, inter) != 1) {
        rc = snp_reason_add(res, GTEE_ECRYPTO, "snp.internal", "cannot set up chain verification");
        goto out;
    }
    /* Verify at the caller's time (or without one), and check the ARK's own self-signature too. */
    if (path) {
        flags |= X509_V_FLAG_NO_CHECK_TIME;
    } else {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
        flags |= X509_V_FLAG_USE_CHECK_TIME;
    }
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), flags);
    if (crl)
        X509_STORE_CTX_set_verify_cb(ctx, crl_cb);
    if (X509_verify_cert(ctx) != 1) {
        chain_failure(ctx, p, vlek, res);
        goto out;
    }
    if (path)
        path->ok = record_path(ctx, crl, path);
    if (crl)
        snp_check_pass(&res->revocation_checked, SNP_CHECK_REVOCATION);
    rc = 0;
out:
    X509_CRL_free(crl);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(inter, X509_free);
    X509_free(ark);
    X509_free(ask);
    ERR_clear_error(); /* failures are reported as reasons, not left in OpenSSL's queue */
    return rc;
}

int snp_chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                     const uint8_t *crl_der, size_t crl_len, time_t at, struct gtee_snp_result *res)
{
    return chain_verify(leaf, p, vlek, bundle_pem, crl_der, crl_len, at, NULL, res);
}

int snp_chain_verify_untimed(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                             const uint8_t *crl_der, size_t crl_len, struct snp_path *path,
                             struct gtee_snp_result *res)
{
    memset(path, 0, sizeof(*path));
    return chain_verify(leaf, p, vlek, bundle_pem, crl_der, crl_len, 0, path, res);
}
