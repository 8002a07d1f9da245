/* The node's parsers of request bytes (headers, ids, the upload body): strict, bounded, and
 * pure, so the fuzz target drives them directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "node/reqparse.h"

/* A run of 1..19 digits at *p (advanced); no sign, no spaces. */
static int digits(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;

    while (**p >= '0' && **p <= '9') {
        if (++n > 19)
            return -1;
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    *out = v;
    return n ? 0 : -1;
}

int gtee_node_parse_range(const char *value, uint64_t size, uint64_t *first, uint64_t *len, struct gtee_err *err)
{
    const char *p = value;
    uint64_t a = 0, b = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(!strncmp(p, "bytes=", 6), err, GTEE_EFORMAT, "Range: expected 'bytes=' (the only unit served)");
    p += 6;
    ENSURE(!strchr(p, ','), err, GTEE_EUNSUPPORTED, "Range: one range per request");
    if (*p == '-') {
        p++;
        ENSURE(digits(&p, &b) == 0 && !*p, err, GTEE_EFORMAT, "Range: expected 'bytes=-N'");
        ENSURE(b > 0 && size > 0, err, GTEE_ENOTFOUND, "Range: an empty suffix of a %llu-byte blob",
               (unsigned long long)size);
        *len = b < size ? b : size;
        *first = size - *len;
        return 0;
    }
    ENSURE(digits(&p, &a) == 0 && *p == '-', err, GTEE_EFORMAT, "Range: expected 'bytes=FIRST-[LAST]'");
    p++;
    if (*p) {
        ENSURE(digits(&p, &b) == 0 && !*p, err, GTEE_EFORMAT, "Range: LAST is not a number");
        ENSURE(b >= a, err, GTEE_EFORMAT, "Range: LAST %llu before FIRST %llu", (unsigned long long)b,
               (unsigned long long)a);
    } else {
        b = UINT64_MAX;
    }
    ENSURE(a < size, err, GTEE_ENOTFOUND, "Range: starts at %llu, past the end of a %llu-byte blob",
           (unsigned long long)a, (unsigned long long)size);
    if (b >= size)
        b = size - 1;
    *first = a;
    *len = b - a + 1;
    rc = 0;
out:
    return rc;
}

int gtee_node_parse_offset(const char *value, uint64_t *out, struct gtee_err *err)
{
    const char *p = value;

    if (!p || digits(&p, out) != 0 || *p)
        return GTEE_FAIL(err, GTEE_EFORMAT, "Upload-Offset: expected a decimal byte offset");
    return 0;
}

int gtee_node_parse_hexid(const char *value, size_t n, const char *what, struct gtee_err *err)
{
    size_t i;

    for (i = 0; value && i < n; i++)
        if (!((value[i] >= '0' && value[i] <= '9') || (value[i] >= 'a' && value[i] <= 'f')))
            break;
    if (!value || i != n || value[n])
        return GTEE_FAIL(err, GTEE_EFORMAT, "%s: expected %zu lowercase hex digits", what, n);
    return 0;
}

int gtee_node_parse_upload_req(const char *body, size_t len, uint64_t max, uint64_t *size, char content_id[65],
                               struct gtee_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *key;
    int rc = GTEE_EFORMAT;

    ENSURE(root, err, GTEE_EFORMAT, "upload request: not JSON (line %d, column %d): %.80s", jerr.line, jerr.column,
           jerr.text);
    ENSURE(json_is_object(root), err, GTEE_EFORMAT, "upload request: expected a JSON object");
    json_object_foreach(root, key, v)
        ENSURE(!strcmp(key, "size") || !strcmp(key, "content_id"), err, GTEE_EFORMAT,
               "upload request: unknown key '%.40s' (expected size and content_id)", key);
    v = json_object_get(root, "size");
    ENSURE(json_is_integer(v) && json_integer_value(v) > 0, err, GTEE_EFORMAT,
           "upload request: size must be a positive integer (the container's bytes)");
    ENSURE((uint64_t)json_integer_value(v) <= max, err, GTEE_EPOLICY,
           "upload request: size %lld is over this node's limit of %llu bytes (max_blob_bytes)",
           (long long)json_integer_value(v), (unsigned long long)max);
    *size = (uint64_t)json_integer_value(v);
    /* content_id may be left out by a client that seals while it uploads: the blob is then
     * named by the hash of what arrives (docs/node-api.md, "Uploads"). */
    v = json_object_get(root, "content_id");
    content_id[0] = '\0';
    if (v) {
        ENSURE(json_is_string(v), err, GTEE_EFORMAT,
               "upload request: content_id must be a string (the SHA-256 of the container, 64 hex digits)");
        TRY(gtee_node_parse_hexid(json_string_value(v), 64, "upload request: content_id", err));
        memcpy(content_id, json_string_value(v), 65);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int job_cid(json_t *root, const char *key, char out[65], struct gtee_err *err)
{
    json_t *v = json_object_get(root, key);
    char what[48];
    int rc;

    snprintf(what, sizeof(what), "job request: %s", key);
    ENSURE(json_is_string(v), err, GTEE_EFORMAT, "job request: %s must be a content id (64 lowercase hex digits)",
           key);
    TRY(gtee_node_parse_hexid(json_string_value(v), 64, what, err));
    memcpy(out, json_string_value(v), 65);
out:
    return rc;
}

int gtee_node_parse_job_req(const char *body, size_t len, struct gtee_node_job_req *j, struct gtee_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *key, *hex;
    size_t n;
    int rc = GTEE_EFORMAT, train;

    memset(j, 0, sizeof(*j));
    ENSURE(root, err, GTEE_EFORMAT, "job request: not JSON (line %d, column %d): %.80s", jerr.line, jerr.column,
           jerr.text);
    ENSURE(json_is_object(root), err, GTEE_EFORMAT, "job request: expected a JSON object");
    json_object_foreach(root, key, v)
        ENSURE(!strcmp(key, "model") || !strcmp(key, "input") || !strcmp(key, "features") || !strcmp(key, "labels") ||
                   !strcmp(key, "box"),
               err, GTEE_EFORMAT, "job request: unknown key '%.40s' (expected model, input or features and labels, box)",
               key);
    train = json_object_get(root, "features") != NULL;
    ENSURE(train != (json_object_get(root, "input") != NULL), err, GTEE_EFORMAT,
           "job request: name either input (inference) or features and labels (training)");
    ENSURE(train == (json_object_get(root, "labels") != NULL), err, GTEE_EFORMAT,
           train ? "job request: training needs labels beside features" : "job request: labels go with features, not input");
    snprintf(j->kind, sizeof(j->kind), "%s", train ? "train" : "infer");
    TRY(job_cid(root, "model", j->model, err));
    TRY(job_cid(root, train ? "features" : "input", j->input, err));
    if (train)
        TRY(job_cid(root, "labels", j->labels, err));
    v = json_object_get(root, "box");
    ENSURE(json_is_string(v), err, GTEE_EFORMAT, "job request: box must be the relay box in lowercase hex");
    hex = json_string_value(v);
    n = strlen(hex);
    ENSURE(n % 2 == 0 && n / 2 >= GTEE_NODE_JOB_BOX_MIN && n / 2 <= GTEE_NODE_JOB_BOX_MAX, err, GTEE_EFORMAT,
           "job request: box is %zu hex digits; expected an even number for %d to %d bytes", n, GTEE_NODE_JOB_BOX_MIN,
           GTEE_NODE_JOB_BOX_MAX);
    for (size_t i = 0; i < n; i++)
        ENSURE((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'), err, GTEE_EFORMAT,
               "job request: box: character %zu is not a lowercase hex digit", i);
    j->box = malloc(n / 2);
    ENSURE(j->box, err, GTEE_ENOMEM, "job request: out of memory");
    ENSURE(gtee_hex_decode(hex, j->box, n / 2) == 0, err, GTEE_EFORMAT, "job request: box is not hex");
    j->box_len = n / 2;
    rc = 0;
out:
    if (rc != 0) {
        free(j->box);
        j->box = NULL;
    }
    json_decref(root);
    return rc;
}
