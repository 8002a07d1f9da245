/* The report data's binding to the Enclave identity (docs/tee.md, "Report data";
 * docs/evidence.md, "Report data binding"): bytes 0..31 are SHA-256 over a tag and the
 * enclave's two public keys, bytes 32..63 the verifier's nonce. Given the keys (and/or the
 * nonce), the verdict says whether the verified evidence commits to them, and names the
 * Enclave ID they give. The hash is the TEE runtime's own function (gtee_tee_report_data),
 * so producer and verifier cannot drift apart. */
#include <string.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/evidence_gpu.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/report_data.h"

_Static_assert(GTEE_BOUND_PUB_LEN == GTEE_ENCLAVE_PUB_LEN && GTEE_BOUND_PUB_LEN == GTEE_CHANNEL_PUB_LEN,
               "binding key lengths follow tee.h");
_Static_assert(GTEE_BOUND_ID_LEN == GTEE_ETH_ADDR_LEN && GTEE_BOUND_NONCE_LEN == GTEE_REPORT_NONCE_LEN,
               "binding lengths follow tee.h");

/* Adds the binding reasons to v; true if the keys (if given) are the ones committed to. */
static bool check_keys(const struct gtee_binding_expect *x, struct gtee_verdict *v, uint8_t id[GTEE_BOUND_ID_LEN])
{
    uint8_t rd[GTEE_REPORT_DATA_LEN];
    bool ok = true;

    if (gtee_tee_report_data(x->enclave_pub, x->channel_pub, NULL, rd) != 0) {
        verdict_add(v, "evidence.internal", "report data binding: SHA-256 failed");
        return false;
    }
    if (!gtee_ct_equal(rd, v->claims.report_data, 32)) {
        verdict_add(v, "report_data.binding", "report data bytes 0..31 are not SHA-256 over the tag, the given "
                    "Enclave key and the given channel key: the evidence commits to another enclave or channel key");
        ok = false;
    }
    if (gtee_eth_address(x->enclave_pub, id) != 0) {
        verdict_add(v, "report_data.binding", "the given Enclave key is not a secp256k1 public key (uncompressed)");
        return false;
    }
    if (x->has_enclave_id && !gtee_ct_equal(id, x->enclave_id, GTEE_BOUND_ID_LEN)) {
        verdict_add(v, "report_data.binding", "the given Enclave ID is not the address of the given Enclave key");
        ok = false;
    }
    return ok;
}

int evidence_verify_bound_plain(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                                const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                                const struct gtee_binding_expect *x, int64_t at, struct gtee_verdict *v,
                                struct gtee_err *err)
{
    struct gtee_claims *c;
    uint8_t id[GTEE_BOUND_ID_LEN];
    size_t before;
    bool keys_ok = true;
    /* A GPU report is signed over the verifier's nonce itself: it is checked inside. */
    int rc = evidence_verify_nonce(evidence, len, col, anchors, policy, x && x->has_nonce ? x->nonce : NULL, at, v,
                                   err);

    /* Malformed evidence has no report data to compare; internal failures stand as they are. */
    if (!x || (rc != 0 && rc != GTEE_EPOLICY))
        return rc;
    c = &v->claims;
    before = v->n_reasons;
    if (c->tee == GTEE_TEE_GPU) {
        /* No report data: the nonce was the report's own; keys bind only through a bundle. */
        if (x->has_keys)
            verdict_add(v, "report_data.binding", "a GPU report commits to no enclave keys (they bind through a "
                        "composite bundle's CVM evidence, docs/evidence-nvidia.md)");
        else if (x->has_nonce)
            c->binding.nonce_checked = v->verified;
        goto done;
    }
    if (x->has_keys)
        keys_ok = check_keys(x, v, id);
    if (x->has_nonce && !gtee_ct_equal(x->nonce, c->report_data + 32, GTEE_BOUND_NONCE_LEN))
        verdict_add(v, "report_data.nonce", "report data bytes 32..63 differ from the given nonce (stale or "
                    "replayed evidence)");
    else if (x->has_nonce)
        c->binding.nonce_checked = v->verified;
    if (x->has_keys && keys_ok && v->verified) {
        c->binding.bound = true;
        memcpy(c->binding.enclave_pub, x->enclave_pub, GTEE_BOUND_PUB_LEN);
        memcpy(c->binding.channel_pub, x->channel_pub, GTEE_BOUND_PUB_LEN);
        memcpy(c->binding.enclave_id, id, GTEE_BOUND_ID_LEN);
    }
done:
    if (v->n_reasons != before || v->reasons_truncated)
        v->accepted = false;
    if (rc == 0 && !v->accepted) {
        rc = GTEE_EPOLICY;
        GTEE_FAIL(err, rc, "evidence: rejected (%s: %s)", v->reasons[before].code, v->reasons[before].msg);
    }
    return rc;
}

/* The one entry every verifier of enclave evidence calls: a composite bundle is recognised by
 * its magic and verified part by part, anything else as itself. */
int gtee_evidence_verify_bound(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                               const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                               const struct gtee_binding_expect *x, int64_t at, struct gtee_verdict *v,
                               struct gtee_err *err)
{
    if (gtee_bundle_detect(evidence, len))
        return evidence_verify_bundle(evidence, len, col, anchors, policy, x, at, v, err);
    return evidence_verify_bound_plain(evidence, len, col, anchors, policy, x, at, v, err);
}
