/* Key release for TDX (docs/tee.md §4.3): a TD has no sealing key, so a key-release service
 * holding a 32-byte master secret gives each TD measurement its own key K after verifying
 * the TD's quote. The request carries the quote and an ephemeral P-256 key that the quote's
 * report data commits to; K comes back encrypted to that key, so the host that relays the
 * bytes cannot read it. Byte layouts and the derivation of K are in docs/tee.md §4.3.
 * This header names the evidence types by tag only, so it can sit beside gtee/tee.h. */
#ifndef GTEE_KEYRELEASE_H
#define GTEE_KEYRELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

struct gtee_verdict; /* gtee/evidence.h */
struct gtee_key_release_transport; /* gtee/tee.h */

#define GTEE_KR_SECRET_LEN 32
#define GTEE_KR_KEY_LEN 32
#define GTEE_KR_PUB_LEN 65          /* P-256, uncompressed SEC 1 */
#define GTEE_KR_REPORT_DATA_LEN 64
#define GTEE_KR_EVIDENCE_MAX (1u << 20)
#define GTEE_KR_REQUEST_HDR (4 + GTEE_KR_PUB_LEN + 4)   /* magic, ephemeral key, evidence length */
#define GTEE_KR_RESPONSE_LEN (4 + 65 + 12 + 32 + GTEE_KR_KEY_LEN + 16)

/* ---- the master secret ---- */
/* Writes 32 fresh random bytes to a new file (mode 0600); GTEE_EEXIST if it exists. */
int gtee_kr_secret_init(const char *path, struct gtee_err *err) GTEE_MUST_USE;
/* Reads it back; GTEE_EPERM if group or others may read it, GTEE_EFORMAT if not 32 bytes. */
int gtee_kr_secret_load(const char *path, uint8_t master[GTEE_KR_SECRET_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* The service key: a static P-256 key pair derived from the master secret (priv is a
 * secret). Every answer is sealed with it; TDs pin pub (`gtee keyrelease init` prints it). */
int gtee_kr_service_key(const uint8_t master[GTEE_KR_SECRET_LEN], uint8_t priv[32], uint8_t pub[GTEE_KR_PUB_LEN],
                        struct gtee_err *err) GTEE_MUST_USE;

/* ---- the TD side ---- */
/* The report data of a key request: SHA-256("gtee key release v1" 0x00) || SHA-256(eph_pub).
 * The first half differs from every identity report data (gtee_tee_report_data), so a quote
 * made for one purpose is never taken for the other. */
int gtee_kr_report_data(const uint8_t eph_pub[GTEE_KR_PUB_LEN], uint8_t rd[GTEE_KR_REPORT_DATA_LEN]) GTEE_MUST_USE;
/* "GKQ1" || eph_pub[65] || evidence_len (u32 LE) || evidence. *req is malloc'd. */
int gtee_kr_request_build(const uint8_t eph_pub[GTEE_KR_PUB_LEN], const uint8_t *evidence, size_t evidence_len,
                          uint8_t **req, size_t *req_len, struct gtee_err *err) GTEE_MUST_USE;
/* Opens the service's answer to req with the ephemeral private key; checks that it was sealed
 * with the pinned service key svc_pub and answers exactly req. K is a secret. GTEE_EAUTH if
 * the answer comes from another key (not the pinned service), was altered or answers another
 * request. */
int gtee_kr_response_open(const uint8_t eph_priv[32], const uint8_t eph_pub[GTEE_KR_PUB_LEN],
                          const uint8_t svc_pub[GTEE_KR_PUB_LEN], const uint8_t *req, size_t req_len,
                          const uint8_t *resp, size_t resp_len, uint8_t key[GTEE_KR_KEY_LEN],
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

/* ---- over a stream (src/tee/keyrelease_wire.c; frames in docs/tee.md §4.3.1) ---- */
/* Client (a transport's exchange): sends req on fd and reads the answer; a refusal is
 * GTEE_EPOLICY with the service's reason. *resp is malloc'd. */
int gtee_kr_wire_exchange(int fd, const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                          struct gtee_err *err) GTEE_MUST_USE;
/* Service: reads one request from fd, answers it (or sends the refusal's reason). */
int gtee_kr_wire_serve_one(struct gtee_kr_service *svc, int fd, struct gtee_err *err) GTEE_MUST_USE;

/* ---- the TD's TCP transport (src/tee/keyrelease_tcp.c), `gtee-enclave --key-release` ---- */
#define GTEE_KR_TCP_CONNECT_MS 5000   /* a service that does not accept within this is unreachable */
#define GTEE_KR_TCP_IO_MS 30000       /* each read or write; the service verifies a quote meanwhile */

struct gtee_kr_tcp {
    char addr[80];                    /* as given, for messages */
    uint8_t service_pub[GTEE_KR_PUB_LEN]; /* the pinned service key */
    int connect_ms, io_ms;            /* set by init to the defaults above; a caller may lower them */
};

/* Parses "A.B.C.D:PORT" or "[IPv6]:PORT" (numeric only: no name lookup in the enclave) and
 * the service key to pin: 130 hex digits, an uncompressed P-256 point (04 || x || y). */
int gtee_kr_tcp_init(struct gtee_kr_tcp *c, const char *hostport, const char *service_pub_hex,
                     struct gtee_err *err) GTEE_MUST_USE;
/* struct gtee_key_release_transport's exchange over one fresh connection to c (arg). Every
 * failure names the address: cannot connect, timed out, closed, or "the service refused:
 * <its reason>" (GTEE_EPOLICY). */
int gtee_kr_tcp_exchange(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                         struct gtee_err *err) GTEE_MUST_USE;
/* Fills tr with gtee_kr_tcp_exchange over c; c must outlive every use of tr. */
void gtee_kr_tcp_transport(struct gtee_kr_tcp *c, struct gtee_key_release_transport *tr);

#endif
