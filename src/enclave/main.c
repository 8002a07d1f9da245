/* gtee-enclave: the enclave process. Started by the host (src/host/launch.c) with one socket
 * (read from --fd, written to --out-fd: under Gramine, stdin and stdout);
 * hardens itself, measures itself, opens its TEE backend, derives its keys (on TDX through
 * the key-release service named by --key-release), then answers the host's messages under a
 * seccomp allow-list until the host closes the socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "runtime/enclave.h"
#include "wire/measure.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/msg.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GTEE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GTEE_ASAN 1
#endif
#ifdef GTEE_ASAN
/* Sanitizer builds only: LeakSanitizer's exit-time scan uses clone and ptrace, which the
 * seccomp filter rightly kills. The handler's leaks are checked in-process by the tests and
 * the fuzz target instead. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

struct args {
    int fd, out_fd, gramine;
    const char *tee, *root, *sim_dir, *config, *key_release, *key_release_pub;
    int sim_quote_version;
};

static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        { "fd", required_argument, NULL, 'f' },      { "tee", required_argument, NULL, 't' },
        { "root", required_argument, NULL, 'r' },    { "sim-dir", required_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' },  { "sim-quote-version", required_argument, NULL, 'q' },
        { "out-fd", required_argument, NULL, 'o' },  { "gramine", no_argument, NULL, 'g' },
        { "key-release", required_argument, NULL, 'k' }, { "key-release-pub", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->out_fd = -1;
    a->config = "";
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': a->fd = atoi(optarg); break;
        case 't': a->tee = optarg; break;
        case 'r': a->root = optarg; break;
        case 's': a->sim_dir = optarg; break;
        case 'c': a->config = optarg; break;
        case 'q': a->sim_quote_version = atoi(optarg); break;
        case 'o': a->out_fd = atoi(optarg); break;
        case 'g': a->gramine = 1; break;
        case 'k': a->key_release = optarg; break;
        case 'p': a->key_release_pub = optarg; break;
        default: return -1;
        }
    }
    if (a->out_fd < 0)
        a->out_fd = a->fd;
    return (a->fd >= 0 && a->tee && optind == argc) ? 0 : -1;
}

/* --key-release HOST:PORT --key-release-pub HEX: where a TD gets its key root and the
 * service key it accepts answers from (docs/tee.md §4.3.2). Only tdx (or auto, which may
 * pick tdx) has a use for them; elsewhere they would be silently ignored, so they are
 * refused. The address is where the service is: a host that sends us elsewhere gets no
 * answer sealed by the pinned key. The pin is what the enclave trusts; on a TD it is covered
 * by the TD's measurement where the boot chain measures the enclave's command line (RTMR2),
 * and only there (this text, config_text, is what sim measures, and sim has no key release).
 * 0 ok or none, -1 refused (message out). */
static int key_release_setup(const struct args *a, struct gtee_kr_tcp *c, struct gtee_key_release_transport *tr,
                             struct gtee_tee_options *opt)
{
    struct gtee_err err = {0};

    if (!a->key_release && !a->key_release_pub)
        return 0;
    if (!a->key_release || !a->key_release_pub) {
        fprintf(stderr, "gtee-enclave: --key-release HOST:PORT and --key-release-pub HEX go together\n");
        return -1;
    }
    if (strcmp(a->tee, "tdx") != 0 && strcmp(a->tee, "auto") != 0) {
        fprintf(stderr, "gtee-enclave: --key-release is only for --tee tdx (or auto)\n");
        return -1;
    }
    if (gtee_kr_tcp_init(c, a->key_release, a->key_release_pub, &err) != 0) {
        fprintf(stderr, "gtee-enclave: %s\n", err.msg);
        return -1;
    }
    gtee_kr_tcp_transport(c, tr);
    opt->key_release = tr;
    return 0;
}

/* --gramine (set only by the manifest's loader.argv, so covered by MRENCLAVE) says we run
 * under Gramine on SGX. It is accepted only with the sgx backend and when Gramine's
 * attestation pseudo-file exists under the root; then, and only then, the Linux-host
 * hardening is relaxed (docs/tee.md §8, §10). sim, tdx and snp always get all of it.
 * 1: Gramine, 0: not asked, -1: asked but refused. */
static int under_gramine(const struct args *a)
{
    char p[4096];
    int n;

    if (!a->gramine)
        return 0;
    if (strcmp(a->tee, "sgx") != 0) {
        fprintf(stderr, "gtee-enclave: --gramine is only for --tee sgx\n");
        return -1;
    }
    n = snprintf(p, sizeof(p), "%s/dev/attestation/attestation_type", a->root ? a->root : "");
    if (n <= 0 || (size_t)n >= sizeof(p) || access(p, R_OK) != 0) {
        fprintf(stderr, "gtee-enclave: --gramine given but %s is missing: not under Gramine\n", p);
        return -1;
    }
    return 1;
}

/* Under Gramine the application's stderr is multiplexed onto the host's stdout, which
 * carries our replies (Gramine's pal_console.c): so notices travel as NOTICE messages in
 * the stream instead, and the host logs them. */
static void notice(int fd, const char *text)
{
    uint8_t *msg = NULL;
    size_t len = 0;

    /* Best effort: a host that cannot read it will fail its first request anyway. */
    if (gtee_msg_encode(GTEE_MSG_NOTICE | GTEE_MSG_REPLY, 0, text, strlen(text), &msg, &len, NULL) == 0 &&
        gtee_msg_send(fd, msg, len, NULL) != 0)
        len = 0;
    free(msg);
}

/* The configuration that is part of the measurement: what changes the enclave's behaviour
 * (backend, evidence format, the operator's config text), not where files live. */
static int config_text(const struct args *a, char *out, size_t len)
{
    /* "gramine=1" only when set, so every other configuration measures as before. */
    int n = snprintf(out, len, "tee=%s\nsim_quote_version=%d\nconfig=%s\n%s", a->tee, a->sim_quote_version,
                     a->config, a->gramine ? "gramine=1\n" : "");

    return (n < 0 || (size_t)n >= len) ? -1 : n;
}

/* SHA-256 of the running executable. /proc/self/exe names the inode the kernel executed
 * (the host fexecve()d the descriptor it hashed), and the kernel refuses writes to a file
 * being executed (ETXTBSY), so these bytes are the ones that run. */
static int hash_self(uint8_t out[32], struct gtee_err *err)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "enclave: cannot open /proc/self/exe (%s)", strerror(errno));
    rc = gtee_enclave_hash_fd(fd, out, err);
    close(fd);
    return rc;
}

static int serve(struct gtee_enclave *e, int fd, int out_fd, struct gtee_err *err)
{
    for (;;) {
        uint8_t *msg = NULL, *reply = NULL;
        size_t len = 0, reply_len = 0;
        int rc = gtee_msg_recv(fd, &msg, &len, err), fatal;

        if (rc == GTEE_ENOTFOUND)
            return 0; /* the host closed the socket: done */
        if (rc < 0) {
            /* A bad header: answer once, then end (the stream cannot be resynchronised). */
            if (gtee_msg_encode_error(0, rc, err->msg, &reply, &reply_len, NULL) == 0 &&
                gtee_msg_send(out_fd, reply, reply_len, NULL) != 0)
                rc = GTEE_EIO; /* the host is gone as well */
            free(reply);
            return rc;
        }
        fatal = gtee_enclave_handle(e, msg, len, &reply, &reply_len);
        free(msg);
        if (fatal < 0)
            return GTEE_FAIL(err, fatal, "enclave: out of memory");
        rc = gtee_msg_send(out_fd, reply, reply_len, err);
        free(reply);
        if (rc < 0 || fatal)
            return rc < 0 ? rc : GTEE_EFORMAT;
    }
}

int main(int argc, char **argv)
{
    struct gtee_tee_options opt = {0};
    struct gtee_key_release_transport kr_tr = {0};
    struct gtee_kr_tcp kr;
    struct gtee_enclave *e = NULL;
    struct gtee_err err = {0};
    char config[4096];
    uint8_t exe[32];
    struct args a;
    char skipped[256];
    int rc, n, told = 0, gramine;

    /* Parsing holds no secret; then hardening, before any secret exists. */
    if (parse(argc, argv, &a) != 0 || key_release_setup(&a, &kr, &kr_tr, &opt) != 0 ||
        (n = config_text(&a, config, sizeof(config))) < 0) {
        fprintf(stderr, "usage: gtee-enclave --fd N [--out-fd N] --tee sim|sgx|tdx|snp [--root DIR] "
                        "[--sim-dir DIR] [--sim-quote-version 3|4] [--config TEXT] [--gramine] "
                        "[--key-release HOST:PORT --key-release-pub HEX]\n");
        return 2;
    }
    if ((gramine = under_gramine(&a)) < 0)
        return 2;
    if ((gramine ? gtee_enclave_harden_gramine(skipped, sizeof(skipped), &err) : gtee_tee_harden(&err)) != 0) {
        fprintf(stderr, "gtee-enclave: %s\n", err.msg);
        return 1;
    }
    if (gramine)
        notice(a.out_fd, skipped);
    opt.root = a.root;
    opt.sim_dir = a.sim_dir;
    opt.sim_quote_version = a.sim_quote_version;
    rc = hash_self(exe, &err);
    if (rc == 0)
        rc = gtee_enclave_measurement(exe, config, (size_t)n, opt.sim_id.mrenclave, &err);
    if (rc == 0) {
        /* The simulated signer: a fixed, published value (docs/tee.md), as no key signs us. */
        static const char signer[] = "gtee simulated enclave signer v1";

        rc = gtee_sha256(signer, sizeof(signer) - 1, opt.sim_id.mrsigner);
        opt.sim_id.isv_prod_id = 1;
        opt.sim_id.isv_svn = 1;
    }
    /* On TDX this is where the key release happens (one TCP connection, closed again): before
     * the seccomp filter below, which keeps allowing no socket(2) or connect(2). */
    if (rc == 0)
        rc = gtee_enclave_new(a.tee, &opt, exe, &e, &err);
    /* Gramine implements no seccomp (the host kernel's filter would see Gramine's own
     * calls, not ours); the skip was announced above. */
    if (rc == 0 && !gramine)
        rc = gtee_tee_seccomp(GTEE_HARDEN_ENCLAVE, &err);
    if (rc == 0) {
        rc = serve(e, a.fd, a.out_fd, &err);
    } else {
        /* Tell the host why we cannot serve: an unsolicited ERROR it reads as the answer
         * to its first request. */
        uint8_t *msg = NULL;
        size_t msg_len = 0;

        told = gtee_msg_encode_error(0, err.code ? err.code : rc, err.msg, &msg, &msg_len, NULL) == 0 &&
               gtee_msg_send(a.out_fd, msg, msg_len, NULL) == 0;
        free(msg);
    }
    gtee_enclave_free(e);
    if (rc != 0) {
        /* stderr is the host's to read: the message names what failed, never secret values. */
        if (!told)
            fprintf(stderr, "gtee-enclave: %s\n", err.msg);
        return 1;
    }
    return 0;
}
