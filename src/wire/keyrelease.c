/* Key release, the bytes both sides share (docs/tee.md §4.3): the request's report data,
 * the request layout, and the TD's opening of the service's answer. The answer is a relay
 * box (src/wire/relay.c) sealed to the TD's ephemeral P-256 key, whose plaintext is
 * SHA-256(request) || K, so an answer to any other request is refused. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/msg.h"
#include "wire/keyrelease_int.h"

static const char rd_tag[] = "gtee key release v1"; /* hashed with its NUL */

int gtee_kr_report_data(const uint8_t eph_pub[GTEE_KR_PUB_LEN], uint8_t rd[GTEE_KR_REPORT_DATA_LEN])
{
    if (gtee_sha256(rd_tag, sizeof(rd_tag), rd) != 0 || gtee_sha256(eph_pub, GTEE_KR_PUB_LEN, rd + 32) != 0)
        return GTEE_ECRYPTO;
    return 0;
}

int gtee_kr_request_build(const uint8_t eph_pub[GTEE_KR_PUB_LEN], const uint8_t *evidence, size_t evidence_len,
                          uint8_t **req, size_t *req_len, struct gtee_err *err)
{
    uint8_t *b;

    *req = NULL;
    *req_len = 0;
    if (evidence_len == 0 || evidence_len > GTEE_KR_EVIDENCE_MAX)
        return GTEE_FAIL(err, GTEE_EINVAL, "keyrelease: evidence of %zu bytes (1..%u allowed)", evidence_len,
                         GTEE_KR_EVIDENCE_MAX);
    b = malloc(GTEE_KR_REQUEST_HDR + evidence_len);
    if (!b)
        return GTEE_FAIL(err, GTEE_ENOMEM, "keyrelease: out of memory");
    memcpy(b, KR_REQ_MAGIC, 4);
    memcpy(b + 4, eph_pub, GTEE_KR_PUB_LEN);
    put_u32le(b + 4 + GTEE_KR_PUB_LEN, (uint32_t)evidence_len);
    memcpy(b + GTEE_KR_REQUEST_HDR, evidence, evidence_len);
    *req = b;
    *req_len = GTEE_KR_REQUEST_HDR + evidence_len;
    return 0;
}

int gtee_kr_request_parse(const uint8_t *req, size_t req_len, struct gtee_kr_request *out, struct gtee_err *err)
{
    struct span s = span_init(req, req_len);
    const uint8_t *magic = span_take(&s, 4);
    uint32_t n;
    int rc = GTEE_EFORMAT;

    ENSURE(magic && memcmp(magic, KR_REQ_MAGIC, 4) == 0, err, GTEE_EFORMAT,
           "keyrelease: request does not start with \"GKQ1\" (offset 0)");
    out->eph_pub = span_take(&s, GTEE_KR_PUB_LEN);
    ENSURE(out->eph_pub && out->eph_pub[0] == 0x04, err, GTEE_EFORMAT,
           "keyrelease: request's ephemeral key is not an uncompressed point (offset 4)");
    n = span_u32le(&s);
    ENSURE(!s.bad && n > 0 && n <= GTEE_KR_EVIDENCE_MAX, err, GTEE_EFORMAT,
           "keyrelease: request's evidence length is missing or out of range (offset 69)");
    out->evidence = span_take(&s, n);
    ENSURE(out->evidence && s.len == 0, err, GTEE_EFORMAT,
           "keyrelease: request's evidence is %u bytes but %zu follow (offset 73)", n, req_len - GTEE_KR_REQUEST_HDR);
    out->evidence_len = n;
    rc = 0;
out:
    return rc;
}

int gtee_kr_response_open(const uint8_t eph_priv[32], const uint8_t eph_pub[GTEE_KR_PUB_LEN],
                          const uint8_t svc_pub[GTEE_KR_PUB_LEN], const uint8_t *req, size_t req_len,
                          const uint8_t *resp, size_t resp_len, uint8_t key[GTEE_KR_KEY_LEN], struct gtee_err *err)
{
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], h[32], *pt = NULL;
    size_t pt_len = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(svc_pub, err, GTEE_EINVAL, "keyrelease: no service key pinned");
    ENSURE(resp_len == GTEE_KR_RESPONSE_LEN && memcmp(resp, KR_RESP_MAGIC, 4) == 0, err, GTEE_EFORMAT,
           "keyrelease: answer is not a \"GKS1\" box of %d bytes (got %zu)", GTEE_KR_RESPONSE_LEN, resp_len);
    /* The box's sender key must be the pinned service key: the box key is ECDH of it with our
     * ephemeral key, so only the holder of the service's private key (or of ours) can have
     * sealed a box that opens below. Anyone can seal to our public ephemeral key otherwise. */
    ENSURE(memcmp(resp + 4, svc_pub, GTEE_KR_PUB_LEN) == 0, err, GTEE_EAUTH,
           "keyrelease: answer is not sealed by the pinned service key (another service, or the host, answered)");
    rc = gtee_relay_open_request(eph_priv, eph_pub, resp + 4, resp_len - 4, resp_key, &pt, &pt_len, err);
    if (rc < 0) {
        rc = GTEE_FAIL(err, rc == GTEE_EAUTH ? GTEE_EAUTH : rc, "keyrelease: answer does not open under the "
                       "ephemeral key (altered, or sealed to another key)");
        goto out;
    }
    ENSURE(pt_len == 32 + GTEE_KR_KEY_LEN, err, GTEE_EFORMAT, "keyrelease: answer holds %zu bytes, expected 64",
           pt_len);
    ENSURE(gtee_sha256(req, req_len, h) == 0, err, GTEE_ECRYPTO, "keyrelease: hash failed");
    ENSURE(gtee_ct_equal(h, pt, 32), err, GTEE_EAUTH, "keyrelease: answer is for another request (bytes 0..31)");
    memcpy(key, pt + 32, GTEE_KR_KEY_LEN);
    rc = 0;
out:
    gtee_wipe(resp_key, sizeof(resp_key));
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    return rc;
}
