/* Internal to the key release (src/wire/keyrelease*.c and the service in src/service): the
 * magics and bounds. The parsed request and the stream frames are public (gtee/keyrelease.h),
 * since the service (the host library) reads what the TD's side (the core) writes. */
#ifndef GTEE_KEYRELEASE_INT_H
#define GTEE_KEYRELEASE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/keyrelease.h"

#define KR_REQ_MAGIC "GKQ1"
#define KR_RESP_MAGIC "GKS1"

#define KR_REQ_MAX (GTEE_KR_REQUEST_HDR + GTEE_KR_EVIDENCE_MAX)
#define KR_REASON_MAX 512

#endif
