/* Prepared collateral: the certificate chains, CRLs and anchors parsed once for many
 * verifications (OpenSSL 3 spends more time decoding a certificate's key than verifying a
 * signature). Each parsed object is used only while the bytes it came from are unchanged.
 * The time-independent verification results are in prepared_fast.c. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/snp_internal.h"
#include "gtee/nvidia.h"

struct cached_chain {
    uint8_t *src;
    size_t len;
    STACK_OF(X509) *certs;
};

struct cached_crl {
    uint8_t *src;
    size_t len;
    X509_CRL *crl;
};

struct cached_cert {
    uint8_t *src;
    size_t len;
    X509 *x;
};

/* A signed document's value bytes and their parse. */
struct cached_doc {
    uint8_t *src;
    size_t len;
    void *parsed; /* struct tcb_info or struct qe_identity */
};

struct gtee_collateral_prepared {
    struct cached_doc tcb_info, qe_identity;
    struct cached_chain tcb_chain, qe_chain, pck_crl_chain;
    struct cached_crl pck_crl, root_crl;
    struct cached_cert intel_root, sim_root;
    struct dcap_fast *fast; /* time-independent results (prepared_fast.c); NULL: none */
    struct snp_prepared *snp; /* SEV-SNP VCEK and chain (snp_prepared.c); NULL: none */
    struct gtee_nv_prepared *gpu; /* GPU chains and RIMs (nv_verify.c); NULL: none */
    uint8_t *gpu_src;             /* the chain and both RIMs it was prepared from, end to end */
    size_t gpu_src_len;
};

static bool same(const uint8_t *src, size_t len, const uint8_t *p, size_t n)
{
    return src && p && len == n && memcmp(src, p, n) == 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);

    if (d && n)
        memcpy(d, p, n);
    return d;
}

static void chain_prepare(struct cached_chain *c, const struct gtee_blob *b)
{
    struct gtee_verdict *scratch = calloc(1, sizeof(*scratch));

    if (!b->p || !scratch) {
        free(scratch);
        return;
    }
    c->certs = dcap_pem_chain(NULL, b->p, b->len, "prepare", NULL, scratch);
    free(scratch);
    if (c->certs && (c->src = dup_bytes(b->p, b->len)) != NULL)
        c->len = b->len;
}

static void crl_prepare(struct cached_crl *c, const struct gtee_blob *b)
{
    const unsigned char *q = b->p;

    if (!b->p)
        return;
    c->crl = d2i_X509_CRL(NULL, &q, (long)b->len);
    if (c->crl && q == b->p + b->len && (c->src = dup_bytes(b->p, b->len)) != NULL) {
        c->len = b->len;
    } else {
        X509_CRL_free(c->crl);
        c->crl = NULL;
    }
}

static void cert_prepare(struct cached_cert *c, const uint8_t *p, size_t n)
{
    const unsigned char *q = p;

    if (!p)
        return;
    c->x = d2i_X509(NULL, &q, (long)n);
    if (c->x && q == p + n && (c->src = dup_bytes(p, n)) != NULL) {
        c->len = n;
    } else {
        X509_free(c->x);
        c->x = NULL;
    }
}

/* Parses the signed value of a collateral document (no trust is given here: the signature
 * over the same bytes is still checked on every verification). */
static void doc_prepare(struct cached_doc *d, const struct gtee_blob *b, const char *key, bool tcb)
{
    uint8_t sig[64];
    size_t off, len;
    int rc;

    if (!b->p || dcap_signed_json_split(b->p, b->len, key, &off, &len, sig, NULL) < 0)
        return;
    d->parsed = calloc(1, tcb ? sizeof(struct tcb_info) : sizeof(struct qe_identity));
    if (!d->parsed)
        return;
    rc = tcb ? dcap_tcb_info_parse(b->p + off, len, d->parsed, NULL)
             : dcap_qe_identity_parse(b->p + off, len, d->parsed, NULL);
    if (rc == 0 && (d->src = dup_bytes(b->p + off, len)) != NULL) {
        d->len = len;
    } else {
        free(d->parsed);
        d->parsed = NULL;
    }
}

static void prepared_free(struct gtee_collateral_prepared *pr)
{
    if (!pr)
        return;
    free(pr->tcb_info.src);
    free(pr->tcb_info.parsed);
    free(pr->qe_identity.src);
    free(pr->qe_identity.parsed);
    sk_X509_pop_free(pr->tcb_chain.certs, X509_free);
    sk_X509_pop_free(pr->qe_chain.certs, X509_free);
    sk_X509_pop_free(pr->pck_crl_chain.certs, X509_free);
    X509_CRL_free(pr->pck_crl.crl);
    X509_CRL_free(pr->root_crl.crl);
    X509_free(pr->intel_root.x);
    X509_free(pr->sim_root.x);
    free(pr->tcb_chain.src);
    free(pr->qe_chain.src);
    free(pr->pck_crl_chain.src);
    free(pr->pck_crl.src);
    free(pr->root_crl.src);
    free(pr->intel_root.src);
    free(pr->sim_root.src);
    dcap_fast_free(pr->fast);
    snp_prepared_free(pr->snp);
    gtee_nv_prepared_free(pr->gpu);
    free(pr->gpu_src);
    free(pr);
}

void dcap_prepared_free(struct gtee_collateral_prepared *pr)
{
    prepared_free(pr);
}

/* The GPU chain and RIMs concatenated: what a prepared GPU result is tied to. */
static uint8_t *gpu_bytes(const struct gtee_nv_collateral *g, size_t *n)
{
    uint8_t *p;

    *n = g->chain_len + g->driver_rim_len + g->vbios_rim_len;
    p = malloc(*n ? *n : 1);
    if (p && *n) {
        memcpy(p, g->chain_pem, g->chain_len);
        memcpy(p + g->chain_len, g->driver_rim, g->driver_rim_len);
        memcpy(p + g->chain_len + g->driver_rim_len, g->vbios_rim, g->vbios_rim_len);
    }
    return p;
}

/* A GPU directory: its chains, RIMs and their signatures checked once (gtee_nv_prepare). */
static void gpu_prepare(struct gtee_collateral_prepared *pr, const struct gtee_nv_collateral *g)
{
    pr->gpu_src = gpu_bytes(g, &pr->gpu_src_len);
    if (!pr->gpu_src || gtee_nv_prepare(g, &pr->gpu, NULL) < 0) {
        free(pr->gpu_src);
        pr->gpu_src = NULL;
        pr->gpu = NULL;
    }
}

const struct gtee_nv_prepared *dcap_prepared_gpu(const struct gtee_collateral *col)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;
    const struct gtee_nv_collateral *g = col ? col->gpu : NULL;
    size_t off;

    if (!pr || !pr->gpu || !g || pr->gpu_src_len != g->chain_len + g->driver_rim_len + g->vbios_rim_len)
        return NULL;
    /* Used only while the bytes are those it was prepared from (docs/evidence.md, "Prepared
     * collateral"). */
    off = g->chain_len + g->driver_rim_len;
    if (!same(pr->gpu_src, g->chain_len, g->chain_pem, g->chain_len) ||
        !same(pr->gpu_src + g->chain_len, g->driver_rim_len, g->driver_rim, g->driver_rim_len) ||
        !same(pr->gpu_src + off, g->vbios_rim_len, g->vbios_rim, g->vbios_rim_len))
        return NULL;
    return pr->gpu;
}

int gtee_collateral_prepare(struct gtee_collateral *col, const struct gtee_anchors *a, struct gtee_err *err)
{
    struct gtee_collateral_prepared *pr;
    int rc = GTEE_ENOMEM;

    ENSURE(col != NULL, err, GTEE_EINVAL, "collateral: nothing to prepare");
    /* A bundle's directory: each part's collateral is prepared on its own. */
    if (col->cvm)
        TRY(gtee_collateral_prepare(col->cvm, a, err));
    for (size_t i = 0; i < col->n_gpus; i++)
        TRY(gtee_collateral_prepare(&col->gpus[i], a, err));
    pr = calloc(1, sizeof(*pr));
    ENSURE(pr != NULL, err, GTEE_ENOMEM, "collateral: out of memory");
    doc_prepare(&pr->tcb_info, &col->tcb_info, "tcbInfo", true);
    doc_prepare(&pr->qe_identity, &col->qe_identity, "enclaveIdentity", false);
    chain_prepare(&pr->tcb_chain, &col->tcb_info_chain);
    chain_prepare(&pr->qe_chain, &col->qe_identity_chain);
    chain_prepare(&pr->pck_crl_chain, &col->pck_crl_chain);
    crl_prepare(&pr->pck_crl, &col->pck_crl);
    crl_prepare(&pr->root_crl, &col->root_ca_crl);
    if (a && a->intel_root_der)
        cert_prepare(&pr->intel_root, a->intel_root_der, a->intel_root_len);
    else
        cert_prepare(&pr->intel_root, gtee_intel_sgx_root_ca_der, gtee_intel_sgx_root_ca_der_len);
    if (a && a->sim_root_der)
        cert_prepare(&pr->sim_root, a->sim_root_der, a->sim_root_len);
    prepared_free(col->prepared);
    col->prepared = pr;
    pr->fast = dcap_fast_prepare(col, a);
    if (col->snp_vcek.p)
        pr->snp = snp_prepared_new(col->snp_vcek.p, col->snp_vcek.len, dcap_snp_bundle(col), col->snp_ark_crl.p,
                                   col->snp_ark_crl.len);
    if (col->gpu)
        gpu_prepare(pr, col->gpu);
    ERR_clear_error();
    rc = 0;
out:
    return rc;
}

STACK_OF(X509) *dcap_prepared_chain(const struct gtee_collateral *col, const struct gtee_blob *b)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;
    const struct cached_chain *c = NULL;

    if (!pr || !b->p)
        return NULL;
    if (b == &col->tcb_info_chain)
        c = &pr->tcb_chain;
    else if (b == &col->qe_identity_chain)
        c = &pr->qe_chain;
    if (!c || !c->certs || !same(c->src, c->len, b->p, b->len))
        return NULL;
    return X509_chain_up_ref(c->certs);
}

X509_CRL *dcap_prepared_crl(const struct gtee_collateral *col, const struct gtee_blob *b)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;
    const struct cached_crl *c = NULL;

    if (!pr || !b->p)
        return NULL;
    if (b == &col->pck_crl)
        c = &pr->pck_crl;
    else if (b == &col->root_ca_crl)
        c = &pr->root_crl;
    if (!c || !c->crl || !same(c->src, c->len, b->p, b->len))
        return NULL;
    X509_CRL_up_ref(c->crl);
    return c->crl;
}

X509 *dcap_prepared_anchor(const struct gtee_collateral *col, const uint8_t *der, size_t len)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;
    const struct cached_cert *cs[2];

    if (!pr)
        return NULL;
    cs[0] = &pr->intel_root;
    cs[1] = &pr->sim_root;
    for (int i = 0; i < 2; i++)
        if (cs[i]->x && same(cs[i]->src, cs[i]->len, der, len)) {
            X509_up_ref(cs[i]->x);
            return cs[i]->x;
        }
    return NULL;
}

/* DER of x equals der? (i2d into a bounded buffer; certificates here are small) */
static bool der_equal(X509 *x, const uint8_t *der, size_t len)
{
    unsigned char buf[4096], *q = buf;
    int n = i2d_X509(x, NULL);

    if (n <= 0 || (size_t)n != len || n > (int)sizeof(buf))
        return false;
    i2d_X509(x, &q);
    return memcmp(buf, der, len) == 0;
}

X509 *dcap_prepared_cert(const struct gtee_collateral *col, const uint8_t *der, size_t len)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;
    const struct cached_chain *chains[3];
    X509 *x;

    if (!pr)
        return NULL;
    if ((x = dcap_prepared_anchor(col, der, len)) != NULL)
        return x;
    chains[0] = &pr->pck_crl_chain;
    chains[1] = &pr->tcb_chain;
    chains[2] = &pr->qe_chain;
    for (int i = 0; i < 3; i++)
        for (int k = 0; chains[i]->certs && k < sk_X509_num(chains[i]->certs); k++) {
            x = sk_X509_value(chains[i]->certs, k);
            if (der_equal(x, der, len)) {
                X509_up_ref(x);
                return x;
            }
        }
    return NULL;
}

const struct snp_prepared *dcap_prepared_snp(const struct gtee_collateral *col)
{
    return col && col->prepared ? col->prepared->snp : NULL;
}

const char *dcap_snp_bundle(const struct gtee_collateral *col)
{
    /* NUL-terminated by gtee_collateral_load; a caller-built blob must be too */
    return col->snp_ask_ark.p && col->snp_ask_ark.p[col->snp_ask_ark.len] == 0 ? (const char *)col->snp_ask_ark.p
                                                                               : NULL;
}

const struct dcap_fast *dcap_prepared_fast(const struct gtee_collateral *col)
{
    return col && col->prepared ? col->prepared->fast : NULL;
}

const struct tcb_info *dcap_prepared_tcb_info(const struct gtee_collateral *col, const uint8_t *val, size_t len)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;

    if (!pr || !pr->tcb_info.parsed || !same(pr->tcb_info.src, pr->tcb_info.len, val, len))
        return NULL;
    return pr->tcb_info.parsed;
}

const struct qe_identity *dcap_prepared_qe_identity(const struct gtee_collateral *col, const uint8_t *val,
                                                    size_t len)
{
    const struct gtee_collateral_prepared *pr = col ? col->prepared : NULL;

    if (!pr || !pr->qe_identity.parsed || !same(pr->qe_identity.src, pr->qe_identity.len, val, len))
        return NULL;
    return pr->qe_identity.parsed;
}

int gtee_collateral_prepare_pck(struct gtee_collateral *col, const uint8_t *evidence, size_t len,
                                struct gtee_err *err)
{
    struct dcap_quote *q = calloc(1, sizeof(*q));
    int rc = GTEE_EINVAL;

    ENSURE(q != NULL, err, GTEE_ENOMEM, "collateral: out of memory");
    ENSURE(col && col->prepared, err, GTEE_ESTATE, "collateral: prepare the collateral first");
    TRY(dcap_quote_parse(evidence, len, q, err));
    /* A chain that fails a time-independent check is not kept: its quotes take the full
     * path, which names the failure. */
    rc = col->prepared->fast ? dcap_fast_prepare_pck(col->prepared->fast, q->cert_data.p, q->cert_data.len,
                                                     q->att_key.p)
                             : 0;
    ENSURE(rc == 0, err, rc, rc == GTEE_EFORMAT ? "collateral: the PCK chain does not decode"
                                                : "collateral: out of memory");
out:
    free(q);
    return rc;
}

void gtee_collateral_pck_stats(const struct gtee_collateral *col, struct gtee_pck_cache_stats *st)
{
    struct dcap_pck_cache *c = dcap_fast_pck_cache(dcap_prepared_fast(col));

    memset(st, 0, sizeof(*st));
    if (c)
        dcap_pck_cache_stats(c, st);
}

void gtee_collateral_pck_clear(struct gtee_collateral *col)
{
    dcap_pck_cache_clear(dcap_fast_pck_cache(dcap_prepared_fast(col)));
}
