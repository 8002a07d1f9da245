/* Revocation of GPU evidence from OCSP responses supplied as files (RFC 6960): each response
 * must be successful, name by its CertID a certificate we check (the GPU chain's BROM,
 * Provisioner ICA and GH100 Identity; each RIM chain's signer, L3 and CA), be signed by that
 * certificate's issuer or a responder it authorised (id-kp-OCSPSigning), say "good", and be
 * fresh at the verification time (thisUpdate <= T <= nextUpdate). Revocation is "good" only
 * when every such certificate is covered so; without responses it is "not checked", never
 * good. docs/evidence-nvidia.md, "Revocation". */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include "evidence/nv_internal.h"

#define OCSP_DER_MAX 65536

static int64_t when(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    return (int64_t)timegm(&tm);
}

/* The certificates revocation covers: chain k's [from..to] with their issuers. */
struct target {
    int chain, index;
    bool covered;
};

static bool same_id(OCSP_CERTID *cid, X509 *cert, X509 *issuer)
{
    ASN1_OBJECT *md_oid = NULL;
    const EVP_MD *md;
    OCSP_CERTID *want;
    bool eq;

    if (OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, cid) != 1 || !(md = EVP_get_digestbyobj(md_oid)))
        return false;
    want = OCSP_cert_to_id(md, cert, issuer);
    eq = want && OCSP_id_cmp(want, cid) == 0;
    OCSP_CERTID_free(want);
    return eq;
}

/* Checks one response; marks the targets it covers. False (with reasons) if it is bad. */
static bool check_one(const char *name, const uint8_t *der, size_t len, STACK_OF(X509) *chains[3], X509 *roots[3],
                      struct target *t, size_t nt, int64_t at, struct gtee_nv_result *res)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = len <= OCSP_DER_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)len) : NULL;
    OCSP_BASICRESP *bs = NULL;
    X509_STORE *store = NULL;
    bool ok = false;
    int n;

    if (!resp || p != der + len) {
        nv_reason(res, "gpu.ocsp.malformed", "ocsp/%s is not one DER OCSP response", name);
        goto out;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL || !(bs = OCSP_response_get1_basic(resp))) {
        nv_reason(res, "gpu.ocsp.status", "ocsp/%s: response status %s", name,
                  OCSP_response_status_str(OCSP_response_status(resp)));
        goto out;
    }
    n = OCSP_resp_count(bs);
    if (n != 1) {
        nv_reason(res, "gpu.ocsp.malformed", "ocsp/%s has %d single responses, not one", name, n);
        goto out;
    }
    {
        OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, 0);
        OCSP_CERTID *cid = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(sr);
        ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
        int reason = 0, status = OCSP_single_get0_status(sr, &reason, &rev, &thisu, &nextu);
        int64_t tu = when(thisu), nu = nextu ? when(nextu) : -1;
        size_t hit = nt;

        for (size_t i = 0; i < nt && hit == nt; i++) {
            STACK_OF(X509) *c = chains[t[i].chain];
            if (same_id(cid, sk_X509_value(c, t[i].index), sk_X509_value(c, t[i].index + 1)))
                hit = i;
        }
        if (hit == nt) {
            nv_reason(res, "gpu.ocsp.unmatched", "ocsp/%s names no certificate of the GPU or RIM chains", name);
            goto out;
        }
        if (status != V_OCSP_CERTSTATUS_GOOD) {
            nv_reason(res, "gpu.ocsp.revoked", "ocsp/%s: certificate status %s", name, OCSP_cert_status_str(status));
            goto out;
        }
        if (tu < 0 || nu < 0 || at < tu || at > nu) {
            nv_reason(res, "gpu.ocsp.stale", "ocsp/%s is stale at the verification time (%s)", name,
                      nu < 0 ? "it has no nextUpdate" : at < tu ? "before its thisUpdate" : "after its nextUpdate");
            goto out;
        }
        /* The responder: the issuer itself, or a certificate it issued with id-kp-OCSPSigning,
         * chained to the pinned root at the verification time. */
        store = X509_STORE_new();
        if (!store || X509_STORE_add_cert(store, roots[t[hit].chain]) != 1)
            goto out;
        X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)at);
        if (OCSP_basic_verify(bs, chains[t[hit].chain], store, 0) != 1) {
            nv_reason(res, "gpu.ocsp.signature",
                      "ocsp/%s: the responder's signature or authority does not verify (%s)", name,
                      ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error())
                                                                     : "unknown");
            goto out;
        }
        /* The same certificate can sit in both RIM chains (their CA and L3 are shared). */
        for (size_t i = 0; i < nt; i++) {
            STACK_OF(X509) *c = chains[t[i].chain];
            if (same_id(cid, sk_X509_value(c, t[i].index), sk_X509_value(c, t[i].index + 1)))
                t[i].covered = true;
        }
        ok = true;
    }
out:
    X509_STORE_free(store);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return ok;
}

void nv_ocsp_check(const struct gtee_nv_collateral *col, STACK_OF(X509) *chains[3], X509 *roots[3], int64_t at,
                   struct gtee_nv_result *res)
{
    struct target t[12];
    size_t nt = 0, good = 0;
    bool bad = false;

    for (int k = 0; k < 3; k++) {
        int n = chains[k] ? sk_X509_num(chains[k]) : 0;
        int from = k == 0 ? 1 : 0, to = k == 0 ? 3 : 2;

        for (int i = from; i <= to && i + 1 < n && nt < 12; i++)
            t[nt++] = (struct target){ k, i, false };
    }
    for (size_t i = 0; i < col->n_ocsp; i++) {
        if (check_one(col->ocsp_name[i], col->ocsp[i], col->ocsp_len[i], chains, roots, t, nt, at, res))
            res->n_ocsp_good++;
        else
            bad = true;
    }
    for (size_t i = 0; i < nt; i++)
        good += t[i].covered;
    if (bad)
        res->revocation = GTEE_NV_REVOCATION_FAILED;
    else if (nt > 0 && good == nt)
        res->revocation = GTEE_NV_REVOCATION_GOOD;
    else
        res->revocation = GTEE_NV_REVOCATION_NOT_CHECKED; /* some certificates had no response */
}
