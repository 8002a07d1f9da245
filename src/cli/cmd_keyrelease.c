/* `gtee keyrelease init FILE` creates the TDX key-release service's master secret;
 * `gtee keyrelease serve` answers key requests on a TCP port (docs/tee.md §4.3.1). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtee/crypto.h"

#include "base/guard.h"
#include "gtee/file.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"
#include "gtee/net.h"
#include "gtee/tee.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char init_usage[] =
    "Usage: gtee keyrelease init FILE\n"
    "\n"
    "Writes a fresh 32-byte master secret for the TDX key-release service to FILE (a new\n"
    "file, mode 0600; an existing FILE is never overwritten). Every TDX Enclave key the\n"
    "service releases is derived from it and the TD's measurement (docs/tee.md §4.3.1):\n"
    "whoever reads FILE can compute them all, and losing it loses every TDX Enclave ID.\n"
    "Prints the service key, derived from the secret: TDs pin it (--key-release-pub HEX\n"
    "in their measured configuration) and accept answers sealed with it only.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

/* "service key: <130 hex digits>": what an operator pins in the TD's configuration. */
static int print_service_key(const uint8_t master[GTEE_KR_SECRET_LEN], struct gtee_err *err)
{
    uint8_t priv[32], pub[GTEE_KR_PUB_LEN];
    char hex[2 * GTEE_KR_PUB_LEN + 1];
    int rc = gtee_kr_service_key(master, priv, pub, err);

    gtee_wipe(priv, sizeof(priv));
    if (rc < 0)
        return rc;
    gtee_hex_encode(pub, sizeof(pub), hex);
    printf("service key: %s\n", hex);
    return 0;
}

static int kr_init(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    uint8_t master[GTEE_KR_SECRET_LEN];
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return cli_help(init_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (the master secret file to create)");
    rc = gtee_kr_secret_init(argv[optind], &err);
    if (rc == 0)
        rc = gtee_kr_secret_load(argv[optind], master, &err);
    if (rc == 0) {
        printf("master secret written to %s (mode 0600)\n", argv[optind]);
        rc = print_service_key(master, &err);
    }
    gtee_wipe(master, sizeof(master));
    if (rc < 0)
        return cli_fail_err(rc, &err);
    return 0;
}

static const char serve_usage[] =
    "Usage: gtee keyrelease serve --secret FILE --collateral DIR --listen ADDR:PORT\n"
    "                             [--policy FILE] [--sim-root FILE] [--once]\n"
    "                             [--max-sessions N] [--session-timeout SECONDS]\n"
    "\n"
    "Answers TDX key requests (docs/tee.md §4.3.1) on a TCP address: verifies each\n"
    "TD quote against the collateral in DIR and the policy (default: the strict one, no\n"
    "simulation), checks that it binds the request's ephemeral key, and returns the key for\n"
    "the TD's measurement encrypted to that key. Port 0 picks a free port; the address in\n"
    "use is printed as \"listening on ADDR:PORT\", then the service key TDs pin as\n"
    "\"service key: HEX\". Refusals are logged with their reason. Up to N clients are\n"
    "served at once (more wait their turn); each connection is closed SECONDS after it was\n"
    "accepted at the latest, however it paces its bytes.\n"
    "\n"
    "Options:\n"
    "      --secret FILE      the master secret (gtee keyrelease init; mode 0600)\n"
    "      --collateral DIR   TDX collateral (docs/evidence.md, \"Collateral files\")\n"
    "      --policy FILE      policy JSON (docs/policy.md)\n"
    "      --sim-root FILE    trust this SIMULATED root (DER); the policy must allow simulation\n"
    "      --listen ADDR:PORT address and port (a name, IPv4, or [IPv6]; PORT 0: any free port)\n"
    "      --once             answer one connection, then exit (its status)\n"
    "      --max-sessions N   connections served at once (default 16, at most 1024)\n"
    "      --session-timeout SECONDS\n"
    "                         each connection's whole time, from accept to answer\n"
    "                         (default 30, as long as a TD waits)\n"
    "  -h, --help             show this help\n";

struct kr_server {
    struct gtee_kr_service *svc; /* read-only while serving: sessions share it unlocked */
    int last_rc;                 /* --once: the one session's result */
    struct gtee_err last_err;
};

static int kr_session(void *arg, int fd, struct gtee_err *err)
{
    struct kr_server *k = arg;

    return gtee_kr_wire_serve_one(k->svc, fd, err);
}

static void kr_report(void *arg, int rc, const struct gtee_err *err)
{
    struct kr_server *k = arg;

    if (rc < 0)
        fprintf(stderr, "gtee keyrelease: refused: %s\n", err->msg);
    else
        fprintf(stderr, "gtee keyrelease: key released\n");
    k->last_rc = rc; /* read after gtee_net_serve returns, which waits for every session */
    k->last_err = *err;
}

/* "--max-sessions N" / "--session-timeout S": a whole number from 1 to max. */
static int parse_count(const char *opt, const char *s, unsigned long max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || s[0] < '0' || s[0] > '9' || v == 0 || v > max)
        return cli_usage_error("%s: expected a number from 1 to %lu, got '%s'", opt, max, s);
    *out = (unsigned)v;
    return 0;
}

static int kr_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "secret", required_argument, NULL, 's' },   { "collateral", required_argument, NULL, 'c' },
        { "policy", required_argument, NULL, 'p' },   { "sim-root", required_argument, NULL, 'r' },
        { "listen", required_argument, NULL, 'l' },   { "once", no_argument, NULL, 'o' },
        { "max-sessions", required_argument, NULL, 'm' }, { "session-timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    struct kr_server k = { 0 };
    struct gtee_net_server srv = { .max_active = 16, .session_ms = GTEE_KR_TCP_IO_MS, .session = kr_session,
                                   .report = kr_report, .arg = &k };
    unsigned secs = 0;
    const char *secret = NULL, *listen_spec = NULL, *policy_file = NULL;
    struct gtee_kr_config cfg = { 0 };
    struct gtee_kr_service *svc = NULL;
    struct gtee_err err = { 0 };
    uint8_t master[GTEE_KR_SECRET_LEN];
    char host[GTEE_NET_HOST_MAX];
    uint8_t *policy = NULL;
    size_t policy_len = 0;
    uint16_t port = 0;
    int c, rc, once = 0, lfd = -1;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': secret = optarg; break;
        case 'c': cfg.collateral_dir = optarg; break;
        case 'p': policy_file = optarg; break;
        case 'r': cfg.sim_root_file = optarg; break;
        case 'l': listen_spec = optarg; break;
        case 'o': once = 1; break;
        case 'm':
            if ((rc = parse_count("--max-sessions", optarg, GTEE_NET_ACTIVE_MAX, &srv.max_active)) != 0)
                return rc;
            break;
        case 't':
            if ((rc = parse_count("--session-timeout", optarg, 86400, &secs)) != 0)
                return rc;
            srv.session_ms = secs * 1000u;
            break;
        case 'h': return cli_help(serve_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc || !secret || !cfg.collateral_dir || !listen_spec)
        return cli_usage_error("serve needs --secret FILE, --collateral DIR and --listen ADDR:PORT");
    /* The socket first (a port below 1024 needs the capability the hardening drops), then
     * the hardening gtee-enclave has, before the master secret is read: not dumpable (no
     * /proc/<pid>/mem for the same user), no capabilities, the environment cleared. */
    if ((rc = gtee_net_split(listen_spec, 1, host, &port, &err)) < 0 ||
        (rc = gtee_net_listen(listen_spec, 16, &lfd, &port, &err)) < 0)
        return rc == GTEE_EINVAL ? cli_usage_error("--listen: %s", err.msg) : cli_fail_err(rc, &err);
    if ((rc = gtee_tee_harden(&err)) < 0) {
        close(lfd);
        return cli_fail_err(rc, &err);
    }
    rc = gtee_kr_secret_load(secret, master, &err);
    /* A FIFO or device as --policy fails at once instead of blocking the service. */
    if (rc == 0 && policy_file)
        rc = gtee_file_read(policy_file, 1 << 20, &policy, &policy_len, &err);
    if (rc == 0) {
        cfg.master = master;
        cfg.policy_json = (const char *)policy; /* NUL-terminated by gtee_file_read */
        rc = gtee_kr_service_new(&cfg, &svc, &err);
    }
    free(policy);
    /* Start-up is over: from here the service accepts, reads and answers requests (with
     * worker threads), so the allow-list is loaded before any thread exists. */
    if (rc == 0)
        rc = gtee_tee_seccomp(GTEE_HARDEN_SERVICE, &err);
    if (rc < 0) {
        gtee_wipe(master, sizeof(master));
        gtee_kr_service_free(svc);
        close(lfd);
        return cli_fail_err(rc, &err);
    }
    signal(SIGPIPE, SIG_IGN);
    printf(strchr(host, ':') ? "listening on [%s]:%u\n" : "listening on %s:%u\n", host, (unsigned)port);
    rc = print_service_key(master, &err);
    gtee_wipe(master, sizeof(master));
    if (rc < 0) {
        close(lfd);
        gtee_kr_service_free(svc);
        return cli_fail_err(rc, &err);
    }
    fflush(stdout);
    /* Requests are served side by side: one TD, or anyone, that is slow to send its request
     * cannot keep the others waiting longer than its own session's deadline. */
    k.svc = svc;
    srv.max_clients = once ? 1 : 0;
    rc = gtee_net_serve(lfd, &srv, &err);
    if (rc == 0 && once) {
        rc = k.last_rc;
        err = k.last_err;
    }
    close(lfd);
    gtee_kr_service_free(svc);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

static const struct cli_cmd kr_commands[] = {
    { "init", "Create the TDX key-release service's master secret file (mode 0600)", kr_init },
    { "serve", "Answer TDX key requests on a TCP port (verify quote, release the measurement's key)", kr_serve },
};

int cmd_keyrelease(int argc, char **argv)
{
    return cli_dispatch(kr_commands, GTEE_ARRAY_LEN(kr_commands), argc, argv);
}
