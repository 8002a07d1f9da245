/* Long polls on a job: a GET of a job that asks to wait for its next change holds no HTTP
 * worker while it waits (its connection is suspended) and is resumed by the job's change or
 * by its deadline (docs/node-api.md, "Following a job"). Internal to src/node/. */
#ifndef GTEE_NODE_WATCH_H
#define GTEE_NODE_WATCH_H

#include <microhttpd.h>

#include "gtee/err.h"

/* The longest wait a request may ask for, and how many requests may wait at once (beyond,
 * the request is answered at once: the client asks again, as a poll would). */
#define GTEE_NODE_WATCH_MAX_MS 30000
#define GTEE_NODE_WATCH_MAX 1024

struct gtee_node_watch;

int gtee_node_watch_start(struct gtee_node_watch **out, struct gtee_err *err) GTEE_MUST_USE;
/* Resumes every waiting request (each is then answered with the job as it is) and refuses
 * new ones; the server still runs. */
void gtee_node_watch_stop(struct gtee_node_watch *w);
/* Once the server has stopped. */
void gtee_node_watch_free(struct gtee_node_watch *w);
/* From the request's handler: suspends c until job id changes or wait_ms pass, when it is
 * resumed and its handler runs again. 0: suspended; GTEE_ELIMIT: too many wait already, or
 * stopping (c is not suspended: answer it now). */
int gtee_node_watch_add(struct gtee_node_watch *w, struct MHD_Connection *c, const char *id, int wait_ms);
/* Job id changed (NULL: every job may have): resumes the requests waiting on it. */
void gtee_node_watch_notify(void *w, const char *id);

#endif
