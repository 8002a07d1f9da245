/* `gtee relay`: the node host's relay in front of an enclave application. It accepts clients
 * on --listen, opens a connection to the enclave's socket (--to) for each, and carries the
 * bytes both ways without being able to read them (they are TLS records of the attested
 * channel, docs/ratls.md). */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/file.h"
#include "gtee/net.h"
#include "gtee/ratls.h"
#include "gtee/sdk.h"

#define RELAY_MAX_ACTIVE 64

static const char usage[] =
    "Usage: gtee relay --listen HOST:PORT --to HOST:PORT [--max-clients N] [--port-file FILE]\n"
    "\n"
    "Relays TCP connections from clients to an enclave application's attested channel, as\n"
    "the node host does: every byte is part of a TLS 1.3 session between the client and the\n"
    "enclave, which the relay can neither read nor alter undetected. Runs until stopped, or\n"
    "until N clients have been served.\n"
    "\n"
    "Options:\n"
    "      --listen HOST:PORT  where clients connect (PORT 0: any free port)\n"
    "      --to HOST:PORT      the enclave application's socket\n"
    "      --max-clients N     stop after N clients (default: no limit)\n"
    "      --port-file FILE    write the port listened on to FILE (useful with PORT 0)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 done, 3 cannot listen, 2 usage.\n"
    "\n"
    "Example:\n"
    "  gtee relay --listen 0.0.0.0:7443 --to 127.0.0.1:9443\n";

struct relay_ctx {
    const char *to;
    pthread_mutex_t lock;
    pthread_cond_t done;
    int active;
};

struct conn {
    struct relay_ctx *r;
    int client;
};

static void *serve_conn(void *arg)
{
    struct conn *c = arg;
    struct relay_ctx *r = c->r;
    struct gtee_err err = {0};
    int enclave;

    /* No I/O timeout: a relayed session may stay idle as long as its two ends wish. */
    if (gtee_net_dial(r->to, 10000, 0, &enclave, &err) == 0) {
        if (gtee_ratls_pump(c->client, enclave, NULL, NULL, &err) != 0)
            fprintf(stderr, "gtee: relay: %s\n", err.msg);
        close(enclave);
    } else {
        fprintf(stderr, "gtee: relay: the enclave's socket: %s\n", err.msg);
    }
    close(c->client);
    free(c);
    pthread_mutex_lock(&r->lock);
    r->active--;
    pthread_cond_signal(&r->done);
    pthread_mutex_unlock(&r->lock);
    return NULL;
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

static int run_relay(const char *listen_at, const char *to, unsigned max_clients, const char *port_file)
{
    struct relay_ctx r = { .to = to };
    struct gtee_err err = {0};
    uint16_t port = 0;
    int lfd = -1, rc;

    if ((rc = gtee_app_listen(listen_at, &lfd, &port, &err)) < 0)
        return cli_fail_err(rc, &err);
    if (port_file && (rc = write_port(port_file, port)) != 0) {
        close(lfd);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.done, NULL);
    fprintf(stderr, "gtee: relay: %s:%u -> %s\n", listen_at, port, to);
    for (unsigned served = 0; max_clients == 0 || served < max_clients;) {
        struct conn *c;
        pthread_t th;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0)
            break;
        served++;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = malloc(sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->r = &r;
        c->client = fd;
        pthread_mutex_lock(&r.lock);
        while (r.active >= RELAY_MAX_ACTIVE) /* bounded: a flood waits, it does not exhaust us */
            pthread_cond_wait(&r.done, &r.lock);
        r.active++;
        pthread_mutex_unlock(&r.lock);
        if (pthread_create(&th, NULL, serve_conn, c) != 0) {
            close(fd);
            free(c);
            pthread_mutex_lock(&r.lock);
            r.active--;
            pthread_mutex_unlock(&r.lock);
            continue;
        }
        pthread_detach(th);
    }
    close(lfd);
    pthread_mutex_lock(&r.lock);
    while (r.active > 0)
        pthread_cond_wait(&r.done, &r.lock);
    pthread_mutex_unlock(&r.lock);
    return 0;
}

int cmd_relay(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },      { "to", required_argument, NULL, 't' },
        { "max-clients", required_argument, NULL, 'm' }, { "port-file", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },              { NULL, 0, NULL, 0 },
    };
    const char *listen_at = NULL, *to = NULL, *port_file = NULL;
    unsigned long max_clients = 0;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_at = optarg; break;
        case 't': to = optarg; break;
        case 'p': port_file = optarg; break;
        case 'm':
            errno = 0;
            max_clients = strtoul(optarg, &end, 10);
            if (errno || *end || max_clients > 1000000)
                return cli_usage_error("--max-clients: expected a number, got '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!listen_at || !to)
        return cli_usage_error("--listen and --to are required");
    return run_relay(listen_at, to, (unsigned)max_clients, port_file);
}
