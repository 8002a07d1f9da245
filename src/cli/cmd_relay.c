/* `gtee relay`: the node host's relay in front of an enclave application. It accepts clients
 * on --listen, opens a connection to the enclave's socket (--to) for each, and carries the
 * bytes both ways without being able to read them (they are TLS records of the attested
 * channel, docs/ratls.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/file.h"
#include "gtee/net.h"
#include "gtee/ratls_relay.h"

#define RELAY_ACTIVE_DEFAULT 512
#define RELAY_HANDSHAKE_DEFAULT 15 /* seconds; a handshake verifies evidence on both ends */
#define RELAY_IDLE_DEFAULT 300     /* seconds */

static const char usage[] =
    "Usage: gtee relay --listen HOST:PORT --to HOST:PORT [--max-clients N] [--port-file FILE]\n"
    "                  [--max-active N] [--handshake-timeout SECONDS] [--idle-timeout SECONDS]\n"
    "\n"
    "Relays TCP connections from clients to an enclave application's attested channel, as\n"
    "the node host does: every byte is part of a TLS 1.3 session between the client and the\n"
    "enclave, which the relay can neither read nor alter undetected. Runs until stopped, or\n"
    "until N clients have been served.\n"
    "\n"
    "A connection is relayed only once its first bytes are a TLS ClientHello; it must finish\n"
    "the handshake within the handshake timeout, and is closed after the idle timeout without\n"
    "a byte either way, or shortly after either end closes. Beyond --max-active connections,\n"
    "new ones are closed at once: no client waits on another.\n"
    "\n"
    "Options:\n"
    "      --listen HOST:PORT  where clients connect (PORT 0: any free port)\n"
    "      --to HOST:PORT      the enclave application's socket\n"
    "      --max-clients N     stop after N clients (default: no limit)\n"
    "      --port-file FILE    write the port listened on to FILE (useful with PORT 0)\n"
    "      --max-active N      connections relayed at once (default 512)\n"
    "      --handshake-timeout SECONDS\n"
    "                          from accept to the end of the TLS handshake (default 15)\n"
    "      --idle-timeout SECONDS\n"
    "                          close a connection silent both ways this long (default 300;\n"
    "                          0: never)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 done, 3 cannot listen, 2 usage.\n"
    "\n"
    "Example:\n"
    "  gtee relay --listen 0.0.0.0:7443 --to 127.0.0.1:9443\n";

static void log_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "gtee: relay: %s\n", line);
}

/* Each connection holds two descriptors: raise the soft limit toward what max_active needs. */
static int fit_descriptors(unsigned *max_active, int explicit_max)
{
    struct rlimit rl;
    rlim_t want = 2 * (rlim_t)*max_active + 32;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want)
        return 0;
    if (explicit_max || rl.rlim_cur < 34)
        return cli_fail(GTEE_EIO, "--max-active %u needs %llu open files; the limit is %llu", *max_active,
                        (unsigned long long)want, (unsigned long long)rl.rlim_cur);
    *max_active = (unsigned)((rl.rlim_cur - 32) / 2);
    fprintf(stderr, "gtee: relay: at most %u connections at once (open files limited to %llu)\n", *max_active,
            (unsigned long long)rl.rlim_cur);
    return 0;
}

/* Through the output helper: a reader never sees half a number, and a link planted beside
 * the port file is never followed. A restart replaces the file of the last run. */
static int write_port(const char *path, uint16_t port)
{
    struct gtee_err err = {0};
    char line[16];
    int n = snprintf(line, sizeof(line), "%u\n", port), rc;

    rc = gtee_file_write(path, line, (size_t)n, 0600, GTEE_FILE_REPLACE, &err);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

static int run_relay(const char *listen_at, struct gtee_ratls_relay *o, int explicit_max, const char *port_file)
{
    struct gtee_err err = {0};
    uint16_t port = 0;
    int lfd = -1, rc;

    if ((rc = fit_descriptors(&o->max_active, explicit_max)) != 0)
        return rc;
    /* A deep backlog (the kernel caps it at net.core.somaxconn): under a flood, a connection
     * the queue had no room for looks open to its client but is never accepted. */
    if ((rc = gtee_net_listen(listen_at, SOMAXCONN, &lfd, &port, &err)) < 0)
        return cli_fail_err(rc, &err);
    if (port_file && (rc = write_port(port_file, port)) != 0) {
        close(lfd);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "gtee: relay: %s:%u -> %s\n", listen_at, port, o->to);
    rc = gtee_ratls_relay_serve(lfd, o, &err);
    close(lfd);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

/* A whole number from min to max, for option opt. */
static int parse_num(const char *opt, const char *s, unsigned long min, unsigned long max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || s[0] < '0' || s[0] > '9' || v < min || v > max)
        return cli_usage_error("%s: expected a number from %lu to %lu, got '%s'", opt, min, max, s);
    *out = (unsigned)v;
    return 0;
}

int cmd_relay(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },      { "to", required_argument, NULL, 't' },
        { "max-clients", required_argument, NULL, 'm' }, { "port-file", required_argument, NULL, 'p' },
        { "max-active", required_argument, NULL, 'a' }, { "handshake-timeout", required_argument, NULL, 'H' },
        { "idle-timeout", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *listen_at = NULL, *port_file = NULL;
    struct gtee_ratls_relay o = { .max_active = RELAY_ACTIVE_DEFAULT, .handshake_ms = RELAY_HANDSHAKE_DEFAULT * 1000,
                                  .idle_ms = RELAY_IDLE_DEFAULT * 1000, .log = log_line };
    unsigned v;
    int c, rc, explicit_max = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_at = optarg; break;
        case 't': o.to = optarg; break;
        case 'p': port_file = optarg; break;
        case 'm':
            if ((rc = parse_num("--max-clients", optarg, 0, 1000000, &o.max_clients)) != 0)
                return rc;
            break;
        case 'a':
            if ((rc = parse_num("--max-active", optarg, 1, GTEE_RATLS_RELAY_ACTIVE_MAX, &o.max_active)) != 0)
                return rc;
            explicit_max = 1;
            break;
        case 'H':
            if ((rc = parse_num("--handshake-timeout", optarg, 1, 3600, &v)) != 0)
                return rc;
            o.handshake_ms = v * 1000;
            break;
        case 'i':
            if ((rc = parse_num("--idle-timeout", optarg, 0, 86400, &v)) != 0)
                return rc;
            o.idle_ms = v * 1000;
            break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!listen_at || !o.to)
        return cli_usage_error("--listen and --to are required");
    return run_relay(listen_at, &o, explicit_max, port_file);
}
