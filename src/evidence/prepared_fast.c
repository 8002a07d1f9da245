/* Prepared verification results (docs/evidence.md, "Prepared collateral"): the checks that do
 * not depend on the verification time, run once by gtee_collateral_prepare(_pck) and kept with
 * a copy of the exact bytes they were computed from; the trust anchors, the CRLs, the
 * collateral chains and signed documents, and the cache of verified PCK chains
 * (pck_cache.c, filled by verifications too). A verification reuses a result
 * only when every one of those bytes is identical, and still checks at its own time the
 * validity window of every certificate of the path and of every CRL (strictly inside; a
 * boundary goes the full path). Anything else, and every failure, goes the full path, so the
 * reasons given are always the full path's. The results live in the caller's prepared object:
 * no global state; read-only during verification except the PCK chain cache, which locks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "evidence/dcap.h"

#define FAST_CRL_MAX 2

struct bytes {
    uint8_t *p; /* NULL: absent */
    size_t len;
};

struct fast_doc {
    struct bytes doc, chain;
    size_t off, len; /* the signed value inside doc */
    struct dcap_path path;
};

struct dcap_fast {
    /* key of the trust store: anchors and CRL files, byte for byte */
    struct bytes intel_root, sim_root, pck_crl, root_crl;
    struct dcap_trust trust; /* store built once over those bytes */
    int n_crl;
    int64_t crl_this[FAST_CRL_MAX], crl_next[FAST_CRL_MAX];
    struct fast_doc tcb_info, qe_identity;
    struct dcap_pck_cache *pck; /* verified PCK chains (pck_cache.c) */
    int n_anchor;               /* anchors' windows, for dcap_fast_fill_ok; -1: unknown */
    int64_t anchor_nb[2], anchor_na[2];
};

static bool copy(struct bytes *b, const uint8_t *p, size_t n)
{
    if (!p)
        return true;
    b->p = malloc(n ? n : 1);
    if (!b->p)
        return false;
    memcpy(b->p, p, n);
    b->len = n;
    return true;
}

/* Same presence, same bytes. */
static bool equal(const struct bytes *b, const uint8_t *p, size_t n)
{
    if (!b->p || !p)
        return !b->p && !p;
    return b->len == n && memcmp(b->p, p, n) == 0;
}

/* A CRL's window; false (no fast path) when it has no nextUpdate or a time does not convert. */
static bool crl_times(const struct gtee_blob *b, int64_t *this_u, int64_t *next_u)
{
    const unsigned char *q = b->p;
    X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)b->len);
    struct tm tm;
    bool ok = false;

    if (crl && q == b->p + b->len && X509_CRL_get0_nextUpdate(crl) &&
        ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm) == 1) {
        *this_u = (int64_t)timegm(&tm);
        if (ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm) == 1) {
            *next_u = (int64_t)timegm(&tm);
            ok = true;
        }
    }
    X509_CRL_free(crl);
    return ok;
}

/* The chain path and the signature of one signed document (collateral.c's split, ecdsa.c's
 * check): recorded only if both pass. */
static void doc_prepare(struct dcap_fast *f, struct fast_doc *d, const struct gtee_blob *doc,
                        const struct gtee_blob *chain_pem, const char *key)
{
    struct gtee_verdict *scratch = calloc(1, sizeof(*scratch));
    STACK_OF(X509) *chain = NULL;
    uint8_t sig[64];

    if (!scratch || !doc->p || !chain_pem->p ||
        dcap_signed_json_split(doc->p, doc->len, key, &d->off, &d->len, sig, NULL) < 0)
        goto out;
    chain = dcap_pem_chain(NULL, chain_pem->p, chain_pem->len, "prepare", NULL, scratch);
    if (!chain)
        goto out;
    dcap_chain_verify_untimed(&f->trust, chain, &d->path);
    if (d->path.ok &&
        dcap_ecdsa_verify_pkey(X509_get0_pubkey(sk_X509_value(chain, 0)), doc->p + d->off, d->len, sig) == 0 &&
        copy(&d->doc, doc->p, doc->len) && copy(&d->chain, chain_pem->p, chain_pem->len))
        goto out;
    d->path.ok = false;
out:
    sk_X509_pop_free(chain, X509_free);
    free(scratch);
}

void dcap_fast_free(struct dcap_fast *f)
{
    if (!f)
        return;
    free(f->intel_root.p);
    free(f->sim_root.p);
    free(f->pck_crl.p);
    free(f->root_crl.p);
    free(f->tcb_info.doc.p);
    free(f->tcb_info.chain.p);
    free(f->qe_identity.doc.p);
    free(f->qe_identity.chain.p);
    dcap_pck_cache_free(f->pck);
    f->trust.fast = NULL;
    dcap_trust_free(&f->trust);
    free(f);
}

struct dcap_fast *dcap_fast_prepare(const struct gtee_collateral *col, const struct gtee_anchors *a)
{
    struct dcap_fast *f = calloc(1, sizeof(*f));
    struct gtee_verdict *scratch = calloc(1, sizeof(*scratch));
    const uint8_t *root = a && a->intel_root_der ? a->intel_root_der : gtee_intel_sgx_root_ca_der;
    size_t root_len = a && a->intel_root_der ? a->intel_root_len : gtee_intel_sgx_root_ca_der_len;
    const struct gtee_blob *crls[FAST_CRL_MAX] = { &col->pck_crl, &col->root_ca_crl };
    struct gtee_err e = {0};

    if (!f || !scratch || (f->pck = dcap_pck_cache_new()) == NULL)
        goto fail;
    /* The store exactly as a verification would build it; any reason (a malformed CRL):
     * nothing is prepared and every verification takes the full path. */
    if (dcap_trust_init(&f->trust, a, col, 0, scratch, &e) < 0 || scratch->n_reasons)
        goto fail;
    if (!copy(&f->intel_root, root, root_len) || !copy(&f->sim_root, a ? a->sim_root_der : NULL,
                                                          a ? a->sim_root_len : 0) ||
        !copy(&f->pck_crl, col->pck_crl.p, col->pck_crl.len) ||
        !copy(&f->root_crl, col->root_ca_crl.p, col->root_ca_crl.len))
        goto fail;
    for (int i = 0; i < FAST_CRL_MAX; i++) {
        if (!crls[i]->p)
            continue;
        if (!crl_times(crls[i], &f->crl_this[f->n_crl], &f->crl_next[f->n_crl]))
            goto fail;
        f->n_crl++;
    }
    {
        X509 *anchors[2] = { f->trust.intel_root, f->trust.sim_root };

        for (int i = 0; i < 2 && f->n_anchor >= 0; i++)
            if (anchors[i] && !dcap_cert_window(anchors[i], &f->anchor_nb[f->n_anchor], &f->anchor_na[f->n_anchor]))
                f->n_anchor = -1;
            else if (anchors[i])
                f->n_anchor++;
    }
    doc_prepare(f, &f->tcb_info, &col->tcb_info, &col->tcb_info_chain, "tcbInfo");
    doc_prepare(f, &f->qe_identity, &col->qe_identity, &col->qe_identity_chain, "enclaveIdentity");
    free(scratch);
    ERR_clear_error();
    return f;
fail:
    free(scratch);
    dcap_fast_free(f);
    ERR_clear_error();
    return NULL;
}

int dcap_fast_prepare_pck(struct dcap_fast *f, const uint8_t *pem, size_t len, const uint8_t att_key[64])
{
    struct gtee_verdict *scratch = calloc(1, sizeof(*scratch));
    STACK_OF(X509) *certs = NULL;
    struct dcap_path path = {0};
    struct pck_ext ext;
    struct gtee_err e = {0};
    uint8_t key[32];
    EVP_PKEY *att;
    int rc = GTEE_ENOMEM;

    if (!scratch)
        return rc;
    certs = dcap_pem_chain(NULL, pem, len, "prepare", NULL, scratch);
    rc = certs ? 0 : GTEE_EFORMAT;
    if (certs && sk_X509_num(certs) >= 2) {
        dcap_chain_verify_untimed(&f->trust, certs, &path);
        if (path.ok && dcap_pck_ext_parse(sk_X509_value(certs, 0), &ext, &e) != 0)
            path.ok = false;
    }
    /* Only a chain that passed is kept (with the decoded attestation key: every quote's
     * signature is still checked with it). */
    if (path.ok && dcap_pck_key(pem, len, key) == 0) {
        att = dcap_ecdsa_pkey_raw(att_key);
        dcap_pck_cache_put(f->pck, key, pem, len, certs, &path, &ext, att_key, att);
        EVP_PKEY_free(att);
    }
    sk_X509_pop_free(certs, X509_free);
    free(scratch);
    ERR_clear_error();
    return rc;
}

struct dcap_pck_cache *dcap_fast_pck_cache(const struct dcap_fast *f)
{
    return f ? f->pck : NULL;
}

const struct dcap_fast *dcap_fast_match(const struct gtee_collateral *col, const struct gtee_anchors *a)
{
    const struct dcap_fast *f = dcap_prepared_fast(col);
    const uint8_t *root = a && a->intel_root_der ? a->intel_root_der : gtee_intel_sgx_root_ca_der;
    size_t root_len = a && a->intel_root_der ? a->intel_root_len : gtee_intel_sgx_root_ca_der_len;

    if (!f || !equal(&f->intel_root, root, root_len) ||
        !equal(&f->sim_root, a ? a->sim_root_der : NULL, a ? a->sim_root_len : 0) ||
        !equal(&f->pck_crl, col->pck_crl.p, col->pck_crl.len) ||
        !equal(&f->root_crl, col->root_ca_crl.p, col->root_ca_crl.len))
        return NULL;
    return f;
}

void dcap_fast_trust(const struct dcap_fast *f, int64_t at, struct dcap_trust *t)
{
    *t = f->trust;
    t->at = at;
    t->fast = f;
}

bool dcap_fast_window_ok(const struct dcap_fast *f, const struct dcap_path *path, int64_t at)
{
    if (!path->ok)
        return false;
    for (int i = 0; i < path->n; i++)
        if (!(path->not_before[i] < at && at < path->not_after[i]))
            return false;
    for (int i = 0; i < f->n_crl; i++)
        if (!(f->crl_this[i] < at && at < f->crl_next[i]))
            return false;
    return true;
}

bool dcap_fast_fill_ok(const struct dcap_fast *f, const struct dcap_path *path, int64_t at)
{
    if (f->n_anchor < 0 || !dcap_fast_window_ok(f, path, at))
        return false;
    for (int i = 0; i < f->n_anchor; i++)
        if (!(f->anchor_nb[i] < at && at < f->anchor_na[i]))
            return false;
    return true;
}

const struct dcap_path *dcap_fast_doc(const struct dcap_fast *f, bool tcb_info, const struct gtee_blob *doc,
                                      const struct gtee_blob *chain, size_t *off, size_t *len)
{
    const struct fast_doc *d;

    if (!f)
        return NULL;
    d = tcb_info ? &f->tcb_info : &f->qe_identity;
    if (!d->path.ok || !equal(&d->doc, doc->p, doc->len) || !equal(&d->chain, chain->p, chain->len))
        return NULL;
    *off = d->off;
    *len = d->len;
    return &d->path;
}
