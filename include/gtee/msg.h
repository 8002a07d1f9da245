/* The host-enclave message protocol: one stream socket, length-prefixed messages with a
 * fixed 20-byte header. The host asks, the enclave answers; every byte from the host is
 * untrusted. Layout and semantics in docs/tee.md ("Message protocol"). */
#ifndef GTEE_MSG_H
#define GTEE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_MSG_MAGIC 0x4754454Du     /* "GTEM", big-endian on the wire */
#define GTEE_MSG_VERSION 1
#define GTEE_MSG_HEADER_LEN 20         /* magic 4, version 2, type 2, request id 8, length 4 */
#define GTEE_MSG_MAX_PAYLOAD (1u << 20)
#define GTEE_MSG_NONCE_LEN 32          /* EVIDENCE: the caller's half of the report data */

enum gtee_msg_type {
    GTEE_MSG_INFO = 1,      /* -> tee kind, flags, measurement, Enclave key and ID, channel key */
    GTEE_MSG_EVIDENCE = 2,  /* nonce[32] -> report_data[64] || evidence */
    GTEE_MSG_SEAL = 3,      /* policy u8 || data -> sealed blob */
    GTEE_MSG_UNSEAL = 4,    /* blob -> plaintext length u32 (the plaintext stays inside) */
    GTEE_MSG_RELAY = 5,     /* a box for the enclave -> host part, box for the client */
    /* Containers into the enclave's memory (docs/tee.md §7.1): the host holds only
     * ciphertext and passes it in pieces; the key comes from its owner's grant (relay
     * GRANT), found by the key id in the container's header. */
    GTEE_MSG_BLOB_BEGIN = 6, /* blob u8 || container length u64 -> nothing */
    GTEE_MSG_BLOB_DATA = 7,  /* blob u8 || bytes -> received u64, then once complete:
                              * plaintext length u64 || content id[32] */
    GTEE_MSG_BLOB_DROP = 8,  /* blob u8 -> nothing (the plaintext wiped) */
    GTEE_MSG_GRANT_RESTORE = 9, /* a sealed grant the host stored -> grant count u8 */
    /* A job's result out of the enclave (docs/tee.md §7.1): an ML_JOB's relay answer gives
     * the host only a result notice (gtee/jobs.h: its length and SHA-256); the result waits
     * in an enclave result slot under its SHA-256, its id, for the host to read in pieces
     * and then drop. Results of any size that fits the enclave's memory limit come out. */
    GTEE_MSG_RESULT_READ = 10, /* result id[32] || offset u64 || length u32 (1 to
                                * GTEE_MSG_RESULT_PIECE_MAX, inside the result) -> the bytes */
    GTEE_MSG_RESULT_DROP = 11, /* result id[32] -> nothing (the slot freed) */
    /* Work Proofs (docs/proofs.md "The node's proofs"). START: chain id u64 || contract[20] ||
     * operator[20] || nonce[32] || the ledger's last seq u64 || its hash[32] || the sealed
     * counter the host kept (may be empty) -> report_data[64] || consent signature[65] ||
     * evidence hash[32] || evidence. TAKE: a job's result id[32] -> 1 || proof JSON length
     * u32 || proof JSON || the sealed counter to keep, or 0 || why it is not signed. */
    GTEE_MSG_PROOF_START = 0x20,
    GTEE_MSG_PROOF_TAKE = 0x21,
    /* Key-release receipts (docs/chain.md "Key-release receipts"): each grant the enclave
     * accepted waits as a receipt until the host takes it, signed then by the Enclave key
     * under the domain of its proofs (so only after a PROOF_START passed: GTEE_ESTATE before).
     * TAKE: nothing -> count u8 || count times (blob content id[32] || grant id[32] || time
     * u64 || signature[65], v 27 or 28, over gtee_proof_keyrelease_hash). */
    GTEE_MSG_RELEASE_TAKE = 0x22,
    /* During a long request (a training job), with that request's id, before its answer:
     * stage u8 (1 training, 2 inference) || epoch u32 || epochs u32 || batch u32 || batches
     * u32 || loss (IEEE-754 binary32 bits, u32). Nothing secret: how far, and the loss. */
    GTEE_MSG_PROGRESS = 0x7d,
    GTEE_MSG_NOTICE = 0x7e, /* unsolicited, request id 0: text for the operator's log */
    GTEE_MSG_ERROR = 0x7f,  /* code i32 || text (never secret values) */
};
#define GTEE_MSG_REPLY 0x8000u          /* set in the type of every answer */
#define GTEE_MSG_PROGRESS_LEN 21
#define GTEE_MSG_RESULT_PIECE_MAX GTEE_MSG_MAX_PAYLOAD

#define GTEE_MSG_FLAG_SIMULATED 0x01    /* INFO flags: the TEE is the simulation */

struct gtee_msg_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint64_t request_id;
    uint32_t length;        /* payload bytes after the header, <= GTEE_MSG_MAX_PAYLOAD */
};

/* Checks magic, version and length bound of the first GTEE_MSG_HEADER_LEN bytes. */
int gtee_msg_header_parse(const uint8_t *buf, size_t len, struct gtee_msg_header *h,
                          struct gtee_err *err) GTEE_MUST_USE;
void gtee_msg_header_write(uint8_t out[GTEE_MSG_HEADER_LEN], uint16_t type, uint64_t request_id,
                           uint32_t length);
/* Header + payload in one allocated buffer. */
int gtee_msg_encode(uint16_t type, uint64_t request_id, const void *payload, size_t len, uint8_t **msg,
                    size_t *msg_len, struct gtee_err *err) GTEE_MUST_USE;
/* An ERROR reply carrying code and a message text (truncated to 256 bytes). */
int gtee_msg_encode_error(uint64_t request_id, int code, const char *text, uint8_t **msg, size_t *msg_len,
                          struct gtee_err *err) GTEE_MUST_USE;

/* Whole-message socket I/O. recv: GTEE_ENOTFOUND on a clean end of stream before a header;
 * GTEE_EFORMAT on a bad header (the stream cannot be resynchronised: close it). *msg holds
 * header and payload, allocated. */
int gtee_msg_send(int fd, const uint8_t *msg, size_t len, struct gtee_err *err) GTEE_MUST_USE;
int gtee_msg_recv(int fd, uint8_t **msg, size_t *len, struct gtee_err *err) GTEE_MUST_USE;
/* The same with a deadline (gtee_net_clock_ms() time; < 0: none) over the whole message,
 * for a peer that may stall: GTEE_EIO "... before the deadline" when it passes. The host
 * bounds every wait on its enclave this way (src/host/launch.c). */
int gtee_msg_send_deadline(int fd, const uint8_t *msg, size_t len, int64_t deadline_ms,
                           struct gtee_err *err) GTEE_MUST_USE;
int gtee_msg_recv_deadline(int fd, int64_t deadline_ms, uint8_t **msg, size_t *len,
                           struct gtee_err *err) GTEE_MUST_USE;


/* ---- relay boxes: bytes for the enclave that the host carries but cannot read ----
 * A client encrypts to the enclave's channel key (P-256): ECDH with a fresh client key,
 * HKDF-SHA256 to a request key and a response key, AES-256-GCM. The request box is
 * client_pub[65] || nonce[12] || ciphertext || tag[16]; a response box is
 * nonce[12] || ciphertext || tag[16] under the response key. docs/tee.md has the details. */
#define GTEE_RELAY_PUB_LEN 65
#define GTEE_RELAY_KEY_LEN 32
#define GTEE_RELAY_REQ_OVERHEAD (65 + 12 + 16)
#define GTEE_RELAY_RESP_OVERHEAD (12 + 16)

/* Client side: box for the enclave, and the key its response will be under (a secret). */
int gtee_relay_seal_request(const uint8_t channel_pub[GTEE_RELAY_PUB_LEN], const void *pt, size_t len,
                            uint8_t resp_key[GTEE_RELAY_KEY_LEN], uint8_t **box, size_t *box_len,
                            struct gtee_err *err) GTEE_MUST_USE;
/* The same box from a sender key the caller holds (a static one: the key-release service's
 * answer, whose receiver pins cpub; docs/tee.md §4.3.1). cpriv is a secret. */
int gtee_relay_seal_request_from(const uint8_t cpriv[32], const uint8_t cpub[GTEE_RELAY_PUB_LEN],
                                 const uint8_t channel_pub[GTEE_RELAY_PUB_LEN], const void *pt, size_t len,
                                 uint8_t resp_key[GTEE_RELAY_KEY_LEN], uint8_t **box, size_t *box_len,
                                 struct gtee_err *err) GTEE_MUST_USE;
/* Enclave side: channel_priv is the P-256 private scalar (32 bytes). *pt is allocated. */
int gtee_relay_open_request(const uint8_t channel_priv[32], const uint8_t channel_pub[GTEE_RELAY_PUB_LEN],
                            const uint8_t *box, size_t box_len, uint8_t resp_key[GTEE_RELAY_KEY_LEN],
                            uint8_t **pt, size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;
int gtee_relay_seal_response(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const void *pt, size_t len,
                             uint8_t **box, size_t *box_len, struct gtee_err *err) GTEE_MUST_USE;
int gtee_relay_open_response(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const uint8_t *box, size_t box_len,
                             uint8_t **pt, size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;
/* A fresh P-256 key pair (the channel key): priv 32 bytes big-endian, pub uncompressed. */
int gtee_relay_keypair(uint8_t priv[32], uint8_t pub[GTEE_RELAY_PUB_LEN], struct gtee_err *err) GTEE_MUST_USE;

/* Operations inside a request box, the first byte of its plaintext (docs/tee.md, "Relay"). */
enum gtee_relay_op {
    GTEE_RELAY_PUT_SECRET = 1,  /* secret -> kept in locked memory, sealed blob for the host */
    GTEE_RELAY_JOB = 2,         /* input -> HMAC-SHA256(secret, input) for the client */
    /* A blob owner's grant (docs/tee.md §7.2): content id[32] || container key[32] ||
     * owner's X25519 key[32] || kinds u8 (bit 0 infer, bit 1 train) || flags u8 (bit 0:
     * trained weights may go to the requester) || until u64 (Unix seconds; 0: none) ||
     * n u8 (<= 8) || counterparties' X25519 keys[n][32] -> key id[16] for the owner, the
     * grant sealed for the host to store */
    GTEE_RELAY_GRANT = 3,
    /* A job (docs/tee.md §7.2): kind u8 (1 infer, 2 train) || the requester's X25519 key[32]
     * || model blob u8 || the kind's fields (GTEE_JOB_*_LEN) -> the job record for the
     * requester; for the host, the notice of the result (HPKE-sealed to whoever may have
     * it), which waits in a result slot for RESULT_READ */
    GTEE_RELAY_ML_JOB = 4,
};
#define GTEE_GRANT_MAX_TO 8
#define GTEE_GRANT_INFER 0x01u
#define GTEE_GRANT_TRAIN 0x02u
#define GTEE_GRANT_WEIGHTS_TO_REQUESTER 0x01u
/* After the model blob, big-endian. Infer: input blob u8 || threads u8. Train: features
 * blob u8 || labels blob u8 (.npy arrays) || threads u8 || optimizer u8 (1 sgd, 2 adam) ||
 * epochs u16 || batch u32 || seed u64 || learning rate (IEEE-754 binary32 bits, u32). */
#define GTEE_JOB_INFER_LEN 2
#define GTEE_JOB_TRAIN_LEN 22
#define GTEE_ENCLAVE_BLOB_SLOTS 16
/* Grants held at once (about 400 bytes each, in locked memory); when all are taken, a new
 * one takes the place of an expired one, else it is refused (docs/tee.md §7.2). */
#define GTEE_ENCLAVE_GRANTS 1024
#define GTEE_ENCLAVE_RELEASES 64   /* receipts waiting for the host's RELEASE_TAKE */
#define GTEE_RELEASE_RECEIPT_LEN 137 /* blob 32, grant id 32, time 8, signature 65 */
/* Results held at once; a new one past them evicts the oldest (a host that never dropped). */
#define GTEE_ENCLAVE_RESULTS 4

#endif
