/* Confidential ML jobs: inference and training inside the enclave, on containers opened into
 * its memory (blobs.c), by the engine of gtee/ml.h, for a requester every blob's grant
 * names (grants.c). The request and the job record travel in relay boxes between the
 * enclave and the requester; the result is HPKE-sealed (RFC 9180) to the requester, or for
 * trained weights to the model's owner unless its grant lets them go to the requester, and
 * handed to the host to store. Every model, dataset and tensor is reserved against the
 * enclave's memory limit before it is allocated, and the engine wipes what it frees
 * (docs/tee.md §7.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "gtee/net.h"

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

/* What a job did: the job record the requester gets (docs/tee.md §7.2). */
struct record {
    uint8_t kind;
    uint8_t model[32], input[32], labels[32];
    uint64_t macs, samples;
    struct enc_out epochs;      /* train: per epoch, loss bits u64 || correct u64 || samples u64 */
    uint16_t n_epochs;
};

/* The result for the host to store: "GTEE-RES" || 1 || enc[32] || HPKE ciphertext, sealed to
 * `to` with the job's identity (kind and content ids) as associated data. */
static int seal_result(const struct record *r, const uint8_t to[32], const uint8_t *pt, size_t len, uint8_t **out,
                       size_t *out_len, struct gtee_err *err)
{
    static const char info[] = "gtee result v1";
    uint8_t aad[9 + 1 + 96], *b = NULL;
    struct gtee_hpke *h = NULL;
    size_t n = 9 + GTEE_HPKE_ENC_LEN + len + GTEE_HPKE_TAG_LEN;
    int rc;

    memcpy(aad, "GTEE-RES\x01", 9);
    aad[9] = r->kind;
    memcpy(aad + 10, r->model, 32);
    memcpy(aad + 42, r->input, 32);
    memcpy(aad + 74, r->labels, 32);
    b = malloc(n);
    ENSURE(b, err, GTEE_ENOMEM, "enclave: out of memory for a result of %zu bytes", len);
    memcpy(b, aad, 9);
    TRY(gtee_hpke_sender(to, (const uint8_t *)info, sizeof(info) - 1, b + 9, &h, err));
    TRY(gtee_hpke_seal(h, aad, sizeof(aad), pt, len, b + 9 + GTEE_HPKE_ENC_LEN, err));
    *out = b;
    *out_len = n;
    b = NULL;
out:
    gtee_hpke_free(h);
    free(b);
    return rc;
}

/* The record: kind u8 || model, input, labels content ids || result recipient u8 (1 the
 * requester, 2 the model's owner) || result content id[32] || result length u64 || MACs
 * u64 || samples u64 || epochs u16 || per epoch (loss bits u64, correct u64, samples u64). */
static int encode_record(const struct record *r, uint8_t recipient, const uint8_t *result, size_t result_len,
                         uint8_t **resp, size_t *resp_len, struct gtee_err *err)
{
    struct enc_out o = {0};
    uint8_t id[32], be[8], ep[2];
    int rc;

    TRY(enc_out_add(&o, &r->kind, 1, err));
    TRY(enc_out_add(&o, r->model, 32, err));
    TRY(enc_out_add(&o, r->input, 32, err));
    TRY(enc_out_add(&o, r->labels, 32, err));
    TRY(enc_out_add(&o, &recipient, 1, err));
    ENSURE(gtee_sha256(result, result_len, id) == 0, err, GTEE_ECRYPTO, "enclave: hash failed");
    TRY(enc_out_add(&o, id, 32, err));
    put_u64be(be, result_len);
    TRY(enc_out_add(&o, be, 8, err));
    put_u64be(be, r->macs);
    TRY(enc_out_add(&o, be, 8, err));
    put_u64be(be, r->samples);
    TRY(enc_out_add(&o, be, 8, err));
    put_u16be(ep, r->n_epochs);
    TRY(enc_out_add(&o, ep, 2, err));
    TRY(enc_out_add(&o, r->epochs.p, r->epochs.len, err));
    *resp = o.p;
    *resp_len = o.len;
    o.p = NULL;
out:
    free(o.p);
    return rc;
}

static int run_infer(struct job *j, struct record *r, unsigned model, struct span *req, uint8_t **pt, size_t *pt_len,
                     struct gtee_err *err)
{
    struct gtee_array x = {0};
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = {0};
    struct gtee_ml_tensor in = {0}, y = {0};
    struct gtee_ml_model_info info;
    uint8_t input = span_u8(req), threads = span_u8(req);
    const struct enc_blob *b;
    int rc;

    ENSURE(!req->bad && req->len == 0, err, GTEE_EFORMAT, "enclave: an infer job takes %d bytes after the model",
           GTEE_JOB_INFER_LEN);
    TRY(mo.threads = threads_of(threads, err));
    TRY(enc_blob_get(j->e, input, "input", &b, err));
    memcpy(r->input, b->id, 32);
    TRY(load_model(j, model, err));
    gtee_ml_model_info(j->model, &info);
    ENSURE(info.n_inputs == 1 && info.n_outputs >= 1, err, GTEE_EUNSUPPORTED,
           "enclave: infer jobs run models of one input (this one has %zu)", info.n_inputs);
    TRY(load_array(j, input, "input", GTEE_ARRAY_F32, &x, err));
    in.dtype = GTEE_ML_FLOAT;
    in.rank = (int)x.ndim;
    for (size_t i = 0; i < x.ndim; i++)
        in.dim[i] = (int64_t)x.dims[i];
    in.data = x.f32;
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

/* The training fields after the model (gtee/msg.h, GTEE_JOB_TRAIN_LEN). */
struct train_req {
    uint8_t x, y, threads, optimizer;
    uint16_t epochs;
    uint32_t batch;
    uint64_t seed;
    float lr;
};

static int parse_train(struct span *req, struct train_req *t, struct gtee_err *err)
{
    uint32_t lr_bits;
    int rc;

    ENSURE(req->len == GTEE_JOB_TRAIN_LEN, err, GTEE_EFORMAT, "enclave: a train job takes %d bytes after the model",
           GTEE_JOB_TRAIN_LEN);
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
           "enclave: train optimizer %u unknown (1 sgd, 2 adam)", t->optimizer);
    ENSURE(t->epochs >= 1 && t->epochs <= JOB_MAX_EPOCHS, err, GTEE_EFORMAT,
           "enclave: train epochs %u out of range 1..%d", t->epochs, JOB_MAX_EPOCHS);
    ENSURE(t->batch >= 1 && t->batch <= 65536, err, GTEE_EFORMAT, "enclave: train batch %u out of range 1..65536",
           t->batch);
    ENSURE(t->lr > 0.0f && t->lr < 10.0f, err, GTEE_EFORMAT, "enclave: train learning rate out of range (0, 10)");
    rc = threads_of(t->threads, err) < 0 ? GTEE_EFORMAT : 0;
out:
    return rc;
}

static int run_train(struct job *j, struct record *r, unsigned model, const struct train_req *t, uint8_t **pt,
                     size_t *pt_len, struct gtee_err *err)
{
    struct gtee_array x = {0}, y = {0};
    struct gtee_dataset ds = {0};
    struct gtee_ml_train_options o = {0};
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_epoch_stats st;
    const struct enc_blob *mb;
    int rc;

    TRY(load_model(j, model, err));
    TRY(load_array(j, t->x, "features", GTEE_ARRAY_F32, &x, err));
    TRY(load_array(j, t->y, "labels", GTEE_ARRAY_I64, &y, err));
    TRY(gtee_dataset_from_arrays(&x, "features", &y, "labels", &ds, err));
    o.threads = t->threads;
    o.loss = GTEE_ML_LOSS_XENT;
    o.optimizer = t->optimizer;
    o.sgd = (struct gtee_ml_sgd){ t->lr, 0.0f, 0.0f, 0.0f, 0 };
    o.adam = (struct gtee_ml_adam){ t->lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0 };
    TRY(gtee_ml_trainer_new(j->model, &o, &tr, err));
    for (uint16_t ep = 0; ep < t->epochs; ep++) {
        struct progress g = { j->e, t->epochs };
        uint8_t rec[24];
        uint64_t bits;

        TRY(gtee_ml_train_epoch(tr, &ds, ep, t->batch, t->seed, report, &g, &st, err));
        /* a full batch's step, times the epoch's batches: the last batch may be smaller */
        r->macs += gtee_ml_trainer_step_macs(tr) / t->batch * st.samples;
        r->samples += st.samples;
        memcpy(&bits, &st.loss, sizeof(bits));
        put_u64be(rec, bits);
        put_u64be(rec + 8, st.correct);
        put_u64be(rec + 16, st.samples);
        TRY(enc_out_add(&r->epochs, rec, sizeof(rec), err));
        r->n_epochs++;
    }
    TRY(enc_blob_get(j->e, model, "model", &mb, err));
    TRY(gtee_ml_model_save(j->model, mb->pt, mb->len, pt, pt_len, err));
out:
    gtee_ml_trainer_free(tr);
    gtee_dataset_free(&ds);
    gtee_array_free(&x);
    gtee_array_free(&y);
    return rc;
}

int enc_ml_job(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
               struct gtee_err *err)
{
    struct job j = { .e = e };
    struct record r = {0};
    struct train_req t = {0};
    const struct enc_grant *mg = NULL, *g = NULL;
    const struct enc_blob *mb, *b;
    const uint8_t *requester;
    uint8_t *pt = NULL, recipient = 1;
    size_t pt_len = 0;
    unsigned model, kind_bit;
    int rc;

    r.kind = span_u8(req);
    requester = span_take(req, 32);
    model = span_u8(req);
    ENSURE(!req->bad, err, GTEE_EFORMAT, "enclave: a job starts with kind, requester key and model (34 bytes)");
    ENSURE(r.kind == 1 || r.kind == 2, err, GTEE_EFORMAT, "enclave: job kind %u unknown (1 infer, 2 train)", r.kind);
    kind_bit = r.kind == 1 ? GTEE_GRANT_INFER : GTEE_GRANT_TRAIN;
    if (r.kind == 2)
        TRY(parse_train(req, &t, err));
    /* every blob the job reads needs a grant naming the requester for this kind */
    TRY(enc_blob_get(e, model, "model", &mb, err));
    memcpy(r.model, mb->id, 32);
    TRY(enc_grant_check(e, mb->id, "model", kind_bit, requester, &mg, err));
    if (r.kind == 1) {
        ENSURE(req->len >= 1, err, GTEE_EFORMAT, "enclave: an infer job takes %d bytes after the model",
               GTEE_JOB_INFER_LEN);
        TRY(enc_blob_get(e, req->p[0], "input", &b, err));
        TRY(enc_grant_check(e, b->id, "input", kind_bit, requester, &g, err));
        TRY(run_infer(&j, &r, model, req, &pt, &pt_len, err));
    } else {
        TRY(enc_blob_get(e, t.x, "features", &b, err));
        memcpy(r.input, b->id, 32);
        TRY(enc_grant_check(e, b->id, "features", kind_bit, requester, &g, err));
        TRY(enc_blob_get(e, t.y, "labels", &b, err));
        memcpy(r.labels, b->id, 32);
        TRY(enc_grant_check(e, b->id, "labels", kind_bit, requester, &g, err));
        TRY(run_train(&j, &r, model, &t, &pt, &pt_len, err));
        /* trained weights: to the requester only where the model's owner allowed it */
        if (!(mg->flags & GTEE_GRANT_WEIGHTS_TO_REQUESTER) && memcmp(mg->owner, requester, 32) != 0)
            recipient = 2;
    }
    TRY(seal_result(&r, recipient == 1 ? requester : mg->owner, pt, pt_len, host, host_len, err));
    TRY(encode_record(&r, recipient, *host, *host_len, resp, resp_len, err));
out:
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    if (r.epochs.p) {
        gtee_wipe(r.epochs.p, r.epochs.len);
        free(r.epochs.p);
    }
    job_end(&j);
    return rc;
}
