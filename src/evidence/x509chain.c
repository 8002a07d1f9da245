/* Certificate chains of DCAP evidence: the PCK chain in the quote and the TCB signing chains
 * of the collateral, verified with OpenSSL's X509_STORE at the caller's time, against the
 * trust anchors (pinned Intel root, optional simulated root), with the CRLs when supplied.
 * OpenSSL's errors become reasons naming the certificate and the problem. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "base/guard.h"
#include "evidence/dcap.h"

static X509 *der_cert(const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)len);

    if (x && q != p + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Adds one CRL file to the store; returns it (a reference the trust keeps) or NULL. */
static X509_CRL *add_crl(struct dcap_trust *t, const struct gtee_collateral *col, const struct gtee_blob *b,
                         const char *name, struct gtee_verdict *v)
{
    const unsigned char *q = b->p;
    X509_CRL *crl;
    const ASN1_TIME *nu;
    struct tm tm;

    if (!b->p)
        return NULL;
    crl = dcap_prepared_crl(col, b);
    if (!crl) {
        crl = d2i_X509_CRL(NULL, &q, (long)b->len);
        if (!crl || q != b->p + b->len) {
            X509_CRL_free(crl);
            verdict_add(v, "collateral.crl.malformed", "%s is not one DER CRL", name);
            return NULL;
        }
    }
    nu = X509_CRL_get0_nextUpdate(crl);
    if (nu && ASN1_TIME_to_tm(nu, &tm) == 1) {
        int64_t when = (int64_t)timegm(&tm);

        if (!t->crl_next_update || when < t->crl_next_update)
            t->crl_next_update = when;
    }
    if (X509_STORE_add_crl(t->store, crl) != 1) {
        X509_CRL_free(crl);
        verdict_add(v, "collateral.crl.malformed", "%s could not be added to the trust store", name);
        return NULL;
    }
    return crl;
}

/* An anchor: the prepared parse if the bytes match, else parsed now. */
static X509 *anchor(const struct gtee_collateral *col, const uint8_t *der, size_t len)
{
    X509 *x = dcap_prepared_anchor(col, der, len);

    return x ? x : der_cert(der, len);
}

int dcap_trust_init(struct dcap_trust *t, const struct gtee_anchors *a, const struct gtee_collateral *col,
                    int64_t at, struct gtee_verdict *v, struct gtee_err *err)
{
    const uint8_t *root = a && a->intel_root_der ? a->intel_root_der : gtee_intel_sgx_root_ca_der;
    size_t root_len = a && a->intel_root_der ? a->intel_root_len : gtee_intel_sgx_root_ca_der_len;
    int rc = GTEE_ECRYPTO;

    memset(t, 0, sizeof(*t));
    t->at = at;
    t->store = X509_STORE_new();
    ENSURE(t->store != NULL, err, GTEE_ENOMEM, "evidence: cannot allocate a trust store");
    t->intel_root = anchor(col, root, root_len);
    ENSURE(t->intel_root != NULL, err, GTEE_EINVAL, "evidence: Intel root anchor is not one DER certificate");
    ENSURE(X509_STORE_add_cert(t->store, t->intel_root) == 1, err, GTEE_ECRYPTO, "evidence: cannot add Intel root");
    if (a && a->sim_root_der) {
        t->sim_root = anchor(col, a->sim_root_der, a->sim_root_len);
        ENSURE(t->sim_root != NULL, err, GTEE_EINVAL, "evidence: simulated root anchor is not one DER certificate");
        ENSURE(X509_STORE_add_cert(t->store, t->sim_root) == 1, err, GTEE_ECRYPTO,
               "evidence: cannot add the simulated root");
    }
    /* Each CRL that is present is applied on its own (docs/evidence.md, "Revocation"). */
    if (col) {
        t->pck_crl = add_crl(t, col, &col->pck_crl, "pck_crl.der", v);
        t->root_crl = add_crl(t, col, &col->root_ca_crl, "root_ca_crl.der", v);
    }
    rc = 0;
out:
    ERR_clear_error();
    return rc;
}

void dcap_trust_free(struct dcap_trust *t)
{
    if (!t)
        return;
    if (t->fast) { /* borrowed from the prepared collateral, which owns it */
        memset(t, 0, sizeof(*t));
        return;
    }
    X509_STORE_free(t->store);
    X509_free(t->intel_root);
    X509_free(t->sim_root);
    X509_CRL_free(t->pck_crl);
    X509_CRL_free(t->root_crl);
    memset(t, 0, sizeof(*t));
}

static const char *name_at(const char *const *names, int i)
{
    for (int k = 0; names && names[k]; k++)
        if (k == i)
            return names[k];
    return "certificate";
}

/* One certificate from its DER bytes: the prepared object when the bytes are identical to
 * one parsed beforehand (same bytes, same certificate), else parsed now. */
static X509 *cert_from_der(const struct gtee_collateral *col, const uint8_t *der, size_t len)
{
    X509 *x = dcap_prepared_cert(col, der, len);

    return x ? x : der_cert(der, len);
}

STACK_OF(X509) *dcap_pem_chain(const struct gtee_collateral *col, const uint8_t *pem, size_t len, const char *what,
                               const char *const *names, struct gtee_verdict *v)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    char code[GTEE_REASON_CODE_MAX];

    snprintf(code, sizeof(code), "%s.malformed", what);
    if (!sk || !bio || len > 1u << 20) {
        verdict_add(v, code, "%s: cannot read the PEM chain", what);
        goto fail;
    }
    for (int i = 0;; i++) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long der_len = 0;
        X509 *x = NULL;

        if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
            unsigned long e = ERR_peek_last_error();

            /* End of input is "no start line"; anything else is a damaged certificate. */
            if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE && i > 0)
                break;
            verdict_add(v, code, "%s: %s (certificate %d of the PEM chain) does not decode", what,
                        name_at(names, i), i + 1);
            goto fail;
        }
        if (strcmp(name, PEM_STRING_X509) == 0 && header[0] == '\0')
            x = cert_from_der(col, der, (size_t)der_len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        if (!x) {
            verdict_add(v, code, "%s: %s (certificate %d of the PEM chain) does not decode", what,
                        name_at(names, i), i + 1);
            goto fail;
        }
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            goto fail;
        }
        if (i > 8) {
            verdict_add(v, code, "%s: more than 9 certificates", what);
            goto fail;
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return sk;
fail:
    BIO_free(bio);
    sk_X509_pop_free(sk, X509_free);
    ERR_clear_error();
    return NULL;
}

static const char *problem(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not_yet_valid";
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "signature";
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: return "signature";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "untrusted";
    case X509_V_ERR_CRL_HAS_EXPIRED: return "crl_expired";
    case X509_V_ERR_CRL_NOT_YET_VALID: return "crl_not_yet_valid";
    case X509_V_ERR_CRL_SIGNATURE_FAILURE: return "crl_signature";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER: return "crl_missing";
    default: return "invalid";
    }
}

/* Records the validity windows of the built chain, for the per-call checks of a prepared
 * path. False if a time does not convert or the chain is too long (the path is then not used). */
static bool record_path(STACK_OF(X509) *built, struct dcap_path *path)
{

    path->n = sk_X509_num(built);
    if (path->n < 1 || path->n > DCAP_PATH_MAX)
        return false;
    for (int i = 0; i < path->n; i++)
        if (!dcap_cert_window(sk_X509_value(built, i), &path->not_before[i], &path->not_after[i]))
            return false;
    return true;
}

/* Revocation is checked for every certificate of the chain (X509_V_FLAG_CRL_CHECK_ALL) with
 * whichever CRLs the collateral has; a certificate whose issuer has no CRL in the store is
 * let through here and recorded (bit = depth), so that the verdict says revocation was not
 * fully checked and the policy decides. Every other CRL problem (signature, window, a revoked
 * certificate) stays an error. */
static int crl_cb(int ok, X509_STORE_CTX *ctx)
{
    unsigned *unchecked = X509_STORE_CTX_get_app_data(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);

    if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL && unchecked) {
        *unchecked |= depth >= 0 && depth < 31 ? 1u << depth : 1u << 31;
        return 1;
    }
    return ok;
}

/* Which of the collateral's CRLs covered the built chain, and whether all of it was covered. */
static void note_revocation(const struct dcap_trust *t, STACK_OF(X509) *built, unsigned unchecked,
                            struct dcap_path *path)
{
    path->rev_full = unchecked == 0 && built && sk_X509_num(built) > 0;
    path->crls = 0;
    for (int i = 0; built && i < sk_X509_num(built); i++) {
        const X509_NAME *issuer = X509_get_issuer_name(sk_X509_value(built, i));

        if (i < 31 && (unchecked & (1u << i)))
            continue;
        if (t->root_crl && X509_NAME_cmp(issuer, X509_CRL_get_issuer(t->root_crl)) == 0)
            path->crls |= GTEE_CRL_ROOT_CA;
        else if (t->pck_crl && X509_NAME_cmp(issuer, X509_CRL_get_issuer(t->pck_crl)) == 0)
            path->crls |= GTEE_CRL_PCK;
    }
}

static bool chain_verify(struct dcap_trust *t, STACK_OF(X509) *chain, const char *what, const char *const *names,
                         bool *simulated, struct gtee_verdict *v, struct dcap_path *path)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = NULL;
    STACK_OF(X509) *built;
    char code[GTEE_REASON_CODE_MAX];
    bool ok = false;
    int e, depth;
    unsigned unchecked = 0;

    if (!ctx || sk_X509_num(chain) < 1)
        goto fail;
    untrusted = sk_X509_dup(chain);
    if (!untrusted)
        goto fail;
    (void)sk_X509_shift(untrusted);
    if (X509_STORE_CTX_init(ctx, t->store, sk_X509_value(chain, 0), untrusted) != 1)
        goto fail;
    if (t->untimed)
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    else
        X509_STORE_CTX_set_time(ctx, 0, (time_t)t->at);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX_set_verify_cb(ctx, crl_cb);
    if (X509_STORE_CTX_set_app_data(ctx, &unchecked) != 1)
        goto fail;
    if (X509_verify_cert(ctx) != 1) {
        e = X509_STORE_CTX_get_error(ctx);
        depth = X509_STORE_CTX_get_error_depth(ctx);
        snprintf(code, sizeof(code), "%s.%s", what, problem(e));
        verdict_add(v, code, "%s: %s (depth %d): %s", what, name_at(names, depth), depth,
                    X509_verify_cert_error_string(e));
        goto done;
    }
    built = X509_STORE_CTX_get0_chain(ctx);
    /* Every certificate supplied must be the one the chain was built from: a root copy in the
     * PEM that differs from the anchor (OpenSSL prefers the trusted one) is a rejection. */
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (!built || i >= sk_X509_num(built) || X509_cmp(sk_X509_value(chain, i), sk_X509_value(built, i)) != 0) {
            snprintf(code, sizeof(code), "%s.untrusted", what);
            verdict_add(v, code, "%s: %s (certificate %d of the PEM chain) is not the certificate the chain "
                        "reaches the trust anchor through", what, name_at(names, i), i + 1);
            goto done;
        }
    if (simulated && t->sim_root && built &&
        X509_cmp(sk_X509_value(built, sk_X509_num(built) - 1), t->sim_root) == 0)
        *simulated = true;
    /* The chain verified; whether its windows could be recorded only decides whether the
     * result may be kept, never the verdict. */
    if (path) {
        path->ok = record_path(built, path);
        note_revocation(t, built, unchecked, path);
    }
    ok = true;
    goto done;
fail:
    snprintf(code, sizeof(code), "%s.invalid", what);
    verdict_add(v, code, "%s: cannot set up chain verification", what);
done:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

void dcap_chain_verify_untimed(struct dcap_trust *t, STACK_OF(X509) *chain, struct dcap_path *path)
{
    struct gtee_verdict *scratch = calloc(1, sizeof(*scratch));
    bool sim = false, ok;

    memset(path, 0, sizeof(*path));
    if (!scratch)
        return;
    t->untimed = true;
    ok = chain_verify(t, chain, "prepare", NULL, &sim, scratch, path) && scratch->n_reasons == 0;
    t->untimed = false;
    path->ok = ok && path->ok;
    path->simulated = sim;
    free(scratch);
}

/* A success at time `at` ran every check of the untimed verification (X509_V_FLAG_NO_CHECK_TIME
 * only removes the certificate and CRL window checks) and found every window open at `at`, so
 * its recorded path is what dcap_chain_verify_untimed would have recorded for these bytes. */
bool dcap_chain_verify_path(struct dcap_trust *t, STACK_OF(X509) *chain, const char *what,
                            const char *const *names, bool *simulated, struct gtee_verdict *v,
                            struct dcap_path *path)
{
    size_t before = v->n_reasons;
    bool ok;

    memset(path, 0, sizeof(*path));
    ok = chain_verify(t, chain, what, names, simulated, v, path);
    path->ok = ok && path->ok && v->n_reasons == before && !v->reasons_truncated;
    path->simulated = ok && *simulated;
    return ok;
}
