/* gtee-enclave: the enclave process, an application of the SDK's one runtime. Started by the
 * host (src/host/launch.c) with one socket (read from --fd, written to --out-fd: under
 * Gramine, stdin and stdout). gtee_app_open hardens it, measures it, opens its TEE backend
 * and derives its keys (on TDX through the key-release service named by --key-release) and
 * loads the seccomp list; then it answers the host's messages until the host closes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enclave/enclave.h"
#include "gtee/ml.h"
#include "gtee/msg.h"
#include "gtee/sdk.h"

struct args {
    int fd, out_fd;
    struct gtee_app_options o;
};

static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        { "fd", required_argument, NULL, 'f' },      { "tee", required_argument, NULL, 't' },
        { "root", required_argument, NULL, 'r' },    { "sim-dir", required_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' },  { "sim-quote-version", required_argument, NULL, 'q' },
        { "out-fd", required_argument, NULL, 'o' },  { "gramine", no_argument, NULL, 'g' },
        { "key-release", required_argument, NULL, 'k' }, { "key-release-pub", required_argument, NULL, 'p' },
        { "allow-jit", no_argument, NULL, 'j' },     { "memory-limit", required_argument, NULL, 'm' },
        { "gpus", required_argument, NULL, 'G' },    { "gpu-library", required_argument, NULL, 'L' },
        { NULL, 0, NULL, 0 },
    };
    char *end;
    int c;

    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->out_fd = -1;
    a->o.config = "";
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': a->fd = atoi(optarg); break;
        case 't': a->o.tee = optarg; break;
        case 'r': a->o.root = optarg; break;
        case 's': a->o.sim_dir = optarg; break;
        case 'c': a->o.config = optarg; break;
        case 'q': a->o.sim_quote_version = atoi(optarg); break;
        case 'o': a->out_fd = atoi(optarg); break;
        case 'g': a->o.gramine = 1; break;
        case 'k': a->o.key_release = optarg; break;
        case 'p': a->o.key_release_pub = optarg; break;
        case 'j': a->o.allow |= GTEE_APP_ALLOW_JIT; break;
        case 'm':
            a->o.memory_limit = strtoull(optarg, &end, 10);
            if (*end || !*optarg || a->o.memory_limit == 0)
                return -1;
            break;
        case 'G': {
            unsigned long g = strtoul(optarg, &end, 10);

            /* the SDK names what is wrong with a count it refuses (0, past GTEE_APP_GPUS_MAX) */
            if (*end || !*optarg || g > 255)
                return -1;
            a->o.gpus = (unsigned)g;
            break;
        }
        case 'L': a->o.gpu_library = optarg; break;
        default: return -1;
        }
    }
    if (a->out_fd < 0)
        a->out_fd = a->fd;
    return (a->fd >= 0 && a->o.tee && optind == argc) ? 0 : -1;
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

/* struct enc's send (under its send lock): answers, and a job's PROGRESS between its
 * request and its answer, from the main loop or the job's thread.
 * A send that fails means the host's end of the channel is gone (it died, or gave up on us):
 * nobody is left to take the answer of the job in hand, so the enclave ends now rather than
 * computing on until the request is done. The host's death also kills it outright
 * (PR_SET_PDEATHSIG, set by the launcher); this covers an enclave whose host closed the
 * channel without dying, and a host the kernel could not tie to it. */
static int send_now(void *arg, const uint8_t *msg, size_t len)
{
    if (gtee_msg_send(*(int *)arg, msg, len, NULL) != 0)
        _exit(3);
    return 0;
}

static int serve(struct enc *e, int fd, struct gtee_err *err)
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
                enc_send(e, reply, reply_len) != 0)
                rc = GTEE_EIO; /* the host is gone as well */
            free(reply);
            return rc;
        }
        fatal = enc_handle(e, msg, len, &reply, &reply_len);
        free(msg);
        if (fatal < 0)
            return GTEE_FAIL(err, fatal, "enclave: out of memory");
        /* no reply: a job's thread answers when the job ends */
        rc = reply ? enc_send(e, reply, reply_len) : 0;
        if (rc < 0)
            rc = GTEE_FAIL(err, rc, "enclave: cannot send to the host");
        free(reply);
        if (rc < 0 || fatal)
            return rc < 0 ? rc : GTEE_EFORMAT;
    }
}

int main(int argc, char **argv)
{
    struct gtee_app *app = NULL;
    struct enc *e = NULL;
    struct gtee_err err = {0};
    struct args a;
    int rc, told = 0;

    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: gtee-enclave --fd N [--out-fd N] --tee sim|sgx|tdx|snp|auto [--root DIR] "
                        "[--sim-dir DIR] [--sim-quote-version 3|4] [--config TEXT] [--gramine] "
                        "[--key-release HOST:PORT --key-release-pub HEX] [--allow-jit] [--memory-limit BYTES]\n"
                        "                   [--gpus N [--gpu-library PATH]]\n");
        return 2;
    }
    /* The ML engine's library is loaded while loading code is still allowed; everything
     * from hardening to the seccomp list is the runtime's (docs/tee.md §8). */
    rc = gtee_ml_prepare(&err);
    if (rc == 0)
        rc = gtee_app_open(&a.o, &app, &err);
    if (rc == 0 && gtee_app_hardening_note(app)[0])
        notice(a.out_fd, gtee_app_hardening_note(app));
    if (rc == 0)
        rc = enc_new(app, &e, &err);
    if (rc == 0) {
        e->send = send_now;
        e->send_arg = &a.out_fd;
        rc = serve(e, a.fd, &err);
    } else {
        /* Tell the host why we cannot serve: an unsolicited ERROR it reads as the answer
         * to its first request. */
        uint8_t *msg = NULL;
        size_t msg_len = 0;

        told = gtee_msg_encode_error(0, err.code ? err.code : rc, err.msg, &msg, &msg_len, NULL) == 0 &&
               gtee_msg_send(a.out_fd, msg, msg_len, NULL) == 0;
        free(msg);
    }
    enc_free(e);
    gtee_app_close(app);
    if (rc != 0) {
        /* stderr is the host's to read: the message names what failed, never secret values.
         * Options that do not go together are a usage error (exit 2), said on stderr too. */
        if (!told || rc == GTEE_EINVAL)
            fprintf(stderr, "gtee-enclave: %s\n", err.msg);
        return rc == GTEE_EINVAL ? 2 : 1;
    }
    return 0;
}
