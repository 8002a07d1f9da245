/* Grants, jobs, job records and results (gtee/jobs.h; docs/tee.md §7.2): one encoder and one
 * exact parser each, so the enclave and the clients cannot read the bytes differently. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "gtee/jobs.h"

int gtee_grant_encode(const struct gtee_grant *g, uint8_t out[GTEE_GRANT_MAX_LEN], size_t *len, struct gtee_err *err)
{
    if (g->n_to > GTEE_GRANT_MAX_TO)
        return GTEE_FAIL(err, GTEE_EINVAL, "grant: %u counterparties, at most %d", g->n_to, GTEE_GRANT_MAX_TO);
    memcpy(out, g->content_id, 32);
    memcpy(out + 32, g->key, 32);
    memcpy(out + 64, g->owner, 32);
    out[96] = g->kinds;
    out[97] = g->flags;
    put_u64be(out + 98, g->until);
    out[106] = g->n_to;
    for (unsigned i = 0; i < g->n_to; i++)
        memcpy(out + 107 + 32 * i, g->to[i], 32);
    *len = 107 + 32 * (size_t)g->n_to;
    return 0;
}

int gtee_grant_id(const struct gtee_grant *g, uint8_t id[32], struct gtee_err *err)
{
    uint8_t b[GTEE_GRANT_MAX_LEN];
    size_t n = 0;
    int rc;

    TRY(gtee_grant_encode(g, b, &n, err));
    memset(b + 32, 0, 32); /* the key: never in a receipt, not even hashed */
    ENSURE(gtee_sha256(b, n, id) == 0, err, GTEE_ECRYPTO, "grant: hash failed");
out:
    gtee_wipe(b, sizeof(b));
    return rc;
}

int gtee_grant_parse(const uint8_t *p, size_t len, struct gtee_grant *g, struct gtee_err *err)
{
    struct span s = span_init(p, len);
    int rc;

    memset(g, 0, sizeof(*g));
    span_copy(&s, g->content_id, 32);
    span_copy(&s, g->key, 32);
    span_copy(&s, g->owner, 32);
    g->kinds = span_u8(&s);
    g->flags = span_u8(&s);
    g->until = span_u64be(&s);
    g->n_to = span_u8(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "grant: %zu bytes, shorter than its 107 fixed bytes", len);
    ENSURE(g->kinds && !(g->kinds & ~(GTEE_GRANT_INFER | GTEE_GRANT_TRAIN)), err, GTEE_EFORMAT,
           "grant: kinds 0x%02x: bit 0 infer, bit 1 train, at least one (offset 96)", g->kinds);
    ENSURE(!(g->flags & ~GTEE_GRANT_WEIGHTS_TO_REQUESTER), err, GTEE_EFORMAT, "grant: flags 0x%02x unknown (offset 97)",
           g->flags);
    ENSURE(g->n_to <= GTEE_GRANT_MAX_TO && s.len == (size_t)g->n_to * 32, err, GTEE_EFORMAT,
           "grant: %u counterparties in %zu bytes (at most %d, 32 bytes each; offset 107)", g->n_to, s.len,
           GTEE_GRANT_MAX_TO);
    for (unsigned i = 0; i < g->n_to; i++)
        span_copy(&s, g->to[i], 32);
    rc = 0;
out:
    if (rc < 0)
        gtee_wipe(g->key, sizeof(g->key));
    return rc;
}

int gtee_job_encode(const struct gtee_job *j, uint8_t out[GTEE_JOB_MAX_LEN], size_t *len, struct gtee_err *err)
{
    uint32_t bits;

    if (j->kind != GTEE_JOB_INFER && j->kind != GTEE_JOB_TRAIN)
        return GTEE_FAIL(err, GTEE_EINVAL, "job: kind %u unknown (1 infer, 2 train)", j->kind);
    out[0] = j->kind;
    memcpy(out + 1, j->requester, 32);
    out[33] = j->model;
    out[34] = j->input;
    if (j->kind == GTEE_JOB_INFER) {
        out[35] = j->threads;
        *len = 34 + GTEE_JOB_INFER_LEN;
        return 0;
    }
    out[35] = j->labels;
    out[36] = j->threads;
    out[37] = j->optimizer;
    put_u16be(out + 38, j->epochs);
    put_u32be(out + 40, j->batch);
    put_u64be(out + 44, j->seed);
    memcpy(&bits, &j->lr, sizeof(bits));
    put_u32be(out + 52, bits);
    *len = 34 + GTEE_JOB_TRAIN_LEN;
    return 0;
}

/* The ranges a job's fields must be in; offsets are in the job's bytes. */
static int check_train(const struct gtee_job *j, struct gtee_err *err)
{
    if (j->optimizer != 1 && j->optimizer != 2)
        return GTEE_FAIL(err, GTEE_EFORMAT, "job: optimizer %u unknown (1 sgd, 2 adam; offset 37)", j->optimizer);
    if (j->epochs < 1 || j->epochs > GTEE_JOB_MAX_EPOCHS)
        return GTEE_FAIL(err, GTEE_EFORMAT, "job: epochs %u out of range 1..%d (offset 38)", j->epochs,
                         GTEE_JOB_MAX_EPOCHS);
    if (j->batch < 1 || j->batch > 65536)
        return GTEE_FAIL(err, GTEE_EFORMAT, "job: batch %u out of range 1..65536 (offset 40)", j->batch);
    if (!(j->lr > 0.0f && j->lr < 10.0f))
        return GTEE_FAIL(err, GTEE_EFORMAT, "job: learning rate out of range (0, 10) (offset 52)");
    return 0;
}

int gtee_job_parse(const uint8_t *p, size_t len, struct gtee_job *j, struct gtee_err *err)
{
    struct span s = span_init(p, len);
    uint32_t bits;
    int rc;

    memset(j, 0, sizeof(*j));
    j->kind = span_u8(&s);
    span_copy(&s, j->requester, 32);
    j->model = span_u8(&s);
    j->input = span_u8(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "job: %zu bytes, shorter than its first 35", len);
    if (j->kind == GTEE_JOB_INFER) {
        j->threads = span_u8(&s);
    } else {
        ENSURE(j->kind == GTEE_JOB_TRAIN, err, GTEE_EFORMAT, "job: kind %u unknown (1 infer, 2 train; offset 0)",
               j->kind);
        j->labels = span_u8(&s);
        j->threads = span_u8(&s);
        j->optimizer = span_u8(&s);
        j->epochs = span_u16be(&s);
        j->batch = span_u32be(&s);
        j->seed = span_u64be(&s);
        bits = span_u32be(&s);
        memcpy(&j->lr, &bits, sizeof(j->lr));
    }
    ENSURE(!s.bad && s.len == 0, err, GTEE_EFORMAT, "job: a %s job is %d bytes, not %zu",
           j->kind == GTEE_JOB_INFER ? "infer" : "train",
           34 + (j->kind == GTEE_JOB_INFER ? GTEE_JOB_INFER_LEN : GTEE_JOB_TRAIN_LEN), len);
    ENSURE(j->threads >= 1 && j->threads <= GTEE_JOB_MAX_THREADS, err, GTEE_EFORMAT,
           "job: threads %u out of range 1..%d", j->threads, GTEE_JOB_MAX_THREADS);
    rc = j->kind == GTEE_JOB_TRAIN ? check_train(j, err) : 0;
out:
    return rc;
}

int gtee_job_record_encode(const struct gtee_job_record *r, uint8_t **out, size_t *len, struct gtee_err *err)
{
    size_t n = GTEE_JOB_RECORD_FIXED + 24 * (size_t)r->n_epochs;
    uint8_t *b = malloc(n);

    if (!b)
        return GTEE_FAIL(err, GTEE_ENOMEM, "job record: out of memory");
    b[0] = r->kind;
    memcpy(b + 1, r->model, 32);
    memcpy(b + 33, r->input, 32);
    memcpy(b + 65, r->labels, 32);
    b[97] = r->recipient;
    memcpy(b + 98, r->result_sha256, 32);
    put_u64be(b + 130, r->result_len);
    put_u64be(b + 138, r->macs);
    put_u64be(b + 146, r->samples);
    put_u16be(b + 154, r->n_epochs);
    for (size_t i = 0; i < r->n_epochs; i++) {
        uint64_t bits;

        memcpy(&bits, &r->epochs[i].loss, sizeof(bits));
        put_u64be(b + 156 + 24 * i, bits);
        put_u64be(b + 164 + 24 * i, r->epochs[i].correct);
        put_u64be(b + 172 + 24 * i, r->epochs[i].samples);
    }
    *out = b;
    *len = n;
    return 0;
}

int gtee_job_record_parse(const uint8_t *p, size_t len, struct gtee_job_record *r, struct gtee_err *err)
{
    struct span s = span_init(p, len);
    int rc;

    memset(r, 0, sizeof(*r));
    r->kind = span_u8(&s);
    span_copy(&s, r->model, 32);
    span_copy(&s, r->input, 32);
    span_copy(&s, r->labels, 32);
    r->recipient = span_u8(&s);
    span_copy(&s, r->result_sha256, 32);
    r->result_len = span_u64be(&s);
    r->macs = span_u64be(&s);
    r->samples = span_u64be(&s);
    r->n_epochs = span_u16be(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "job record: %zu bytes, shorter than its %d fixed bytes", len,
           GTEE_JOB_RECORD_FIXED);
    ENSURE(r->kind == GTEE_JOB_INFER || r->kind == GTEE_JOB_TRAIN, err, GTEE_EFORMAT,
           "job record: kind %u unknown (offset 0)", r->kind);
    ENSURE(r->recipient == 1 || r->recipient == 2, err, GTEE_EFORMAT, "job record: recipient %u unknown (offset 97)",
           r->recipient);
    ENSURE(s.len == 24 * (size_t)r->n_epochs, err, GTEE_EFORMAT,
           "job record: %u epochs need %zu bytes after offset 156, %zu there", r->n_epochs, 24 * (size_t)r->n_epochs,
           s.len);
    if (r->n_epochs) {
        r->epochs = calloc(r->n_epochs, sizeof(*r->epochs));
        ENSURE(r->epochs, err, GTEE_ENOMEM, "job record: out of memory");
    }
    for (size_t i = 0; i < r->n_epochs; i++) {
        uint64_t bits = span_u64be(&s);

        memcpy(&r->epochs[i].loss, &bits, sizeof(bits));
        r->epochs[i].correct = span_u64be(&s);
        r->epochs[i].samples = span_u64be(&s);
    }
    rc = 0;
out:
    if (rc < 0)
        gtee_job_record_free(r);
    return rc;
}

void gtee_job_record_free(struct gtee_job_record *r)
{
    if (!r)
        return;
    free(r->epochs);
    r->epochs = NULL;
    r->n_epochs = 0;
}

static const char result_info[] = "gtee result v1";

#define RESULT_HEADER 106 /* "GTEE-RES" 0x02, kind, three content ids: the associated data */

/* The header in the clear (nothing secret: the host saw which blobs the job read), which
 * is also the associated data. */
static void result_header(const struct gtee_job_record *r, uint8_t h[RESULT_HEADER])
{
    memcpy(h, "GTEE-RES\x02", 9);
    h[9] = r->kind;
    memcpy(h + 10, r->model, 32);
    memcpy(h + 42, r->input, 32);
    memcpy(h + 74, r->labels, 32);
}

/* The record inside the result: all of it but the result's own SHA-256 and length. */
static int summary_of(const struct gtee_job_record *r, uint8_t **out, size_t *len, struct gtee_err *err)
{
    struct gtee_job_record s = *r;

    memset(s.result_sha256, 0, sizeof(s.result_sha256));
    s.result_len = 0;
    return gtee_job_record_encode(&s, out, len, err);
}

size_t gtee_result_sealed_len(const struct gtee_job_record *r, size_t len)
{
    return GTEE_RESULT_OVERHEAD + GTEE_JOB_RECORD_FIXED + 24 * (size_t)r->n_epochs + len;
}

int gtee_result_seal(const struct gtee_job_record *r, const uint8_t to[32], const uint8_t *pt, size_t len,
                     uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    uint8_t *b = NULL, *sum = NULL, *inner = NULL;
    struct gtee_hpke *h = NULL;
    size_t n = gtee_result_sealed_len(r, len), sum_len = 0, inner_len;
    int rc;

    TRY(summary_of(r, &sum, &sum_len, err));
    inner_len = 4 + sum_len + len;
    b = malloc(n);
    inner = malloc(inner_len);
    ENSURE(b && inner, err, GTEE_ENOMEM, "result: out of memory for %zu bytes", len);
    put_u32be(inner, (uint32_t)sum_len);
    memcpy(inner + 4, sum, sum_len);
    if (len)
        memcpy(inner + 4 + sum_len, pt, len);
    result_header(r, b);
    TRY(gtee_hpke_sender(to, (const uint8_t *)result_info, sizeof(result_info) - 1, b + RESULT_HEADER, &h, err));
    TRY(gtee_hpke_seal(h, b, RESULT_HEADER, inner, inner_len, b + RESULT_HEADER + GTEE_HPKE_ENC_LEN, err));
    *out = b;
    *out_len = n;
    b = NULL;
out:
    gtee_hpke_free(h);
    if (inner) {
        gtee_wipe(inner, inner_len);
        free(inner);
    }
    free(sum);
    free(b);
    return rc;
}

int gtee_result_open_alone(const uint8_t sk[32], const uint8_t *res, size_t res_len, struct gtee_job_record *r,
                           uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    struct gtee_hpke *h = NULL;
    uint8_t *inner = NULL;
    size_t inner_len = 0;
    uint32_t sum_len;
    int rc;

    memset(r, 0, sizeof(*r));
    *pt = NULL;
    *pt_len = 0;
    ENSURE(res_len >= GTEE_RESULT_OVERHEAD + GTEE_JOB_RECORD_FIXED && !memcmp(res, "GTEE-RES\x02", 9), err,
           GTEE_EFORMAT, "result: not a version 2 result (%zu bytes; offset 0)", res_len);
    inner_len = res_len - GTEE_RESULT_OVERHEAD + 4;
    inner = malloc(inner_len);
    ENSURE(inner, err, GTEE_ENOMEM, "result: out of memory");
    TRY(gtee_hpke_receiver(sk, res + RESULT_HEADER, (const uint8_t *)result_info, sizeof(result_info) - 1, &h, err));
    rc = gtee_hpke_open(h, res, RESULT_HEADER, res + RESULT_HEADER + GTEE_HPKE_ENC_LEN,
                        res_len - RESULT_HEADER - GTEE_HPKE_ENC_LEN, inner, err);
    ENSURE(rc == 0, err, GTEE_EAUTH,
           "result: it does not open with this identity (sealed to another one, or altered)");
    sum_len = (uint32_t)inner[0] << 24 | (uint32_t)inner[1] << 16 | (uint32_t)inner[2] << 8 | inner[3];
    ENSURE(sum_len <= inner_len - 4, err, GTEE_EFORMAT, "result: its record of %u bytes is longer than it", sum_len);
    TRY(gtee_job_record_parse(inner + 4, sum_len, r, err));
    /* the record inside must be the job the header names */
    ENSURE(r->kind == res[9] && !memcmp(r->model, res + 10, 32) && !memcmp(r->input, res + 42, 32) &&
               !memcmp(r->labels, res + 74, 32),
           err, GTEE_EAUTH, "result: its record names another job than its header");
    r->result_len = res_len;
    ENSURE(gtee_sha256(res, res_len, r->result_sha256) == 0, err, GTEE_ECRYPTO, "result: hash failed");
    *pt_len = inner_len - 4 - sum_len;
    memmove(inner, inner + 4 + sum_len, *pt_len);
    *pt = inner;
    inner = NULL;
out:
    gtee_hpke_free(h);
    if (inner) {
        gtee_wipe(inner, inner_len);
        free(inner);
    }
    if (rc < 0)
        gtee_job_record_free(r);
    return rc;
}

int gtee_result_open(const struct gtee_job_record *r, const uint8_t sk[32], const uint8_t *res, size_t res_len,
                     uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    struct gtee_job_record in = { 0 };
    uint8_t id[32];
    int rc;

    *pt = NULL;
    *pt_len = 0;
    ENSURE(res_len >= 9 && !memcmp(res, "GTEE-RES\x02", 9), err, GTEE_EFORMAT,
           "result: not a version 2 result (%zu bytes)", res_len);
    ENSURE(res_len == r->result_len && gtee_sha256(res, res_len, id) == 0 && gtee_ct_equal(id, r->result_sha256, 32),
           err, GTEE_EAUTH, "result: not the result its job record names (length or SHA-256)");
    TRY(gtee_result_open_alone(sk, res, res_len, &in, pt, pt_len, err));
    /* what the result says of its job is what the record says (the record names its hash) */
    ENSURE(in.kind == r->kind && !memcmp(in.model, r->model, 32) && !memcmp(in.input, r->input, 32) &&
               !memcmp(in.labels, r->labels, 32) && in.recipient == r->recipient && in.macs == r->macs &&
               in.samples == r->samples && in.n_epochs == r->n_epochs &&
               (!r->n_epochs || !memcmp(in.epochs, r->epochs, r->n_epochs * sizeof(*r->epochs))),
           err, GTEE_EAUTH, "result: its record differs from the job record");
out:
    gtee_job_record_free(&in);
    if (rc < 0 && *pt) {
        gtee_wipe(*pt, *pt_len);
        free(*pt);
        *pt = NULL;
        *pt_len = 0;
    }
    return rc;
}

void gtee_result_notice_encode(const struct gtee_result_notice *n, uint8_t out[GTEE_RESULT_NOTICE_LEN])
{
    memcpy(out, "GTEE-RSL\x01", 9);
    put_u64be(out + 9, n->len);
    memcpy(out + 17, n->sha256, 32);
}

int gtee_result_notice_is(const uint8_t *p, size_t len)
{
    return len >= 8 && !memcmp(p, "GTEE-RSL", 8);
}

int gtee_result_notice_parse(const uint8_t *p, size_t len, struct gtee_result_notice *n, struct gtee_err *err)
{
    struct span s = span_init(p, len);
    const uint8_t *magic = span_take(&s, 9);
    int rc;

    memset(n, 0, sizeof(*n));
    ENSURE(magic && !memcmp(magic, "GTEE-RSL\x01", 9), err, GTEE_EFORMAT,
           "result notice: not a version 1 notice (%zu bytes; offset 0)", len);
    n->len = span_u64be(&s);
    span_copy(&s, n->sha256, 32);
    ENSURE(!s.bad && s.len == 0, err, GTEE_EFORMAT, "result notice: %zu bytes, not %d", len,
           GTEE_RESULT_NOTICE_LEN);
    ENSURE(n->len >= 1 && n->len <= GTEE_RESULT_MAX_LEN, err, GTEE_EFORMAT,
           "result notice: length %llu out of range 1..2^40 (offset 9)", (unsigned long long)n->len);
    rc = 0;
out:
    if (rc < 0)
        memset(n, 0, sizeof(*n));
    return rc;
}
