/* Host side of the enclave boundary: start the enclave from a measured descriptor (or, for
 * SGX, through Gramine's loader), exchange messages over one socketpair, parse the INFO
 * answer, stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "enclave/enclave.h"
#include "gtee/enclave.h"
#include "gtee/keyrelease.h"
#include "gtee/msg.h"

#define ARGV_MAX 20
/* The application name Gramine is given: it opens <name>.manifest.sgx and <name>.sig in
 * its working directory (gramine/gtee-enclave.manifest.template, docs/tee.md §10). */
#define GRAMINE_APP "gtee-enclave"

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

/* The loader: a name with a slash as given, else the first executable regular file of that
 * name in the host's PATH. */
static int find_loader(const char *name, char *out, size_t len, struct gtee_err *err)
{
    const char *path = getenv("PATH"), *p, *end;
    struct stat st;

    if (strchr(name, '/')) {
        if (strlen(name) >= len || stat(name, &st) != 0 || !S_ISREG(st.st_mode) || access(name, X_OK) != 0)
            return GTEE_FAIL(err, GTEE_ENOTFOUND, "launch: Gramine loader %s is not an executable file", name);
        memcpy(out, name, strlen(name) + 1);
        return 0;
    }
    for (p = path ? path : ""; *p; p = *end ? end + 1 : end) {
        int n;

        end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        n = snprintf(out, len, "%.*s/%s", end > p ? (int)(end - p) : 1, end > p ? p : ".", name);
        if (n > 0 && (size_t)n < len && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
    }
    return GTEE_FAIL(err, GTEE_ENOTFOUND,
                     "launch: %s not found on PATH (install Gramine, or give the loader with --gramine-sgx PATH)",
                     name);
}

/* Child under Gramine: the socket is stdin and stdout, the only descriptors Gramine hands
 * to the application (its console reads host fd 0 and writes host fd 1; the enclave's
 * stderr goes there too, so it speaks only in messages). Host stderr stays for Gramine's
 * own log. The environment is PATH alone, for the loader script; Gramine does not pass it
 * into the enclave (the manifest sets the enclave's environment). */
static void child_gramine(int dir_fd, int sock, int stderr_fd, const char *loader, char *path_env)
{
    char *argv[] = { (char *)"gramine-sgx", (char *)GRAMINE_APP, NULL };
    char *env[] = { path_env, NULL };
    int s = fcntl(sock, F_DUPFD_CLOEXEC, 10);

    if (s < 0 || fchdir(dir_fd) != 0)
        _exit(126);
    if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0)
        _exit(126);
    if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || close_range(3, ~0U, 0) != 0)
        _exit(126);
    execve(loader, argv, env);
    _exit(127);
}

/* Checks what the real loader needs before anything runs, so a missing piece is named. */
static int gramine_dir_check(const char *dir, int *dir_fd, struct gtee_err *err)
{
    static const char *const need[] = { GRAMINE_APP ".manifest.sgx", GRAMINE_APP ".sig" };

    *dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dir_fd < 0)
        return GTEE_FAIL(err, GTEE_ENOTFOUND, "launch: cannot open Gramine directory %s (%s)", dir, strerror(errno));
    for (size_t i = 0; i < GTEE_ARRAY_LEN(need); i++)
        if (faccessat(*dir_fd, need[i], R_OK, 0) != 0)
            return GTEE_FAIL(err, GTEE_ENOTFOUND,
                             "launch: %s/%s missing (render the manifest with gramine-manifest and sign it with "
                             "gramine-sgx-sign; docs/tee.md section 10)",
                             dir, need[i]);
    return 0;
}

static int start_gramine(const struct gtee_enclave_launch *l, struct gtee_enclave_proc *p, struct gtee_err *err)
{
    char loader[4096], path_env[4096];
    const char *path = getenv("PATH");
    int dir_fd = -1, exe_fd, sv[2] = { -1, -1 }, rc = GTEE_EIO;
    pid_t pid;

    TRY(gramine_dir_check(l->gramine_dir, &dir_fd, err));
    TRY(find_loader(l->gramine_sgx ? l->gramine_sgx : "gramine-sgx", loader, sizeof(loader), err));
    ENSURE(snprintf(path_env, sizeof(path_env), "PATH=%s", path ? path : "/usr/bin:/bin") < (int)sizeof(path_env),
           err, GTEE_EINVAL, "launch: PATH too long");
    /* Informational only: what counts is MRENCLAVE, measured by the CPU over the files the
     * signed manifest names. The host's copy of the binary may not even be the one the
     * manifest names. */
    exe_fd = l->binary ? open(l->binary, O_RDONLY | O_CLOEXEC) : -1;
    if (exe_fd >= 0) {
        rc = gtee_enclave_hash_fd(exe_fd, p->binary_sha256, err);
        close(exe_fd);
        TRY(rc);
    }
    ENSURE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, err, GTEE_EIO, "launch: socketpair failed (%s)",
           strerror(errno));
    pid = fork();
    ENSURE(pid >= 0, err, GTEE_EIO, "launch: fork failed (%s)", strerror(errno));
    if (pid == 0)
        child_gramine(dir_fd, sv[1], l->stderr_fd > 0 ? l->stderr_fd : -1, loader, path_env);
    p->pid = pid;
    p->fd = sv[0];
    sv[0] = -1;
    p->next_id = 1;
    p->gramine = 1;
    rc = 0;
out:
    if (dir_fd >= 0)
        close(dir_fd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return rc;
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
    ENSURE(l->tee, err, GTEE_EINVAL, "launch: no backend named");
    ENSURE((!l->key_release && !l->key_release_pub) || strcmp(l->tee, "tdx") == 0 || strcmp(l->tee, "auto") == 0,
           err, GTEE_EINVAL,
           "launch: --key-release is only for --tee tdx (or auto): no other backend asks a service for its key");
    ENSURE(!l->key_release == !l->key_release_pub, err, GTEE_EINVAL,
           "launch: --key-release HOST:PORT needs --key-release-pub HEX (the service key to pin), and the reverse");
    if (l->key_release) { /* a malformed address or key is named here, not by an enclave that exits 2 */
        struct gtee_kr_tcp kr;

        TRY(gtee_kr_tcp_init(&kr, l->key_release, l->key_release_pub, err));
    }
    if (l->gramine_dir) {
        ENSURE(strcmp(l->tee, "sgx") == 0, err, GTEE_EINVAL, "launch: a Gramine directory is only for --tee sgx");
        /* The signed manifest fixes the command line: nothing we would pass could reach it. */
        ENSURE(!l->config && !l->root && !l->sim_dir && !l->sim_quote_version, err, GTEE_EINVAL,
               "launch: under Gramine the configuration is fixed in the signed manifest (gramine-manifest "
               "-Dconfig=...): --config, --root, --sim-dir and --sim-quote-version do not apply");
        return start_gramine(l, p, err);
    }
    /* On hardware an sgx enclave runs only inside SGX: natively it would be outside any
     * enclave. A root other than / is a fake device (tests), where native is the point. */
    ENSURE(strcmp(l->tee, "sgx") != 0 || (l->root && strcmp(l->root, "/") != 0), err, GTEE_EINVAL,
           "launch: --tee sgx runs the enclave through Gramine: give the directory of the signed manifest "
           "(--gramine-dir DIR; docs/tee.md section 10)");
    ENSURE(l->binary, err, GTEE_EINVAL, "launch: no enclave binary named");
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
    if (l->key_release) {
        argv[n++] = (char *)"--key-release";
        argv[n++] = (char *)l->key_release;
        argv[n++] = (char *)"--key-release-pub";
        argv[n++] = (char *)l->key_release_pub;
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

/* One message from the enclave, after any NOTICE (request id 0) it sent first: their text
 * is kept in p->notice (printable ASCII only) for the caller to log. */
static int recv_answer(struct gtee_enclave_proc *p, uint8_t **in, size_t *in_len, struct gtee_msg_header *h,
                       struct gtee_err *err)
{
    for (int i = 0; i < 16; i++) {
        int rc = gtee_msg_recv(p->fd, in, in_len, err);

        if (rc == 0)
            rc = gtee_msg_header_parse(*in, *in_len, h, err);
        if (rc != 0)
            return rc;
        if (h->type != (GTEE_MSG_NOTICE | GTEE_MSG_REPLY) || h->request_id != 0)
            return 0;
        size_t n = h->length < sizeof(p->notice) - 1 ? h->length : sizeof(p->notice) - 1;

        for (size_t k = 0; k < n; k++) {
            uint8_t c = (*in)[GTEE_MSG_HEADER_LEN + k];

            p->notice[k] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        p->notice[n] = '\0';
        free(*in);
        *in = NULL;
    }
    return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: too many notices");
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

        if (recv_answer(p, &in, &in_len, &h, &ignored) != 0)
            goto out; /* nothing queued: the send error stands */
        rc = 0;
    } else {
        rc = recv_answer(p, &in, &in_len, &h, err);
    }
    if (rc == GTEE_ENOTFOUND)
        rc = GTEE_FAIL(err, GTEE_EIO, "enclave: closed the connection (see its stderr)");
    TRY(rc);
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
    ENSURE(!s.bad && mlen <= GTEE_MEASUREMENT_MAX && kind >= GTEE_TEE_KIND_SIM && kind <= GTEE_TEE_KIND_SNP, err, GTEE_EFORMAT,
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
