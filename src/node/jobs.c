/* The job queue: one thread takes the oldest queued job, passes its blobs from the blob store
 * into the enclave's slots (BLOB_BEGIN, then BLOB_DATA in pieces; docs/tee.md §7.1), relays
 * the requester's box, reads the result out of the enclave in pieces into a blob
 * (results.c), keeps the answer box for the requester, and drops the slots. Progress reports go to the jobs table; the enclave's refusals are the
 * job's error, for the requester to read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"
#include "node/jobs.h"
#include "node/ledger.h"
#include "node/results.h"

/* A BLOB_DATA message's most: its slot byte and as many container bytes as the message
 * takes, so that a blob passes in as few round trips to the enclave as the framing allows. */
#define PIECE (GTEE_MSG_MAX_PAYLOAD - 1u)
#define IDLE_POLL_MS 1000

struct run {
    struct gtee_node_jobs *q;
    const struct gtee_node_job_io *io;
    unsigned start_no;
    /* set when the failure is the node's or the enclave's, not a refusal of the job */
    int ours;
};

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

static int stopping(struct gtee_node_jobs *q)
{
    int s;

    pthread_mutex_lock(&q->mu);
    s = q->stop;
    pthread_mutex_unlock(&q->mu);
    return s;
}

/* Progress, nothing secret: how far, never the loss (the requester gets it in its record). */
static void on_progress(void *arg, const struct gtee_enclave_progress *pr)
{
    struct run *r = arg;
    double done, total;
    int rc;

    if (pr->stage == 1) {
        total = (double)pr->epochs * pr->batches;
        done = (double)pr->epoch * pr->batches + pr->batch + 1;
    } else {
        total = pr->batches;
        done = pr->batch + 1.0;
    }
    rc = gtee_node_store_job_progress(r->q->store, r->io->id, pr->stage == 1 ? "training" : "inference",
                                      pr->stage == 1 ? (int)pr->epoch + 1 : 0, pr->stage == 1 ? (int)pr->epochs : 0,
                                      total > 0 ? 100.0 * (done < total ? done : total) / total : 0, NULL);
    (void)rc; /* a report not recorded is only a report lost; the job goes on */
}

/* One request of the job; a failure that is not the enclave's ERROR answer (it did not
 * answer, or restarted) is marked ours. */
static int call(struct run *r, uint16_t type, const void *p, size_t n, uint8_t **reply, size_t *reply_len,
                int progress, struct gtee_err *err)
{
    int rc = gtee_node_enclave_call_in(r->q->enclave, r->start_no, type, p, n, reply, reply_len,
                                       progress ? on_progress : NULL, r, err);

    if (rc == GTEE_EIO || (rc < 0 && gtee_node_enclave_start_no(r->q->enclave, NULL) != r->start_no))
        r->ours = 1;
    return rc;
}

/* The pieces of a stored blob, read in turn for BLOB_DATA: the slot's byte, then up to
 * PIECE bytes of the container. */
struct pieces {
    struct run *r;
    int fd;
    uint64_t size, off;
    uint8_t *piece;
    const char *what, *id;
    int read_failed;
};

static int next_piece(void *arg, const void **payload, size_t *len, struct gtee_err *err)
{
    struct pieces *ps = arg;
    size_t n = ps->size - ps->off < PIECE ? (size_t)(ps->size - ps->off) : PIECE;
    ssize_t got;

    if (ps->off >= ps->size)
        return 0;
    got = pread(ps->fd, ps->piece + 1, n, (off_t)ps->off);
    if (got != (ssize_t)n) {
        ps->read_failed = 1;
        return GTEE_FAIL(err, GTEE_EIO, "the %s blob %s: cannot read at offset %llu", ps->what, ps->id,
                         (unsigned long long)ps->off);
    }
    ps->off += n;
    *payload = ps->piece;
    *len = 1 + n;
    return 1;
}

/* Pieces in flight at once: the node reads and sends the next while the enclave opens one. */
#define PIECES_IN_FLIGHT 4

/* A stored blob into an enclave slot. */
static int pass_blob(struct run *r, unsigned slot, const char *id, const char *what, struct gtee_err *err)
{
    struct pieces ps = { .r = r, .fd = -1, .what = what, .id = id };
    uint8_t begin[9], *reply = NULL;
    size_t reply_len = 0;
    int rc;

    if ((rc = gtee_node_blob_open(r->q->blobs, id, &ps.fd, &ps.size, err)) < 0) {
        r->ours = 1;
        return GTEE_FAIL(err, rc, "the %s blob %s is no longer on this node", what, id);
    }
    begin[0] = (uint8_t)slot;
    for (int i = 0; i < 8; i++)
        begin[1 + i] = (uint8_t)(ps.size >> (56 - 8 * i));
    ps.piece = malloc(1 + PIECE);
    if (!ps.piece) {
        r->ours = 1;
        rc = GTEE_FAIL(err, GTEE_ENOMEM, "node: out of memory");
        goto out;
    }
    ps.piece[0] = (uint8_t)slot;
    rc = call(r, GTEE_MSG_BLOB_BEGIN, begin, sizeof(begin), &reply, &reply_len, 0, err);
    free(reply);
    if (rc == 0) {
        rc = gtee_node_enclave_stream_in(r->q->enclave, r->start_no, GTEE_MSG_BLOB_DATA, next_piece, &ps,
                                         PIECES_IN_FLIGHT, err);
        if (ps.read_failed ||
            (rc < 0 && (rc == GTEE_EIO || gtee_node_enclave_start_no(r->q->enclave, NULL) != r->start_no)))
            r->ours = 1;
    }
    if (rc < 0 && !r->ours) {
        char msg[GTEE_ERR_MSG_MAX];

        snprintf(msg, sizeof(msg), "%s", err->msg);
        (void)GTEE_FAIL(err, rc, "the %s blob: %s", what, msg);
    }
out:
    free(ps.piece);
    close(ps.fd);
    return rc;
}

static void drop_slots(struct run *r, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t slot = (uint8_t)i, *reply = NULL;
        size_t reply_len = 0;
        struct gtee_err err = { 0 };

        /* A drop that fails found the enclave restarted: its slots are empty already. */
        int rc = gtee_node_enclave_call_in(r->q->enclave, r->start_no, GTEE_MSG_BLOB_DROP, &slot, 1, &reply,
                                           &reply_len, NULL, NULL, &err);

        (void)rc;
        free(reply);
    }
}

/* The job's Work Proof (docs/proofs.md "The node's proofs"), signed by the enclave when the
 * host takes it: *rec filled (free rec->record) and 1, or 0 when the enclave would not sign it
 * (refused loudly: the job keeps its result). A failed request is the job's failure. */
static int take_proof(struct run *r, struct gtee_node_ledger *nl, const uint8_t *notice, size_t notice_len,
                      struct gtee_node_proof_rec *rec, struct gtee_err *err)
{
    struct gtee_result_notice n;
    struct gtee_proof *p = NULL;
    uint8_t *reply = NULL;
    size_t reply_len = 0, np = 0;
    uint32_t jlen;
    int rc;

    memset(rec, 0, sizeof(*rec));
    TRY(gtee_result_notice_parse(notice, notice_len, &n, err));
    /* the ledger hands a fresh enclave its counter first (ledger.c), bounded */
    gtee_node_ledger_wait(nl, r->start_no, 30000);
    TRY(call(r, GTEE_MSG_PROOF_TAKE, n.sha256, 32, &reply, &reply_len, 0, err));
    ENSURE(reply_len >= 1, err, GTEE_EIO, "the enclave's PROOF_TAKE answer is empty");
    if (reply[0] != 1) {
        char why[GTEE_ERR_MSG_MAX];

        snprintf(why, sizeof(why), "%.*s", (int)(reply_len - 1 < 400 ? reply_len - 1 : 400), (const char *)reply + 1);
        gtee_node_ledger_refused(nl, r->io->id, why);
        goto out;
    }
    ENSURE(reply_len >= 5, err, GTEE_EIO, "the enclave's PROOF_TAKE answer is malformed");
    jlen = (uint32_t)reply[1] << 24 | (uint32_t)reply[2] << 16 | (uint32_t)reply[3] << 8 | reply[4];
    ENSURE(jlen <= reply_len - 5, err, GTEE_EIO, "the enclave's PROOF_TAKE answer is malformed");
    TRY(gtee_proof_parse(reply + 5, jlen, &p, &np, err));
    ENSURE(np == 1, err, GTEE_EIO, "the enclave's PROOF_TAKE answer holds %zu proofs", np);
    rec->record = malloc(jlen + 1 + (reply_len - 5 - jlen));
    ENSURE(rec->record, err, GTEE_ENOMEM, "node: out of memory");
    memcpy(rec->record, reply + 5, jlen);
    rec->record[jlen] = 0;
    rec->record_len = jlen;
    rec->seq = p[0].seq;
    /* the sealed counter rides after the record's NUL, in the same allocation */
    memcpy(rec->record + jlen + 1, reply + 5 + jlen, reply_len - 5 - jlen);
    rec->counter = (const uint8_t *)rec->record + jlen + 1;
    rec->counter_len = reply_len - 5 - jlen;
    rc = 1;
out:
    free(p);
    free(reply);
    return rc;
}

static void run_job(struct gtee_node_jobs *q, const struct gtee_node_job_io *io)
{
    struct gtee_node_proof_rec proof = { 0 };
    struct gtee_node_ledger *nl;
    int have_proof = 0;
    struct run r = { .q = q, .io = io };
    struct gtee_err err = { 0 };
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    uint32_t host_len;
    char result[65] = "", hex[2 * GTEE_CHANNEL_PUB_LEN + 1];
    uint8_t chan[GTEE_CHANNEL_PUB_LEN];
    int rc, slots = io->labels[0] ? 3 : 2;

    if (!(r.start_no = gtee_node_enclave_start_no(q->enclave, chan)))
        return; /* the enclave went down: the job stays queued until it runs again */
    if (io->channel[0] && (gtee_hex_encode(chan, sizeof(chan), hex), strcmp(hex, io->channel))) {
        /* The box is sealed to the channel key of the enclave that ran when the job came: a
         * restarted enclave has another and could not open it. */
        r.ours = 1;
        rc = GTEE_FAIL(&err, GTEE_ESTATE, "the enclave restarted after the job was submitted (a new channel key)");
        goto fail;
    }
    if ((rc = gtee_node_store_job_start(q->store, io->id, &err)) < 0) {
        r.ours = 1;
        goto fail;
    }
    if ((rc = pass_blob(&r, GTEE_NODE_SLOT_MODEL, io->model, "model", &err)) < 0 ||
        (rc = pass_blob(&r, GTEE_NODE_SLOT_INPUT, io->input, !strcmp(io->kind, "train") ? "features" : "input",
                        &err)) < 0 ||
        (io->labels[0] && (rc = pass_blob(&r, GTEE_NODE_SLOT_LABELS, io->labels, "labels", &err)) < 0))
        goto fail;
    if ((rc = gtee_node_store_job_progress(q->store, io->id, "running", 0, 0, 0, &err)) < 0) {
        r.ours = 1;
        goto fail;
    }
    /* Counted as it goes to the enclave, whatever comes back: a box relayed twice shows. */
    atomic_fetch_add(&q->runs, 1);
    if ((rc = call(&r, GTEE_MSG_RELAY, io->request, io->request_len, &reply, &reply_len, 1, &err)) < 0)
        goto fail;
    host_len = reply_len >= 4 ? (uint32_t)reply[0] << 24 | (uint32_t)reply[1] << 16 | (uint32_t)reply[2] << 8 |
                                    reply[3]
                              : 0;
    if (reply_len < 4 || host_len > reply_len - 4) {
        r.ours = 1;
        rc = GTEE_FAIL(&err, GTEE_EIO, "the enclave's answer is malformed");
        goto fail;
    }
    /* The result comes out of its enclave slot in pieces into the blob store, and is checked
     * against its SHA-256, before the job is done (results.c). */
    if (host_len && gtee_result_notice_is(reply + 4, host_len))
        rc = gtee_node_result_take(q->enclave, r.start_no, q->blobs, reply + 4, host_len, result, &err);
    else if (host_len)
        rc = gtee_node_keep_host_part(q->blobs, reply + 4, host_len, result, &err);
    if (rc < 0) {
        r.ours = 1;
        goto fail;
    }
    pthread_mutex_lock(&q->mu);
    nl = q->ledger;
    pthread_mutex_unlock(&q->mu);
    if (nl && host_len && gtee_result_notice_is(reply + 4, host_len)) {
        if ((rc = take_proof(&r, nl, reply + 4, host_len, &proof, &err)) < 0) {
            r.ours = 1;
            goto fail;
        }
        have_proof = rc == 1;
    }
    /* The proof and its counter are durable with the job's end, before it is reported done. */
    if ((rc = gtee_node_store_job_done(q->store, io->id, result, reply + 4 + host_len, reply_len - 4 - host_len,
                                       have_proof ? &proof : NULL, &err)) < 0) {
        r.ours = 1;
        if (have_proof) {
            /* The enclave counted a proof the node could not keep: restarted, it counts on from
             * the counter sealed with the last proof kept, so no seq is skipped. */
            gtee_node_store_event(q->store, "error", "job %.16s: its Work Proof seq %llu could not be stored; the "
                                                     "enclave is restarted to count on from the last one kept",
                                  io->id, (unsigned long long)proof.seq);
            gtee_node_enclave_kill(q->enclave);
        }
        goto fail;
    }
    if (have_proof)
        gtee_node_ledger_wake(nl);
    gtee_node_store_event(q->store, "info", "job %.16s (%s) done", io->id, io->kind);
    goto out;
fail:
    if (r.ours) {
        char msg[GTEE_ERR_MSG_MAX];
        int cut;

        pthread_mutex_lock(&q->mu);
        cut = q->cut;
        pthread_mutex_unlock(&q->mu);
        snprintf(msg, sizeof(msg), "%s", err.msg[0] ? err.msg : gtee_strerror(rc));
        if (cut)
            (void)GTEE_FAIL(&err, rc, "the node stopped and its drain time ran out while the job ran; submit it again");
        else if (r.start_no && gtee_node_enclave_start_no(q->enclave, NULL) != r.start_no)
            (void)GTEE_FAIL(&err, rc, "the enclave ended while the job ran (%.200s); attest it again and submit the "
                                      "job again",
                            msg);
        else
            (void)GTEE_FAIL(&err, rc, "%.300s; attest the enclave again and submit the job again", msg);
    }
    if (gtee_node_store_job_fail(q->store, io->id, !r.ours, err.msg[0] ? err.msg : gtee_strerror(rc), NULL) < 0)
        gtee_node_store_event(q->store, "error", "job %.16s: its failure could not be recorded", io->id);
    gtee_node_store_event(q->store, r.ours ? "error" : "info", "job %.16s (%s) %s: %s", io->id, io->kind,
                          r.ours ? "failed" : "refused by the enclave", err.msg[0] ? err.msg : gtee_strerror(rc));
out:
    free(proof.record);
    free(reply);
    drop_slots(&r, slots);
}

static void *worker(void *arg)
{
    struct gtee_node_jobs *q = arg;
    struct timespec ts;

    for (;;) {
        struct gtee_node_job_io io;
        struct gtee_err err = { 0 };
        int got;

        pthread_mutex_lock(&q->mu);
        deadline_in(&ts, IDLE_POLL_MS);
        while (!q->stop && !q->wake && pthread_cond_timedwait(&q->cv, &q->mu, &ts) != ETIMEDOUT)
            ;
        q->wake = 0;
        if (q->stop) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        pthread_mutex_unlock(&q->mu);
        /* Jobs wait, queued, while the enclave is (re)starting. */
        while (!stopping(q) && gtee_node_enclave_start_no(q->enclave, NULL) &&
               (got = gtee_node_store_job_next(q->store, &io, &err)) == 1) {
            pthread_mutex_lock(&q->mu);
            q->busy = 1;
            pthread_mutex_unlock(&q->mu);
            run_job(q, &io);
            free(io.request);
            pthread_mutex_lock(&q->mu);
            q->busy = 0;
            pthread_cond_broadcast(&q->cv);
            pthread_mutex_unlock(&q->mu);
        }
    }
    return NULL;
}

int gtee_node_jobs_start(struct gtee_node_jobs *j, struct gtee_node_store *store, struct gtee_node_blobs *blobs,
                         struct gtee_node_enclave *enclave, struct gtee_err *err)
{
    pthread_condattr_t ca;

    memset(j, 0, sizeof(*j));
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->store = store;
    j->blobs = blobs;
    j->enclave = enclave;
    atomic_init(&j->runs, 0);
    j->wake = 1; /* what the last run left queued */
    if (pthread_create(&j->thread, NULL, worker, j) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "node: cannot start the job queue's thread");
    j->started = 1;
    return 0;
}

void gtee_node_jobs_wake(struct gtee_node_jobs *j)
{
    pthread_mutex_lock(&j->mu);
    j->wake = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int gtee_node_jobs_stop(struct gtee_node_jobs *j, int drain_ms)
{
    struct timespec ts;
    int cut = 0;

    if (!j->started)
        return 0;
    deadline_in(&ts, drain_ms);
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_broadcast(&j->cv);
    while (j->busy && pthread_cond_timedwait(&j->cv, &j->mu, &ts) != ETIMEDOUT)
        ;
    cut = j->busy;
    j->cut = cut;
    pthread_mutex_unlock(&j->mu);
    if (cut)
        gtee_node_enclave_kill(j->enclave);
    pthread_join(j->thread, NULL);
    j->started = 0;
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    return cut;
}
