/* Long polls on a job (watch.h). The waiting requests are a short list under one mutex;
 * a job's change resumes those on it, and one thread resumes those whose deadline passed.
 * libmicrohttpd's resume is safe from any thread (the daemon runs with MHD_USE_ITC). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "node/watch.h"

struct waiter {
    struct MHD_Connection *c;
    char id[65];
    struct timespec deadline;  /* CLOCK_MONOTONIC */
};

struct gtee_node_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* a new waiter, or stop */
    pthread_t timer;
    int stopping;
    size_t n;
    struct waiter w[GTEE_NODE_WATCH_MAX];
};

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Under mu: resumes waiter i and drops it from the list (the last one takes its place). */
static void fire(struct gtee_node_watch *w, size_t i)
{
    struct MHD_Connection *c = w->w[i].c;

    w->w[i] = w->w[--w->n];
    MHD_resume_connection(c);
}

static void *timer_main(void *arg)
{
    struct gtee_node_watch *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        struct timespec now, next;
        int any = 0;

        clock_gettime(CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < w->n;) {
            if (!before(&now, &w->w[i].deadline)) {
                fire(w, i);
                continue;
            }
            if (!any || before(&w->w[i].deadline, &next))
                next = w->w[i].deadline;
            any = 1;
            i++;
        }
        if (any)
            (void)pthread_cond_timedwait(&w->cv, &w->mu, &next);
        else
            (void)pthread_cond_wait(&w->cv, &w->mu);
    }
    while (w->n)
        fire(w, 0);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int gtee_node_watch_start(struct gtee_node_watch **out, struct gtee_err *err)
{
    struct gtee_node_watch *w = calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    int rc = 0;

    *out = NULL;
    ENSURE(w, err, GTEE_ENOMEM, "node: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->timer, NULL, timer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return GTEE_FAIL(err, GTEE_EIO, "node: no thread for job watches: %s", strerror(errno));
    }
    *out = w;
out:
    return rc;
}

void gtee_node_watch_stop(struct gtee_node_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->timer, NULL);
}

void gtee_node_watch_free(struct gtee_node_watch *w)
{
    if (!w)
        return;
    gtee_node_watch_stop(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int gtee_node_watch_add(struct gtee_node_watch *w, struct MHD_Connection *c, const char *id, int wait_ms)
{
    struct waiter *x;

    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->n == GTEE_NODE_WATCH_MAX) {
        pthread_mutex_unlock(&w->mu);
        return GTEE_ELIMIT;
    }
    x = &w->w[w->n++];
    x->c = c;
    snprintf(x->id, sizeof(x->id), "%s", id);
    clock_gettime(CLOCK_MONOTONIC, &x->deadline);
    x->deadline.tv_sec += wait_ms / 1000;
    x->deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (x->deadline.tv_nsec >= 1000000000L) {
        x->deadline.tv_sec++;
        x->deadline.tv_nsec -= 1000000000L;
    }
    /* Suspended under mu, so that neither a change nor the timer resumes it first. */
    MHD_suspend_connection(c);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void gtee_node_watch_notify(void *arg, const char *id)
{
    struct gtee_node_watch *w = arg;

    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n;) {
        if (!id || !strcmp(w->w[i].id, id))
            fire(w, i);
        else
            i++;
    }
    pthread_mutex_unlock(&w->mu);
}
