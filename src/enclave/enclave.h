/* gtee-enclave, the node's enclave application, built on the public SDK alone (gtee/sdk.h):
 * the runtime opens, hardens and identifies it; this part answers the host's messages
 * (gtee/msg.h, handler.c), opens containers into its own memory (blobs.c) and runs ML jobs
 * on them inside the enclave (ml_jobs.c). Internal to the application. */
#ifndef GTEE_ENCLAVE_APP_H
#define GTEE_ENCLAVE_APP_H

#include <stddef.h>
#include <stdint.h>

#include "base/span.h"
#include "gtee/box.h"
#include "gtee/err.h"
#include "gtee/msg.h"
#include "gtee/sdk.h"

#define GTEE_ENCLAVE_SECRET_MAX 4096   /* the secret slot a job uses */

struct enc_secrets {                    /* one locked, dump-excluded region */
    size_t secret_len;
    uint8_t secret[GTEE_ENCLAVE_SECRET_MAX];
    int have_secret;
    struct gtee_box_key key[GTEE_ENCLAVE_KEY_SLOTS]; /* container keys from their owners */
    uint8_t have_key[GTEE_ENCLAVE_KEY_SLOTS];
};

/* A container opened (or being opened) into enclave memory. */
struct enc_blob {
    struct gtee_box_mem *open;          /* while its bytes arrive */
    uint8_t *pt;                        /* once complete: the plaintext */
    size_t len;
    uint64_t container_len;
    uint64_t reserved;                  /* of the memory budget, released when dropped */
    uint8_t id[GTEE_BOX_CONTENT_ID_LEN];
};

struct enc {
    struct gtee_app *app;
    struct gtee_app_identity id;
    struct enc_secrets *sec;
    struct enc_blob blob[GTEE_ENCLAVE_BLOB_SLOTS];
};

/* The application's state over an opened SDK application (which it does not own). */
int enc_new(struct gtee_app *app, struct enc **out, struct gtee_err *err) GTEE_MUST_USE;
void enc_free(struct enc *e);

/* Answers one whole message (header and payload) from the host. Always yields a reply,
 * ERROR for anything malformed. Returns 0, or 1 when the stream must end after this reply
 * (a bad header: framing is lost), or GTEE_ENOMEM with no reply. */
int enc_handle(struct enc *e, const uint8_t *msg, size_t len, uint8_t **reply, size_t *reply_len) GTEE_MUST_USE;

/* A reply under construction: payload bytes appended, then framed. */
struct enc_out {
    uint8_t *p;
    size_t len;
};
int enc_out_add(struct enc_out *o, const void *p, size_t n, struct gtee_err *err) GTEE_MUST_USE;

/* blobs.c: the host's BLOB_* messages, and the owner's key for a slot (relay PUT_KEY;
 * *resp is the key id). A ready blob's plaintext: enc_blob_get (GTEE_ESTATE naming the slot
 * when it is not complete). */
int enc_blob_begin(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
int enc_blob_data(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
int enc_blob_drop(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err) GTEE_MUST_USE;
void enc_blob_clear(struct enc *e, unsigned slot);
int enc_blob_get(struct enc *e, unsigned slot, const char *what, const struct enc_blob **b,
                 struct gtee_err *err) GTEE_MUST_USE;
int enc_put_key(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err) GTEE_MUST_USE;

/* ml_jobs.c: relay INFER and TRAIN on ready blobs; *resp (secret: the caller wipes it) is
 * what goes back to the client sealed under its response key. */
int enc_infer(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err) GTEE_MUST_USE;
int enc_train(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err) GTEE_MUST_USE;

#endif
