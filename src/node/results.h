/* A job's result out of the enclave into the blob store, in pieces (docs/tee.md §7.1;
 * docs/node-api.md, "Jobs"). Internal to src/node/. */
#ifndef GTEE_NODE_RESULTS_H
#define GTEE_NODE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "node/blobs.h"
#include "node/supervise.h"

/* The host part of an ML_JOB's relay answer is a result notice (gtee/jobs.h): reads the
 * result it names from the enclave start start_no in bounded pieces (RESULT_READ) straight
 * into the blob store through the safe writer, checks its SHA-256 against the notice's, and
 * only then records the blob (its id, the SHA-256, in result); then drops the enclave's slot,
 * also on failure. Nothing is left in the store unless the whole result came and matched.
 * A result over the store's max_blob_bytes is GTEE_ELIMIT; a mismatch GTEE_EAUTH; an enclave
 * that did not answer GTEE_EIO; one that restarted GTEE_ESTATE. */
int gtee_node_result_take(struct gtee_node_enclave *en, unsigned start_no, struct gtee_node_blobs *b,
                          const uint8_t *notice, size_t notice_len, char result[65],
                          struct gtee_err *err) GTEE_MUST_USE;

#endif
