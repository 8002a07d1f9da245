/* Confidential ML jobs: inference and training inside the enclave, on containers opened into
 * its memory (blobs.c), by the engine of gtee/ml.h, for a requester every blob's grant
 * names (grants.c). The request and the job record travel in relay boxes between the
 * enclave and the requester; the result is HPKE-sealed (RFC 9180) to the requester, or for
 * trained weights to the model's owner unless its grant lets them go to the requester, and
 * kept in a result slot for the host to read in pieces and store (results.c). Every model, dataset and tensor is reserved against the
 * enclave's memory limit before it is allocated, and the engine wipes what it frees
 * (docs/tee.md §7.2). Under the enclave's main loop a job runs on a thread of its own
 * (one at a time), so that the host's other requests are answered while it computes
 * (docs/tee.md §2, "Requests that overlap"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "enclave/proofs.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/jobs.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "gtee/net.h"

/* What a job holds; reserved bytes go back to the budget when it ends. */
struct job {
    struct enc *e;
    uint64_t reserved;
    struct gtee_ml_model *model;
    /* the run's engine (its arena: the largest memory a job holds), freed with the model
     * by job_free */
    struct gtee_ml_session *session;
    struct gtee_ml_trainer *trainer;
    uint64_t request_id;
    int64_t last_progress_ms;
};

static int reserve(struct job *j, uint64_t bytes, const char *what, struct gtee_err *err)
{
    int rc = gtee_app_reserve(j->e->app, bytes, what, err);

    if (rc == 0)
        j->reserved += bytes;
    return rc;
}

/* The job's reservations, given back before its result's is made. */
static void job_release(struct job *j)
{
    if (j->reserved)
        gtee_app_release(j->e->app, j->reserved);
    j->reserved = 0;
}

/* The engine's memory: the run's arena (wiped as the engine frees it: gigabytes for a large
 * batch, a tenth of a second to wipe and unmap), then the model it refers to. */
static void job_free(struct job *j)
{
    gtee_ml_session_free(j->session);
    gtee_ml_trainer_free(j->trainer);
    gtee_ml_model_free(j->model);
    j->session = NULL;
    j->trainer = NULL;
    j->model = NULL;
}

static void job_end(struct job *j)
{
    job_free(j);
    job_release(j);
}

/* The model of a blob, loaded from enclave memory: its parsed copy reserved first, and the
 * engine's own bounds (initializers, folded constants, a run's arena) set to what is left. */
static int load_model(struct job *j, unsigned slot, struct gtee_err *err)
{
    const struct enc_blob *b;
    struct gtee_ml_limits lim = {0};
    char what[64];
    int rc;

    TRY(enc_blob_get(j->e, slot, "model", &b, err));
    snprintf(what, sizeof(what), "the model (blob %u)", slot);
    TRY(reserve(j, b->len, what, err));
    lim.max_total_elems = gtee_app_memory_free(j->e->app) / sizeof(float);
    ENSURE(lim.max_total_elems > 0, err, GTEE_ELIMIT, "enclave: no memory left under the limit for the model's values");
    TRY(gtee_ml_model_load(b->pt, b->len, &lim, &j->model, err));
out:
    return rc;
}

/* IDX (MNIST's format) starts with two zero bytes, then its type code; .npy with \x93NUMPY. */
static int is_idx(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0 && p[1] == 0 && p[2] >= 0x08 && p[2] <= 0x0e;
}

/* A .npy or IDX blob as an array, refused before conversion when it would not fit. IDX
 * unsigned bytes (images) are scaled to 0..1 as `gtee model train` reads them; .npy values
 * are taken as they are (docs/datasets.md). */
static int load_array(struct job *j, unsigned slot, const char *what, enum gtee_array_kind kind,
                      struct gtee_array *a, struct gtee_err *err)
{
    const struct enc_blob *b;
    char name[64];
    uint64_t room;
    int rc;

    TRY(enc_blob_get(j->e, slot, what, &b, err));
    snprintf(name, sizeof(name), "%s (blob %u)", what, slot);
    room = gtee_app_memory_free(j->e->app);
    if (is_idx(b->pt, b->len)) {
        TRY(gtee_idx_parse_bounded(b->pt, b->len, name, kind,
                                   kind == GTEE_ARRAY_F32 && b->pt[2] == 0x08 ? GTEE_NORM_UNIT_U8 : GTEE_NORM_NONE,
                                   room, a, err));
    } else {
        TRY(gtee_npy_parse_bounded(b->pt, b->len, name, kind, GTEE_NORM_NONE, room, a, err));
    }
    rc = reserve(j, a->count * (kind == GTEE_ARRAY_I64 ? 8 : 4), name, err);
    if (rc < 0)
        gtee_array_free(a);
out:
    return rc;
}

/* Graph output 0 of a session, as .npy bytes. */
static int encode_output(const struct gtee_ml_tensor *y, uint8_t **out, size_t *len, struct gtee_err *err)
{
    size_t dims[GTEE_ML_MAX_RANK];

    if (y->dtype != GTEE_ML_FLOAT)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "enclave: output 0 is %s, not float", gtee_ml_dtype_name(y->dtype));
    for (int i = 0; i < y->rank; i++)
        dims[i] = (size_t)y->dim[i];
    return gtee_npy_encode_f32(y->data, dims, (size_t)y->rank, out, len, err);
}

/* Progress for the host (gtee/msg.h GTEE_MSG_PROGRESS): how far, and the loss; at most
 * about twice a second, and at the end of each epoch. A host that cannot take it loses only
 * the report. */
#define PROGRESS_EVERY_MS 500

struct progress {
    struct enc *e;
    uint32_t epochs;
    uint64_t request_id;         /* the job's own request */
    int64_t *last_ms;
};

static int report(const struct gtee_ml_progress *pr, void *arg)
{
    struct progress *g = arg;
    struct enc *e = g->e;
    int64_t now = gtee_net_clock_ms();
    uint8_t body[GTEE_MSG_PROGRESS_LEN], *msg = NULL;
    size_t len = 0;
    uint32_t bits;

    if (e->cancel)
        return 1; /* the host closed: nobody waits for this job */
    if (!e->send || (now - *g->last_ms < PROGRESS_EVERY_MS && pr->batch + 1 < pr->batches))
        return 0;
    *g->last_ms = now;
    body[0] = 1;
    put_u32be(body + 1, (uint32_t)pr->epoch);
    put_u32be(body + 5, g->epochs);
    put_u32be(body + 9, (uint32_t)pr->batch);
    put_u32be(body + 13, (uint32_t)pr->batches);
    memcpy(&bits, &pr->loss, sizeof(bits));
    put_u32be(body + 17, bits);
    if (gtee_msg_encode(GTEE_MSG_PROGRESS | GTEE_MSG_REPLY, g->request_id, body, sizeof(body), &msg, &len, NULL) == 0)
        (void)enc_send(e, msg, len);
    free(msg);
    return 0;
}

/* The job's epochs, grown one at a time into the record. */
static int add_epoch(struct gtee_job_record *r, const struct gtee_ml_epoch_stats *st, struct gtee_err *err)
{
    struct gtee_job_epoch *n = realloc(r->epochs, ((size_t)r->n_epochs + 1) * sizeof(*n));

    if (!n)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    r->epochs = n;
    n[r->n_epochs].loss = st->loss;
    n[r->n_epochs].correct = st->correct;
    n[r->n_epochs].samples = st->samples;
    r->n_epochs++;
    return 0;
}

/* The input as the model takes it: the array's own shape, or, where its rank differs (IDX
 * images are [n, 28, 28], a model may take [n, 1, 28, 28]), the model's declared shape for the
 * same number of items when every other dimension is fixed and the item sizes agree. */
static int input_tensor(const struct gtee_ml_model *m, const struct gtee_array *x, struct gtee_ml_tensor *in,
                        struct gtee_err *err)
{
    struct gtee_ml_io io;
    uint64_t per = 1;

    memset(in, 0, sizeof(*in));
    in->dtype = GTEE_ML_FLOAT;
    in->data = x->f32;
    in->rank = (int)x->ndim;
    for (size_t i = 0; i < x->ndim; i++)
        in->dim[i] = (int64_t)x->dims[i];
    if (gtee_ml_model_io(m, 0, 0, &io) < 0 || io.type.rank == in->rank || io.type.rank < 1 || x->ndim < 1)
        return 0;
    for (int i = 1; i < io.type.rank; i++) {
        if (io.type.dim[i] < 0)
            return 0; /* not fixed: the engine names the mismatch */
        per *= (uint64_t)io.type.dim[i];
    }
    if (per * x->dims[0] != x->count)
        return GTEE_FAIL(err, GTEE_EINVAL, "enclave: the input's items have %zu values, the model's input '%s' takes %llu",
                         x->count / x->dims[0], io.name, (unsigned long long)per);
    in->rank = io.type.rank;
    in->dim[0] = (int64_t)x->dims[0];
    for (int i = 1; i < io.type.rank; i++)
        in->dim[i] = io.type.dim[i];
    return 0;
}

static int run_infer(struct job *j, struct gtee_job_record *r, const struct gtee_job *q, uint8_t **pt,
                     size_t *pt_len, struct gtee_err *err)
{
    struct gtee_array x = {0};
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = { .threads = q->threads };
    struct gtee_ml_tensor in = {0}, y = {0};
    struct gtee_ml_model_info info;
    int rc;

    TRY(load_model(j, q->model, err));
    gtee_ml_model_info(j->model, &info);
    ENSURE(info.n_inputs == 1 && info.n_outputs >= 1, err, GTEE_EUNSUPPORTED,
           "enclave: infer jobs run models of one input (this one has %zu)", info.n_inputs);
    TRY(load_array(j, q->input, "input", GTEE_ARRAY_F32, &x, err));
    TRY(input_tensor(j->model, &x, &in, err));
    TRY(gtee_ml_session_new(j->model, &mo, &j->session, err));
    s = j->session;
    TRY(gtee_ml_run(s, &in, 1, &y, 1, err));
    r->macs = gtee_ml_session_macs(s);
    r->samples = x.ndim ? x.dims[0] : 1;
    TRY(encode_output(&y, pt, pt_len, err));
out:
    gtee_array_free(&x);
    return rc;
}

static int run_train(struct job *j, struct gtee_job_record *r, const struct gtee_job *t, uint8_t **pt,
                     size_t *pt_len, struct gtee_err *err)
{
    struct gtee_array x = {0}, y = {0};
    struct gtee_dataset ds = {0};
    struct gtee_ml_train_options o = {0};
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_epoch_stats st;
    struct gtee_ml_model_info info;
    const struct enc_blob *mb;
    int rc;

    TRY(load_model(j, t->model, err));
    TRY(load_array(j, t->input, "features", GTEE_ARRAY_F32, &x, err));
    TRY(load_array(j, t->labels, "labels", GTEE_ARRAY_I64, &y, err));
    TRY(gtee_dataset_from_arrays(&x, "features", &y, "labels", &ds, err));
    o.threads = t->threads;
    o.loss = GTEE_ML_LOSS_XENT;
    o.optimizer = t->optimizer;
    o.sgd = (struct gtee_ml_sgd){ t->lr, 0.0f, 0.0f, 0.0f, 0 };
    o.adam = (struct gtee_ml_adam){ t->lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0 };
    /* The trainer's own memory before it is made: a gradient per parameter, and Adam's two
     * moments (SGD's momentum buffer fits in the same bound). */
    gtee_ml_model_info(j->model, &info);
    TRY(reserve(j, info.n_params * sizeof(float) * 3, "the trainer's gradients and optimizer state", err));
    TRY(gtee_ml_trainer_new(j->model, &o, &j->trainer, err));
    tr = j->trainer;
    for (uint16_t ep = 0; ep < t->epochs; ep++) {
        ENSURE(!j->e->cancel, err, GTEE_ESTATE, "enclave: the host closed the connection; the job stopped");
        struct progress g = { j->e, t->epochs, j->request_id, &j->last_progress_ms };
        TRY(gtee_ml_train_epoch(tr, &ds, ep, t->batch, t->seed, report, &g, &st, err));
        ENSURE(!j->e->cancel, err, GTEE_ESTATE, "enclave: the host closed the connection; the job stopped");
        /* a full batch's step, times the epoch's batches: the last batch may be smaller */
        r->macs += gtee_ml_trainer_step_macs(tr) / t->batch * st.samples;
        r->samples += st.samples;
        TRY(add_epoch(r, &st, err));
    }
    TRY(enc_blob_get(j->e, t->model, "model", &mb, err));
    TRY(gtee_ml_model_save(j->model, mb->pt, mb->len, pt, pt_len, err));
out:
    gtee_dataset_free(&ds);
    gtee_array_free(&x);
    gtee_array_free(&y);
    return rc;
}

/* A job from its request to its answer: what it copied of the grants at its start (the
 * model owner's key and terms: a GRANT that replaces that grant while the job runs frees
 * nothing the job holds, and the job ends with the terms it started with), and the blob
 * slots it reads. */
struct enc_ml {
    struct enc *e;
    struct gtee_job q;
    struct gtee_job_record r;
    uint8_t owner[32];
    uint8_t flags;
    uint8_t resp_key[GTEE_RELAY_KEY_LEN];
    uint64_t request_id;
    uint32_t slots;
    uint8_t job_id[32];                 /* the node's job id: the SHA-256 of its relay box */
    uint64_t started;
};

/* Every blob the job reads needs a grant naming the requester for its kind; the model's
 * grant's owner and flags are copied into m. The record gets the blobs' content ids. With
 * e->mu held. */
static int check_grants(struct enc_ml *m, struct gtee_err *err)
{
    struct enc *e = m->e;
    const struct gtee_job *q = &m->q;
    struct gtee_job_record *r = &m->r;
    unsigned kind = q->kind == GTEE_JOB_INFER ? GTEE_GRANT_INFER : GTEE_GRANT_TRAIN;
    const struct enc_grant *g;
    const struct enc_blob *b;
    int rc;

    TRY(enc_blob_get(e, q->model, "model", &b, err));
    memcpy(r->model, b->id, 32);
    TRY(enc_grant_check(e, b->id, "model", kind, q->requester, &g, err));
    memcpy(m->owner, g->owner, 32);
    m->flags = g->flags;
    m->slots = 1u << q->model;
    TRY(enc_blob_get(e, q->input, q->kind == GTEE_JOB_INFER ? "input" : "features", &b, err));
    memcpy(r->input, b->id, 32);
    TRY(enc_grant_check(e, b->id, q->kind == GTEE_JOB_INFER ? "input" : "features", kind, q->requester, &g, err));
    m->slots |= 1u << q->input;
    if (q->kind == GTEE_JOB_TRAIN) {
        TRY(enc_blob_get(e, q->labels, "labels", &b, err));
        memcpy(r->labels, b->id, 32);
        TRY(enc_grant_check(e, b->id, "labels", kind, q->requester, &g, err));
        m->slots |= 1u << q->labels;
    }
out:
    return rc;
}

/* With e->mu held: the request parsed and its grants checked. */
static int job_begin(struct enc_ml *m, struct span *req, struct gtee_err *err)
{
    int rc;

    memcpy(m->job_id, m->e->relay_id, 32);
    m->started = (uint64_t)time(NULL);
    TRY(gtee_job_parse(req->p, req->len, &m->q, err));
    m->r.kind = m->q.kind;
    m->r.recipient = 1;
    TRY(check_grants(m, err));
out:
    return rc;
}

/* The computation, without e->mu: only the pinned slots and the (atomic) memory budget. */
static int job_compute(struct enc_ml *m, struct job *j, uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    int rc;

    if (m->q.kind == GTEE_JOB_INFER) {
        TRY(run_infer(j, &m->r, &m->q, pt, pt_len, err));
    } else {
        TRY(run_train(j, &m->r, &m->q, pt, pt_len, err));
        /* trained weights: to the requester only where the model's owner allowed it */
        if (!(m->flags & GTEE_GRANT_WEIGHTS_TO_REQUESTER) && memcmp(m->owner, m->q.requester, 32) != 0)
            m->r.recipient = 2;
    }
out:
    return rc;
}

/* The job's Work Proof waits for the host to take it (proofs.c): units are its
 * multiply-accumulates; a training job's receipt is its record, as its requester gets it.
 * With e->mu held. */
static void proof_job_done(struct enc_ml *m, const uint8_t *rec, size_t rec_len)
{
    const struct gtee_job_record *r = &m->r;
    struct enc_proof_job j = { 0 };

    memcpy(j.job_id, m->job_id, 32);
    j.kind = r->kind;
    memcpy(j.model, r->model, 32);
    memcpy(j.input, r->input, 32);
    memcpy(j.output, r->result_sha256, 32);
    j.units = r->macs;
    if (r->kind == GTEE_JOB_TRAIN && gtee_sha256(rec, rec_len, j.receipt) != 0)
        memset(j.receipt, 0, sizeof(j.receipt));
    j.start = m->started;
    j.end = (uint64_t)time(NULL);
    if (j.end < j.start)
        j.end = j.start; /* a clock stepped back mid-job */
    enc_proofs_job_done(m->e->proofs, &j);
}

/* With e->mu held: the result sealed into a result slot (its bytes reserved before they are
 * allocated), the record for the requester and the notice for the host. */
static int job_finish(struct enc_ml *m, const uint8_t *pt, size_t pt_len, uint8_t **resp, size_t *resp_len,
                      uint8_t **host, size_t *host_len, struct gtee_err *err)
{
    struct enc *e = m->e;
    struct gtee_result_notice n;
    uint8_t *res = NULL;
    size_t res_len = 0;
    uint64_t reserved = 0;
    int rc;

    TRY(enc_result_reserve(e, gtee_result_sealed_len(&m->r, pt_len), err));
    reserved = gtee_result_sealed_len(&m->r, pt_len);
    TRY(gtee_result_seal(&m->r, m->r.recipient == 1 ? m->q.requester : m->owner, pt, pt_len, &res, &res_len, err));
    m->r.result_len = res_len;
    ENSURE(gtee_sha256(res, res_len, m->r.result_sha256) == 0, err, GTEE_ECRYPTO, "enclave: hash failed");
    TRY(gtee_job_record_encode(&m->r, resp, resp_len, err));
    *host = malloc(GTEE_RESULT_NOTICE_LEN);
    ENSURE(*host, err, GTEE_ENOMEM, "enclave: out of memory");
    n.len = res_len;
    memcpy(n.sha256, m->r.result_sha256, 32);
    gtee_result_notice_encode(&n, *host);
    *host_len = GTEE_RESULT_NOTICE_LEN;
    enc_result_keep(e, res, res_len, reserved, &n);
    res = NULL;
    reserved = 0;
    proof_job_done(m, *resp, *resp_len);
out:
    free(res);
    if (reserved)
        gtee_app_release(e->app, reserved);
    return rc;
}

static void ml_free(struct enc_ml *m)
{
    if (!m)
        return;
    gtee_job_record_free(&m->r);
    gtee_wipe(m, sizeof(*m));
    free(m);
}

int enc_ml_job(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
               struct gtee_err *err)
{
    struct enc_ml *m = calloc(1, sizeof(*m));
    struct job j = { .e = e };
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    int rc;

    ENSURE(m, err, GTEE_ENOMEM, "enclave: out of memory");
    m->e = e;
    TRY(job_begin(m, req, err));
    TRY(job_compute(m, &j, &pt, &pt_len, err));
    TRY(job_finish(m, pt, pt_len, resp, resp_len, host, host_len, err));
out:
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    job_end(&j);
    ml_free(m);
    return rc;
}

/* The job's thread: computes, leaves the result, unpins its slots and answers its request.
 * The job is over for the main loop (e->job NULL) before the answer goes out, so a host
 * that submits the next job on reading it is not refused as busy. */
static void *job_thread(void *arg)
{
    struct enc_ml *m = arg;
    struct enc *e = m->e;
    struct job j = { .e = e, .request_id = m->request_id };
    struct gtee_err err = { 0 };
    struct enc_out o = { 0 };
    uint8_t *pt = NULL, *resp = NULL, *host = NULL;
    size_t pt_len = 0, resp_len = 0, host_len = 0;
    int rc = job_compute(m, &j, &pt, &pt_len, &err);

    job_release(&j); /* its reservations, before the result's is made */
    pthread_mutex_lock(&e->mu);
    if (rc == 0)
        rc = job_finish(m, pt, pt_len, &resp, &resp_len, &host, &host_len, &err);
    e->busy_slots &= ~m->slots;
    e->job = NULL;
    pthread_mutex_unlock(&e->mu);
    if (rc == 0)
        rc = enc_relay_answer(m->resp_key, resp, resp_len, host, host_len, &o, &err);
    (void)enc_answer(e, GTEE_MSG_RELAY, m->request_id, rc, &o, &err);
    /* The engine's memory after the answer: the requester does not wait for its wipe, and
     * the next job, which joins this thread before it starts, finds it gone. */
    job_free(&j);
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    gtee_app_free_secret(resp, resp_len);
    free(host);
    free(o.p);
    ml_free(m);
    return NULL;
}

int enc_ml_job_start(struct enc *e, struct span *req, const uint8_t resp_key[GTEE_RELAY_KEY_LEN],
                     uint64_t request_id, struct gtee_err *err)
{
    struct enc_ml *m = NULL;
    int rc;

    ENSURE(!e->job, err, GTEE_ESTATE,
           "enclave: busy: a job is running (one at a time); submit this one when it has ended");
    if (e->job_joinable) { /* the last job's thread has ended its work, or is sending its answer */
        pthread_join(e->job_thread, NULL);
        e->job_joinable = 0;
    }
    m = calloc(1, sizeof(*m));
    ENSURE(m, err, GTEE_ENOMEM, "enclave: out of memory");
    m->e = e;
    m->request_id = request_id;
    memcpy(m->resp_key, resp_key, GTEE_RELAY_KEY_LEN);
    TRY(job_begin(m, req, err));
    e->busy_slots |= m->slots;
    e->job = m;
    if (pthread_create(&e->job_thread, NULL, job_thread, m) != 0) {
        e->busy_slots &= ~m->slots;
        e->job = NULL;
        ENSURE(0, err, GTEE_ENOMEM, "enclave: cannot start the job's thread");
    }
    e->job_joinable = 1;
    m = NULL;
out:
    ml_free(m);
    return rc;
}

void enc_ml_job_join(struct enc *e)
{
    if (!e->job_joinable)
        return;
    e->cancel = 1;
    pthread_join(e->job_thread, NULL);
    e->job_joinable = 0;
}
