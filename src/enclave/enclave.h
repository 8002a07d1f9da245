/* gtee-enclave, the node's enclave application, built on the public SDK alone (gtee/sdk.h):
 * the runtime opens, hardens and identifies it; this part answers the host's messages
 * (gtee/msg.h, handler.c), opens containers into its own memory (blobs.c) and runs ML jobs
 * on them inside the enclave (ml_jobs.c). Internal to the application. */
#ifndef GTEE_ENCLAVE_APP_H
#define GTEE_ENCLAVE_APP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/span.h"
#include "gtee/box.h"
#include "gtee/err.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"
#include "gtee/sdk.h"

struct enc_proofs;

#define GTEE_ENCLAVE_SECRET_MAX 4096   /* the secret slot a job uses */

/* A blob owner's grant (gtee/msg.h GTEE_RELAY_GRANT; docs/tee.md §7.2). */
struct enc_grant {
    uint8_t content_id[GTEE_BOX_CONTENT_ID_LEN];
    struct gtee_box_key key;
    uint8_t key_id[GTEE_BOX_KEY_ID_LEN];
    uint8_t owner[32];                  /* X25519: the owner's own jobs, its trained weights */
    uint8_t kinds, flags;
    uint64_t until;                     /* Unix seconds; 0: no end */
    uint8_t n_to;
    uint8_t to[GTEE_GRANT_MAX_TO][32];  /* X25519 keys of the requesters it admits */
};

struct enc_secrets {                    /* one locked, dump-excluded region */
    size_t secret_len;
    uint8_t secret[GTEE_ENCLAVE_SECRET_MAX];
    int have_secret;
    size_t n_grants;
    struct enc_grant grant[GTEE_ENCLAVE_GRANTS];
};

/* A container opened (or being opened) into enclave memory. */
struct enc_blob {
    uint8_t header[GTEE_BOX_HEADER_LEN];/* until it is in: it names the key (its key id) */
    size_t header_len;
    struct gtee_box_mem *open;          /* while its bytes arrive */
    uint8_t *pt;                        /* once complete: the plaintext */
    size_t len;
    uint64_t container_len;
    uint64_t reserved;                  /* of the memory budget, released when dropped */
    uint8_t id[GTEE_BOX_CONTENT_ID_LEN];
};

/* A job's sealed result, waiting for the host to read it (results.c). */
struct enc_result {
    uint8_t *p;                         /* ciphertext: HPKE-sealed to its recipient */
    size_t len;
    uint64_t reserved;                  /* of the memory budget, released when dropped */
    uint8_t id[32];                     /* its SHA-256 */
    uint64_t seq;                       /* age: the oldest makes room */
};

struct enc_ml;

/* A key release the enclave accepted (a grant), waiting for the host to take its receipt. */
struct enc_release {
    uint8_t blob[32], grant_id[32];
    uint64_t time;
};

/* Locks: the main thread answers every message with mu held; an ML job runs on its own
 * thread (ml_jobs.c) and holds mu only to take what it needs at its start (the grants'
 * terms, copied) and to leave its result at its end, so the host's other requests are
 * answered while it computes. The blob slots the job reads are pinned (busy_slots): the
 * host can neither refill nor drop them until it ends. send_mu: every whole message to the
 * host (answers from either thread, progress). */
struct enc {
    struct gtee_app *app;
    struct gtee_app_identity id;
    pthread_mutex_t mu, send_mu;
    struct enc_secrets *sec;
    struct enc_blob blob[GTEE_ENCLAVE_BLOB_SLOTS];
    struct enc_result result[GTEE_ENCLAVE_RESULTS];
    uint64_t result_seq;
    /* Sends a whole message to the host now (main.c sets it; NULL: nothing is sent
     * outside enc_handle's reply, and ML jobs run inline, as the fuzz target drives it). */
    int (*send)(void *arg, const uint8_t *msg, size_t len);
    void *send_arg;
    /* The running ML job (NULL: none; a second is refused as busy), its thread, and
     * whether a finished one is still to be joined. */
    struct enc_ml *job;
    pthread_t job_thread;
    int job_joinable;
    uint32_t busy_slots;
    _Atomic int cancel;                 /* the host closed: stop training at its next report */
    struct enc_proofs *proofs;          /* proofs.c */
    uint8_t relay_id[32];               /* SHA-256 of the relay box in hand: the node's job id */
    struct enc_release release[GTEE_ENCLAVE_RELEASES]; /* releases.c: receipts not yet taken */
    size_t n_releases;
};
_Static_assert(GTEE_ENCLAVE_BLOB_SLOTS <= 32, "busy_slots has a bit per blob slot");

/* An answer that a job's thread sends later (enc_handle then yields no reply). */
#define ENC_DEFERRED 1

/* The application's state over an opened SDK application (which it does not own). */
int enc_new(struct gtee_app *app, struct enc **out, struct gtee_err *err) GTEE_MUST_USE;
void enc_free(struct enc *e);

/* Answers one whole message (header and payload) from the host. Always yields a reply,
 * ERROR for anything malformed, except for an ML job started on its thread (*reply NULL:
 * the thread answers). Returns 0, or 1 when the stream must end after this reply (a bad
 * header: framing is lost), or GTEE_ENOMEM with no reply. */
int enc_handle(struct enc *e, const uint8_t *msg, size_t len, uint8_t **reply, size_t *reply_len) GTEE_MUST_USE;

/* A reply under construction: payload bytes appended, then framed. */
struct enc_out {
    uint8_t *p;
    size_t len;
};
int enc_out_add(struct enc_out *o, const void *p, size_t n, struct gtee_err *err) GTEE_MUST_USE;
/* A whole message to the host under send_mu (e->send; GTEE_EIO without one). */
int enc_send(struct enc *e, const uint8_t *msg, size_t len);
/* The answer of request id of this type: o's payload when rc is 0, else an ERROR with err's
 * code and text; framed and sent (enc_send). */
int enc_answer(struct enc *e, uint16_t type, uint64_t id, int rc, const struct enc_out *o, const struct gtee_err *err);
/* A relay answer (gtee/msg.h RELAY): host_len u32 || host part || resp sealed under resp_key. */
int enc_relay_answer(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const uint8_t *resp, size_t resp_len,
                     const uint8_t *host, size_t host_len, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;

/* releases.c: key-release receipts. A grant is refused when GTEE_ENCLAVE_RELEASES receipts
 * wait (enc_release_room), so that no key is released without its receipt; RELEASE_TAKE
 * signs and hands over those waiting (gtee/msg.h). */
int enc_release_room(const struct enc *e, struct gtee_err *err) GTEE_MUST_USE;
void enc_release_add(struct enc *e, const uint8_t blob[32], const uint8_t grant_id[32], uint64_t time);
int enc_release_take(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;

/* blobs.c: the host's BLOB_* messages (a container's key is found among the grants by the
 * key id in its header, and its content id must be a grant's). A ready blob's plaintext:
 * enc_blob_get (GTEE_ESTATE naming the slot when it is not complete). */
int enc_blob_begin(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
int enc_blob_data(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
int enc_blob_drop(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
void enc_blob_clear(struct enc *e, unsigned slot);
int enc_blob_get(struct enc *e, unsigned slot, const char *what, const struct enc_blob **b,
                 struct gtee_err *err) GTEE_MUST_USE;

/* grants.c: relay GRANT (*resp for the owner, *host the sealed grant for the host to
 * store), GRANT_RESTORE from the host after a restart, and the checks a job makes. */
int enc_grant(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
              struct gtee_err *err) GTEE_MUST_USE;
int enc_grant_restore(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
const struct enc_grant *enc_grant_by_key_id(const struct enc *e, const uint8_t key_id[GTEE_BOX_KEY_ID_LEN]);
/* The grant that lets `requester` run a job of `kind` (GTEE_GRANT_INFER or _TRAIN) on the
 * blob of content id `id` now; GTEE_EPOLICY naming what is missing (no grant, another
 * kind, expired, another requester). */
int enc_grant_check(const struct enc *e, const uint8_t id[GTEE_BOX_CONTENT_ID_LEN], const char *what,
                    unsigned kind, const uint8_t requester[32], const struct enc_grant **g,
                    struct gtee_err *err) GTEE_MUST_USE;

/* results.c: the sealed results of jobs, read by the host in pieces. enc_result_reserve
 * reserves a result's bytes before they are allocated; enc_result_keep takes the result and
 * its reservation into a slot (evicting the oldest when all are taken). */
int enc_result_reserve(struct enc *e, uint64_t len, struct gtee_err *err) GTEE_MUST_USE;
void enc_result_keep(struct enc *e, uint8_t *p, size_t len, uint64_t reserved, struct gtee_result_notice *n);
int enc_result_read(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
int enc_result_drop(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
void enc_result_clear(struct enc *e, unsigned i);

/* ml_jobs.c: relay ML_JOB on ready blobs. *resp (the job record) goes to the client sealed
 * under its response key; the result, HPKE-sealed to whom the grants allow, waits in a
 * result slot, and *host is its notice (gtee_result_notice_encode) for the host.
 * enc_ml_job runs it inline (e->send NULL). enc_ml_job_start (e->mu held) checks the
 * request and its grants, pins its blobs and runs it on the job thread, which answers
 * request_id itself: ENC_DEFERRED; a second job while one runs is refused (GTEE_ESTATE,
 * "busy"). enc_ml_job_join (without e->mu) stops a running training at its next report and
 * waits for the thread. */
int enc_ml_job(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
               struct gtee_err *err) GTEE_MUST_USE;
int enc_ml_job_start(struct enc *e, struct span *req, const uint8_t resp_key[GTEE_RELAY_KEY_LEN],
                     uint64_t request_id, struct gtee_err *err) GTEE_MUST_USE;
void enc_ml_job_join(struct enc *e);

#endif
