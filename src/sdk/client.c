/* The SDK's client: a policy, collateral and trust anchors loaded from files, the attested
 * handshake over TCP, requests as framed messages, fresh evidence on demand. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "gtee/sdk.h"
#include "gtee/sdk_client.h"

struct gtee_client {
    struct gtee_policy policy;
    struct gtee_collateral sgx, tdx;
    uint8_t *root;
    struct gtee_anchors anchors;
    struct gtee_ratls_verify vfy;
    struct gtee_ratls_ctx *ctx;
    struct gtee_ratls_conn *conn;
    struct gtee_ratls_peer peer;
    int own_fd;                        /* the socket gtee_client_connect opened, or -1 */
};

static int read_root(const char *path, uint8_t **out, size_t *len, struct gtee_err *err)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return GTEE_FAIL(err, GTEE_EIO, "sdk: cannot open the simulated root %s (%s)", path, strerror(errno));
    *out = malloc(65536 + 1);
    n = *out ? fread(*out, 1, 65536 + 1, f) : 0;
    fclose(f);
    if (!*out || n == 0 || n > 65536) {
        free(*out);
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EFORMAT, "sdk: simulated root %s is empty or over 64 KiB", path);
    }
    *len = n;
    return 0;
}

/* dir itself, or dir/sgx and dir/tdx of a simulated device. */
static int load_collateral(struct gtee_client *c, const char *dir, struct gtee_err *err)
{
    char path[4096];
    struct stat st;
    int rc;

    snprintf(path, sizeof(path), "%s/sgx", dir);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        TRY(gtee_collateral_load(dir, &c->sgx, err));
        TRY(gtee_collateral_load(dir, &c->tdx, err));
        return 0;
    }
    TRY(gtee_collateral_load(path, &c->sgx, err));
    snprintf(path, sizeof(path), "%s/tdx", dir);
    TRY(gtee_collateral_load(path, &c->tdx, err));
out:
    return rc;
}

static int setup(struct gtee_client *c, const struct gtee_client_options *opt, struct gtee_err *err)
{
    size_t root_len = 0;
    int rc = 0;

    gtee_policy_default(&c->policy);
    if (opt && opt->policy_file)
        TRY(gtee_policy_load(opt->policy_file, &c->policy, err));
    else if (opt && opt->policy_json)
        TRY(gtee_policy_parse(opt->policy_json, strlen(opt->policy_json), &c->policy, err));
    if (opt && opt->collateral_dir)
        TRY(load_collateral(c, opt->collateral_dir, err));
    if (opt && opt->sim_root_file) {
        TRY(read_root(opt->sim_root_file, &c->root, &root_len, err));
        c->anchors.sim_root_der = c->root;
        c->anchors.sim_root_len = root_len;
    }
    c->vfy.policy = &c->policy;
    c->vfy.sgx_col = c->sgx.tcb_info.p ? &c->sgx : NULL;
    c->vfy.tdx_col = c->tdx.tcb_info.p ? &c->tdx : NULL;
    c->vfy.anchors = &c->anchors;
    c->vfy.at = opt ? opt->at : 0;
    TRY(gtee_ratls_client_new(&c->vfy, NULL, &c->ctx, err));
out:
    return rc;
}

int gtee_client_connect_fd(int fd, const struct gtee_client_options *opt, struct gtee_client **out,
                           struct gtee_err *err)
{
    struct gtee_client *c = calloc(1, sizeof(*c));
    int rc = GTEE_ENOMEM;

    *out = NULL;
    ENSURE(c, err, GTEE_ENOMEM, "sdk: out of memory");
    c->own_fd = -1;
    TRY(setup(c, opt, err));
    TRY(gtee_ratls_connect(c->ctx, fd, &c->conn, &c->peer, err));
    *out = c;
    c = NULL;
out:
    gtee_client_close(c);
    return rc;
}

static int dial(const char *hostport, int *out, struct gtee_err *err)
{
    char host[256];
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
    struct timeval tv = { .tv_sec = 30 };
    size_t hl;
    int fd = -1, g, one = 1;

    if (!colon || colon == hostport || (hl = (size_t)(colon - hostport)) >= sizeof(host))
        return GTEE_FAIL(err, GTEE_EINVAL, "sdk: address is not HOST:PORT");
    memcpy(host, hostport, hl);
    host[hl] = 0;
    if ((g = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "sdk: cannot resolve %s (%s)", hostport, gai_strerror(g));
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* small records, no Nagle delay */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "sdk: cannot connect to %s (%s)", hostport, strerror(errno));
    *out = fd;
    return 0;
}

int gtee_client_connect(const char *hostport, const struct gtee_client_options *opt, struct gtee_client **out,
                        struct gtee_err *err)
{
    int fd = -1, rc;

    *out = NULL;
    rc = dial(hostport, &fd, err);
    if (rc < 0)
        return rc;
    rc = gtee_client_connect_fd(fd, opt, out, err);
    if (rc < 0)
        close(fd);
    else
        (*out)->own_fd = fd;
    return rc;
}

void gtee_client_close(struct gtee_client *c)
{
    if (!c)
        return;
    gtee_ratls_conn_free(c->conn);
    gtee_ratls_ctx_free(c->ctx);
    if (c->own_fd >= 0)
        close(c->own_fd);
    gtee_collateral_free(&c->sgx);
    gtee_collateral_free(&c->tdx);
    free(c->root);
    free(c);
}

const struct gtee_claims *gtee_client_claims(const struct gtee_client *c)
{
    return &c->peer.verdict.claims;
}

void gtee_client_enclave_id(const struct gtee_client *c, uint8_t id[20])
{
    memcpy(id, c->peer.enclave_id, 20);
}

int gtee_client_call(struct gtee_client *c, uint16_t op, const void *req, size_t len, uint8_t **resp,
                     size_t *resp_len, struct gtee_err *err)
{
    uint16_t type = 0;
    int rc;

    *resp = NULL;
    *resp_len = 0;
    ENSURE(op <= GTEE_APP_OP_MAX, err, GTEE_EINVAL, "sdk: operation %u over %u", op, GTEE_APP_OP_MAX);
    TRY(gtee_ratls_send_msg(c->conn, (uint16_t)(op + GTEE_RATLS_MSG_APP), req, len, err));
    TRY(gtee_ratls_recv_msg(c->conn, &type, resp, resp_len, err));
    if (type == GTEE_RATLS_MSG_ERROR) {
        int32_t code = *resp_len >= 4 ? (int32_t)((uint32_t)(*resp)[0] << 24 | (uint32_t)(*resp)[1] << 16 |
                                                  (uint32_t)(*resp)[2] << 8 | (*resp)[3])
                                      : GTEE_EFORMAT;
        int n = *resp_len > 4 ? (int)(*resp_len - 4 > 256 ? 256 : *resp_len - 4) : 0;

        /* The enclave's own code, if it is one of ours; anything else is a format error. */
        if (code >= 0 || code < GTEE_ESTATE)
            code = GTEE_EFORMAT;
        rc = GTEE_FAIL(err, code, "enclave: %.*s", n, n ? (const char *)*resp + 4 : "error");
        free(*resp);
        *resp = NULL;
        *resp_len = 0;
        goto out;
    }
    ENSURE(type == (uint16_t)(op + GTEE_RATLS_MSG_APP), err, GTEE_EFORMAT, "sdk: answer of type %u to op %u", type,
           op);
out:
    if (rc < 0 && *resp) {
        free(*resp);
        *resp = NULL;
        *resp_len = 0;
    }
    return rc;
}

int gtee_client_refresh(struct gtee_client *c, struct gtee_err *err)
{
    uint8_t nonce[GTEE_RATLS_NONCE_LEN];

    return gtee_ratls_fresh(c->conn, nonce, &c->peer, err);
}
