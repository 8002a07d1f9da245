/* Glacier TEE Node sealed container, format version 1: streaming authenticated
 * encryption of files (models, datasets, results). Byte layout: docs/container.md. */
#ifndef GTEE_BOX_H
#define GTEE_BOX_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/crypto.h"
#include "gtee/err.h"

#define GTEE_BOX_VERSION 1
#define GTEE_BOX_KEY_LEN 32
#define GTEE_BOX_KEY_ID_LEN 16
#define GTEE_BOX_SALT_LEN 32
#define GTEE_BOX_COMMIT_LEN 32
#define GTEE_BOX_HEADER_LEN 96
#define GTEE_BOX_TAG_LEN 16
#define GTEE_BOX_CHUNK_MIN 1024u
#define GTEE_BOX_CHUNK_MAX (2u << 20) /* 3 buffers of 2 MiB keep a run under 16 MiB resident */
#define GTEE_BOX_CHUNK_DEFAULT (64u << 10)
#define GTEE_BOX_CONTENT_ID_LEN GTEE_SHA256_LEN

/* A container key. Lives in this struct only; wipe with gtee_box_key_wipe. */
struct gtee_box_key {
    uint8_t bytes[GTEE_BOX_KEY_LEN];
};

int gtee_box_key_generate(struct gtee_box_key *key) GTEE_MUST_USE;
void gtee_box_key_wipe(struct gtee_box_key *key);
/* The public identifier of a key (HKDF of the key; reveals nothing about it). */
int gtee_box_key_id(const struct gtee_box_key *key, uint8_t id[GTEE_BOX_KEY_ID_LEN]) GTEE_MUST_USE;

/* The parsed, not yet authenticated, header of a container. */
struct gtee_box_header {
    uint8_t version;
    enum gtee_aead_alg alg;
    uint32_t chunk_size;                 /* plaintext bytes per chunk */
    uint8_t key_id[GTEE_BOX_KEY_ID_LEN];
    uint8_t salt[GTEE_BOX_SALT_LEN];
    uint8_t commitment[GTEE_BOX_COMMIT_LEN];
    uint8_t raw[GTEE_BOX_HEADER_LEN];    /* the exact header bytes (bound into every chunk) */
};

/* Parses and checks the structure of a header (no key needed). */
int gtee_box_header_parse(const uint8_t *buf, size_t len, struct gtee_box_header *hdr,
                          struct gtee_err *err) GTEE_MUST_USE;

/* Progress callback: called after each chunk with bytes of plaintext done so far. */
typedef void (*gtee_box_progress_fn)(uint64_t done, void *arg);

struct gtee_box_opts {
    enum gtee_aead_alg alg;     /* 0 means GTEE_AEAD_AES_256_GCM */
    uint32_t chunk_size;        /* 0 means GTEE_BOX_CHUNK_DEFAULT */
    gtee_box_progress_fn progress;
    void *progress_arg;
};

/* Stats of one seal/open run. */
struct gtee_box_stats {
    uint64_t plaintext_bytes;
    uint64_t container_bytes;
    uint64_t chunks;
    /* gtee_box_seal: the container's content id (gtee_box_content_id of what it wrote),
     * hashed as it is written, so a caller that needs it reads nothing back */
    uint8_t content_id[32];
};

/* The bytes of the container that gtee_box_seal makes of plaintext_len bytes in chunks of
 * chunk_size (0: the default): the header, then each chunk with its tag, an empty input
 * being one empty chunk. Also the bytes written once its progress callback has reported
 * plaintext_len (a caller uploads a container while it is sealed). */
uint64_t gtee_box_sealed_size(uint64_t plaintext_len, uint32_t chunk_size);

/* Encrypts everything readable from in_fd into a container written to out_fd.
 * Memory use is bounded by the chunk size, whatever the input length. */
int gtee_box_seal(const struct gtee_box_key *key, const struct gtee_box_opts *opts, int in_fd, int out_fd,
                  struct gtee_box_stats *stats, struct gtee_err *err) GTEE_MUST_USE;

/* Decrypts a container from in_fd to out_fd. Each chunk is authenticated before its
 * plaintext is written. On failure the error names the chunk and the check, and
 * the caller must discard what was written (gtee_box_open_file does). */
int gtee_box_open(const struct gtee_box_key *key, const struct gtee_box_opts *opts, int in_fd, int out_fd,
                  struct gtee_box_stats *stats, struct gtee_err *err) GTEE_MUST_USE;

/* File-level wrappers: write to a temporary file beside out_path and rename it into
 * place only on success, so a failure leaves no output file behind. Refuse to
 * overwrite an existing out_path unless overwrite is set. out_path "-" means stdout
 * (then no atomicity is possible and none is claimed). */
int gtee_box_seal_file(const struct gtee_box_key *key, const struct gtee_box_opts *opts, const char *in_path,
                       const char *out_path, int overwrite, struct gtee_box_stats *stats,
                       struct gtee_err *err) GTEE_MUST_USE;
int gtee_box_open_file(const struct gtee_box_key *key, const struct gtee_box_opts *opts, const char *in_path,
                       const char *out_path, int overwrite, struct gtee_box_stats *stats,
                       struct gtee_err *err) GTEE_MUST_USE;

/* Opening a container of known length into memory, fed in pieces as they arrive: how an
 * enclave opens a container the host passes it message by message, so that the plaintext
 * never reaches a descriptor the host can read. The declared length bounds the plaintext
 * (gtee_box_mem_bound: at most length - 112 bytes), so a caller checks its memory budget
 * before begin, which refuses a bound over max_plaintext before allocating anything. Each
 * chunk is authenticated as soon as its bytes are in; a failure names the chunk, its
 * offset and the check (as gtee_box_open), and every later call fails. finish hands out
 * the plaintext only once every declared byte arrived and verified, with the container's
 * content id; the caller releases it with gtee_box_plaintext_free, which wipes it. free
 * wipes everything the reader still holds. */
struct gtee_box_mem;
uint64_t gtee_box_mem_bound(uint64_t container_len);
int gtee_box_mem_begin(const struct gtee_box_key *key, uint64_t container_len, uint64_t max_plaintext,
                       struct gtee_box_mem **out, struct gtee_err *err) GTEE_MUST_USE;
int gtee_box_mem_feed(struct gtee_box_mem *m, const uint8_t *p, size_t n, struct gtee_err *err) GTEE_MUST_USE;
/* Bytes fed so far, and whether they are all the declared length. */
uint64_t gtee_box_mem_received(const struct gtee_box_mem *m);
int gtee_box_mem_done(const struct gtee_box_mem *m);
int gtee_box_mem_finish(struct gtee_box_mem *m, uint8_t **pt, size_t *pt_len,
                        uint8_t content_id[GTEE_BOX_CONTENT_ID_LEN], struct gtee_err *err) GTEE_MUST_USE;
void gtee_box_mem_free(struct gtee_box_mem *m);
void gtee_box_plaintext_free(uint8_t *pt, size_t len);

/* Content identifier: SHA-256 of the container's bytes, read from fd to its end. */
int gtee_box_content_id(int fd, uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size,
                        struct gtee_err *err) GTEE_MUST_USE;

#endif
