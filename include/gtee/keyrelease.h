/* Key release for TDX (docs/tee.md §4.3): a TD has no sealing key, so a key-release service
 * holding a 32-byte master secret gives each TD measurement its own key K after verifying
 * the TD's quote. The request carries the quote and an ephemeral P-256 key that the quote's
 * report data commits to; K comes back encrypted to that key, so the host that relays the
 * bytes cannot read it. Byte layouts and the derivation of K are in docs/tee.md §4.3.
 * This header holds what both sides share (the formats, the TD's side, the frames over a
 * stream); the service itself is gtee/keyrelease_service.h. */
#ifndef GTEE_KEYRELEASE_H
#define GTEE_KEYRELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"


#define GTEE_KR_KEY_LEN 32
#define GTEE_KR_PUB_LEN 65          /* P-256, uncompressed SEC 1 */
#define GTEE_KR_REPORT_DATA_LEN 64
#define GTEE_KR_EVIDENCE_MAX (1u << 20)
#define GTEE_KR_REQUEST_HDR (4 + GTEE_KR_PUB_LEN + 4)   /* magic, ephemeral key, evidence length */
#define GTEE_KR_RESPONSE_LEN (4 + 65 + 12 + 32 + GTEE_KR_KEY_LEN + 16)

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

/* ---- over a stream (src/wire/keyrelease_wire.c; frames in docs/tee.md §4.3.1) ---- */
/* Client (a transport's exchange): sends req on fd and reads the answer; a refusal is
 * GTEE_EPOLICY with the service's reason. *resp is malloc'd. */
int gtee_kr_wire_exchange(int fd, const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                          struct gtee_err *err) GTEE_MUST_USE;

/* ---- the TD's TCP client (src/wire/keyrelease_tcp.c), `gtee-enclave --key-release` ---- */
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

/* The service's side of the exchange (src/service): a request parsed in place, and the
 * stream's whole reads and answer frames. */
struct gtee_kr_request {
    const uint8_t *eph_pub;   /* GTEE_KR_PUB_LEN bytes, inside the request */
    const uint8_t *evidence;
    size_t evidence_len;
};

int gtee_kr_request_parse(const uint8_t *req, size_t req_len, struct gtee_kr_request *out,
                          struct gtee_err *err) GTEE_MUST_USE;

/* Whole reads and answer frames (status u8 || u32 big-endian length || bytes) on a stream.
 * gtee_kr_read_all returns 0 or a positive errno: EPIPE for a peer that closed, EAGAIN for a
 * socket timeout; gtee_kr_send_frame returns 0 or -1. */
int gtee_kr_read_all(int fd, void *p, size_t n);
int gtee_kr_send_frame(int fd, int status, const void *p, size_t n);

#endif
