/* Internal to the key release (src/tee/keyrelease*.c): magics and the parsed request. */
#ifndef GTEE_KEYRELEASE_INT_H
#define GTEE_KEYRELEASE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define KR_REQ_MAGIC "GKQ1"
#define KR_RESP_MAGIC "GKS1"

struct kr_request {
    const uint8_t *eph_pub;   /* GTEE_KR_PUB_LEN bytes, inside the request */
    const uint8_t *evidence;
    size_t evidence_len;
};

int kr_request_parse(const uint8_t *req, size_t req_len, struct kr_request *out, struct gtee_err *err);

#endif
