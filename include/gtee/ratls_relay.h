/* The node host's relay (src/host/relay.c, pump.c; docs/ratls.md "The relay"): it carries
 * the bytes of attested sessions between a client and the enclave and never decrypts them.
 * It needs no key and no evidence: nothing here includes gtee/ratls.h. */
#ifndef GTEE_RATLS_RELAY_H
#define GTEE_RATLS_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* tap (may be NULL) sees each chunk before it is forwarded and may alter it (tests record
 * and tamper with it); dir is 0 client->enclave, 1 enclave->client. */
typedef void (*gtee_ratls_tap_fn)(void *arg, int dir, uint8_t *p, size_t len);
/* Pumps until both directions reach end of stream or an error; half-closes as it goes. */
int gtee_ratls_pump(int client_fd, int enclave_fd, gtee_ratls_tap_fn tap, void *tap_arg,
                    struct gtee_err *err) GTEE_MUST_USE;

/* The relay's check of a connection's first bytes, before it dials the enclave for it: a
 * TLS handshake record (type 22, version 3.x, length 1..16384) whose first message is a
 * ClientHello (type 1), received whole. 0: p starts with that whole record; 1: so far so
 * good, more bytes needed (at most GTEE_RATLS_HELLO_MAX in all: the record's header and
 * 2^14 bytes); GTEE_EFORMAT naming the offending byte otherwise. */
#define GTEE_RATLS_HELLO_MAX (5 + 16384)
int gtee_ratls_relay_hello(const uint8_t *p, size_t len, struct gtee_err *err) GTEE_MUST_USE;

/* The node host's relay server (`gtee relay`, docs/ratls.md "The relay"): one thread, every
 * connection a state machine, so no client can make another wait. A connection must show a
 * ClientHello (gtee_ratls_relay_hello) before the enclave is dialled for it, and finish the
 * handshake (the client speaks again after the enclave has answered) within handshake_ms of
 * its accept; a connection with no byte either way for idle_ms is closed; once either side
 * has closed, the other has GTEE_RATLS_RELAY_DRAIN_MS to finish, then the slot is free. A
 * connection beyond max_active is closed at once. to is resolved once, at start. */
#define GTEE_RATLS_RELAY_DRAIN_MS 2000
struct gtee_ratls_relay {
    const char *to;                   /* the enclave's HOST:PORT */
    unsigned max_active;              /* 1..GTEE_RATLS_RELAY_ACTIVE_MAX */
    unsigned max_clients;             /* return once this many were relayed and closed; 0: never */
    unsigned handshake_ms;            /* > 0 */
    unsigned idle_ms;                 /* 0: no idle limit */
    void (*log)(void *arg, const char *line); /* what happened to a connection; may be NULL */
    void *log_arg;
};
#define GTEE_RATLS_RELAY_ACTIVE_MAX 65536
int gtee_ratls_relay_serve(int listen_fd, const struct gtee_ratls_relay *r, struct gtee_err *err) GTEE_MUST_USE;

#endif
