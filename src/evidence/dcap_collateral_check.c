/* Intel collateral checks: each signed document (TCB info, QE identity) is signed by the TCB
 * signing key whose chain reaches a trust anchor, and is inside its validity window at the
 * verification time (Intel PCS API v4; QVL "TCB Info"/"Enclave Identity" verification). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "evidence/dcap.h"
#include "evidence/dcap_steps.h"

static const char *const tcb_chain_names[] = { "TCB signing certificate", "root CA", NULL };

/* Verifies one signed document; returns whether it is trusted. The exact signed value range
 * is returned whenever the document could be split, so that its window is still reported. */
static bool signed_doc(struct dcap_ctx *c, const struct gtee_blob *doc, const struct gtee_blob *chain_pem,
                       const char *key, const char *what, size_t *off, size_t *len)
{
    char code[GTEE_REASON_CODE_MAX];
    struct gtee_err e = {0};
    uint8_t sig[64];
    STACK_OF(X509) *chain = NULL;
    const struct dcap_path *path;
    struct dcap_path full;
    bool ok = false, sim = false;

    if (!doc->p || !chain_pem->p) {
        snprintf(code, sizeof(code), "collateral.%s.missing", what);
        verdict_add(c->v, code, "collateral: %s or its issuer chain is missing", what);
        return false;
    }
    /* Prepared: these exact document and chain bytes passed the chain checks (all but the
     * validity windows, checked now) and the signature over the same value bytes. */
    path = dcap_fast_doc(c->trust->fast, strcmp(key, "tcbInfo") == 0, doc, chain_pem, off, len);
    if (path && dcap_fast_window_ok(c->trust->fast, path, c->at)) {
        dcap_note_anchor(c, path->simulated);
        dcap_note_revocation(c, path);
        return true;
    }
    if (dcap_signed_json_split(doc->p, doc->len, key, off, len, sig, &e) < 0) {
        snprintf(code, sizeof(code), "collateral.%s.malformed", what);
        verdict_add(c->v, code, "%s", e.msg);
        *len = 0;
        return false;
    }
    snprintf(code, sizeof(code), "collateral.%s.chain", what);
    chain = dcap_prepared_chain(c->col, chain_pem);
    if (!chain)
        chain = dcap_pem_chain(c->col, chain_pem->p, chain_pem->len, code, tcb_chain_names, c->v);
    if (!chain)
        return false;
    if (!dcap_chain_verify_path(c->trust, chain, code, tcb_chain_names, &sim, c->v, &full))
        goto out;
    dcap_note_anchor(c, sim);
    dcap_note_revocation(c, &full);
    if (dcap_ecdsa_verify_pkey(X509_get0_pubkey(sk_X509_value(chain, 0)), doc->p + *off, *len, sig) != 0) {
        snprintf(code, sizeof(code), "collateral.%s.signature", what);
        verdict_add(c->v, code, "collateral: %s signature (\"signature\" over bytes %zu..%zu of the file) invalid "
                    "under the TCB signing certificate", what, *off, *off + *len);
        goto out;
    }
    ok = true;
out:
    sk_X509_pop_free(chain, X509_free);
    return ok;
}

/* Whether at is inside [issueDate, nextUpdate]; each side outside adds its reason. */
static bool window(struct dcap_ctx *c, const char *what, int64_t issue, int64_t next)
{
    char code[GTEE_REASON_CODE_MAX];
    bool ok = true;

    if (c->at < issue) {
        snprintf(code, sizeof(code), "collateral.%s.not_yet_valid", what);
        verdict_add(c->v, code, "collateral: %s issueDate is after the verification time", what);
        ok = false;
    }
    if (c->at > next) {
        snprintf(code, sizeof(code), "collateral.%s.expired", what);
        verdict_add(c->v, code, "collateral: %s nextUpdate has passed at the verification time", what);
        ok = false;
    }
    if (!c->v->claims.collateral_issued || issue < c->v->claims.collateral_issued)
        c->v->claims.collateral_issued = issue;
    if (!c->v->claims.collateral_next_update || next < c->v->claims.collateral_next_update)
        c->v->claims.collateral_next_update = next;
    return ok;
}

bool dcap_check_tcb_info(struct dcap_ctx *c, struct tcb_info **buf, const struct tcb_info **out)
{
    const struct tcb_info *ti;
    size_t off, len;
    struct gtee_err e = {0};
    bool trusted, in_window;

    off = len = 0;
    *out = NULL;
    trusted = signed_doc(c, &c->col->tcb_info, &c->col->tcb_info_chain, "tcbInfo", "tcb_info", &off, &len);
    if (!len)
        return false;
    ti = dcap_prepared_tcb_info(c->col, c->col->tcb_info.p + off, len);
    if (!ti) {
        if (!*buf && !(*buf = calloc(1, sizeof(**buf)))) {
            verdict_add(c->v, "evidence.internal", "out of memory");
            return false;
        }
        if (dcap_tcb_info_parse(c->col->tcb_info.p + off, len, *buf, &e) < 0) {
            verdict_add(c->v, "collateral.tcb_info.malformed", "%s", e.msg);
            return false;
        }
        ti = *buf;
    }
    in_window = window(c, "tcb_info", ti->issue_date, ti->next_update);
    if (!trusted)
        return false;
    if (ti->tdx != (c->q->tee == GTEE_TEE_TDX)) {
        verdict_add(c->v, "collateral.tcb_info.mismatch", "collateral: TCB info id is %s but the quote is %s",
                    ti->tdx ? "TDX" : "SGX", gtee_tee_type_name(c->q->tee));
        return false;
    }
    /* Signed, of the quote's kind, and current: the TCB evaluation may rely on it. An
     * expired document is still evaluated (so its status is reported), but passes nothing. */
    if (in_window)
        dcap_pass(c, DCAP_CHECK_TCB_INFO);
    *out = ti;
    return true;
}

bool dcap_check_qe_identity(struct dcap_ctx *c, struct qe_identity **buf, const struct qe_identity **out)
{
    const struct qe_identity *qi;
    size_t off, len;
    struct gtee_err e = {0};
    bool trusted, in_window;

    off = len = 0;
    *out = NULL;
    trusted = signed_doc(c, &c->col->qe_identity, &c->col->qe_identity_chain, "enclaveIdentity", "qe_identity",
                         &off, &len);
    if (!len)
        return false;
    qi = dcap_prepared_qe_identity(c->col, c->col->qe_identity.p + off, len);
    if (!qi) {
        if (!*buf && !(*buf = calloc(1, sizeof(**buf)))) {
            verdict_add(c->v, "evidence.internal", "out of memory");
            return false;
        }
        if (dcap_qe_identity_parse(c->col->qe_identity.p + off, len, *buf, &e) < 0) {
            verdict_add(c->v, "collateral.qe_identity.malformed", "%s", e.msg);
            return false;
        }
        qi = *buf;
    }
    in_window = window(c, "qe_identity", qi->issue_date, qi->next_update);
    if (!trusted)
        return false;
    if (qi->td_qe != (c->q->tee == GTEE_TEE_TDX)) {
        verdict_add(c->v, "collateral.qe_identity.mismatch", "collateral: QE identity id is %s but the quote is %s",
                    qi->td_qe ? "TD_QE" : "QE", gtee_tee_type_name(c->q->tee));
        return false;
    }
    if (in_window)
        dcap_pass(c, DCAP_CHECK_QE_IDENTITY);
    *out = qi;
    return true;
}

/* CRL windows count toward the collateral's earliest nextUpdate (the CRLs themselves are
 * checked by OpenSSL during chain verification). */
void dcap_note_crl_times(struct dcap_ctx *c)
{
    int64_t t = c->trust->crl_next_update;

    if (t && (!c->v->claims.collateral_next_update || t < c->v->claims.collateral_next_update))
        c->v->claims.collateral_next_update = t;
}
