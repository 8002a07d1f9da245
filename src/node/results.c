/* A job's result out of the enclave into the blob store: the enclave keeps the sealed result
 * (ciphertext only) in a result slot and tells the host its length and SHA-256; the host
 * reads it in pieces no larger than a message, writes them through the safe writer as they
 * come, and keeps the blob only once the whole of it hashes to what the notice named (the
 * same SHA-256 the requester's job record names). docs/tee.md §7.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"
#include "node/results.h"

#define PIECE (512u << 10)

/* Reads the result into the open output o, hashing as it goes. */
static int read_into(struct gtee_node_enclave *en, unsigned start_no, const struct gtee_result_notice *n,
                     struct gtee_file_out *o, struct gtee_err *err)
{
    struct gtee_sha256_ctx *h = NULL;
    uint8_t req[44], got[32], *reply = NULL;
    size_t reply_len = 0;
    uint64_t off = 0;
    int rc;

    ENSURE(gtee_sha256_new(&h) == 0, err, GTEE_ECRYPTO, "node: cannot hash the job's result");
    while (off < n->len) {
        uint32_t piece = n->len - off < PIECE ? (uint32_t)(n->len - off) : PIECE;

        memcpy(req, n->sha256, 32);
        put_u64be(req + 32, off);
        put_u32be(req + 40, piece);
        TRY(gtee_node_enclave_call_in(en, start_no, GTEE_MSG_RESULT_READ, req, sizeof(req), &reply, &reply_len, NULL,
                                      NULL, err));
        ENSURE(reply_len == piece, err, GTEE_EIO,
               "the enclave answered %zu bytes for a result piece of %u at offset %llu", reply_len, piece,
               (unsigned long long)off);
        ENSURE(gtee_sha256_update(h, reply, reply_len) == 0, err, GTEE_ECRYPTO, "node: cannot hash the job's result");
        TRY(gtee_file_out_write(o, reply, reply_len, err));
        free(reply);
        reply = NULL;
        off += piece;
    }
    ENSURE(gtee_sha256_final(h, got) == 0, err, GTEE_ECRYPTO, "node: cannot hash the job's result");
    ENSURE(!memcmp(got, n->sha256, 32), err, GTEE_EAUTH,
           "the result read from the enclave (%llu bytes) is not the SHA-256 its notice named",
           (unsigned long long)n->len);
out:
    gtee_sha256_free(h);
    free(reply);
    return rc;
}

int gtee_node_result_take(struct gtee_node_enclave *en, unsigned start_no, struct gtee_node_blobs *b,
                          const uint8_t *notice, size_t notice_len, char result[65], struct gtee_err *err)
{
    struct gtee_result_notice n;
    struct gtee_file_out o = { .fd = -1 };
    int begun = 0, parsed = 0, fresh = 0, rc;
    char hex[65];

    result[0] = '\0';
    TRY(gtee_result_notice_parse(notice, notice_len, &n, err));
    parsed = 1;
    gtee_hex_encode(n.sha256, sizeof(n.sha256), hex);
    ENSURE(!b->max_bytes || n.len <= b->max_bytes, err, GTEE_ELIMIT,
           "the job's result of %llu bytes is over the node's max_blob_bytes (%llu)", (unsigned long long)n.len,
           (unsigned long long)b->max_bytes);
    rc = gtee_file_out_beginat(&o, b->blobs_fd, hex, 0600, 0, err);
    if (rc == GTEE_EEXIST) {
        rc = 0; /* content-addressed: the same bytes are stored already */
    } else {
        TRY(rc);
        begun = 1;
        TRY(read_into(en, start_no, &n, &o, err));
        begun = 0;
        fresh = 1;
    }
    /* The file and its row appear together, never inside a retention pass (blobgc.c). */
    pthread_mutex_lock(&b->mu);
    rc = fresh ? gtee_file_out_commit(&o, err) : 0;
    if (rc == 0)
        rc = gtee_node_store_blob_add(b->store, hex, n.len, err);
    pthread_mutex_unlock(&b->mu);
    TRY(rc);
    memcpy(result, hex, sizeof(hex));
out:
    if (begun)
        gtee_file_out_abort(&o);
    if (parsed) {
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        struct gtee_err derr = { 0 };

        /* The slot goes in any case; a drop that fails found the enclave restarted (its
         * slots are empty) or the result evicted. */
        if (gtee_node_enclave_call_in(en, start_no, GTEE_MSG_RESULT_DROP, n.sha256, 32, &reply, &reply_len, NULL,
                                      NULL, &derr) == 0)
            free(reply);
    }
    return rc;
}
