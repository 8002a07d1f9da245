/* The key-release service (docs/tee.md §4.3): verifies a TD's quote with the evidence
 * verifier and a policy, checks that the quote's report data binds the request's ephemeral
 * key, derives K = HKDF-SHA256(master, info = "gtee tdx enclave key v1" || MRTD || RTMR0 ||
 * RTMR1 || RTMR2 || TD_ATTRIBUTES) and seals SHA-256(request) || K to the ephemeral key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"
#include "gtee/msg.h"
#include "wire/keyrelease_int.h"

static const char key_tag[] = "gtee tdx enclave key v1"; /* without its NUL */

struct gtee_kr_service {
    uint8_t master[GTEE_KR_SECRET_LEN];
    uint8_t svc_priv[32], svc_pub[GTEE_KR_PUB_LEN]; /* the service key (keyrelease_svckey.c) */
    struct gtee_collateral col;
    struct gtee_anchors anchors;
    uint8_t *sim_root;
    struct gtee_policy policy;
    int64_t at;
};

static int read_small(const char *path, uint8_t **buf, size_t *len, struct gtee_err *err)
{
    int rc = gtee_file_read(path, 65536, buf, len, err);

    if (rc < 0)
        return gtee_err_wrap(err, "keyrelease: ");
    if (*len == 0) {
        free(*buf);
        *buf = NULL;
        return GTEE_FAIL(err, GTEE_EFORMAT, "keyrelease: %s is empty", path);
    }
    return 0;
}

int gtee_kr_service_new(const struct gtee_kr_config *cfg, struct gtee_kr_service **out, struct gtee_err *err)
{
    struct gtee_kr_service *s = NULL;
    int rc = GTEE_EINVAL;

    *out = NULL;
    ENSURE(cfg && cfg->master && cfg->collateral_dir, err, GTEE_EINVAL,
           "keyrelease: the service needs a master secret and a collateral directory");
    s = calloc(1, sizeof(*s));
    ENSURE(s, err, GTEE_ENOMEM, "keyrelease: out of memory");
    memcpy(s->master, cfg->master, GTEE_KR_SECRET_LEN);
    TRY(gtee_kr_service_key(s->master, s->svc_priv, s->svc_pub, err));
    s->at = cfg->at;
    gtee_policy_default(&s->policy);
    if (cfg->policy_json)
        TRY(gtee_policy_parse(cfg->policy_json, strlen(cfg->policy_json), &s->policy, err));
    TRY(gtee_collateral_load(cfg->collateral_dir, &s->col, err));
    if (cfg->sim_root_file) {
        TRY(read_small(cfg->sim_root_file, &s->sim_root, &s->anchors.sim_root_len, err));
        s->anchors.sim_root_der = s->sim_root;
    }
    /* The service sees many quotes of the same platforms: collateral checked once, each
     * platform's PCK chain verified once (docs/evidence.md, "PCK chain cache"); every request
     * still gets its own windows, signatures, TCB evaluation and policy. */
    TRY(gtee_collateral_prepare(&s->col, &s->anchors, err));
    *out = s;
    s = NULL;
    rc = 0;
out:
    gtee_kr_service_free(s);
    return rc;
}

void gtee_kr_service_free(struct gtee_kr_service *s)
{
    if (!s)
        return;
    gtee_collateral_free(&s->col);
    free(s->sim_root);
    gtee_wipe(s, sizeof(*s));
    free(s);
}

/* K is bound to the TD's boot chain as the quote reports it: MRTD (the initial TD memory:
 * firmware), RTMR0..2 (firmware configuration, kernel and boot loader, command line and
 * initrd) and TD_ATTRIBUTES (DEBUG gives another key). RTMR3 is left out: the running TD
 * may extend it at any time, so it describes run-time events, not the code that asks. */
static int derive_key(const uint8_t master[GTEE_KR_SECRET_LEN], const struct gtee_claims *c,
                      uint8_t k[GTEE_KR_KEY_LEN], struct gtee_err *err)
{
    uint8_t info[sizeof(key_tag) - 1 + 4 * 48 + 8];
    size_t off = sizeof(key_tag) - 1;
    int rc = 0;

    memcpy(info, key_tag, off);
    memcpy(info + off, c->tdx.mrtd, 48);
    off += 48;
    for (int i = 0; i < 3; i++, off += 48)
        memcpy(info + off, c->tdx.rtmr[i], 48);
    memcpy(info + off, c->tdx.td_attributes, 8);
    if (gtee_hkdf_sha256(k, GTEE_KR_KEY_LEN, master, GTEE_KR_SECRET_LEN, NULL, 0, info, sizeof(info)) != 0)
        rc = GTEE_FAIL(err, GTEE_ECRYPTO, "keyrelease: key derivation failed");
    return rc;
}

int gtee_kr_serve(struct gtee_kr_service *s, const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                  struct gtee_verdict *vout, struct gtee_err *err)
{
    struct gtee_verdict *v = vout, local;
    struct gtee_kr_request r;
    uint8_t rd[GTEE_KR_REPORT_DATA_LEN], pt[32 + GTEE_KR_KEY_LEN], rkey[GTEE_RELAY_KEY_LEN], *box = NULL, *b = NULL;
    size_t box_len = 0;
    int rc;

    *resp = NULL;
    *resp_len = 0;
    if (!v)
        v = &local;
    memset(v, 0, sizeof(*v));
    TRY(gtee_kr_request_parse(req, req_len, &r, err));
    rc = gtee_evidence_verify(r.evidence, r.evidence_len, &s->col, &s->anchors, &s->policy,
                              s->at ? s->at : (int64_t)time(NULL), v, err);
    if (rc == GTEE_EPOLICY || (rc == 0 && !v->accepted)) {
        rc = GTEE_FAIL(err, GTEE_EPOLICY, "keyrelease: evidence refused: %s: %s",
                       v->n_reasons ? v->reasons[0].code : "not accepted",
                       v->n_reasons ? v->reasons[0].msg : "no reason given");
        goto out;
    }
    TRY(rc);
    ENSURE(v->claims.tee == GTEE_TEE_TDX, err, GTEE_EUNSUPPORTED,
           "keyrelease: evidence is %s, keys are released to TDX quotes only", gtee_tee_type_name(v->claims.tee));
    TRY(gtee_kr_report_data(r.eph_pub, rd));
    ENSURE(gtee_ct_equal(rd, v->claims.report_data, sizeof(rd)), err, GTEE_EPOLICY,
           "keyrelease: the request's ephemeral key is not bound by the quote's report data "
           "(expected the key-release layout of docs/tee.md §4.3)");
    ENSURE(gtee_sha256(req, req_len, pt) == 0, err, GTEE_ECRYPTO, "keyrelease: hash failed");
    TRY(derive_key(s->master, &v->claims, pt + 32, err));
    /* Sealed with the service key, which the TD pins: proof that the service answered. */
    TRY(gtee_relay_seal_request_from(s->svc_priv, s->svc_pub, r.eph_pub, pt, sizeof(pt), rkey, &box, &box_len, err));
    ENSURE(4 + box_len == GTEE_KR_RESPONSE_LEN, err, GTEE_ECRYPTO, "keyrelease: answer of unexpected size");
    b = malloc(GTEE_KR_RESPONSE_LEN);
    ENSURE(b, err, GTEE_ENOMEM, "keyrelease: out of memory");
    memcpy(b, KR_RESP_MAGIC, 4);
    memcpy(b + 4, box, box_len);
    *resp = b;
    *resp_len = GTEE_KR_RESPONSE_LEN;
    rc = 0;
out:
    gtee_wipe(pt, sizeof(pt));
    gtee_wipe(rkey, sizeof(rkey));
    free(box);
    if (v == &local)
        gtee_wipe(&local, sizeof(local));
    return rc;
}
