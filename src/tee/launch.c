/* Host side of the enclave boundary: start the enclave from a measured descriptor, exchange
 * messages over one socketpair, parse the INFO answer, stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "enclave/enclave.h"
#include "gtee/enclave.h"
#include "gtee/msg.h"

#define ARGV_MAX 20

/* Child: the socket becomes fd 3 and the measured executable fd 4 (close-on-exec); every
 * other descriptor of the host is closed, then fd 4 is executed. Both are first moved
 * above 9 so that neither overwrites the other. */
static void child_exec(int exe_fd, int sock, int stderr_fd, char **argv)
{
    /* An empty environment: nothing unmeasured from the host (LD_PRELOAD, OPENSSL_CONF,
     * locale) steers the enclave. */
    static char *const no_env[] = { NULL };
    int exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, 10), s = fcntl(sock, F_DUPFD_CLOEXEC, 10);

    if (exe < 0 || s < 0)
        _exit(126);
    if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0)
        _exit(126);
    if (dup2(s, 3) < 0 || dup2(exe, 4) < 0 || fcntl(4, F_SETFD, FD_CLOEXEC) != 0) /* dup2 clears it */
        _exit(126);
    if (close_range(5, ~0U, 0) != 0)
        _exit(126);
    /* fexecve of an ELF file from a close-on-exec descriptor works; it closes at exec. */
    fexecve(4, argv, no_env);
    _exit(127);
}

int gtee_enclave_start(const struct gtee_enclave_launch *l, struct gtee_enclave_proc *p, struct gtee_err *err)
{
    char qv[16];
    char *argv[ARGV_MAX];
    int exe_fd = -1, sv[2] = { -1, -1 }, n = 0, rc = GTEE_EIO;
    pid_t pid;

    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->pid = -1;
    ENSURE(l->binary && l->tee, err, GTEE_EINVAL, "launch: no enclave binary or backend named");
    exe_fd = open(l->binary, O_RDONLY | O_CLOEXEC);
    ENSURE(exe_fd >= 0, err, GTEE_ENOTFOUND, "launch: cannot open enclave binary %s (%s)", l->binary, strerror(errno));
    TRY(gtee_enclave_hash_fd(exe_fd, p->binary_sha256, err));
    ENSURE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, err, GTEE_EIO, "launch: socketpair failed (%s)",
           strerror(errno));
    argv[n++] = (char *)"gtee-enclave";
    argv[n++] = (char *)"--fd";
    argv[n++] = (char *)"3";
    argv[n++] = (char *)"--tee";
    argv[n++] = (char *)l->tee;
    if (l->root) {
        argv[n++] = (char *)"--root";
        argv[n++] = (char *)l->root;
    }
    if (l->sim_dir) {
        argv[n++] = (char *)"--sim-dir";
        argv[n++] = (char *)l->sim_dir;
    }
    if (l->config) {
        argv[n++] = (char *)"--config";
        argv[n++] = (char *)l->config;
    }
    if (l->sim_quote_version) {
        snprintf(qv, sizeof(qv), "%d", l->sim_quote_version);
        argv[n++] = (char *)"--sim-quote-version";
        argv[n++] = qv;
    }
    argv[n] = NULL;
    pid = fork();
    ENSURE(pid >= 0, err, GTEE_EIO, "launch: fork failed (%s)", strerror(errno));
    if (pid == 0)
        child_exec(exe_fd, sv[1], l->stderr_fd > 0 ? l->stderr_fd : -1, argv);
    p->pid = pid;
    p->fd = sv[0];
    sv[0] = -1;
    p->next_id = 1;
    rc = 0;
out:
    if (exe_fd >= 0)
        close(exe_fd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return rc;
}

int gtee_enclave_call(struct gtee_enclave_proc *p, uint16_t type, const void *payload, size_t len, uint8_t **reply,
                      size_t *reply_len, struct gtee_err *err)
{
    uint8_t *msg = NULL, *in = NULL;
    size_t msg_len = 0, in_len = 0;
    struct gtee_msg_header h;
    uint64_t id = p->next_id++;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    TRY(gtee_msg_encode(type, id, payload, len, &msg, &msg_len, err));
    rc = gtee_msg_send(p->fd, msg, msg_len, err);
    if (rc < 0) {
        /* An enclave that could not start says why and exits, possibly before our send:
         * its ERROR is still queued for us. */
        struct gtee_err ignored;

        if (gtee_msg_recv(p->fd, &in, &in_len, &ignored) != 0)
            goto out; /* nothing queued: the send error stands */
        rc = 0;
    } else {
        rc = gtee_msg_recv(p->fd, &in, &in_len, err);
    }
    if (rc == GTEE_ENOTFOUND)
        rc = GTEE_FAIL(err, GTEE_EIO, "enclave: closed the connection (see its stderr)");
    TRY(rc);
    TRY(gtee_msg_header_parse(in, in_len, &h, err));
    /* An ERROR answers this request, or (id 0) says the enclave could not start or lost
     * the stream. */
    if (h.type == (GTEE_MSG_ERROR | GTEE_MSG_REPLY) && (h.request_id == id || h.request_id == 0)) {
        struct span s = span_init(in + GTEE_MSG_HEADER_LEN, h.length);
        int32_t code = (int32_t)span_u32be(&s);

        ENSURE(!s.bad, err, GTEE_EFORMAT, "enclave: ERROR reply without a code");
        rc = GTEE_FAIL(err, code < 0 && code >= GTEE_ESTATE ? code : GTEE_EIO, "enclave: %.*s",
                       (int)(s.len > 300 ? 300 : s.len), (const char *)s.p);
        goto out;
    }
    ENSURE(h.request_id == id && h.type == (type | GTEE_MSG_REPLY), err, GTEE_EFORMAT,
           "enclave: reply does not answer request %llu", (unsigned long long)id);
    *reply = malloc(h.length ? h.length : 1);
    ENSURE(*reply, err, GTEE_ENOMEM, "enclave: out of memory");
    memcpy(*reply, in + GTEE_MSG_HEADER_LEN, h.length);
    *reply_len = h.length;
    rc = 0;
out:
    free(msg);
    free(in);
    return rc;
}

int gtee_enclave_info_parse(const uint8_t *payload, size_t len, struct gtee_enclave_info *info, struct gtee_err *err)
{
    struct span s = span_init(payload, len);
    uint8_t kind, flags, mlen;
    int rc = GTEE_EFORMAT;

    memset(info, 0, sizeof(*info));
    kind = span_u8(&s);
    flags = span_u8(&s);
    mlen = span_u8(&s);
    ENSURE(!s.bad && mlen <= GTEE_MEASUREMENT_MAX && kind >= GTEE_TEE_SIM && kind <= GTEE_TEE_SNP, err, GTEE_EFORMAT,
           "enclave: INFO reply header malformed");
    info->kind = (enum gtee_tee_kind)kind;
    info->simulated = (flags & GTEE_MSG_FLAG_SIMULATED) != 0;
    info->measurement_len = mlen;
    span_copy(&s, info->measurement, mlen);
    span_copy(&s, info->exe_sha256, 32);
    span_copy(&s, info->enclave_pub, sizeof(info->enclave_pub));
    span_copy(&s, info->enclave_addr, sizeof(info->enclave_addr));
    span_copy(&s, info->channel_pub, sizeof(info->channel_pub));
    ENSURE(!s.bad && s.len == 0, err, GTEE_EFORMAT, "enclave: INFO reply of %zu bytes malformed", len);
    rc = 0;
out:
    return rc;
}

int gtee_enclave_info(struct gtee_enclave_proc *p, struct gtee_enclave_info *info, struct gtee_err *err)
{
    uint8_t *r = NULL;
    size_t n = 0;
    int rc;

    TRY(gtee_enclave_call(p, GTEE_MSG_INFO, NULL, 0, &r, &n, err));
    TRY(gtee_enclave_info_parse(r, n, info, err));
out:
    free(r);
    return rc;
}

int gtee_enclave_stop(struct gtee_enclave_proc *p, int *status)
{
    int st = 0;
    pid_t w;

    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    if (p->pid <= 0)
        return 0;
    do
        w = waitpid(p->pid, &st, 0);
    while (w < 0 && errno == EINTR);
    p->pid = -1;
    if (status)
        *status = st;
    return w < 0 ? GTEE_EIO : 0;
}
