/* Requests to the enclave that overlap (docs/tee.md §2): one reader thread reads the socket
 * and hands each answer, and each PROGRESS, to the caller waiting for its request id, so a
 * long job's request does not hold back evidence, grants or reads. Each request keeps its
 * own deadline, which its progress restarts; one that passes kills the enclave, and when
 * the stream ends every waiting caller gets its error at once. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "gtee/net.h"
#include "host/answer.h"

struct waiter {
    uint64_t id;
    int64_t deadline;                 /* gtee_net_clock_ms() time */
    void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr);
    void *arg;
    uint8_t *in;                      /* the answer, header and payload, once it came */
    size_t in_len;
    int done;
    int rc;                           /* != 0: failed without an answer (err says why) */
    struct gtee_err err;
    struct waiter *next;
};

struct gtee_enclave_mux {
    struct gtee_enclave_proc *p;
    pthread_mutex_t mu;               /* the list, dead, next_id, p->notice */
    pthread_mutex_t send_mu;          /* one whole message at a time on the socket */
    pthread_cond_t cv;                /* an answer came, or the stream ended */
    pthread_t reader;
    struct waiter *waiting;
    int dead;                         /* the stream ended: no request is sent any more */
    int timed_out;                    /* a request's bound passed: it killed the enclave */
    int dead_code;
    char dead_why[GTEE_ERR_MSG_MAX];
};

static unsigned timeout_ms(const struct gtee_enclave_mux *m)
{
    return m->p->timeout_ms ? m->p->timeout_ms : GTEE_ENCLAVE_TIMEOUT_MS;
}

static void unlink_waiter(struct gtee_enclave_mux *m, struct waiter *w)
{
    for (struct waiter **pp = &m->waiting; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

/* With m->mu held: the stream is over; every waiting caller gets why, now. */
static void end_stream(struct gtee_enclave_mux *m, int code, const char *why)
{
    if (!m->dead) {
        m->dead = 1;
        m->dead_code = code;
        snprintf(m->dead_why, sizeof(m->dead_why), "%s", why);
    }
    for (struct waiter *w = m->waiting; w; w = w->next) {
        w->done = 1;
        w->rc = m->dead_code;
        (void)GTEE_FAIL(&w->err, m->dead_code, "%s", m->dead_why);
    }
    m->waiting = NULL;
    pthread_cond_broadcast(&m->cv);
}

static struct waiter *find(struct gtee_enclave_mux *m, uint64_t id)
{
    for (struct waiter *w = m->waiting; w; w = w->next)
        if (w->id == id)
            return w;
    return NULL;
}

/* One message from the enclave, with m->mu held; 1 when the stream is over. */
static int dispatch(struct gtee_enclave_mux *m, uint8_t *in, size_t in_len, const struct gtee_msg_header *h)
{
    struct gtee_enclave_progress pr;
    struct waiter *w;

    if (h->type == (GTEE_MSG_NOTICE | GTEE_MSG_REPLY) && h->request_id == 0) {
        (void)gtee_err_escape(in + GTEE_MSG_HEADER_LEN, h->length, m->p->notice, sizeof(m->p->notice));
        free(in);
        return 0;
    }
    if (h->type == (GTEE_MSG_ERROR | GTEE_MSG_REPLY) && h->request_id == 0) {
        /* The enclave lost the stream, or could not start: it ends, and says why. */
        struct gtee_err err = { 0 };
        uint8_t *none = NULL;
        size_t none_len = 0;
        int rc = host_answer_take(in, h, 0, 0, &none, &none_len, &err);

        free(none);
        free(in);
        end_stream(m, rc < 0 ? rc : GTEE_EIO, err.msg);
        return 1;
    }
    w = find(m, h->request_id);
    if (!w) { /* nobody asked (a caller that gave up killed the enclave): dropped */
        free(in);
        return 0;
    }
    if (h->type == (GTEE_MSG_PROGRESS | GTEE_MSG_REPLY)) {
        int rc = gtee_enclave_progress_parse(in + GTEE_MSG_HEADER_LEN, h->length, &pr, &w->err);

        free(in);
        if (rc != 0) {
            w->rc = rc;
            w->done = 1;
            unlink_waiter(m, w);
            pthread_cond_broadcast(&m->cv);
            return 0;
        }
        /* Under the lock, so the waiter cannot leave meanwhile; the callback is short (the
         * node records it in its state store). */
        if (w->on_progress)
            w->on_progress(w->arg, &pr);
        w->deadline = gtee_net_clock_ms() + timeout_ms(m);
        return 0;
    }
    w->in = in;
    w->in_len = in_len;
    w->done = 1;
    unlink_waiter(m, w);
    pthread_cond_broadcast(&m->cv);
    return 0;
}

static void *reader(void *arg)
{
    struct gtee_enclave_mux *m = arg;

    for (;;) {
        struct gtee_err err = { 0 };
        struct gtee_msg_header h;
        uint8_t *in = NULL;
        size_t in_len = 0;
        int rc = gtee_msg_recv(m->p->fd, &in, &in_len, &err), over;

        if (rc == 0)
            rc = gtee_msg_header_parse(in, in_len, &h, &err);
        pthread_mutex_lock(&m->mu);
        if (rc != 0) {
            free(in);
            if (rc == GTEE_ENOTFOUND)
                end_stream(m, GTEE_EIO, "enclave: closed the connection (see its stderr)");
            else
                end_stream(m, rc, err.msg);
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
        over = dispatch(m, in, in_len, &h);
        pthread_mutex_unlock(&m->mu);
        if (over)
            return NULL;
    }
}

int gtee_enclave_mux_start(struct gtee_enclave_proc *p, struct gtee_enclave_mux **out, struct gtee_err *err)
{
    struct gtee_enclave_mux *m = calloc(1, sizeof(*m));
    pthread_condattr_t ca;

    *out = NULL;
    if (!m)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    m->p = p;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->send_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->reader, NULL, reader, m) != 0) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->send_mu);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return GTEE_FAIL(err, GTEE_EIO, "enclave: cannot start the thread that reads its answers");
    }
    *out = m;
    return 0;
}

static void deadline_ts(int64_t deadline_ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(deadline_ms / 1000);
    ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

/* A request sent and not yet answered (gtee_enclave_mux_send): its waiter stays listed
 * until the answer, the stream's end or gtee_enclave_mux_wait's bound. */
struct gtee_enclave_mux_req {
    struct waiter w;
    uint16_t type;
};

int gtee_enclave_mux_send(struct gtee_enclave_mux *m, uint16_t type, const void *payload, size_t len,
                          void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr), void *arg,
                          struct gtee_enclave_mux_req **out, struct gtee_err *err)
{
    struct gtee_enclave_mux_req *r = calloc(1, sizeof(*r));
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    int rc, sent;

    *out = NULL;
    if (!r)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    r->type = type;
    r->w.on_progress = on_progress;
    r->w.arg = arg;
    pthread_mutex_lock(&m->mu);
    if (m->dead) {
        rc = GTEE_FAIL(err, m->dead_code, "%s", m->dead_why);
        pthread_mutex_unlock(&m->mu);
        free(r);
        return rc;
    }
    r->w.id = m->p->next_id++;
    r->w.deadline = gtee_net_clock_ms() + timeout_ms(m);
    r->w.next = m->waiting;
    m->waiting = &r->w;
    pthread_mutex_unlock(&m->mu);

    rc = gtee_msg_encode(type, r->w.id, payload, len, &msg, &msg_len, err);
    if (rc == 0) {
        pthread_mutex_lock(&m->send_mu);
        sent = gtee_msg_send_deadline(m->p->fd, msg, msg_len, r->w.deadline, &r->w.err);
        pthread_mutex_unlock(&m->send_mu);
        /* A send that failed: the reader sees the stream end and says why (an enclave that
         * could not start sent its ERROR first); else the deadline passes in the wait. */
        (void)sent;
    }
    free(msg);
    if (rc != 0) { /* not sent */
        pthread_mutex_lock(&m->mu);
        if (!r->w.done)
            unlink_waiter(m, &r->w);
        pthread_mutex_unlock(&m->mu);
        free(r->w.in);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int gtee_enclave_mux_wait(struct gtee_enclave_mux *m, struct gtee_enclave_mux_req *r, uint8_t **reply,
                          size_t *reply_len, struct gtee_err *err)
{
    struct gtee_msg_header h;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    pthread_mutex_lock(&m->mu);
    while (!r->w.done) {
        struct timespec ts;

        if (gtee_net_clock_ms() >= r->w.deadline) {
            /* No answer within the bound: the enclave is killed, so no wait lasts longer,
             * and the reader then ends every other request at once. Whoever started it
             * reaps it (gtee_enclave_stop). */
            unlink_waiter(m, &r->w);
            m->timed_out = 1;
            if (m->p->pid > 0)
                (void)kill(m->p->pid, SIGKILL);
            pthread_mutex_unlock(&m->mu);
            free(r);
            return GTEE_FAIL(err, GTEE_EIO, "enclave: no answer within %u s (--enclave-timeout); stopped it",
                             (timeout_ms(m) + 999) / 1000);
        }
        deadline_ts(r->w.deadline, &ts);
        (void)pthread_cond_timedwait(&m->cv, &m->mu, &ts);
    }
    pthread_mutex_unlock(&m->mu);
    if (r->w.rc != 0) {
        *err = r->w.err;
        rc = r->w.rc;
    } else {
        rc = gtee_msg_header_parse(r->w.in, r->w.in_len, &h, err);
        if (rc == 0)
            rc = host_answer_take(r->w.in, &h, r->w.id, r->type, reply, reply_len, err);
    }
    free(r->w.in);
    free(r);
    return rc;
}

int gtee_enclave_mux_call(struct gtee_enclave_mux *m, uint16_t type, const void *payload, size_t len, uint8_t **reply,
                          size_t *reply_len, void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr),
                          void *arg, struct gtee_err *err)
{
    struct gtee_enclave_mux_req *r = NULL;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    TRY(gtee_enclave_mux_send(m, type, payload, len, on_progress, arg, &r, err));
    rc = gtee_enclave_mux_wait(m, r, reply, reply_len, err);
out:
    return rc;
}

int gtee_enclave_mux_timed_out(struct gtee_enclave_mux *m)
{
    int t;

    pthread_mutex_lock(&m->mu);
    t = m->timed_out;
    pthread_mutex_unlock(&m->mu);
    return t;
}

void gtee_enclave_mux_shutdown(struct gtee_enclave_mux *m, const char *why)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    end_stream(m, GTEE_EIO, why);
    pthread_mutex_unlock(&m->mu);
    /* The reader's blocking read ends (and so does a working enclave's). */
    (void)shutdown(m->p->fd, SHUT_RDWR);
}

void gtee_enclave_mux_free(struct gtee_enclave_mux *m)
{
    if (!m)
        return;
    gtee_enclave_mux_shutdown(m, "enclave: stopped");
    pthread_join(m->reader, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->send_mu);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
