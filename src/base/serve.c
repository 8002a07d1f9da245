/* The bounded concurrent server of include/gtee/net.h: a thread per session, at most
 * max_active at once, and a total deadline per session that the accept loop enforces by
 * shutting the late session's socket down (which wakes whatever read or write it blocks in:
 * a client that sends a byte now and then gains nothing). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/net.h"

/* How often the accept loop looks for sessions past their deadline: a session is cut at
 * most this late. */
#define REAP_MS 100

struct slot {
    int fd;          /* -1: free */
    int cut;         /* shut down at its deadline */
    int64_t deadline; /* CLOCK_MONOTONIC ms; 0: none */
};

struct server {
    const struct gtee_net_server *srv;
    pthread_mutex_t lock;
    unsigned active;
    struct slot *slots;
};

struct job {
    struct server *s;
    unsigned idx;
};

static void *session_main(void *p)
{
    struct job j = *(struct job *)p;
    struct server *s = j.s;
    struct slot *sl = &s->slots[j.idx];
    struct gtee_err err = {0};
    int rc, cut;

    free(p);
    rc = s->srv->session(s->srv->arg, sl->fd, &err); /* sl->fd is fixed while the slot is ours */
    pthread_mutex_lock(&s->lock);
    cut = sl->cut;
    pthread_mutex_unlock(&s->lock);
    if (cut) {
        char why[GTEE_ERR_MSG_MAX];

        snprintf(why, sizeof(why), "%s", err.msg[0] ? err.msg : "no error");
        rc = GTEE_FAIL(&err, GTEE_EIO, "session cut at its %u ms deadline (%.200s)", s->srv->session_ms, why);
    }
    if (s->srv->report)
        s->srv->report(s->srv->arg, rc, &err);
    /* Closed under the lock, so the reaper never shuts down a descriptor number reused since. */
    pthread_mutex_lock(&s->lock);
    close(sl->fd);
    sl->fd = -1;
    s->active--;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void reap(struct server *s)
{
    int64_t now = gtee_net_clock_ms();

    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->srv->max_active; i++) {
        struct slot *sl = &s->slots[i];

        if (sl->fd >= 0 && sl->deadline && !sl->cut && now >= sl->deadline) {
            (void)shutdown(sl->fd, SHUT_RDWR);
            sl->cut = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static unsigned active_now(struct server *s)
{
    unsigned a;

    pthread_mutex_lock(&s->lock);
    a = s->active;
    pthread_mutex_unlock(&s->lock);
    return a;
}

/* Starts a session on fd in a free slot (the caller saw one). 0, or an error (fd closed). */
static int start(struct server *s, int fd, pthread_attr_t *attr, struct gtee_err *err)
{
    struct job *j = malloc(sizeof(*j));
    pthread_t th;
    unsigned i = 0;

    if (!j) {
        close(fd);
        return GTEE_FAIL(err, GTEE_ENOMEM, "server: out of memory for a session");
    }
    pthread_mutex_lock(&s->lock);
    while (s->slots[i].fd >= 0)
        i++;
    s->slots[i] = (struct slot){ .fd = fd, .deadline = s->srv->session_ms ? gtee_net_clock_ms() + s->srv->session_ms : 0 };
    s->active++;
    pthread_mutex_unlock(&s->lock);
    *j = (struct job){ .s = s, .idx = i };
    if (pthread_create(&th, attr, session_main, j) != 0) {
        free(j);
        pthread_mutex_lock(&s->lock);
        close(fd);
        s->slots[i].fd = -1;
        s->active--;
        pthread_mutex_unlock(&s->lock);
        return GTEE_FAIL(err, GTEE_ENOMEM, "server: cannot start a session thread");
    }
    return 0;
}

int gtee_net_serve(int listen_fd, const struct gtee_net_server *srv, struct gtee_err *err)
{
    struct server s = { .srv = srv };
    pthread_attr_t attr;
    unsigned started = 0;
    int flags = -1, rc = GTEE_EINVAL, attr_ok = 0, lock_ok = 0;

    ENSURE(srv && srv->session && srv->max_active >= 1 && srv->max_active <= GTEE_NET_ACTIVE_MAX, err, GTEE_EINVAL,
           "server: between 1 and %d sessions at once", GTEE_NET_ACTIVE_MAX);
    s.slots = calloc(srv->max_active, sizeof(*s.slots));
    ENSURE(s.slots, err, GTEE_ENOMEM, "server: out of memory");
    for (unsigned i = 0; i < srv->max_active; i++)
        s.slots[i].fd = -1;
    ENSURE(pthread_mutex_init(&s.lock, NULL) == 0, err, GTEE_ENOMEM, "server: cannot make a lock");
    lock_ok = 1;
    ENSURE(pthread_attr_init(&attr) == 0, err, GTEE_ENOMEM, "server: cannot make thread attributes");
    attr_ok = 1;
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Non-blocking, so a connection that vanishes between poll and accept cannot stall the
     * loop that enforces the deadlines. */
    flags = fcntl(listen_fd, F_GETFL);
    ENSURE(flags >= 0 && fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == 0, err, GTEE_EIO,
           "server: bad listening descriptor (%s)", strerror(errno));
    rc = 0;
    while (srv->max_clients == 0 || started < srv->max_clients) {
        /* All sessions busy: leave new clients in the backlog until one ends. */
        struct pollfd p = { .fd = active_now(&s) < srv->max_active ? listen_fd : -1, .events = POLLIN };
        int n = poll(&p, 1, REAP_MS), fd;

        reap(&s);
        if (n < 0 && errno != EINTR) {
            rc = GTEE_FAIL(err, GTEE_EIO, "server: poll failed (%s)", strerror(errno));
            break;
        }
        if (n <= 0 || !(p.revents & POLLIN))
            continue;
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                (void)poll(NULL, 0, REAP_MS); /* out of descriptors: wait for sessions to end */
            else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
                rc = GTEE_FAIL(err, GTEE_EIO, "server: accept failed (%s)", strerror(errno));
                break;
            }
            continue;
        }
        {
            struct gtee_err serr = {0};
            int src = start(&s, fd, &attr, &serr);

            if (src == 0)
                started++;
            else if (srv->report)
                srv->report(srv->arg, src, &serr);
        }
    }
    /* Wait for the sessions still running; their deadlines still hold. */
    while (active_now(&s) > 0) {
        reap(&s);
        (void)poll(NULL, 0, REAP_MS / 4);
    }
out:
    if (flags >= 0)
        (void)fcntl(listen_fd, F_SETFL, flags);
    if (attr_ok)
        pthread_attr_destroy(&attr);
    if (lock_ok)
        pthread_mutex_destroy(&s.lock);
    free(s.slots);
    return rc;
}
