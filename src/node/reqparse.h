/* Parsers of the bytes an HTTP client sends the node beyond what libmicrohttpd parses: the
 * Range and Upload-Offset headers, hex ids in paths and query strings, and the JSON body
 * that opens an upload. Each is pure (bytes in, fields out) and has a fuzz target
 * (fuzz/fuzz_node_request.c). Internal to src/node/. */
#ifndef GTEE_NODE_REQPARSE_H
#define GTEE_NODE_REQPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* One byte range of a resource of `size` bytes (RFC 9110 §14.1.2): "bytes=A-B", "bytes=A-"
 * or "bytes=-N". Several ranges are GTEE_EUNSUPPORTED (the node serves one). A well-formed
 * range outside the resource is GTEE_ENOTFOUND (416); a malformed one GTEE_EFORMAT. */
int gtee_node_parse_range(const char *value, uint64_t size, uint64_t *first, uint64_t *len,
                          struct gtee_err *err) GTEE_MUST_USE;
/* A decimal offset of at most 19 digits, nothing else. */
int gtee_node_parse_offset(const char *value, uint64_t *out, struct gtee_err *err) GTEE_MUST_USE;
/* Exactly n lowercase hex digits (ids are lowercase in paths). */
int gtee_node_parse_hexid(const char *value, size_t n, const char *what, struct gtee_err *err) GTEE_MUST_USE;
/* The body of POST /api/v1/uploads: {"size": N, "content_id": "<64 hex>"}, content_id
 * optional (content_id then ""); other keys are refused. size must be 1..max. */
int gtee_node_parse_upload_req(const char *body, size_t len, uint64_t max, uint64_t *size,
                               char content_id[65], struct gtee_err *err) GTEE_MUST_USE;

/* The body of POST /api/v1/jobs (docs/node-api.md, "Jobs"): {"model": CID, "input": CID,
 * "box": HEX} for inference, {"model", "features", "labels", "box"} for training; content
 * ids are 64 lowercase hex digits, the box the requester's relay box in lowercase hex,
 * GTEE_NODE_JOB_BOX_MIN to _MAX bytes. Other keys and mixes are refused. */
#define GTEE_NODE_JOB_BOX_MIN 93      /* GTEE_RELAY_REQ_OVERHEAD */
#define GTEE_NODE_JOB_BOX_MAX 4096
struct gtee_node_job_req {
    char kind[8];                     /* infer, train */
    char model[65], input[65], labels[65]; /* labels: "" for infer */
    uint8_t *box;                     /* malloc'd */
    size_t box_len;
};
int gtee_node_parse_job_req(const char *body, size_t len, struct gtee_node_job_req *j,
                            struct gtee_err *err) GTEE_MUST_USE;

#endif
