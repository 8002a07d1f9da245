/* The attested channel (RA-TLS): TLS 1.3 whose certificate is for an enclave's per-start
 * P-256 channel key and carries the enclave's evidence in an X.509 extension, with report
 * data committing to that key. The client verifies the evidence (gtee/evidence.h) and the
 * binding inside the handshake, before any application byte flows. docs/ratls.md gives the
 * extension convention, the binding, the handshake flow and the errors. */
#ifndef GTEE_RATLS_H
#define GTEE_RATLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evidence.h"

/* Extension OIDs: the convention of the Privasys RA-TLS projects (enclave-os, ra-tls-caddy),
 * the raw quote as the extnValue content, as Gramine's original RA-TLS also carries it.
 * docs/ratls.md, "Convention", says how this relates to Gramine and the TCG DICE OID. */
#define GTEE_RATLS_OID_SGX_QUOTE "1.2.840.113741.1.13.1.0"   /* Intel SGX DCAP quote (v3) */
#define GTEE_RATLS_OID_TDX_QUOTE "1.2.840.113741.1.5.5.1.6"  /* Intel TDX DCAP quote (v4, v5) */
/* The Enclave public key (secp256k1, 65 bytes uncompressed) the report data also commits to:
 * a UUID-derived OID (ITU-T X.667, arc 2.25) of this project. */
#define GTEE_RATLS_OID_ENCLAVE_KEY "2.25.326252730666880643649102839464100614589"
/* A composite evidence bundle (gtee/bundle.h: the CVM's Intel quote, then each GPU's report
 * over the nonce the quote commits to) in place of the quote extension, when the enclave binds
 * GPUs: the bundle as gtee_bundle_write writes it, under a UUID-derived OID of this project.
 * The quote header of the bundle's CVM part names the TEE (docs/ratls.md, "Convention"). */
#define GTEE_RATLS_OID_BUNDLE "2.25.80442753574074626855573347373021571868"

#define GTEE_RATLS_CHANNEL_PRIV_LEN 32
#define GTEE_RATLS_CHANNEL_PUB_LEN 65   /* P-256, uncompressed SEC1 */
#define GTEE_RATLS_ENCLAVE_PUB_LEN 65   /* secp256k1, uncompressed SEC1 */
#define GTEE_RATLS_ENCLAVE_ID_LEN 20    /* Ethereum address of the Enclave key */
#define GTEE_RATLS_NONCE_LEN 32
#define GTEE_RATLS_EVIDENCE_MAX (64u * 1024)
#define GTEE_RATLS_CERT_MAX (80u * 1024)
#define GTEE_RATLS_MSG_MAX (1u << 20)   /* one framed message inside the session */

/* ---- the certificate extension ---- */
struct gtee_ratls_ext {
    enum gtee_tee_type tee;                           /* the quote's kind: its OID, or a bundle's CVM part */
    bool bundle;                                      /* evidence is a composite bundle (GPUs bound) */
    uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN];  /* the certificate's public key */
    uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN];
    uint8_t *evidence;                                /* malloc'd copy of the quote or bundle */
    size_t evidence_len;
};

/* Parses a DER certificate: exactly one evidence extension (the SGX or TDX quote OID, or a
 * bundle, parsed exactly, whose CVM part is an SGX or TDX quote), exactly one Enclave key extension, a P-256 public key, a valid self-signature, nothing after the
 * certificate. GTEE_EFORMAT names the part that is wrong. Free with gtee_ratls_ext_free. */
int gtee_ratls_ext_parse(const uint8_t *der, size_t len, struct gtee_ratls_ext *out,
                         struct gtee_err *err) GTEE_MUST_USE;
void gtee_ratls_ext_free(struct gtee_ratls_ext *ext); /* NULL ok; leaves it zeroed */

/* The report data of the binding (docs/ratls.md): the runtime's layout,
 * SHA-256("gtee report data v1" 0x00 || enclave_pub || channel_pub) || nonce (NULL: zeros). */
int gtee_ratls_report_data(const uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN],
                           const uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN],
                           const uint8_t nonce[GTEE_RATLS_NONCE_LEN],
                           uint8_t report_data[GTEE_REPORT_DATA_LEN]) GTEE_MUST_USE;

/* A self-signed certificate for the channel key carrying evidence and the Enclave key.
 * *der is malloc'd. tee picks the quote OID (SGX or TDX); evidence that is a composite bundle
 * goes under GTEE_RATLS_OID_BUNDLE, and its CVM part must be a quote of that kind. */
int gtee_ratls_cert_new(const uint8_t channel_priv[GTEE_RATLS_CHANNEL_PRIV_LEN],
                        const uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN],
                        const uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN], enum gtee_tee_type tee,
                        const uint8_t *evidence, size_t evidence_len, uint8_t **der, size_t *der_len,
                        struct gtee_err *err) GTEE_MUST_USE;

/* ---- what a side presents: its keys and a way to get evidence over report data ---- */
typedef int (*gtee_ratls_evidence_fn)(void *arg, const uint8_t report_data[GTEE_REPORT_DATA_LEN],
                                      uint8_t **evidence, size_t *evidence_len, struct gtee_err *err);

struct gtee_ratls_cred {
    uint8_t channel_priv[GTEE_RATLS_CHANNEL_PRIV_LEN];  /* secret: the context keeps a copy, wiped when
                                                        * freed; wipe yours after gtee_ratls_*_new */
    uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN];
    uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN];
    enum gtee_tee_type tee;            /* GTEE_TEE_SGX or GTEE_TEE_TDX: the quote's kind (a bundle's CVM part's) */
    gtee_ratls_evidence_fn evidence;   /* called once for the certificate, then per fresh request:
                                        * a quote, or a bundle with the GPUs' reports */
    void *evidence_arg;
    const uint8_t *cert_der;           /* NULL: built from the above; else presented as is (tests) */
    size_t cert_der_len;
};

/* ---- what a side accepts ---- */
struct gtee_ratls_verify {
    const struct gtee_policy *policy;          /* NULL: the strict default */
    /* Collateral for SGX quotes (NULL: none). A client making many handshakes may call
     * gtee_collateral_prepare on it first: parsed once, every check still runs each time. */
    const struct gtee_collateral *sgx_col;
    const struct gtee_collateral *tdx_col;     /* collateral for TDX quotes */
    /* A bundle's collateral is that of its CVM part's kind: a directory with cvm/ and gpu0/,
     * gpu1/, ... (gtee_collateral_load); plain collateral leaves its GPUs without any
     * ("gpu.collateral.missing"). */
    const struct gtee_anchors *anchors;        /* NULL: the pinned Intel root only */
    int64_t at;                                /* verification time; 0: now */
};

/* Why a peer was rejected. */
enum gtee_ratls_failure {
    GTEE_RATLS_OK = 0,
    GTEE_RATLS_FAIL_CERT,       /* no certificate, or its extension or key is malformed */
    GTEE_RATLS_FAIL_EVIDENCE,   /* a check of the evidence failed (verdict reasons "quote.*", ...) */
    GTEE_RATLS_FAIL_POLICY,     /* evidence verified, but a policy rule failed ("policy.*") */
    GTEE_RATLS_FAIL_BINDING,    /* the report data does not commit to this certificate's key */
    GTEE_RATLS_FAIL_TLS,        /* the handshake failed for a TLS reason */
};
const char *gtee_ratls_failure_name(enum gtee_ratls_failure f); /* "cert", "evidence", ... */

/* The verified peer: filled by the handshake, also when it rejects. */
struct gtee_ratls_peer {
    enum gtee_ratls_failure failure;
    char why[GTEE_ERR_MSG_MAX];        /* first failing rule or check, or "binding: ..." */
    struct gtee_verdict verdict;       /* claims: TEE type, measurement, TCB status, simulated */
    uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN];
    uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN];
    uint8_t enclave_id[GTEE_RATLS_ENCLAVE_ID_LEN];
};

/* Verifies a DER certificate as the handshake does (exposed for tests and the CLI). Returns
 * 0 if accepted, GTEE_EPOLICY with peer->failure saying why otherwise. */
int gtee_ratls_verify_cert(const uint8_t *der, size_t len, const struct gtee_ratls_verify *vfy,
                           struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;

/* ---- TLS 1.3 over file descriptors ---- */
struct gtee_ratls_ctx;
struct gtee_ratls_conn;

/* A server presents cred; with peer_vfy non-NULL it also requires and verifies an attested
 * client certificate (mutual attestation). cred is copied; the copy's key is wiped on free. */
int gtee_ratls_server_new(const struct gtee_ratls_cred *cred, const struct gtee_ratls_verify *peer_vfy,
                          struct gtee_ratls_ctx **out, struct gtee_err *err) GTEE_MUST_USE;
/* A client verifies the server with vfy; with cred non-NULL it presents its own attested
 * certificate. vfy's pointers must outlive the context. */
int gtee_ratls_client_new(const struct gtee_ratls_verify *vfy, const struct gtee_ratls_cred *cred,
                          struct gtee_ratls_ctx **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ratls_ctx_free(struct gtee_ratls_ctx *ctx);

/* Runs the handshake on a connected stream fd (blocking; the fd stays the caller's).
 * A rejected peer: GTEE_EPOLICY, peer (may be NULL) says why. */
int gtee_ratls_accept(struct gtee_ratls_ctx *ctx, int fd, struct gtee_ratls_conn **out,
                      struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ratls_connect(struct gtee_ratls_ctx *ctx, int fd, struct gtee_ratls_conn **out,
                       struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;
/* Sends close_notify (best effort) and frees. NULL ok. */
void gtee_ratls_conn_free(struct gtee_ratls_conn *c);

int gtee_ratls_write(struct gtee_ratls_conn *c, const void *p, size_t len, struct gtee_err *err) GTEE_MUST_USE;
/* Reads exactly len bytes. GTEE_ENOTFOUND on a clean close before the first byte. */
int gtee_ratls_read(struct gtee_ratls_conn *c, void *p, size_t len, struct gtee_err *err) GTEE_MUST_USE;

/* ---- framed messages inside the session: type u16 || length u32 (big-endian) || body ---- */
enum gtee_ratls_msg_type {
    GTEE_RATLS_MSG_FRESH = 1,          /* nonce[32] -> evidence over binding || nonce */
    GTEE_RATLS_MSG_ERROR = 2,          /* code i32 || text */
    GTEE_RATLS_MSG_APP = 16,           /* first type free for applications */
};
int gtee_ratls_send_msg(struct gtee_ratls_conn *c, uint16_t type, const void *p, size_t len,
                        struct gtee_err *err) GTEE_MUST_USE;
/* An ERROR message: code and a text (truncated to 256 bytes) that must hold no secrets. */
int gtee_ratls_send_error(struct gtee_ratls_conn *c, int code, const char *text, struct gtee_err *err) GTEE_MUST_USE;
/* *p is malloc'd (len may be 0, *p still non-NULL). */
int gtee_ratls_recv_msg(struct gtee_ratls_conn *c, uint16_t *type, uint8_t **p, size_t *len,
                        struct gtee_err *err) GTEE_MUST_USE;

/* Freshness. Client: sends a fresh random nonce (out: nonce), receives evidence, verifies it
 * with the connection's policy and that its report data is binding || nonce for the keys of
 * this session; fills peer's verdict anew. Server: answers one FRESH request body. */
int gtee_ratls_fresh(struct gtee_ratls_conn *c, uint8_t nonce[GTEE_RATLS_NONCE_LEN],
                     struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ratls_answer_fresh(struct gtee_ratls_conn *c, const uint8_t *body, size_t len,
                            struct gtee_err *err) GTEE_MUST_USE;

/* The peer as verified in the handshake (NULL if the peer was not attested). */
const struct gtee_ratls_peer *gtee_ratls_peer_of(const struct gtee_ratls_conn *c);

#endif
