/* Internal to the enclave runtime: its state, the message handler (the only code that reads
 * host bytes) and the process hardening. The executable is main.c; the measurement it
 * claims is computed by wire/measure.h, which the host's launcher shares. */
#ifndef GTEE_ENCLAVE_INT_H
#define GTEE_ENCLAVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/msg.h"
#include "gtee/tee.h"

#define GTEE_ENCLAVE_SECRET_MAX 4096   /* the secret slot a job uses */

struct gtee_enclave;

/* opt->sim_id must already carry the self-measurement when tee is "sim". */
int gtee_enclave_new(const char *tee, const struct gtee_tee_options *opt, const uint8_t exe_sha256[32],
                     struct gtee_enclave **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_enclave_free(struct gtee_enclave *e);

/* Answers one whole message (header and payload) from the host. Always yields a reply,
 * ERROR for anything malformed. Returns 0, or 1 when the stream must end after this reply
 * (a bad header: framing is lost), or GTEE_ENOMEM with no reply. */
int gtee_enclave_handle(struct gtee_enclave *e, const uint8_t *msg, size_t len, uint8_t **reply,
                        size_t *reply_len) GTEE_MUST_USE;

/* Hardening: gtee_tee_harden and gtee_tee_seccomp(GTEE_HARDEN_ENCLAVE) (gtee/tee.h), shared
 * with the key-release service and SDK applications; harden.c holds the rest. */
/* The hardening for an enclave running under Gramine on SGX (main.c decides, never for
 * sim): skips what Gramine does not implement or the CPU makes irrelevant, and writes what
 * it skipped to skipped[len] for the enclave to report (docs/tee.md §8, §10). After it,
 * secret_alloc tolerates mlock/MADV_DONTDUMP failures. */
int gtee_enclave_harden_gramine(char *skipped, size_t len, struct gtee_err *err) GTEE_MUST_USE;
/* Locked, dump-excluded, zeroed memory for secrets; free wipes first. */
void *gtee_enclave_secret_alloc(size_t len);
void gtee_enclave_secret_free(void *p, size_t len);

#endif
