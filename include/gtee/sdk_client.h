/* The Glacier TEE SDK, client side: connect to a TEE application over the attested channel
 * with your policy, read the verified claims, send requests, ask for fresh evidence. The
 * handshake completes only if the enclave's evidence verifies, satisfies the policy and is
 * bound to the channel key (docs/ratls.md). */
#ifndef GTEE_SDK_CLIENT_H
#define GTEE_SDK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evidence.h"
#include "gtee/sdk.h" /* struct gtee_client_options, what a side accepts */

struct gtee_client;


/* Connects to HOST:PORT and runs the attested handshake. A rejected enclave: GTEE_EPOLICY,
 * err says which policy rule, which evidence check, or "binding". */
int gtee_client_connect(const char *hostport, const struct gtee_client_options *opt, struct gtee_client **out,
                        struct gtee_err *err) GTEE_MUST_USE;
/* The same over a connected stream fd (kept by the caller). */
int gtee_client_connect_fd(int fd, const struct gtee_client_options *opt, struct gtee_client **out,
                           struct gtee_err *err) GTEE_MUST_USE;
void gtee_client_close(struct gtee_client *c); /* NULL ok */

/* What the handshake verified: TEE type, measurement, TCB status, simulated, debug. */
const struct gtee_claims *gtee_client_claims(const struct gtee_client *c);
void gtee_client_enclave_id(const struct gtee_client *c, uint8_t id[20]);

/* One request: op (0..GTEE_APP_OP_MAX of gtee/sdk.h) and body; *resp is malloc'd. An error
 * the application's handler returned comes back as its code with the enclave's message. */
int gtee_client_call(struct gtee_client *c, uint16_t op, const void *req, size_t len, uint8_t **resp,
                     size_t *resp_len, struct gtee_err *err) GTEE_MUST_USE;
/* Fresh evidence over a nonce of ours, verified like the handshake's (claims updated). */
int gtee_client_refresh(struct gtee_client *c, struct gtee_err *err) GTEE_MUST_USE;

#endif
