/* Confidential ML jobs: inference and training inside the enclave, on containers opened into
 * its memory (blobs.c), by the engine of gtee/ml.h. A job's request and answer travel in
 * relay boxes between the enclave and the client who asked, so the host sees neither the
 * parameters nor the results. Every model, dataset and tensor is reserved against the
 * enclave's memory limit before it is allocated, and the engine wipes what it frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"

#define JOB_MAX_THREADS 64
#define JOB_MAX_EPOCHS 1000

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

/* A .npy blob as an array, refused before conversion when it would not fit. */
static int load_array(struct job *j, unsigned slot, const char *what, enum gtee_array_kind kind,
                      struct gtee_array *a, struct gtee_err *err)
{
    const struct enc_blob *b;
    char name[64];
    int rc;

    TRY(enc_blob_get(j->e, slot, what, &b, err));
    snprintf(name, sizeof(name), "%s (blob %u)", what, slot);
    TRY(gtee_npy_parse_bounded(b->pt, b->len, name, kind, GTEE_NORM_NONE, gtee_app_memory_free(j->e->app), a, err));
    rc = reserve(j, a->count * (kind == GTEE_ARRAY_I64 ? 8 : 4), name, err);
    if (rc < 0)
        gtee_array_free(a);
out:
    return rc;
}

static int threads_of(uint8_t t, struct gtee_err *err)
{
    if (t == 0 || t > JOB_MAX_THREADS)
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: threads %u out of range 1..%d", t, JOB_MAX_THREADS);
    return t;
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

int enc_infer(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err)
{
    struct job j = { .e = e };
    struct gtee_array x = {0};
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = {0};
    struct gtee_ml_tensor in = {0}, y = {0};
    struct gtee_ml_model_info info;
    uint8_t model = span_u8(req), input = span_u8(req), threads = span_u8(req);
    int rc;

    ENSURE(!req->bad && req->len == 0, err, GTEE_EFORMAT, "enclave: INFER takes model, input and threads (3 bytes)");
    TRY(mo.threads = threads_of(threads, err));
    TRY(load_model(&j, model, err));
    gtee_ml_model_info(j.model, &info);
    ENSURE(info.n_inputs == 1 && info.n_outputs >= 1, err, GTEE_EUNSUPPORTED,
           "enclave: INFER runs models of one input (this one has %zu)", info.n_inputs);
    TRY(load_array(&j, input, "input", GTEE_ARRAY_F32, &x, err));
    in.dtype = GTEE_ML_FLOAT;
    in.rank = (int)x.ndim;
    for (size_t i = 0; i < x.ndim; i++)
        in.dim[i] = (int64_t)x.dims[i];
    in.data = x.f32;
    TRY(gtee_ml_session_new(j.model, &mo, &s, err));
    TRY(gtee_ml_run(s, &in, 1, &y, 1, err));
    TRY(encode_output(&y, resp, resp_len, err));
out:
    gtee_ml_session_free(s);
    gtee_array_free(&x);
    job_end(&j);
    return rc;
}

/* The training request (gtee/msg.h, GTEE_RELAY_TRAIN). */
struct train_req {
    uint8_t model, x, y, threads, optimizer;
    uint16_t epochs;
    uint32_t batch;
    uint64_t seed;
    float lr;
};

static int parse_train(struct span *req, struct train_req *t, struct gtee_err *err)
{
    uint32_t lr_bits;
    int rc;

    ENSURE(req->len == GTEE_RELAY_TRAIN_LEN, err, GTEE_EFORMAT, "enclave: TRAIN request is %zu bytes, expected %d",
           req->len, GTEE_RELAY_TRAIN_LEN);
    t->model = span_u8(req);
    t->x = span_u8(req);
    t->y = span_u8(req);
    t->threads = span_u8(req);
    t->optimizer = span_u8(req);
    t->epochs = span_u16be(req);
    t->batch = span_u32be(req);
    t->seed = span_u64be(req);
    lr_bits = span_u32be(req);
    memcpy(&t->lr, &lr_bits, sizeof(t->lr));
    ENSURE(t->optimizer == GTEE_ML_OPTIM_SGD || t->optimizer == GTEE_ML_OPTIM_ADAM, err, GTEE_EFORMAT,
           "enclave: TRAIN optimizer %u unknown (1 sgd, 2 adam; request offset 5)", t->optimizer);
    ENSURE(t->epochs >= 1 && t->epochs <= JOB_MAX_EPOCHS, err, GTEE_EFORMAT,
           "enclave: TRAIN epochs %u out of range 1..%d (request offset 6)", t->epochs, JOB_MAX_EPOCHS);
    ENSURE(t->batch >= 1 && t->batch <= 65536, err, GTEE_EFORMAT,
           "enclave: TRAIN batch %u out of range 1..65536 (request offset 8)", t->batch);
    ENSURE(t->lr > 0.0f && t->lr < 10.0f, err, GTEE_EFORMAT,
           "enclave: TRAIN learning rate out of range (0, 10) (request offset 20)");
    rc = threads_of(t->threads, err) < 0 ? GTEE_EFORMAT : 0;
out:
    return rc;
}

/* Per epoch: loss (f64 bits) || correct u64 || samples u64, big-endian. */
static int add_epoch(struct enc_out *o, const struct gtee_ml_epoch_stats *st, struct gtee_err *err)
{
    uint8_t rec[24];
    uint64_t bits;

    memcpy(&bits, &st->loss, sizeof(bits));
    put_u64be(rec, bits);
    put_u64be(rec + 8, st->correct);
    put_u64be(rec + 16, st->samples);
    return enc_out_add(o, rec, sizeof(rec), err);
}

int enc_train(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err)
{
    struct job j = { .e = e };
    struct train_req t = {0};
    struct gtee_array x = {0}, y = {0};
    struct gtee_dataset ds = {0};
    struct gtee_ml_train_options o = {0};
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_epoch_stats st;
    const struct enc_blob *mb;
    struct enc_out out = {0};
    uint8_t *saved = NULL;
    size_t saved_len = 0;
    int rc;

    TRY(parse_train(req, &t, err));
    TRY(load_model(&j, t.model, err));
    TRY(load_array(&j, t.x, "features", GTEE_ARRAY_F32, &x, err));
    TRY(load_array(&j, t.y, "labels", GTEE_ARRAY_I64, &y, err));
    TRY(gtee_dataset_from_arrays(&x, "features", &y, "labels", &ds, err));
    o.threads = t.threads;
    o.loss = GTEE_ML_LOSS_XENT;
    o.optimizer = t.optimizer;
    o.sgd = (struct gtee_ml_sgd){ t.lr, 0.0f, 0.0f, 0.0f, 0 };
    o.adam = (struct gtee_ml_adam){ t.lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0 };
    TRY(gtee_ml_trainer_new(j.model, &o, &tr, err));
    for (uint16_t ep = 0; ep < t.epochs; ep++) {
        TRY(gtee_ml_train_epoch(tr, &ds, ep, t.batch, t.seed, NULL, NULL, &st, err));
        TRY(add_epoch(&out, &st, err));
    }
    TRY(enc_blob_get(e, t.model, "model", &mb, err));
    TRY(gtee_ml_model_save(j.model, mb->pt, mb->len, &saved, &saved_len, err));
    TRY(enc_out_add(&out, saved, saved_len, err));
    *resp = out.p;
    *resp_len = out.len;
    out.p = NULL;
out:
    if (out.p) {
        gtee_wipe(out.p, out.len);
        free(out.p);
    }
    if (saved) {
        gtee_wipe(saved, saved_len);
        free(saved);
    }
    gtee_ml_trainer_free(tr);
    gtee_dataset_free(&ds);
    gtee_array_free(&x);
    gtee_array_free(&y);
    job_end(&j);
    return rc;
}
