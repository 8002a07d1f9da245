/* The formats of grants, ML jobs, job records and results (docs/tee.md §7.2), shared by the
 * enclave that reads and writes them and the providers' clients that write and read them.
 * The bytes travel inside relay boxes (gtee/msg.h), results in any untrusted store. */
#ifndef GTEE_JOBS_H
#define GTEE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/msg.h"

/* A blob owner's grant (relay GRANT). */
struct gtee_grant {
    uint8_t content_id[32];      /* the container's SHA-256 */
    uint8_t key[32];             /* its container key: a secret */
    uint8_t owner[32];           /* the owner's X25519 public key */
    uint8_t kinds;               /* GTEE_GRANT_INFER | GTEE_GRANT_TRAIN */
    uint8_t flags;               /* GTEE_GRANT_WEIGHTS_TO_REQUESTER */
    uint64_t until;              /* Unix seconds; 0: no end */
    uint8_t n_to;                /* <= GTEE_GRANT_MAX_TO */
    uint8_t to[GTEE_GRANT_MAX_TO][32];
};
#define GTEE_GRANT_MAX_LEN (107 + 32 * GTEE_GRANT_MAX_TO)

/* The request bytes after the relay op byte; *len gets their length (<= GTEE_GRANT_MAX_LEN). */
int gtee_grant_encode(const struct gtee_grant *g, uint8_t out[GTEE_GRANT_MAX_LEN], size_t *len,
                      struct gtee_err *err) GTEE_MUST_USE;
/* Exact: every field checked, nothing left over; errors name the offset. */
int gtee_grant_parse(const uint8_t *p, size_t len, struct gtee_grant *g, struct gtee_err *err) GTEE_MUST_USE;
/* The grant's id, which key-release receipts name (docs/chain.md "Key-release receipts"):
 * SHA-256 of its encoding with the key's 32 bytes zeroed, so that a receipt on a public chain
 * says nothing of the key, and the owner who made the grant finds it (`gtee grant` prints it).
 * GTEE_EINVAL for a grant that does not encode. */
int gtee_grant_id(const struct gtee_grant *g, uint8_t id[32], struct gtee_err *err) GTEE_MUST_USE;

enum gtee_job_kind { GTEE_JOB_INFER = 1, GTEE_JOB_TRAIN = 2 };

/* An ML job (relay ML_JOB): blobs are enclave blob slots. */
struct gtee_job {
    uint8_t kind;                /* enum gtee_job_kind */
    uint8_t requester[32];       /* X25519: results are sealed to it, grants must name it */
    uint8_t model, input, labels; /* infer: input; train: input is the features */
    uint8_t threads;
    uint8_t optimizer;           /* train: 1 sgd, 2 adam */
    uint16_t epochs;
    uint32_t batch;
    uint64_t seed;
    float lr;
};
#define GTEE_JOB_MAX_LEN (34 + GTEE_JOB_TRAIN_LEN)
#define GTEE_JOB_MAX_THREADS 64
#define GTEE_JOB_MAX_EPOCHS 1000

int gtee_job_encode(const struct gtee_job *j, uint8_t out[GTEE_JOB_MAX_LEN], size_t *len,
                    struct gtee_err *err) GTEE_MUST_USE;
int gtee_job_parse(const uint8_t *p, size_t len, struct gtee_job *j, struct gtee_err *err) GTEE_MUST_USE;

/* What the requester gets back for a job. */
struct gtee_job_epoch {
    double loss;
    uint64_t correct, samples;
};
struct gtee_job_record {
    uint8_t kind;
    uint8_t model[32], input[32], labels[32]; /* content ids (labels: zero for infer) */
    uint8_t recipient;                         /* 1 the requester, 2 the model's owner */
    uint8_t result_sha256[32];
    uint64_t result_len;
    uint64_t macs, samples;                    /* units of work (docs/ml.md) */
    uint16_t n_epochs;
    struct gtee_job_epoch *epochs;             /* n_epochs of them; gtee_job_record_free */
};
#define GTEE_JOB_RECORD_FIXED 156   /* then 24 bytes per epoch */

int gtee_job_record_encode(const struct gtee_job_record *r, uint8_t **out, size_t *len,
                           struct gtee_err *err) GTEE_MUST_USE;
int gtee_job_record_parse(const uint8_t *p, size_t len, struct gtee_job_record *r, struct gtee_err *err) GTEE_MUST_USE;
void gtee_job_record_free(struct gtee_job_record *r);

/* A result (docs/tee.md §7.2): "GTEE-RES" || 0x02 || kind u8 || model[32] || input[32] ||
 * labels[32] (the job's content ids, in the clear) || enc[32] || HPKE ciphertext (RFC 9180;
 * gtee/crypto.h) to the recipient's X25519 key, info "gtee result v1", the associated data
 * the 106 bytes before enc. The plaintext is summary_len u32 || the job record without the
 * result's SHA-256 and length (zeros; gtee_job_record_encode) || the output: whoever the
 * result is sealed to reads what the job was and did from its own key alone. */
#define GTEE_RESULT_OVERHEAD (106 + 32 + 16 + 4) /* then the summary and the output */
/* The length gtee_result_seal gives for len bytes of output under r (to reserve it first). */
size_t gtee_result_sealed_len(const struct gtee_job_record *r, size_t len);
int gtee_result_seal(const struct gtee_job_record *r, const uint8_t to[32], const uint8_t *pt, size_t len,
                     uint8_t **out, size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;
/* Checks the result against its record (SHA-256, length, then the summary inside against the
 * record) and opens it with the recipient's private key; *pt is malloc'd (a secret: wipe
 * it). */
int gtee_result_open(const struct gtee_job_record *r, const uint8_t sk[32], const uint8_t *res, size_t res_len,
                     uint8_t **pt, size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;
/* Opens a result with the recipient's private key alone (no record: `gtee job fetch`): *r
 * gets the summary inside it, checked against the header, with result_sha256 and
 * result_len those of res (gtee_job_record_free it); *pt the output. GTEE_EAUTH when it does
 * not open with sk (sealed to another identity, or altered). */
int gtee_result_open_alone(const uint8_t sk[32], const uint8_t *res, size_t res_len, struct gtee_job_record *r,
                           uint8_t **pt, size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;

/* The host part of an ML_JOB's relay answer (docs/tee.md §7.1): "GTEE-RSL" || 0x01 ||
 * length u64 || SHA-256[32] of the sealed result, which waits in an enclave result slot
 * under that SHA-256 for the host to read (GTEE_MSG_RESULT_READ) and drop. */
#define GTEE_RESULT_NOTICE_LEN 49
struct gtee_result_notice {
    uint64_t len;                /* 1 .. GTEE_RESULT_MAX_LEN */
    uint8_t sha256[32];          /* the result's id */
};
#define GTEE_RESULT_MAX_LEN (1ull << 40)
void gtee_result_notice_encode(const struct gtee_result_notice *n, uint8_t out[GTEE_RESULT_NOTICE_LEN]);
/* Exact, errors name the offset; *n is zeroed on failure. */
int gtee_result_notice_parse(const uint8_t *p, size_t len, struct gtee_result_notice *n,
                             struct gtee_err *err) GTEE_MUST_USE;
/* Whether the host part of a relay answer is a result notice (its magic), to tell it from a
 * sealed grant or secret. */
int gtee_result_notice_is(const uint8_t *p, size_t len);

#endif
