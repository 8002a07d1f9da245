/* The CLI's HTTP requests to a node (libcurl easy interface): a bounded body read back, a
 * request body from memory or from a file range, timeouts on every transfer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/guard.h"
#include "cli/http.h"

#define RESP_MAX (8u << 20)

struct sink {
    char *buf;
    size_t len;
    int over;
};

struct source {
    const uint8_t *mem;
    int fd;
    uint64_t off, left, sent;
    void (*progress)(uint64_t, void *);
    uint64_t (*ready)(uint64_t, void *);
    void *arg;
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    char *nb;

    if (s->len + len > RESP_MAX) {
        s->over = 1;
        return 0;
    }
    nb = realloc(s->buf, s->len + len + 1);
    if (!nb)
        return 0;
    s->buf = nb;
    memcpy(s->buf + s->len, p, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct source *s = arg;
    size_t want = size * n;
    ssize_t got;

    if (want > s->left)
        want = (size_t)s->left;
    if (!want)
        return 0;
    if (s->ready) {
        uint64_t at = s->off + s->sent, held = s->ready(at + want, s->arg);

        if (held <= at)
            return CURL_READFUNC_ABORT;
        if (held - at < want)
            want = (size_t)(held - at);
    }
    if (s->mem) {
        memcpy(p, s->mem + s->sent, want);
        got = (ssize_t)want;
    } else {
        do
            got = pread(s->fd, p, want, (off_t)(s->off + s->sent));
        while (got < 0 && errno == EINTR);
        if (got <= 0)
            return CURL_READFUNC_ABORT;
    }
    s->sent += (uint64_t)got;
    s->left -= (uint64_t)got;
    if (s->progress)
        s->progress(s->sent, s->arg);
    return (size_t)got;
}

int cli_http_url(char *out, size_t len, const char *base, const char *path)
{
    size_t n = strlen(base);

    while (n && base[n - 1] == '/')
        n--;
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
        return GTEE_EINVAL;
    return (size_t)snprintf(out, len, "%.*s%s", (int)n, base, path) < len ? 0 : GTEE_EINVAL;
}

static int perform(const char *method, const char *url, const char *content_type, struct source src,
                   int64_t upload_offset, long timeout_s, struct cli_http_resp *resp, struct gtee_err *err)
{
    struct sink sink = { 0 };
    const void *body = src.mem;
    int fd = src.fd;
    uint64_t body_len = src.left;
    struct curl_slist *hdrs = NULL;
    char line[128], errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    CURLcode cc;
    int rc = 0;

    memset(resp, 0, sizeof(*resp));
    ENSURE(h, err, GTEE_ENOMEM, "HTTP: cannot make a request");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    /* A stalled node (under 1 byte/s for 30 s) is given up on, whatever the total bound. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (upload_offset >= 0) {
        snprintf(line, sizeof(line), "Upload-Offset: %lld", (long long)upload_offset);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body || fd >= 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
        /* Reads of 512 KiB, not curl's 64 KiB: an upload of tens of megabytes takes an
         * eighth of the calls (and of the waits on a feed). */
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    ENSURE(!sink.over, err, GTEE_EFORMAT, "%s: the node's answer is over %u bytes", url, RESP_MAX);
    ENSURE(cc == CURLE_OK, err, GTEE_EIO, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    if (sink.buf) {
        resp->json = json_loadb(sink.buf, sink.len, 0, NULL);
        resp->body = (uint8_t *)sink.buf;
        resp->body_len = sink.len;
        sink.buf = NULL;
    }
out:
    free(sink.buf);
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

int cli_http_request(const char *method, const char *url, const char *content_type, const void *body,
                     uint64_t body_len, int fd, uint64_t offset, int64_t upload_offset, long timeout_s,
                     void (*progress)(uint64_t sent, void *arg), void *arg, struct cli_http_resp *resp,
                     struct gtee_err *err)
{
    struct source src = { .mem = body, .fd = fd, .off = offset, .left = body_len, .progress = progress, .arg = arg };

    return perform(method, url, content_type, src, upload_offset, timeout_s, resp, err);
}

int cli_http_request_fed(const char *method, const char *url, const char *content_type, int fd, uint64_t offset,
                         uint64_t body_len, int64_t upload_offset, long timeout_s, const struct cli_http_feed *feed,
                         struct cli_http_resp *resp, struct gtee_err *err)
{
    struct source src = { .fd = fd, .off = offset, .left = body_len };

    if (feed) {
        src.ready = feed->ready;
        src.progress = feed->progress;
        src.arg = feed->arg;
    }
    return perform(method, url, content_type, src, upload_offset, timeout_s, resp, err);
}

void cli_http_resp_free(struct cli_http_resp *resp)
{
    json_decref(resp->json);
    resp->json = NULL;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

const char *cli_http_error(const struct cli_http_resp *resp, char *buf, size_t len)
{
    json_t *e = resp->json ? json_object_get(resp->json, "error") : NULL;
    const char *m = json_string_value(json_object_get(e, "message"));
    char safe[GTEE_ERR_MSG_MAX];

    if (m) {
        /* The node's text may hold anything: escaped before it reaches a terminal. */
        (void)gtee_err_escape(m, strlen(m), safe, sizeof(safe));
        snprintf(buf, len, "HTTP %ld: %s", resp->status, safe);
    } else {
        snprintf(buf, len, "HTTP %ld from the node", resp->status);
    }
    return buf;
}
