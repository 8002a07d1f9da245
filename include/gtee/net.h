/* TCP endpoints named "HOST:PORT": the one parser of such strings and the one place that
 * dials and listens, for the CLI, the SDK and the services. HOST is a name, an IPv4 address
 * or a bracketed IPv6 address ("[::1]:8443"); PORT is decimal, 1 to 65535 (0 as well when
 * listening: the kernel picks one). */
#ifndef GTEE_NET_H
#define GTEE_NET_H

#include <stdint.h>

#include "gtee/err.h"

#define GTEE_NET_HOST_MAX 256

/* Splits hostport into host (brackets removed) and port. When listening, an empty HOST (every
 * interface) and port 0 (any free port) are accepted too. GTEE_EINVAL naming the string
 * otherwise. */
int gtee_net_split(const char *hostport, int listening, char host[GTEE_NET_HOST_MAX], uint16_t *port,
                   struct gtee_err *err) GTEE_MUST_USE;

/* Connects a TCP socket to hostport, trying each address the name resolves to, each within
 * connect_ms milliseconds (0: the kernel's own timeout). io_ms > 0 also sets receive and
 * send timeouts on the socket; 0 leaves them unset (long-lived streams such as a relay).
 * TCP_NODELAY is set: the project's protocols send small records and wait for answers.
 * *fd is a blocking, close-on-exec socket. GTEE_EINVAL (bad string), GTEE_EIO (cannot
 * resolve, refused, timed out: the message names the address and the cause). */
int gtee_net_dial(const char *hostport, int connect_ms, int io_ms, int *fd, struct gtee_err *err) GTEE_MUST_USE;

/* Binds and listens on hostport (empty HOST: every interface), SO_REUSEADDR, close-on-exec;
 * *port (if non-NULL) receives the bound port, useful with port 0. */
int gtee_net_listen(const char *hostport, int backlog, int *fd, uint16_t *port, struct gtee_err *err) GTEE_MUST_USE;

/* A bounded concurrent TCP server, for services whose clients must not wait on each other
 * (the SDK's gtee_app_serve, `gtee keyrelease serve`). Each accepted connection is served by
 * session() on a thread of its own, at most max_active at once; while all are busy, further
 * clients wait in the listen backlog, which a session's deadline bounds. session_ms is the
 * whole session's deadline, counted from accept, not reset by traffic: when it passes, the
 * socket is shut down, so the session's blocked read or write fails and its thread ends.
 * report (may be NULL) is called after each session, from its thread, with session()'s
 * result (a session cut at its deadline: GTEE_EIO, saying so). Returns after max_clients
 * sessions (0: never) have ended, or GTEE_EIO if accepting fails. */
#define GTEE_NET_ACTIVE_MAX 1024
struct gtee_net_server {
    unsigned max_active;                                   /* 1..GTEE_NET_ACTIVE_MAX */
    unsigned max_clients;                                  /* 0: no limit */
    unsigned session_ms;                                   /* 0: no deadline */
    int (*session)(void *arg, int fd, struct gtee_err *err); /* fd stays the server's */
    void (*report)(void *arg, int rc, const struct gtee_err *err);
    void *arg;
};
int gtee_net_serve(int listen_fd, const struct gtee_net_server *srv, struct gtee_err *err) GTEE_MUST_USE;

/* Milliseconds on CLOCK_MONOTONIC: the one clock every deadline of the project's waits on
 * peers, children and files is measured on. */
int64_t gtee_net_clock_ms(void);

#endif
