/* Host side of the enclave boundary: start the enclave from a measured descriptor (or, for
 * SGX, through Gramine's loader), exchange messages over one socketpair, parse the INFO
 * answer, stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "host/answer.h"
#include "wire/measure.h"
#include "gtee/crypto.h"
#include "gtee/enclave.h"
#include "gtee/keyrelease.h"
#include "gtee/msg.h"
#include "gtee/net.h"

#define ARGV_MAX 28
/* The application name Gramine is given: it opens <name>.manifest.sgx and <name>.sig in
 * its working directory (gramine/gtee-enclave.manifest.template, docs/tee.md §10). */
#define GRAMINE_APP "gtee-enclave"

/* Child, first thing after fork: the enclave must not outlive its host. A host killed
 * outright (SIGKILL, a crash) runs no cleanup, and an orphaned enclave would go on holding
 * its job, its memory and, under SGX, its EPC; so the kernel sends it SIGKILL when the
 * thread that forked it ends (PR_SET_PDEATHSIG; kept across execve for a binary that is
 * not set-user-ID, as neither gtee-enclave nor the Gramine loader is). A host that died
 * before the prctl took effect has left us reparented already: then getppid() is no longer
 * the pid it had before fork, and the child ends here. */
static void die_with_host(pid_t host)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != host)
        _exit(126);
}

/* Child: the socket becomes fd 3 and the measured executable fd 4 (close-on-exec); every
 * other descriptor of the host is closed, then fd 4 is executed. Both are first moved
 * above 9 so that neither overwrites the other. */
static void child_exec(pid_t host, int exe_fd, int sock, int stderr_fd, char **argv)
{
    /* An empty environment: nothing unmeasured from the host (LD_PRELOAD, OPENSSL_CONF,
     * locale) steers the enclave. */
    static char *const no_env[] = { NULL };
    int exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, 10), s = fcntl(sock, F_DUPFD_CLOEXEC, 10);

    die_with_host(host);
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
static void child_gramine(pid_t host, int dir_fd, int sock, int stderr_fd, const char *loader, char *path_env)
{
    char *argv[] = { (char *)"gramine-sgx", (char *)GRAMINE_APP, NULL };
    char *env[] = { path_env, NULL };
    int s = fcntl(sock, F_DUPFD_CLOEXEC, 10);

    die_with_host(host);
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

/* What the host itself knows of the enclave it starts, to check INFO against: the backend
 * it chose, whether that is the simulation, and under sim the measurement of the executable
 * it hashed with the configuration it passes (as the runtime computes it:
 * gtee_enclave_config_text). auto never picks sim. */
static int expect(const struct gtee_enclave_launch *l, struct gtee_enclave_proc *p, struct gtee_err *err)
{
    static const struct { const char *name; enum gtee_tee_kind kind; } kinds[] = {
        { "sim", GTEE_TEE_KIND_SIM }, { "sgx", GTEE_TEE_KIND_SGX }, { "tdx", GTEE_TEE_KIND_TDX },
        { "snp", GTEE_TEE_KIND_SNP }, { "auto", 0 },
    };
    char config[4096];
    size_t i;
    int n, rc = 0;

    for (i = 0; i < GTEE_ARRAY_LEN(kinds) && strcmp(kinds[i].name, l->tee) != 0; i++)
        ;
    ENSURE(i < GTEE_ARRAY_LEN(kinds), err, GTEE_EINVAL, "launch: unknown backend '%s' (sim, sgx, tdx, snp, auto)",
           l->tee);
    p->kind = kinds[i].kind;
    p->simulated = p->kind == GTEE_TEE_KIND_SIM;
    p->timeout_ms = l->timeout_ms ? l->timeout_ms : GTEE_ENCLAVE_TIMEOUT_MS;
    if (p->simulated) {
        /* Under sim the executable hash is the measurement's root, so the host insists on
         * its own. On tdx/snp the hardware measures (MRTD, MEASUREMENT, in the evidence a
         * verifier checks) and exe_sha256 stays informational, as under Gramine. */
        const struct gtee_enclave_config c = { .tee = l->tee, .sim_quote_version = l->sim_quote_version,
                                               .config = l->config,
                                               .allow = l->allow_jit ? GTEE_APP_ALLOW_JIT : 0,
                                               .memory_limit = l->memory_limit };

        p->check_exe = 1;
        n = gtee_enclave_config_text(&c, config, sizeof(config));
        ENSURE(n > 0, err, GTEE_EINVAL, "launch: --config text too long");
        TRY(gtee_enclave_measurement(p->binary_sha256, config, (size_t)n, p->measurement, err));
        p->check_measurement = 1;
    }
out:
    return rc;
}

static int start_gramine(const struct gtee_enclave_launch *l, struct gtee_enclave_proc *p, struct gtee_err *err)
{
    char loader[4096], path_env[4096];
    const char *path = getenv("PATH");
    int dir_fd = -1, exe_fd, sv[2] = { -1, -1 }, rc = GTEE_EIO;
    pid_t pid, host;

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
    TRY(expect(l, p, err));
    host = getpid();
    pid = fork();
    ENSURE(pid >= 0, err, GTEE_EIO, "launch: fork failed (%s)", strerror(errno));
    if (pid == 0)
        child_gramine(host, dir_fd, sv[1], l->stderr_fd > 0 ? l->stderr_fd : -1, loader, path_env);
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
    char qv[16], ml[24], gp[16];
    char *argv[ARGV_MAX];
    int exe_fd = -1, sv[2] = { -1, -1 }, n = 0, rc = GTEE_EIO;
    pid_t pid, host;

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
    TRY(expect(l, p, err));
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
    if (l->allow_jit)
        argv[n++] = (char *)"--allow-jit";
    if (l->memory_limit) {
        snprintf(ml, sizeof(ml), "%llu", (unsigned long long)l->memory_limit);
        argv[n++] = (char *)"--memory-limit";
        argv[n++] = ml;
    }
    if (l->gpus) {
        snprintf(gp, sizeof(gp), "%u", l->gpus);
        argv[n++] = (char *)"--gpus";
        argv[n++] = gp;
    }
    if (l->gpu_library) {
        argv[n++] = (char *)"--gpu-library";
        argv[n++] = (char *)l->gpu_library;
    }
    if (l->key_release) {
        argv[n++] = (char *)"--key-release";
        argv[n++] = (char *)l->key_release;
        argv[n++] = (char *)"--key-release-pub";
        argv[n++] = (char *)l->key_release_pub;
    }
    argv[n] = NULL;
    host = getpid();
    pid = fork();
    ENSURE(pid >= 0, err, GTEE_EIO, "launch: fork failed (%s)", strerror(errno));
    if (pid == 0)
        child_exec(host, exe_fd, sv[1], l->stderr_fd > 0 ? l->stderr_fd : -1, argv);
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

int gtee_enclave_progress_parse(const uint8_t *payload, size_t len, struct gtee_enclave_progress *pr,
                                struct gtee_err *err)
{
    struct span s = span_init(payload, len);
    uint32_t bits;

    pr->stage = span_u8(&s);
    pr->epoch = span_u32be(&s);
    pr->epochs = span_u32be(&s);
    pr->batch = span_u32be(&s);
    pr->batches = span_u32be(&s);
    bits = span_u32be(&s);
    memcpy(&pr->loss, &bits, sizeof(pr->loss));
    if (s.bad || s.len || (pr->stage != 1 && pr->stage != 2))
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: PROGRESS of %zu bytes or stage %u malformed", len, pr->stage);
    return 0;
}

/* The answer to request id, after any NOTICE (request id 0) the enclave sent first (their
 * text is kept in p->notice, escaped, for the caller to log) and any PROGRESS of this
 * request (given to p->on_progress; each moves *deadline on by the timeout). */
static int recv_answer(struct gtee_enclave_proc *p, uint64_t id, int64_t *deadline, uint8_t **in, size_t *in_len,
                       struct gtee_msg_header *h, struct gtee_err *err)
{
    for (int notices = 0; notices < 16;) {
        struct gtee_enclave_progress pr;
        int rc = gtee_msg_recv_deadline(p->fd, *deadline, in, in_len, err);

        if (rc == 0)
            rc = gtee_msg_header_parse(*in, *in_len, h, err);
        if (rc != 0)
            return rc;
        if (h->type == (GTEE_MSG_PROGRESS | GTEE_MSG_REPLY) && h->request_id == id) {
            rc = gtee_enclave_progress_parse(*in + GTEE_MSG_HEADER_LEN, h->length, &pr, err);
            free(*in);
            *in = NULL;
            if (rc != 0)
                return rc;
            if (p->on_progress)
                p->on_progress(p->progress_arg, &pr);
            *deadline = gtee_net_clock_ms() + (p->timeout_ms ? p->timeout_ms : GTEE_ENCLAVE_TIMEOUT_MS);
            continue;
        }
        if (h->type != (GTEE_MSG_NOTICE | GTEE_MSG_REPLY) || h->request_id != 0)
            return 0;
        (void)gtee_err_escape(*in + GTEE_MSG_HEADER_LEN, h->length, p->notice, sizeof(p->notice));
        free(*in);
        *in = NULL;
        notices++;
    }
    return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: too many notices");
}

/* The enclave let the deadline pass: it is killed and reaped, so no wait of the host lasts
 * longer than its bound and no process is left behind. */
static int timed_out(struct gtee_enclave_proc *p, struct gtee_err *err)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        p->pid = -1;
    }
    return GTEE_FAIL(err, GTEE_EIO, "enclave: no answer within %u s (--enclave-timeout); stopped it",
                     (p->timeout_ms + 999) / 1000);
}

int gtee_enclave_call(struct gtee_enclave_proc *p, uint16_t type, const void *payload, size_t len, uint8_t **reply,
                      size_t *reply_len, struct gtee_err *err)
{
    uint8_t *msg = NULL, *in = NULL;
    size_t msg_len = 0, in_len = 0;
    struct gtee_msg_header h;
    uint64_t id = p->next_id++;
    /* A zeroed proc (the fuzz target's) gets the default bound as well. */
    int64_t deadline = gtee_net_clock_ms() + (p->timeout_ms ? p->timeout_ms : GTEE_ENCLAVE_TIMEOUT_MS);
    int rc;

    *reply = NULL;
    *reply_len = 0;
    TRY(gtee_msg_encode(type, id, payload, len, &msg, &msg_len, err));
    rc = gtee_msg_send_deadline(p->fd, msg, msg_len, deadline, err);
    if (rc < 0 && gtee_net_clock_ms() < deadline) {
        /* An enclave that could not start says why and exits, possibly before our send:
         * its ERROR is still queued for us. */
        struct gtee_err ignored;

        if (recv_answer(p, id, &deadline, &in, &in_len, &h, &ignored) != 0)
            goto out; /* nothing queued: the send error stands */
        rc = 0;
    } else if (rc == 0) {
        rc = recv_answer(p, id, &deadline, &in, &in_len, &h, err);
    }
    if (rc < 0 && gtee_net_clock_ms() >= deadline) {
        rc = timed_out(p, err);
        goto out;
    }
    if (rc == GTEE_ENOTFOUND)
        rc = GTEE_FAIL(err, GTEE_EIO, "enclave: closed the connection (see its stderr)");
    TRY(rc);
    rc = host_answer_take(in, &h, id, type, reply, reply_len, err);
out:
    free(msg);
    free(in);
    return rc;
}

int host_answer_take(const uint8_t *in, const struct gtee_msg_header *h, uint64_t id, uint16_t type, uint8_t **reply,
                     size_t *reply_len, struct gtee_err *err)
{
    char text[4 * 300 + 1];
    int rc;

    /* An ERROR answers this request, or (id 0) says the enclave could not start or lost
     * the stream. */
    if (h->type == (GTEE_MSG_ERROR | GTEE_MSG_REPLY) && (h->request_id == id || h->request_id == 0)) {
        struct span s = span_init(in + GTEE_MSG_HEADER_LEN, h->length);
        int32_t code = (int32_t)span_u32be(&s);

        ENSURE(!s.bad, err, GTEE_EFORMAT, "enclave: ERROR reply without a code");
        /* The text is the enclave's: escaped, so it cannot drive the terminal it is shown on. */
        (void)gtee_err_escape(s.p, s.len > 300 ? 300 : s.len, text, sizeof(text));
        rc = GTEE_FAIL(err, code < 0 && code >= GTEE_ERR_LOWEST ? code : GTEE_EIO, "enclave: %s", text);
        goto out;
    }
    ENSURE(h->request_id == id && h->type == (type | GTEE_MSG_REPLY), err, GTEE_EFORMAT,
           "enclave: reply does not answer request %llu", (unsigned long long)id);
    *reply = malloc(h->length ? h->length : 1);
    ENSURE(*reply, err, GTEE_ENOMEM, "enclave: out of memory");
    memcpy(*reply, in + GTEE_MSG_HEADER_LEN, h->length);
    *reply_len = h->length;
    rc = 0;
out:
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

/* INFO is the enclave's word about itself; what the host knows wins, and a contradiction
 * means the process is not the enclave it started (a substituted or forged binary). */
static int info_check(const struct gtee_enclave_proc *p, struct gtee_enclave_info *info, struct gtee_err *err)
{
    uint8_t addr[GTEE_ENCLAVE_ADDR_LEN];
    char have[65], want[65];
    int rc = GTEE_EPOLICY;

    ENSURE(p->kind ? info->kind == p->kind : info->kind != GTEE_TEE_KIND_SIM, err, GTEE_EPOLICY,
           "enclave: claims TEE %s, but the host started it with backend %s: refused", gtee_tee_kind_name(info->kind),
           p->kind ? gtee_tee_kind_name(p->kind) : "auto");
    ENSURE(info->simulated == p->simulated, err, GTEE_EPOLICY,
           "enclave: claims %s, but the host started it with backend %s: refused",
           info->simulated ? "to be simulated" : "not to be simulated", p->kind ? gtee_tee_kind_name(p->kind) : "auto");
    info->simulated = p->simulated; /* the host's own knowledge, whatever was claimed */
    if (p->check_exe && memcmp(info->exe_sha256, p->binary_sha256, 32) != 0) {
        gtee_hex_encode(info->exe_sha256, 32, have);
        gtee_hex_encode(p->binary_sha256, 32, want);
        ENSURE(0, err, GTEE_EPOLICY, "enclave: reports executable sha256 %s, but the host executed %s: refused",
               have, want);
    }
    if (p->check_measurement &&
        (info->measurement_len != 32 || memcmp(info->measurement, p->measurement, 32) != 0)) {
        gtee_hex_encode(info->measurement, info->measurement_len > 32 ? 32 : info->measurement_len, have);
        gtee_hex_encode(p->measurement, 32, want);
        ENSURE(0, err, GTEE_EPOLICY,
               "enclave: reports measurement %s, but its executable and configuration measure %s: refused", have,
               want);
    }
    ENSURE(gtee_eth_address(info->enclave_pub, addr) == 0 && memcmp(addr, info->enclave_addr, sizeof(addr)) == 0,
           err, GTEE_EPOLICY, "enclave: its Enclave ID is not the address of its Enclave public key: refused");
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
    TRY(info_check(p, info, err));
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
    /* The socket is closed: a working enclave exits at once. One that does not is killed
     * when the bound passes (polled: a SIGCHLD handler is the caller's business). */
    for (int64_t end = gtee_net_clock_ms() + (p->timeout_ms ? p->timeout_ms : GTEE_ENCLAVE_TIMEOUT_MS);;) {
        struct timespec ten_ms = { 0, 10 * 1000 * 1000 };

        w = waitpid(p->pid, &st, WNOHANG);
        if (w != 0 && !(w < 0 && errno == EINTR))
            break;
        if (w == 0 && gtee_net_clock_ms() >= end)
            kill(p->pid, SIGKILL); /* and the next round reaps it */
        if (w == 0)
            nanosleep(&ten_ms, NULL);
    }
    p->pid = -1;
    if (status)
        *status = st;
    return w < 0 ? GTEE_EIO : 0;
}
