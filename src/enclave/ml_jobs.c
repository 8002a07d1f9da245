/* Confidential ML jobs: inference and training inside the enclave, on containers opened into
 * its memory (blobs.c), by the engine of gtee/ml.h, for a requester every blob's grant
 * names (grants.c). The request and the job record travel in relay boxes between the
 * enclave and the requester; the result is HPKE-sealed (RFC 9180) to the requester, or for
 * trained weights to the model's owner unless its grant lets them go to the requester, and
 * kept in a result slot for the host to read in pieces and store (results.c). Every model, dataset and tensor is reserved against the
 * enclave's memory limit before it is allocated, and the engine wipes what it frees
 * (docs/tee.md §7.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
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
};

static int reserve(struct job *j, uint64_t bytes, const char *what, struct gtee_err *err)
{
    int rc = gtee_app_reserve(j->e->app, bytes, what, err);

    if (rc == 0)
        j->reserved += bytes;
    return rc;
}

static void job_end(struct job *j)
{
    gtee_ml_model_free(j->model);
    if (j->reserved)
        gtee_app_release(j->e->app, j->reserved);
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
};

static int report(const struct gtee_ml_progress *pr, void *arg)
{
    struct progress *g = arg;
    struct enc *e = g->e;
    int64_t now = gtee_net_clock_ms();
    uint8_t body[GTEE_MSG_PROGRESS_LEN], *msg = NULL;
    size_t len = 0;
    uint32_t bits;

    if (!e->send || (now - e->last_progress_ms < PROGRESS_EVERY_MS && pr->batch + 1 < pr->batches))
        return 0;
    e->last_progress_ms = now;
    body[0] = 1;
    put_u32be(body + 1, (uint32_t)pr->epoch);
    put_u32be(body + 5, g->epochs);
    put_u32be(body + 9, (uint32_t)pr->batch);
    put_u32be(body + 13, (uint32_t)pr->batches);
    memcpy(&bits, &pr->loss, sizeof(bits));
    put_u32be(body + 17, bits);
    if (gtee_msg_encode(GTEE_MSG_PROGRESS | GTEE_MSG_REPLY, e->request_id, body, sizeof(body), &msg, &len, NULL) == 0)
        (void)e->send(e->send_arg, msg, len);
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
    TRY(gtee_ml_session_new(j->model, &mo, &s, err));
    TRY(gtee_ml_run(s, &in, 1, &y, 1, err));
    r->macs = gtee_ml_session_macs(s);
    r->samples = x.ndim ? x.dims[0] : 1;
    TRY(encode_output(&y, pt, pt_len, err));
out:
    gtee_ml_session_free(s);
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
    TRY(gtee_ml_trainer_new(j->model, &o, &tr, err));
    for (uint16_t ep = 0; ep < t->epochs; ep++) {
        struct progress g = { j->e, t->epochs };
        TRY(gtee_ml_train_epoch(tr, &ds, ep, t->batch, t->seed, report, &g, &st, err));
        /* a full batch's step, times the epoch's batches: the last batch may be smaller */
        r->macs += gtee_ml_trainer_step_macs(tr) / t->batch * st.samples;
        r->samples += st.samples;
        TRY(add_epoch(r, &st, err));
    }
    TRY(enc_blob_get(j->e, t->model, "model", &mb, err));
    TRY(gtee_ml_model_save(j->model, mb->pt, mb->len, pt, pt_len, err));
out:
    gtee_ml_trainer_free(tr);
    gtee_dataset_free(&ds);
    gtee_array_free(&x);
    gtee_array_free(&y);
    return rc;
}

/* Every blob the job reads needs a grant naming the requester for its kind; *mg is the
 * model's. The record gets the blobs' content ids. */
static int check_grants(struct enc *e, const struct gtee_job *q, struct gtee_job_record *r,
                        const struct enc_grant **mg, struct gtee_err *err)
{
    unsigned kind = q->kind == GTEE_JOB_INFER ? GTEE_GRANT_INFER : GTEE_GRANT_TRAIN;
    const struct enc_grant *g;
    const struct enc_blob *b;
    int rc;

    TRY(enc_blob_get(e, q->model, "model", &b, err));
    memcpy(r->model, b->id, 32);
    TRY(enc_grant_check(e, b->id, "model", kind, q->requester, mg, err));
    TRY(enc_blob_get(e, q->input, q->kind == GTEE_JOB_INFER ? "input" : "features", &b, err));
    memcpy(r->input, b->id, 32);
    TRY(enc_grant_check(e, b->id, q->kind == GTEE_JOB_INFER ? "input" : "features", kind, q->requester, &g, err));
    if (q->kind == GTEE_JOB_TRAIN) {
        TRY(enc_blob_get(e, q->labels, "labels", &b, err));
        memcpy(r->labels, b->id, 32);
        TRY(enc_grant_check(e, b->id, "labels", kind, q->requester, &g, err));
    }
out:
    return rc;
}

int enc_ml_job(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
               struct gtee_err *err)
{
    struct job j = { .e = e };
    struct gtee_job_record r = {0};
    struct gtee_job q;
    struct gtee_result_notice n;
    const struct enc_grant *mg = NULL;
    uint8_t *pt = NULL, *res = NULL;
    size_t pt_len = 0, res_len = 0;
    uint64_t reserved = 0;
    int rc;

    TRY(gtee_job_parse(req->p, req->len, &q, err));
    r.kind = q.kind;
    r.recipient = 1;
    TRY(check_grants(e, &q, &r, &mg, err));
    if (q.kind == GTEE_JOB_INFER) {
        TRY(run_infer(&j, &r, &q, &pt, &pt_len, err));
    } else {
        TRY(run_train(&j, &r, &q, &pt, &pt_len, err));
        /* trained weights: to the requester only where the model's owner allowed it */
        if (!(mg->flags & GTEE_GRANT_WEIGHTS_TO_REQUESTER) && memcmp(mg->owner, q.requester, 32) != 0)
            r.recipient = 2;
    }
    /* The sealed result waits in a result slot for the host to read in pieces (results.c),
     * its bytes reserved before they are allocated; the host gets its notice. */
    TRY(enc_result_reserve(e, gtee_result_sealed_len(&r, pt_len), err));
    reserved = gtee_result_sealed_len(&r, pt_len);
    TRY(gtee_result_seal(&r, r.recipient == 1 ? q.requester : mg->owner, pt, pt_len, &res, &res_len, err));
    r.result_len = res_len;
    ENSURE(gtee_sha256(res, res_len, r.result_sha256) == 0, err, GTEE_ECRYPTO, "enclave: hash failed");
    TRY(gtee_job_record_encode(&r, resp, resp_len, err));
    *host = malloc(GTEE_RESULT_NOTICE_LEN);
    ENSURE(*host, err, GTEE_ENOMEM, "enclave: out of memory");
    n.len = res_len;
    memcpy(n.sha256, r.result_sha256, 32);
    gtee_result_notice_encode(&n, *host);
    *host_len = GTEE_RESULT_NOTICE_LEN;
    enc_result_keep(e, res, res_len, reserved, &n);
    res = NULL;
    reserved = 0;
out:
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    free(res);
    if (reserved)
        gtee_app_release(e->app, reserved);
    gtee_job_record_free(&r);
    job_end(&j);
    return rc;
}
