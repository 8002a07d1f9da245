/* Verification of an Intel DCAP quote (SGX v3, TDX v4/v5), in the order of Intel's QVL
 * (SGX ECDSA Quote Library API, "Quote verification"): PCK chain to a trust anchor (with
 * CRLs), QE report signature by the PCK key, attestation key bound into the QE report data,
 * quote signature over header and body, collateral (TCB info, QE identity) signatures and
 * windows, then the TCB evaluation. Independent steps all run so that every reason is told. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "evidence/dcap.h"
#include "evidence/dcap_steps.h"
#include "gtee/crypto.h"

static const char *const pck_names[] = { "PCK leaf certificate", "PCK intermediate CA", "root CA", NULL };

void dcap_pass(struct dcap_ctx *c, enum dcap_check k)
{
    dcap_check_pass(&c->passed, k);
}

void dcap_note_anchor(struct dcap_ctx *c, bool simulated)
{
    c->anchors_seen |= simulated ? 2 : 1;
}

void dcap_note_revocation(struct dcap_ctx *c, const struct dcap_path *path)
{
    c->rev_chains++;
    c->rev_partial |= !path->rev_full;
    c->crls |= path->crls;
}

/* Revocation was checked only if all three chains were trusted and every certificate of
 * each was covered by a CRL of its issuer (docs/evidence.md, "Revocation"). That is a claim
 * for the policy (require_revocation); the check that passes here is that the coverage of
 * all three chains was established, so that the claim says something. */
static void fill_revocation(struct dcap_ctx *c, struct gtee_claims *cl)
{
    cl->crls_applied = c->crls;
    cl->revocation_checked = c->rev_chains == 3 && !c->rev_partial;
    if (c->rev_chains == 3)
        dcap_pass(c, DCAP_CHECK_REVOCATION);
}

/* What a verification knows of the quote's PCK chain. */
struct pck_state {
    STACK_OF(X509) *chain;   /* leaf first; owned */
    bool trusted;            /* the chain verified at the call's time */
    bool cached;             /* from the PCK chain cache: ext already parsed */
    struct dcap_path path;   /* windows of the built path (full path: recorded for the cache) */
    struct pck_ext ext;
    struct dcap_pck_cache *cache; /* the prepared collateral's, or NULL */
    uint8_t key[32];         /* SHA-256 of the certification data, when cache */
    EVP_PKEY *att;           /* the decoded attestation key (owned), or NULL */
};

/* The PCK chain (certification data type 5); returns the leaf (owned by st->chain) even when
 * the chain fails, so that the signature checks still report. */
static X509 *check_pck_chain(struct dcap_ctx *c, struct pck_state *st)
{
    const struct dcap_quote *q = c->q;
    struct dcap_pck_hit hit;
    bool sim = false;

    /* A cached chain: these exact bytes passed every check but the validity windows against
     * this exact trust store; the windows are checked now. Otherwise the full path. */
    st->cache = dcap_fast_pck_cache(c->trust->fast);
    if (st->cache && dcap_pck_key(q->cert_data.p, q->cert_data.len, st->key) != 0)
        st->cache = NULL;
    if (st->cache && dcap_pck_cache_get(st->cache, st->key, q->cert_data.p, q->cert_data.len, q->att_key.p, &hit)) {
        st->att = hit.att; /* the decoding of identical key bytes, whatever the windows say */
        if (dcap_fast_window_ok(c->trust->fast, &hit.path, c->at)) {
            st->chain = hit.chain;
            st->path = hit.path;
            st->ext = hit.ext;
            st->trusted = st->cached = true;
            dcap_pass(c, DCAP_CHECK_PCK_CHAIN);
            dcap_note_anchor(c, hit.path.simulated);
            dcap_note_revocation(c, &hit.path);
            return sk_X509_value(st->chain, 0);
        }
        sk_X509_pop_free(hit.chain, X509_free);
    }
    st->chain = dcap_pem_chain(c->col, q->cert_data.p, q->cert_data.len, "pck.chain", pck_names, c->v);
    if (!st->chain)
        return NULL;
    if (sk_X509_num(st->chain) < 2) {
        verdict_add(c->v, "pck.chain.malformed", "certification data (offset %zu) holds %d certificate(s), need "
                    "leaf and intermediate", q->cert_data.off, sk_X509_num(st->chain));
        return NULL;
    }
    st->trusted = dcap_chain_verify_path(c->trust, st->chain, "pck.chain", pck_names, &sim, c->v, &st->path);
    if (st->trusted) {
        dcap_pass(c, DCAP_CHECK_PCK_CHAIN);
        dcap_note_anchor(c, sim);
        dcap_note_revocation(c, &st->path);
    }
    return sk_X509_value(st->chain, 0);
}

static void check_signatures(struct dcap_ctx *c, X509 *pck, struct pck_state *st)
{
    const struct dcap_quote *q = c->q;
    uint8_t buf[DCAP_ATT_KEY_LEN + 4096], h[GTEE_SHA256_LEN];
    static const uint8_t zero[32];
    bool decoded = false;

    /* No leaf (the chain did not decode): already a reason, and no pass. */
    if (pck && dcap_ecdsa_verify_pkey(X509_get0_pubkey(pck), q->qe_report.p, q->qe_report.len,
                                      q->qe_report_sig.p) != 0)
        verdict_add(c->v, "qe_report.signature", "QE report signature (offset %zu) invalid under the PCK leaf key "
                    "(QE report at offset %zu)", q->qe_report_sig.off, q->qe_report.off);
    else if (pck)
        dcap_pass(c, DCAP_CHECK_QE_REPORT_SIGNATURE);
    /* QE report data = SHA-256(attestation key || QE authentication data) || 32 zero bytes. */
    if (q->qe_auth.len > sizeof(buf) - DCAP_ATT_KEY_LEN) {
        verdict_add(c->v, "qe_report.binding", "QE authentication data (offset %zu) too long", q->qe_auth.off);
    } else {
        memcpy(buf, q->att_key.p, DCAP_ATT_KEY_LEN);
        memcpy(buf + DCAP_ATT_KEY_LEN, q->qe_auth.p, q->qe_auth.len);
        if (gtee_sha256(buf, DCAP_ATT_KEY_LEN + q->qe_auth.len, h) != 0 ||
            memcmp(h, q->qe.report_data, 32) != 0 || memcmp(q->qe.report_data + 32, zero, 32) != 0)
            verdict_add(c->v, "qe_report.binding", "QE report data (offset %zu) does not bind the attestation key "
                        "(offset %zu) and QE authentication data (offset %zu)", q->qe_report.off + 320,
                        q->att_key.off, q->qe_auth.off);
        else
            dcap_pass(c, DCAP_CHECK_QE_REPORT_BINDING);
    }
    /* The attestation key as the cache decoded it when its bytes are the same, else now. */
    if (!st->att) {
        st->att = dcap_ecdsa_pkey_raw(q->att_key.p);
        decoded = st->att != NULL;
    }
    if (!st->att || dcap_ecdsa_verify_pkey(st->att, c->raw, q->signed_len, q->signature.p) != 0)
        verdict_add(c->v, "quote.signature", "quote signature (offset %zu) invalid over header (0..47) and body "
                    "(%zu..%zu) under the attestation key (offset %zu)", q->signature.off, q->body.off,
                    q->body.off + q->body.len - 1, q->att_key.off);
    else
        dcap_pass(c, DCAP_CHECK_QUOTE_SIGNATURE);
    /* A cached platform that now uses another attestation key: keep the new decoding. */
    if (decoded && st->cached)
        dcap_pck_cache_put_att(st->cache, st->key, q->cert_data.p, q->cert_data.len, q->att_key.p, st->att);
}

static void fill_claims(const struct dcap_quote *q, struct gtee_claims *cl)
{
    cl->tee = q->tee;
    cl->quote_version = q->version;
    memcpy(cl->report_data, q->report_data.p, GTEE_REPORT_DATA_LEN);
    if (q->tee == GTEE_TEE_SGX) {
        memcpy(cl->sgx.mrenclave, q->sgx.mrenclave, 32);
        memcpy(cl->sgx.mrsigner, q->sgx.mrsigner, 32);
        cl->sgx.isv_prod_id = q->sgx.isv_prod_id;
        cl->sgx.isv_svn = q->sgx.isv_svn;
        memcpy(cl->sgx.attributes, q->sgx.attributes, 16);
        cl->sgx.miscselect = q->sgx.miscselect;
        memcpy(cl->sgx.cpu_svn, q->sgx.cpu_svn, 16);
        cl->debug = (q->sgx.attributes[0] & 0x02) != 0; /* SDM vol. 3D 38.7.1: ATTRIBUTES.DEBUG, bit 1 */
    } else {
        memcpy(cl->tdx.mrtd, q->td.mrtd, 48);
        for (int i = 0; i < 4; i++)
            memcpy(cl->tdx.rtmr[i], q->td.rtmr[i], 48);
        memcpy(cl->tdx.td_attributes, q->td.td_attributes, 8);
        memcpy(cl->tdx.xfam, q->td.xfam, 8);
        memcpy(cl->tdx.tee_tcb_svn, q->td.tee_tcb_svn, 16);
        memcpy(cl->tdx.mrseam, q->td.mrseam, 48);
        memcpy(cl->tdx.mrconfigid, q->td.mrconfigid, 48);
        memcpy(cl->tdx.mrowner, q->td.mrowner, 48);
        memcpy(cl->tdx.mrownerconfig, q->td.mrownerconfig, 48);
        cl->debug = (q->td.td_attributes[0] & 0x01) != 0; /* TDX ABI: TD_ATTRIBUTES.TUD.DEBUG, bit 0 */
    }
}

unsigned dcap_verify(const uint8_t *quote, size_t len, const struct dcap_quote *q,
                     const struct gtee_collateral *col, const struct gtee_anchors *anchors, int64_t at,
                     struct gtee_verdict *v)
{
    struct dcap_trust trust;
    struct dcap_ctx c = { .raw = quote, .raw_len = len, .q = q, .col = col, .trust = &trust, .at = at, .v = v };
    static const struct gtee_collateral none;
    struct pck_state st = { 0 };
    struct tcb_info *ti_buf = NULL;
    struct qe_identity *qi_buf = NULL;
    const struct tcb_info *ti;
    const struct qe_identity *qi;
    const struct dcap_fast *fast;
    struct gtee_err e = {0};
    bool ti_ok, qi_ok, ext_ok = false;
    X509 *pck;

    fill_claims(q, &v->claims);
    if (!col)
        c.col = col = &none;
    if (memcmp(q->qe_vendor_id, DCAP_QE_VENDOR_INTEL, 16) != 0)
        verdict_add(v, "quote.header.qe_vendor", "quote header QE vendor ID (offset 12) is not Intel's");
    else
        dcap_pass(&c, DCAP_CHECK_QE_VENDOR);
    /* Prepared with these exact anchors and CRLs: the trust store built then. */
    if ((fast = dcap_fast_match(col, anchors)) != NULL) {
        dcap_fast_trust(fast, at, &trust);
    } else if (dcap_trust_init(&trust, anchors, col, at, v, &e) < 0) {
        verdict_add(v, "evidence.anchors", "%s", e.msg);
        return c.passed;
    }
    pck = check_pck_chain(&c, &st);
    check_signatures(&c, pck, &st);
    if (pck && st.trusted) {
        if (!st.cached && dcap_pck_ext_parse(pck, &st.ext, &e) < 0)
            verdict_add(v, "pck.extensions", "%s", e.msg);
        else
            ext_ok = true;
        if (ext_ok)
            dcap_pass(&c, DCAP_CHECK_PCK_EXTENSIONS);
        if (ext_ok)
            memcpy(v->claims.fmspc, st.ext.fmspc, GTEE_FMSPC_LEN);
        /* First success of these bytes against the prepared store: keep it for the next
         * quotes of this platform (pck_cache.c). */
        if (ext_ok && !st.cached && st.cache && dcap_fast_fill_ok(fast, &st.path, at))
            dcap_pck_cache_put(st.cache, st.key, q->cert_data.p, q->cert_data.len, st.chain, &st.path, &st.ext,
                               q->att_key.p, st.att);
    }
    ti_ok = dcap_check_tcb_info(&c, &ti_buf, &ti);
    qi_ok = dcap_check_qe_identity(&c, &qi_buf, &qi);
    dcap_note_crl_times(&c);
    if (c.anchors_seen == 3)
        verdict_add(v, "evidence.mixed_anchors", "some chains reach the Intel root and some the simulated root");
    v->claims.simulated = (c.anchors_seen & 2) != 0;
    fill_revocation(&c, &v->claims);
    dcap_eval_tcb(&c, ext_ok ? &st.ext : NULL, ti_ok ? ti : NULL, qi_ok ? qi : NULL);
    free(ti_buf);
    free(qi_buf);
    sk_X509_pop_free(st.chain, X509_free);
    EVP_PKEY_free(st.att);
    dcap_trust_free(&trust);
    return c.passed;
}
