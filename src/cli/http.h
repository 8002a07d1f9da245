/* The CLI's HTTP client for a node's API (libcurl): bounded requests, JSON answers and the
 * node's JSON errors turned into messages. Internal to src/cli/ (the host's gtee only). */
#ifndef GTEE_CLI_HTTP_H
#define GTEE_CLI_HTTP_H

#include <stdint.h>

#include <jansson.h>

#include "gtee/err.h"

struct cli_http_resp {
    long status;          /* HTTP status; 0 if no answer came */
    json_t *json;         /* the body parsed as JSON (NULL if it was not) */
    uint8_t *body;        /* the body's bytes, NUL-terminated (NULL if none) */
    size_t body_len;
};

/* One request. body/body_len: a buffer to send (NULL: none), or, with fd >= 0, body_len
 * bytes read from fd at offset (the upload's chunk), with progress(sent) called as they go.
 * content_type and upload_offset (>= 0: an Upload-Offset header) are optional. The whole
 * request is bounded by timeout_s, and a transfer stalled for 30 s is cut. A failure to
 * reach the node is GTEE_EIO; an HTTP error status is not an error here (resp->status). */
int cli_http_request(const char *method, const char *url, const char *content_type, const void *body,
                     uint64_t body_len, int fd, uint64_t offset, int64_t upload_offset, long timeout_s,
                     void (*progress)(uint64_t sent, void *arg), void *arg, struct cli_http_resp *resp,
                     struct gtee_err *err) GTEE_MUST_USE;
/* A request body read from a file that another thread is still writing: ready(end, arg)
 * waits (bounded) until the file holds bytes up to end and returns how far it holds them;
 * an answer at or below what was sent means no more will come, and the request is
 * aborted. progress(sent, arg) is called as the bytes go. Either may be NULL. */
struct cli_http_feed {
    uint64_t (*ready)(uint64_t end, void *arg);
    void (*progress)(uint64_t sent, void *arg);
    void *arg;
};
/* As cli_http_request, with body_len bytes of fd from offset sent as feed lets them. */
int cli_http_request_fed(const char *method, const char *url, const char *content_type, int fd, uint64_t offset,
                         uint64_t body_len, int64_t upload_offset, long timeout_s, const struct cli_http_feed *feed,
                         struct cli_http_resp *resp, struct gtee_err *err) GTEE_MUST_USE;
void cli_http_resp_free(struct cli_http_resp *resp);
/* The node's error message from a JSON error body, or a generic one naming the status. */
const char *cli_http_error(const struct cli_http_resp *resp, char *buf, size_t len);
/* base + path, where base is the node's URL ("http://host:port" with or without a slash). */
int cli_http_url(char *out, size_t len, const char *base, const char *path);

#endif
