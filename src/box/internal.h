/* Sealed container internals shared by the writer, the reader and the file wrappers. */
#ifndef GTEE_BOX_INTERNAL_H
#define GTEE_BOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gtee/box.h"

#define BOX_MAGIC "GTEE-BOX"
#define BOX_MAGIC_LEN 8

/* Per-container keys derived from the container key and the header (docs/container.md §3). */
struct box_keys {
    uint8_t data_key[GTEE_AEAD_KEY_LEN];
    uint8_t commit_key[32];
};

int box_derive_keys(const struct gtee_box_key *key, const struct gtee_box_header *hdr,
                    struct box_keys *keys, struct gtee_err *err);
int box_commitment(const struct box_keys *keys, const uint8_t raw[GTEE_BOX_HEADER_LEN],
                   uint8_t out[GTEE_BOX_COMMIT_LEN], struct gtee_err *err);
void box_nonce(uint64_t index, bool final, uint8_t nonce[GTEE_AEAD_NONCE_LEN]);
void box_keys_wipe(struct box_keys *keys);

/* The reader's checks, shared by the descriptor reader (open.c) and the memory one
 * (open_mem.c): the header's structure, key id and key commitment (keys derived into
 * keys); and, after a chunk failed, which failure it was (truncation, appended data or
 * tampering), named with the chunk's index and offset. scratch holds len bytes. */
int box_check_header(const struct gtee_box_key *key, const uint8_t *raw, size_t n, struct gtee_box_header *hdr,
                     struct box_keys *keys, struct gtee_err *err);
int box_explain_chunk_failure(struct gtee_aead *aead, const struct gtee_box_header *hdr, uint64_t index, bool final,
                              const uint8_t *ct, size_t len, uint8_t *scratch, struct gtee_err *err);

/* Reads until len bytes or end of input; returns bytes read or a negative code. */
ssize_t box_read_full(int fd, void *buf, size_t len, struct gtee_err *err);
int box_write_all(int fd, const void *buf, size_t len, struct gtee_err *err);

#endif
