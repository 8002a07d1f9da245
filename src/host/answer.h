/* The host's reading of one answer of its enclave, shared by the one-request-at-a-time
 * caller (launch.c, gtee_enclave_call) and the reader that matches answers to waiting
 * requests (mux.c). Internal to src/host/. */
#ifndef GTEE_HOST_ANSWER_H
#define GTEE_HOST_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/msg.h"

/* in (header h, then its payload) as the answer of request id of this type: an ERROR (of
 * id, or of id 0) becomes its code and the enclave's text, escaped; another type or id is
 * GTEE_EFORMAT; else *reply is a copy of the payload. */
int host_answer_take(const uint8_t *in, const struct gtee_msg_header *h, uint64_t id, uint16_t type, uint8_t **reply,
                     size_t *reply_len, struct gtee_err *err) GTEE_MUST_USE;

#endif
