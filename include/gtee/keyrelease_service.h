/* The key-release service (docs/tee.md §4.3): its master secret, its own key, and the
 * answer to one request, alone or over a stream. It verifies quotes with the evidence
 * library; the formats it shares with the TD are gtee/keyrelease.h. */
#ifndef GTEE_KEYRELEASE_SERVICE_H
#define GTEE_KEYRELEASE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/keyrelease.h"

struct gtee_verdict; /* gtee/evidence.h */

#define GTEE_KR_SECRET_LEN 32

/* ---- the master secret ---- */
/* Writes 32 fresh random bytes to a new file (mode 0600); GTEE_EEXIST if it exists. */
int gtee_kr_secret_init(const char *path, struct gtee_err *err) GTEE_MUST_USE;
/* Reads it back; GTEE_EPERM if group or others may read it, GTEE_EFORMAT if not 32 bytes. */
int gtee_kr_secret_load(const char *path, uint8_t master[GTEE_KR_SECRET_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* The service key: a static P-256 key pair derived from the master secret (priv is a
 * secret). Every answer is sealed with it; TDs pin pub (`gtee keyrelease init` prints it). */
int gtee_kr_service_key(const uint8_t master[GTEE_KR_SECRET_LEN], uint8_t priv[32], uint8_t pub[GTEE_KR_PUB_LEN],
                        struct gtee_err *err) GTEE_MUST_USE;

/* ---- the service ---- */
struct gtee_kr_config {
    const uint8_t *master;       /* GTEE_KR_SECRET_LEN bytes; copied */
    const char *collateral_dir;  /* TDX collateral (docs/evidence.md, "Collateral files") */
    const char *sim_root_file;   /* DER of a simulated root to trust; NULL: none */
    const char *policy_json;     /* NULL: the strict default (no simulation, no debug) */
    int64_t at;                  /* verification time; 0: the clock at each request */
};

struct gtee_kr_service;

int gtee_kr_service_new(const struct gtee_kr_config *cfg, struct gtee_kr_service **out,
                        struct gtee_err *err) GTEE_MUST_USE;
void gtee_kr_service_free(struct gtee_kr_service *svc); /* wipes the master secret; NULL ok */

/* Answers one request: verifies the quote against the collateral and policy, checks that its
 * report data binds the request's ephemeral key, derives K for the TD's measurement and
 * returns it encrypted to that key. Refusals: GTEE_EPOLICY (the message names the verdict's
 * first reason, or the unbound key), GTEE_EFORMAT (malformed request), GTEE_EUNSUPPORTED
 * (not TDX evidence). If v is not NULL it receives the verdict (struct gtee_verdict). */
int gtee_kr_serve(struct gtee_kr_service *svc, const uint8_t *req, size_t req_len, uint8_t **resp,
                  size_t *resp_len, struct gtee_verdict *v, struct gtee_err *err) GTEE_MUST_USE;

/* ---- over a stream (src/service/keyrelease_stream.c; frames in docs/tee.md §4.3.1) ---- */
/* Service: reads one request from fd, answers it (or sends the refusal's reason). */
int gtee_kr_wire_serve_one(struct gtee_kr_service *svc, int fd, struct gtee_err *err) GTEE_MUST_USE;

#endif
