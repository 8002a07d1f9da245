/* The enclave supervisor: one thread that starts the enclave, checks every 200 ms whether it
 * still lives (waitid with WNOWAIT, so the launcher still reaps it), and after a death
 * reports the jobs it held as failed and restarts it after 1, 2, 4 ... restart_max_s
 * seconds. A clean run of a minute resets the backoff. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"
#include "node/supervise.h"

#define POLL_MS 200
#define STABLE_S 60

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void describe_status(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, n, "ended (status 0x%x)", (unsigned)status);
}

/* With e->call_mu held: no request enters any more, the waiting ones fail at once, and the
 * reader of the socket ends once none is inside (they hold the mux only while e->users
 * counts them). */
static void close_requests(struct gtee_node_enclave *e, const char *why)
{
    pthread_mutex_lock(&e->mu);
    e->running = 0;
    pthread_mutex_unlock(&e->mu);
    gtee_enclave_mux_shutdown(e->mux, why);
    pthread_mutex_lock(&e->mu);
    while (e->users)
        pthread_cond_wait(&e->idle, &e->mu);
    pthread_mutex_unlock(&e->mu);
    gtee_enclave_mux_free(e->mux);
    e->mux = NULL;
}

/* With e->call_mu held: the enclave has ended (or was killed by a timed-out call). */
static void ended(struct gtee_node_enclave *e, const char *why)
{
    int status = 0, failed, stuck = e->mux && gtee_enclave_mux_timed_out(e->mux);
    char how[128];

    close_requests(e, "enclave: it ended while the request waited");
    if (e->proc.pid > 0) {
        (void)gtee_enclave_stop(&e->proc, &status);
        describe_status(status, how, sizeof(how));
    } else {
        snprintf(how, sizeof(how), "%s", why);
        (void)gtee_enclave_stop(&e->proc, NULL);
    }
    if (stuck) /* killed by the request that waited in vain, not by anyone else */
        snprintf(how, sizeof(how), "was stopped after a request went unanswered");
    pthread_mutex_lock(&e->mu);
    e->running = 0;
    snprintf(e->last_exit, sizeof(e->last_exit), "%s", how);
    pthread_mutex_unlock(&e->mu);
    failed = gtee_node_store_jobs_fail_running(e->store, "the enclave ended while the job ran; submit it again", NULL);
    gtee_node_store_event(e->store, "error", "enclave %s; %d job%s in flight reported failed; restarting in %u s", how,
                          failed < 0 ? 0 : failed, failed == 1 ? "" : "s", e->backoff_s);
    pthread_mutex_lock(&e->mu);
    e->ends++;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

struct restore {
    struct gtee_node_enclave *e;
    int grants, secrets, refused;
    int64_t *held;   /* per grant place in the enclave: the row whose grant holds it, or 0 */
    int64_t *drop;   /* rows whose grant no longer counts: replaced, or expired */
    size_t ndrop, cap;
};

static void doom(struct restore *r, int64_t seq)
{
    if (r->ndrop == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        int64_t *d = realloc(r->drop, cap * sizeof(*d));

        if (!d)
            return; /* kept: pruned at a later start */
        r->drop = d;
        r->cap = cap;
    }
    r->drop[r->ndrop++] = seq;
}

/* GRANT_RESTORE's answer (docs/tee.md §7.2): grants held u16 · the place this grant took
 * u16 · expired u8. The row whose grant held that place before is replaced (a newer grant
 * for the same blob and owner, or one taking an expired grant's place), and an expired
 * grant admits no job: neither changes what a later start restores, so both rows go. An
 * enclave that answers only the count (an older build) prunes nothing. */
static void note_place(struct restore *r, int64_t seq, const uint8_t *reply, size_t n)
{
    unsigned place;

    if (!r->held || n < 5)
        return;
    place = (unsigned)reply[2] << 8 | reply[3];
    if (place >= GTEE_ENCLAVE_GRANTS)
        return;
    if (r->held[place])
        doom(r, r->held[place]);
    r->held[place] = seq;
    if (reply[4]) {
        doom(r, seq);
        r->held[place] = 0;
    }
}

/* One sealed blob the enclave handed the host: a grant (GRANT_RESTORE) or a relay secret
 * (UNSEAL); the host cannot tell them apart, so the enclave says which it accepts. */
static void restore_one(int64_t seq, const uint8_t *blob, size_t len, void *arg)
{
    struct restore *r = arg;
    struct gtee_err err = { 0 };
    uint8_t *reply = NULL;
    size_t n = 0;

    if (gtee_enclave_call(&r->e->proc, GTEE_MSG_GRANT_RESTORE, blob, len, &reply, &n, &err) == 0) {
        r->grants++;
        note_place(r, seq, reply, n);
    } else if (r->e->proc.pid > 0 &&
               gtee_enclave_call(&r->e->proc, GTEE_MSG_UNSEAL, blob, len, &reply, &n, &err) == 0) {
        r->secrets++;
    } else {
        r->refused++;
    }
    free(reply);
}

/* With e->call_mu held, after a start: what the enclave sealed for the host to keep goes back
 * in, so grants and secrets survive restarts (docs/tee.md §7.2). */
static void restore_sealed(struct gtee_node_enclave *e)
{
    struct restore r = { .e = e, .held = calloc(GTEE_ENCLAVE_GRANTS, sizeof(int64_t)) };
    int n = gtee_node_store_sealed_each(e->store, restore_one, &r);
    struct gtee_err err = { 0 };

    if (n < 0)
        gtee_node_store_event(e->store, "error",
                              "could not read every sealed grant from the store (error %d): %d restored, the rest "
                              "are not in the enclave until its next start", n, r.grants);
    else if (n > 0)
        gtee_node_store_event(e->store, r.refused ? "warn" : "info",
                              "restored %d sealed grant%s and %d sealed secret%s into the enclave; %d refused", r.grants,
                              r.grants == 1 ? "" : "s", r.secrets, r.secrets == 1 ? "" : "s", r.refused);
    /* only after a restore that read every row: the places are then the whole story */
    if (n >= 0 && r.ndrop) {
        if (gtee_node_store_sealed_drop(e->store, r.drop, r.ndrop, &err) == 0)
            gtee_node_store_event(e->store, "info",
                                  "dropped %zu stored grant%s that no longer count (replaced by a newer grant for "
                                  "the same blob and owner, or expired)",
                                  r.ndrop, r.ndrop == 1 ? "" : "s");
        else
            gtee_node_store_event(e->store, "warn", "could not drop %zu stored grants that no longer count: %s",
                                  r.ndrop, err.msg);
    }
    free(r.held);
    free(r.drop);
}

/* With e->call_mu held. */
static int start(struct gtee_node_enclave *e)
{
    struct gtee_err err = { 0 };
    struct gtee_enclave_info info;
    char addr[GTEE_ETH_ADDR_HEX_LEN + 1], meas[2 * GTEE_MEASUREMENT_MAX + 1];
    int rc, pid;

    rc = gtee_enclave_start(&e->launch, &e->proc, &err);
    if (rc == 0 && (rc = gtee_enclave_info(&e->proc, &info, &err)) != 0)
        (void)gtee_enclave_stop(&e->proc, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&e->mu);
        snprintf(e->last_error, sizeof(e->last_error), "%s", err.msg[0] ? err.msg : gtee_strerror(rc));
        pthread_mutex_unlock(&e->mu);
        gtee_node_store_event(e->store, "error", "enclave did not start: %s; next try in %u s",
                              err.msg[0] ? err.msg : gtee_strerror(rc), e->backoff_s);
        return rc;
    }
    pthread_mutex_lock(&e->mu);
    e->info = info;
    e->pid = (int)e->proc.pid;
    e->last_error[0] = '\0';
    e->started_at = (int64_t)time(NULL);
    if (e->starts++)
        e->restarts++;
    pid = (int)e->proc.pid;
    pthread_mutex_unlock(&e->mu);
    gtee_eth_address_hex(info.enclave_addr, addr);
    gtee_hex_encode(info.measurement, info.measurement_len, meas);
    gtee_node_store_event(e->store, info.simulated ? "warn" : "info",
                          "enclave %s (pid %d): tee %s%s, enclave id %s, measurement %s",
                          e->restarts ? "restarted" : "started", pid, gtee_tee_kind_name(info.kind),
                          info.simulated ? " SIMULATED (not secure)" : "", addr, meas);
    /* One request at a time here, before any other may come: the node's own evidence
     * check, then the grants and secrets back in, so no job runs before its grants are. */
    gtee_node_selfcheck(e);
    if (e->proc.pid > 0)
        restore_sealed(e);
    /* From here on the socket is read by the mux's thread, and requests overlap. */
    rc = e->proc.pid > 0 ? gtee_enclave_mux_start(&e->proc, &e->mux, &err) : GTEE_EIO;
    if (rc != 0) {
        pthread_mutex_lock(&e->mu);
        snprintf(e->last_error, sizeof(e->last_error), "%s",
                 err.msg[0] ? err.msg : "it did not answer while it was checked");
        pthread_mutex_unlock(&e->mu);
        gtee_node_store_event(e->store, "error", "enclave did not start: %s; next try in %u s", e->last_error,
                              e->backoff_s);
        (void)gtee_enclave_stop(&e->proc, NULL);
        return rc;
    }
    pthread_mutex_lock(&e->mu);
    e->running = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void grow_backoff(struct gtee_node_enclave *e)
{
    if (e->backoff_s < e->backoff_max_s)
        e->backoff_s = e->backoff_s * 2 > e->backoff_max_s ? e->backoff_max_s : e->backoff_s * 2;
}

static void *supervise(void *arg)
{
    struct gtee_node_enclave *e = arg;
    struct timespec ts;
    int wait_ms, stop;

    for (;;) {
        pthread_mutex_lock(&e->mu);
        stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        if (stop)
            break;
        wait_ms = POLL_MS;
        pthread_mutex_lock(&e->call_mu);
        if (!e->running) {
            if (start(e) != 0) {
                wait_ms = (int)e->backoff_s * 1000;
                grow_backoff(e);
            }
        } else {
            siginfo_t si;

            memset(&si, 0, sizeof(si));
            if (e->proc.pid <= 0)
                ended(e, "was stopped after a request went unanswered");
            else if (waitid(P_PID, (id_t)e->proc.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
                ended(e, "ended");
            else if (e->backoff_s > 1 && time(NULL) - e->started_at >= STABLE_S)
                e->backoff_s = 1;
            if (!e->running) {
                wait_ms = (int)e->backoff_s * 1000;
                grow_backoff(e);
            }
        }
        pthread_mutex_unlock(&e->call_mu);
        deadline_in(&ts, wait_ms);
        pthread_mutex_lock(&e->mu);
        while (!e->stop && !e->wake && pthread_cond_timedwait(&e->cv, &e->mu, &ts) != ETIMEDOUT)
            ;
        e->wake = 0;
        pthread_mutex_unlock(&e->mu);
    }
    /* The enclave is stopped by this thread, the one that started it: it dies with its
     * starter (PR_SET_PDEATHSIG, gtee_enclave_start), so it must not outlive the loop. */
    pthread_mutex_lock(&e->call_mu);
    if (e->running) {
        int status = 0;
        char how[128];

        close_requests(e, "enclave: the node is stopping");
        (void)gtee_enclave_stop(&e->proc, &status);
        describe_status(status, how, sizeof(how));
        gtee_node_store_event(e->store, "info", "enclave stopped (%s)", how);
    }
    pthread_mutex_unlock(&e->call_mu);
    return NULL;
}

int gtee_node_enclave_run(struct gtee_node_enclave *e, const struct gtee_enclave_launch *l, unsigned backoff_max_s,
                          const struct gtee_node_check *check, struct gtee_node_store *store, struct gtee_err *err)
{
    pthread_condattr_t ca;

    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->call_mu, NULL);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->idle, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    e->launch = *l;
    e->store = store;
    e->simulated = l->tee && !strcmp(l->tee, "sim");
    e->backoff_s = 1;
    e->backoff_max_s = backoff_max_s ? backoff_max_s : 1;
    e->proc.pid = -1;
    e->proc.fd = -1;
    snprintf(e->verdict, sizeof(e->verdict), "not checked");
    snprintf(e->verdict_detail, sizeof(e->verdict_detail), "the enclave has not started yet");
    if (check && ((check->collateral && strlen(check->collateral) >= sizeof(e->collateral)) ||
                  (check->sim_root && strlen(check->sim_root) >= sizeof(e->sim_root)) ||
                  (check->policy && strlen(check->policy) >= sizeof(e->policy))))
        return GTEE_FAIL(err, GTEE_EINVAL, "node: a collateral, simulated root or policy path is too long");
    if (check) {
        snprintf(e->collateral, sizeof(e->collateral), "%s", check->collateral ? check->collateral : "");
        snprintf(e->sim_root, sizeof(e->sim_root), "%s", check->sim_root ? check->sim_root : "");
        snprintf(e->policy, sizeof(e->policy), "%s", check->policy ? check->policy : "");
    }
    if (pthread_create(&e->thread, NULL, supervise, e) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "node: cannot start the enclave supervisor thread");
    e->thread_started = 1;
    return 0;
}

void gtee_node_enclave_shutdown(struct gtee_node_enclave *e)
{
    if (!e->thread_started)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL); /* it stops the enclave on its way out */
    e->thread_started = 0;
    pthread_cond_destroy(&e->idle);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->call_mu);
}

int gtee_node_enclave_wait(struct gtee_node_enclave *e, int ms)
{
    struct timespec ts;
    int up;

    deadline_in(&ts, ms);
    pthread_mutex_lock(&e->mu);
    while (!e->running && !e->stop && pthread_cond_timedwait(&e->cv, &e->mu, &ts) != ETIMEDOUT)
        ;
    up = e->running;
    pthread_mutex_unlock(&e->mu);
    return up;
}

/* A request enters while the enclave runs (and, start_no non-zero, is that start); it
 * holds the mux until leave(). */
static int enter(struct gtee_node_enclave *e, unsigned start_no, struct gtee_enclave_mux **m, unsigned *ends,
                 struct gtee_enclave_info *info, struct gtee_err *err)
{
    int rc = 0;

    pthread_mutex_lock(&e->mu);
    if (!e->running)
        rc = GTEE_FAIL(err, GTEE_ESTATE, start_no ? "the enclave restarted since the job's blobs were loaded"
                                                  : "the enclave is not running (%s); retry shortly",
                       e->last_error[0] ? e->last_error : "starting");
    else if (start_no && e->starts != start_no)
        rc = GTEE_FAIL(err, GTEE_ESTATE, "the enclave restarted since the job's blobs were loaded");
    else {
        e->users++;
        *m = e->mux;
        *ends = e->ends;
        if (info)
            *info = e->info;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static void leave(struct gtee_node_enclave *e, struct gtee_enclave_mux *m, unsigned ends, int rc)
{
    /* m lives until the last request has left */
    int stuck = rc == GTEE_EIO && gtee_enclave_mux_timed_out(m);

    pthread_mutex_lock(&e->mu);
    if (--e->users == 0)
        pthread_cond_broadcast(&e->idle);
    if (stuck) {
        /* A request that waited in vain killed the enclave: the supervisor is woken to
         * record it now, and the caller answers its client once it has (or after a
         * moment), so the node's log and status already say what happened. (An enclave
         * that died by itself is noticed at the supervisor's next look, after the job
         * that ran on it has recorded its own failure.) */
        struct timespec ts;

        if (e->running) { /* not yet noticed: look now */
            e->wake = 1;
            pthread_cond_broadcast(&e->cv);
        }
        deadline_in(&ts, 2000);
        while (e->ends == ends && !e->stop && pthread_cond_timedwait(&e->cv, &e->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&e->mu);
}

int gtee_node_enclave_call(struct gtee_node_enclave *e, uint16_t type, const void *payload, size_t len,
                           uint8_t **reply, size_t *reply_len, struct gtee_enclave_info *info, struct gtee_err *err)
{
    struct gtee_enclave_mux *m = NULL;
    unsigned ends = 0;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    TRY(enter(e, 0, &m, &ends, info, err));
    rc = gtee_enclave_mux_call(m, type, payload, len, reply, reply_len, NULL, NULL, err);
    leave(e, m, ends, rc);
out:
    return rc;
}

unsigned gtee_node_enclave_start_no(struct gtee_node_enclave *e, uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN])
{
    siginfo_t si;
    unsigned n;

    pthread_mutex_lock(&e->mu);
    n = e->running ? e->starts : 0;
    /* Dead but not yet noticed by the supervisor (it looks every 200 ms): not running. The
     * process is not reaped here (WNOWAIT); one already reaped is ECHILD. */
    memset(&si, 0, sizeof(si));
    if (n && (e->pid <= 0 || waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != 0))
        n = 0;
    if (n && channel_pub)
        memcpy(channel_pub, e->info.channel_pub, GTEE_CHANNEL_PUB_LEN);
    pthread_mutex_unlock(&e->mu);
    return n;
}

int gtee_node_enclave_call_in(struct gtee_node_enclave *e, unsigned start_no, uint16_t type, const void *payload,
                              size_t len, uint8_t **reply, size_t *reply_len,
                              void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr), void *arg,
                              struct gtee_err *err)
{
    struct gtee_enclave_mux *m = NULL;
    unsigned ends = 0;
    int rc;

    *reply = NULL;
    *reply_len = 0;
    TRY(enter(e, start_no ? start_no : ~0u, &m, &ends, NULL, err));
    rc = gtee_enclave_mux_call(m, type, payload, len, reply, reply_len, on_progress, arg, err);
    leave(e, m, ends, rc);
out:
    return rc;
}

/* The requests in flight, oldest first (a ring of window places). */
struct flight {
    struct gtee_enclave_mux_req **req;
    unsigned window, head, n;
};

/* Takes the oldest request's answer (dropped); the first failure is kept in *rc / err. */
static void land(struct gtee_enclave_mux *m, struct flight *f, int *rc, struct gtee_err *err)
{
    struct gtee_err e2 = { 0 };
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int r = gtee_enclave_mux_wait(m, f->req[f->head], &reply, &reply_len, *rc < 0 ? &e2 : err);

    free(reply);
    f->head = (f->head + 1) % f->window;
    f->n--;
    if (r < 0 && *rc == 0)
        *rc = r;
}

int gtee_node_enclave_stream_in(struct gtee_node_enclave *e, unsigned start_no, uint16_t type,
                                int (*next)(void *arg, const void **payload, size_t *len, struct gtee_err *err),
                                void *arg, unsigned window, struct gtee_err *err)
{
    struct gtee_enclave_mux *m = NULL;
    struct flight f = { .window = window ? window : 1 };
    unsigned ends = 0;
    int rc = 0, more = 1;

    f.req = calloc(f.window, sizeof(*f.req));
    if (!f.req)
        return GTEE_FAIL(err, GTEE_ENOMEM, "node: out of memory");
    if ((rc = enter(e, start_no ? start_no : ~0u, &m, &ends, NULL, err)) < 0) {
        free(f.req);
        return rc;
    }
    while (rc == 0 && (more || f.n)) {
        while (rc == 0 && more && f.n < f.window) {
            const void *p = NULL;
            size_t len = 0;
            int got = next(arg, &p, &len, err);

            if (got <= 0) {
                more = 0;
                rc = got < 0 ? got : 0;
                break;
            }
            rc = gtee_enclave_mux_send(m, type, p, len, NULL, NULL, &f.req[(f.head + f.n) % f.window], err);
            if (rc == 0)
                f.n++;
        }
        if (rc == 0 && f.n)
            land(m, &f, &rc, err);
    }
    while (f.n) /* after a failure: the rest answered (or failed with the stream) and dropped */
        land(m, &f, &rc, err);
    leave(e, m, ends, rc);
    free(f.req);
    return rc;
}

void gtee_node_enclave_kill(struct gtee_node_enclave *e)
{
    pthread_mutex_lock(&e->mu);
    if (e->running && e->pid > 0)
        (void)kill((pid_t)e->pid, SIGKILL);
    pthread_mutex_unlock(&e->mu);
}

json_t *gtee_node_enclave_verdict(struct gtee_node_enclave *e)
{
    json_t *o;

    pthread_mutex_lock(&e->mu);
    o = json_pack("{s:s,s:s,s:b,s:I}", "verdict", e->verdict, "detail", e->verdict_detail, "simulated", e->simulated,
                  "checked", (json_int_t)e->verdict_at);
    pthread_mutex_unlock(&e->mu);
    return o;
}

json_t *gtee_node_enclave_status(struct gtee_node_enclave *e)
{
    char addr[GTEE_ETH_ADDR_HEX_LEN + 1], meas[2 * GTEE_MEASUREMENT_MAX + 1], exe[65];
    char epub[2 * GTEE_ENCLAVE_PUB_LEN + 1], cpub[2 * GTEE_CHANNEL_PUB_LEN + 1];
    json_t *o;

    pthread_mutex_lock(&e->mu);
    o = json_pack("{s:s,s:b,s:i,s:i}", "state", e->running ? "running" : e->starts ? "restarting" : "starting",
                  "simulated", e->simulated, "restarts", (int)e->restarts, "starts", (int)e->starts);
    if (o && e->starts) {
        gtee_eth_address_hex(e->info.enclave_addr, addr);
        gtee_hex_encode(e->info.measurement, e->info.measurement_len, meas);
        gtee_hex_encode(e->info.exe_sha256, 32, exe);
        gtee_hex_encode(e->info.enclave_pub, sizeof(e->info.enclave_pub), epub);
        gtee_hex_encode(e->info.channel_pub, sizeof(e->info.channel_pub), cpub);
        json_object_set_new(o, "tee", json_string(gtee_tee_kind_name(e->info.kind)));
        json_object_set_new(o, "enclave_id", json_string(addr));
        json_object_set_new(o, "measurement", json_string(meas));
        json_object_set_new(o, "executable_sha256", json_string(exe));
        json_object_set_new(o, "enclave_public_key", json_string(epub));
        json_object_set_new(o, "channel_public_key", json_string(cpub));
        json_object_set_new(o, "started", json_integer(e->started_at));
    }
    if (o && e->running)
        json_object_set_new(o, "pid", json_integer(e->pid));
    if (o && e->last_exit[0])
        json_object_set_new(o, "last_exit", json_string(e->last_exit));
    if (o && e->last_error[0])
        json_object_set_new(o, "last_error", json_string(e->last_error));
    if (o && e->simulated)
        json_object_set_new(o, "warning", json_string("SIMULATED TEE: not secure"));
    pthread_mutex_unlock(&e->mu);
    return o;
}
