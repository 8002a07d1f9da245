/* Internal to the key release (src/wire/keyrelease*.c and the service in src/service): magics,
 * the parsed request and the stream frames both sides write. */
#ifndef GTEE_KEYRELEASE_INT_H
#define GTEE_KEYRELEASE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/keyrelease.h"

#define KR_REQ_MAGIC "GKQ1"
#define KR_RESP_MAGIC "GKS1"

struct kr_request {
    const uint8_t *eph_pub;   /* GTEE_KR_PUB_LEN bytes, inside the request */
    const uint8_t *evidence;
    size_t evidence_len;
};

#define KR_REQ_MAX (GTEE_KR_REQUEST_HDR + GTEE_KR_EVIDENCE_MAX)
#define KR_REASON_MAX 512

int kr_request_parse(const uint8_t *req, size_t req_len, struct kr_request *out, struct gtee_err *err);

/* Whole reads and answer frames (status u8 || u32 big-endian length || bytes) on a stream.
 * kr_read_all returns 0 or a positive errno: EPIPE for a peer that closed, EAGAIN for a
 * socket timeout; kr_send_frame returns 0 or -1. */
int kr_read_all(int fd, void *p, size_t n);
int kr_send_frame(int fd, int status, const void *p, size_t n);

#endif
