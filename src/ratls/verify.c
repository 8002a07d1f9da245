/* The client's (or a mutually attesting server's) check of a peer certificate: parse the
 * extensions, then one call of the evidence library (gtee_evidence_verify_bound) verifies the
 * evidence (a quote, or a composite bundle: the quote and the GPUs' reports) against
 * collateral and anchors, checks that its report data commits to this certificate's key, the
 * Enclave key and the nonce (and a bundle's GPU reports to that nonce), and applies the policy. The first
 * failure is named precisely: cert, evidence check, binding, or policy rule. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "ratls/internal.h"

const char *gtee_ratls_failure_name(enum gtee_ratls_failure f)
{
    switch (f) {
    case GTEE_RATLS_OK: return "ok";
    case GTEE_RATLS_FAIL_CERT: return "cert";
    case GTEE_RATLS_FAIL_EVIDENCE: return "evidence";
    case GTEE_RATLS_FAIL_POLICY: return "policy";
    case GTEE_RATLS_FAIL_BINDING: return "binding";
    case GTEE_RATLS_FAIL_TLS: return "tls";
    }
    return "unknown";
}

static int reject(struct gtee_ratls_peer *peer, enum gtee_ratls_failure f, struct gtee_err *err, const char *why)
{
    peer->failure = f;
    snprintf(peer->why, sizeof(peer->why), "%s", why);
    return GTEE_FAIL(err, GTEE_EPOLICY, "ratls: peer rejected (%s): %s", gtee_ratls_failure_name(f), peer->why);
}

/* The kinds of verdict reasons, in the order the peer is judged: the evidence's own checks,
 * then the binding (the CVM report data to this certificate's keys and nonce; a bundle's GPU
 * reports to the nonce the CVM evidence commits to), then the policy ("policy.*"). */
enum reason_kind { REASON_CHECK, REASON_BINDING, REASON_POLICY };

static enum reason_kind kind_of(const char *code)
{
    if (strncmp(code, "policy.", 7) == 0)
        return REASON_POLICY;
    if (strncmp(code, "report_data.", 12) == 0 || strcmp(code, "bundle.gpu.binding") == 0)
        return REASON_BINDING;
    return REASON_CHECK;
}

/* The first reason of the kind asked, or NULL. */
static const struct gtee_reason *first_reason(const struct gtee_verdict *v, enum reason_kind k)
{
    for (size_t i = 0; i < v->n_reasons && i < GTEE_REASON_MAX; i++)
        if (kind_of(v->reasons[i].code) == k)
            return &v->reasons[i];
    return NULL;
}

static int reason_reject(struct gtee_ratls_peer *peer, enum gtee_ratls_failure f, const struct gtee_reason *r,
                         struct gtee_err *err)
{
    char why[GTEE_ERR_MSG_MAX];

    if (r)
        snprintf(why, sizeof(why), "%s: %.*s", r->code, (int)(sizeof(why) - GTEE_REASON_CODE_MAX - 4), r->msg);
    else
        snprintf(why, sizeof(why), "%s", f == GTEE_RATLS_FAIL_POLICY ? "policy rejected the evidence" : "evidence did not verify");
    return reject(peer, f, err, why);
}

/* The first reason whose code starts with prefix, or NULL. */
static const struct gtee_reason *reason_with(const struct gtee_verdict *v, const char *prefix)
{
    for (size_t i = 0; i < v->n_reasons && i < GTEE_REASON_MAX; i++)
        if (strncmp(v->reasons[i].code, prefix, strlen(prefix)) == 0)
            return &v->reasons[i];
    return NULL;
}

/* Evidence verification, binding and policy in one call (gtee_evidence_verify_bound, the
 * library's one binding path), then the classification of the verdict. The binding demanded:
 * report data = SHA-256(tag, enclave_pub, channel_pub) || nonce (zeros in the certificate). */
static int check_evidence(const uint8_t *ev, size_t ev_len, enum gtee_tee_type tee, const uint8_t *nonce,
                          const struct gtee_ratls_verify *vfy, struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    /* by the quote's kind (a bundle's CVM part's): a bundle's collateral directory holds cvm/
     * and gpuN/ */
    const struct gtee_collateral *col = tee == GTEE_TEE_TDX ? vfy->tdx_col : vfy->sgx_col;
    int64_t at = vfy->at ? vfy->at : (int64_t)time(NULL);
    struct gtee_binding_expect x;
    const struct gtee_reason *r;
    struct gtee_err e = {0};
    char why[GTEE_ERR_MSG_MAX];
    int rc;

    memset(&x, 0, sizeof(x));
    x.has_keys = true;
    memcpy(x.enclave_pub, peer->enclave_pub, sizeof(x.enclave_pub));
    memcpy(x.channel_pub, peer->channel_pub, sizeof(x.channel_pub));
    x.has_nonce = true;
    if (nonce)
        memcpy(x.nonce, nonce, sizeof(x.nonce));
    rc = gtee_evidence_verify_bound(ev, ev_len, col, vfy->anchors, vfy->policy, &x, at, &peer->verdict, &e);
    if (rc == GTEE_EFORMAT) {
        snprintf(why, sizeof(why), "evidence malformed: %.*s", (int)sizeof(why) - 32, e.msg);
        return reject(peer, GTEE_RATLS_FAIL_EVIDENCE, err, why);
    }
    if (rc < 0 && rc != GTEE_EPOLICY)
        return GTEE_FAIL(err, rc, "ratls: evidence verification failed internally: %s", e.msg);
    /* A bundle whose GPU report is over another nonce is not verified, yet its fault is the
     * binding's: judged as such below when no check of the evidence itself failed. */
    r = first_reason(&peer->verdict, REASON_CHECK);
    if (!peer->verdict.verified && (r || !first_reason(&peer->verdict, REASON_BINDING)))
        return reason_reject(peer, GTEE_RATLS_FAIL_EVIDENCE, r, err);
    if (peer->verdict.claims.tee != tee)
        return reject(peer, GTEE_RATLS_FAIL_CERT, err, "the quote's TEE type differs from its extension's OID");
    if ((r = reason_with(&peer->verdict, "evidence.internal")) != NULL)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "ratls: binding computation failed: %s", r->msg);
    /* The binding before the policy: evidence about another key says nothing about this peer. */
    if ((r = first_reason(&peer->verdict, REASON_BINDING)) != NULL) {
        snprintf(why, sizeof(why), "binding: %s: %.*s", r->code, (int)(sizeof(why) - GTEE_REASON_CODE_MAX - 16),
                 r->msg);
        return reject(peer, GTEE_RATLS_FAIL_BINDING, err, why);
    }
    if (!peer->verdict.accepted)
        return reason_reject(peer, GTEE_RATLS_FAIL_POLICY, first_reason(&peer->verdict, REASON_POLICY), err);
    peer->failure = GTEE_RATLS_OK;
    peer->why[0] = 0;
    return 0;
}

int ratls_verify_ext(const struct gtee_ratls_ext *ext, const struct gtee_ratls_verify *vfy,
                     struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    memcpy(peer->channel_pub, ext->channel_pub, sizeof(peer->channel_pub));
    memcpy(peer->enclave_pub, ext->enclave_pub, sizeof(peer->enclave_pub));
    if (gtee_eth_address(ext->enclave_pub, peer->enclave_id) != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "ratls: binding computation failed");
    return check_evidence(ext->evidence, ext->evidence_len, ext->tee, NULL, vfy, peer, err);
}

/* A parse failure is the certificate's fault (cert); anything else is ours. */
static int parse_failed(int rc, const struct gtee_err *e, struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    if (rc == GTEE_EFORMAT || rc == GTEE_EKEY)
        return reject(peer, GTEE_RATLS_FAIL_CERT, err, e->msg);
    return GTEE_FAIL(err, rc, "%s", e->msg);
}

int gtee_ratls_verify_cert(const uint8_t *der, size_t len, const struct gtee_ratls_verify *vfy,
                           struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    struct gtee_ratls_ext ext;
    struct gtee_err e = {0};
    int rc;

    memset(peer, 0, sizeof(*peer));
    peer->failure = GTEE_RATLS_FAIL_CERT;
    if (!vfy)
        return GTEE_FAIL(err, GTEE_EINVAL, "ratls: no verification settings (policy, collateral, anchors)");
    rc = gtee_ratls_ext_parse(der, len, &ext, &e);
    if (rc < 0)
        return parse_failed(rc, &e, peer, err);
    rc = ratls_verify_ext(&ext, vfy, peer, err);
    gtee_ratls_ext_free(&ext);
    return rc;
}

/* The handshake's entry: the leaf OpenSSL decoded. */
int ratls_verify_x509(X509 *x, const struct gtee_ratls_verify *vfy, struct gtee_ratls_peer *peer,
                      struct gtee_err *err)
{
    struct gtee_ratls_ext ext;
    struct gtee_err e = {0};
    int rc;

    memset(peer, 0, sizeof(*peer));
    peer->failure = GTEE_RATLS_FAIL_CERT;
    rc = ratls_ext_from_x509(x, &ext, &e);
    if (rc < 0)
        return parse_failed(rc, &e, peer, err);
    rc = ratls_verify_ext(&ext, vfy, peer, err);
    gtee_ratls_ext_free(&ext);
    return rc;
}

/* Fresh evidence: same checks, with the caller's nonce in the report data's second half. */
int ratls_verify_fresh(const uint8_t *ev, size_t ev_len, const uint8_t nonce[32], const struct gtee_ratls_verify *vfy,
                       struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    enum gtee_tee_type tee = peer->verdict.claims.tee;

    memset(&peer->verdict, 0, sizeof(peer->verdict));
    peer->failure = GTEE_RATLS_FAIL_EVIDENCE;
    return check_evidence(ev, ev_len, tee, nonce, vfy, peer, err);
}
