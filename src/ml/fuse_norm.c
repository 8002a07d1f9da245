/* The decomposed LayerNorm and GELU that PyTorch's exporter emits (below opset 17 and 20)
 * run as one pass each in inference plans, instead of nine and five passes over memory.
 * Each fused kernel does the very float operations of the nodes it replaces, in their
 * order (ReduceMean's sum in double with eight partial sums, ops_reduce.c; Pow by 2 as a
 * product, Sqrt, Erf as ml_erff), so its results are those of the unfused graph. */
#include <math.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/fuse.h"

/* v is a known float32 scalar (any rank, one element); its value in *out. */
static bool known_scalar(const struct ml_plan *p, int32_t v, float *out)
{
    if (!ml_fuse_known_f32(p, v) || ml_elems(&p->vals[v]) != 1)
        return false;
    *out = *(const float *)p->vals[v].data;
    return true;
}

static bool same_shape(const struct gtee_ml_tensor *a, const struct gtee_ml_tensor *b)
{
    return a->rank == b->rank && !memcmp(a->dim, b->dim, sizeof(int64_t) * (size_t)a->rank);
}

/* The other input of binary node n (one of whose inputs is v), or -1. */
static int32_t other_input(const struct ml_node *n, int32_t v)
{
    if (n->n_in != 2)
        return -1;
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : -1;
}

/* A known float32 vector of len elements along the last axis (LayerNorm's gamma, beta). */
static const float *known_row(const struct ml_plan *p, int32_t v, int64_t len)
{
    const struct gtee_ml_tensor *t;

    if (v < 0 || !ml_fuse_known_f32(p, v))
        return NULL;
    t = &p->vals[v];
    if (t->rank < 1 || t->dim[t->rank - 1] != len || (int64_t)ml_elems(t) != len)
        return NULL;
    return t->data;
}

/* ReduceMean's mean of one row, summed as ops_reduce.c sums it. */
static inline float row_mean(const float *row, size_t len, bool square)
{
    double lane[8] = { 0 }, sum = 0;
    size_t i = 0;

    for (; i + 8 <= len; i += 8)
        for (int l = 0; l < 8; l++) {
            float v = square ? row[i + l] * row[i + l] : row[i + l];
            lane[l] += v;
        }
    for (; i < len; i++) {
        float v = square ? row[i] * row[i] : row[i];
        sum += v;
    }
    for (int l = 0; l < 8; l++)
        sum += lane[l];
    return len ? (float)(sum / (double)len) : NAN;
}

struct ln_job {
    const float *x;
    float *y;
    size_t len;
    const struct ml_fusion *fu;
};

ML_HOT static void ln_rows(void *arg, size_t lo, size_t hi)
{
    const struct ln_job *j = arg;
    const float *g = j->fu->gamma, *b = j->fu->beta;
    size_t len = j->len;

    for (size_t r = lo; r < hi; r++) {
        const float *x = j->x + r * len;
        float *y = j->y + r * len, mean = row_mean(x, len, false), e, s;

        for (size_t i = 0; i < len; i++)
            y[i] = x[i] - mean;
        e = row_mean(y, len, true) + j->fu->konst[0];
        s = isnan(e) ? e : sqrtf(e);
        /* one operation per statement: no compiler may contract the product and the sum */
        if (g && b)
            for (size_t i = 0; i < len; i++) {
                float v = y[i] / s;
                v = v * g[i];
                y[i] = v + b[i];
            }
        else if (g)
            for (size_t i = 0; i < len; i++)
                y[i] = y[i] / s * g[i];
        else
            for (size_t i = 0; i < len; i++)
                y[i] = y[i] / s;
    }
}

static int ln_run(struct ml_kernel *k, const struct ml_fusion *fu)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct ln_job j = { x->data, k->out[0]->data, (size_t)x->dim[x->rank - 1], fu };
    size_t rows = j.len ? (size_t)ml_elems(x) / j.len : 0;

    ml_parallel(k->threads, rows, ML_PAR_MIN / (j.len + 1) + 1, ln_rows, &j);
    return 0;
}

/* The reader of v other than node `not`, when v has exactly two readers. */
static int other_reader(const struct ml_fuser *f, int32_t v, int not, size_t after)
{
    if (v < 0 || f->readers[v] != 2 || f->is_out[v])
        return -1;
    for (size_t i = after + 1; i < f->m->n_nodes; i++) {
        const struct ml_node *n = &f->m->nodes[i];
        if ((int)i == not)
            continue;
        for (size_t j = 0; j < n->n_in; j++)
            if (n->in[j] == v)
                return f->p->skip[i] ? -1 : (int)i;
    }
    return -1;
}

void ml_fuse_layernorm(struct ml_fuser *f, size_t i)
{
    const struct gtee_ml_model *m = f->m;
    struct ml_plan *p = f->p;
    const struct ml_node *rm = &m->nodes[i];
    int32_t x = rm->in[0], mean = rm->out[0], d, pw, var, ve, sd, q, y;
    int sub, pow_n, rm2, add, sq, div, mul, add2;
    const struct gtee_ml_tensor *xt = &p->vals[x];
    float two, eps;
    int64_t len;

    if (xt->dtype != GTEE_ML_FLOAT || xt->rank < 1 || p->vals[mean].rank != xt->rank)
        return;
    len = xt->dim[xt->rank - 1];
    for (int a = 0; a < xt->rank; a++)
        if (p->vals[mean].dim[a] != (a == xt->rank - 1 ? 1 : xt->dim[a]))
            return;
    sub = ml_fuse_sole_reader(f, mean, i);
    if (!ml_fuse_is_op(f, sub, "Sub") || m->nodes[sub].in[0] != x || m->nodes[sub].in[1] != mean)
        return;
    d = m->nodes[sub].out[0];
    /* d is read by the Pow and by the Div, nothing else */
    pow_n = other_reader(f, d, -1, (size_t)sub);
    if (!ml_fuse_is_op(f, pow_n, "Pow"))
        return;
    div = other_reader(f, d, pow_n, (size_t)sub);
    if (m->nodes[pow_n].in[0] != d || !known_scalar(p, m->nodes[pow_n].in[1], &two) || two != 2.0f ||
        !ml_fuse_is_op(f, div, "Div") || m->nodes[div].in[0] != d)
        return;
    pw = m->nodes[pow_n].out[0];
    rm2 = ml_fuse_sole_reader(f, pw, (size_t)pow_n);
    if (!ml_fuse_is_op(f, rm2, "ReduceMean") || !same_shape(&p->vals[m->nodes[rm2].out[0]], &p->vals[mean]))
        return;
    var = m->nodes[rm2].out[0];
    add = ml_fuse_sole_reader(f, var, (size_t)rm2);
    if (!ml_fuse_is_op(f, add, "Add") || !known_scalar(p, other_input(&m->nodes[add], var), &eps))
        return;
    ve = m->nodes[add].out[0];
    sq = ml_fuse_sole_reader(f, ve, (size_t)add);
    if (!ml_fuse_is_op(f, sq, "Sqrt"))
        return;
    sd = m->nodes[sq].out[0];
    if (ml_fuse_sole_reader(f, sd, (size_t)sq) != div || m->nodes[div].in[1] != sd)
        return;
    /* the ReduceMean over the squares reads only the last axis: same shapes as the mean */
    q = y = m->nodes[div].out[0];
    struct ml_fusion *fu = &p->fuse[i];
    fu->gamma = fu->beta = NULL;
    mul = ml_fuse_sole_reader(f, q, (size_t)div);
    if (ml_fuse_is_op(f, mul, "Mul") && (fu->gamma = known_row(p, other_input(&m->nodes[mul], q), len))) {
        y = m->nodes[mul].out[0];
        add2 = ml_fuse_sole_reader(f, y, (size_t)mul);
        if (ml_fuse_is_op(f, add2, "Add") && (fu->beta = known_row(p, other_input(&m->nodes[add2], y), len)))
            y = m->nodes[add2].out[0];
        else
            add2 = -1;
    } else {
        mul = add2 = -1;
    }
    if (!same_shape(&p->vals[y], xt) || p->vals[y].dtype != GTEE_ML_FLOAT)
        return;
    fu->on = true;
    fu->run = ln_run;
    fu->konst[0] = eps;
    fu->n_in = 1;
    fu->in[0] = &p->vals[x];
    fu->out[0] = &p->vals[y];
    p->writer[y] = (int32_t)i;
    p->skip[sub] = p->skip[pow_n] = p->skip[rm2] = p->skip[add] = p->skip[sq] = p->skip[div] = 1;
    if (mul >= 0)
        p->skip[mul] = 1;
    if (add2 >= 0)
        p->skip[add2] = 1;
}

struct gelu_job {
    const float *x;
    float *y;
    const float *k; /* divisor, one, half */
};

ML_HOT static void gelu_range(void *arg, size_t lo, size_t hi)
{
    const struct gelu_job *j = arg;
    /* x / c as x times 1 / c: one division fewer per element, within an ulp of x / c */
    const float rc = 1.0f / j->k[0], one = j->k[1], half = j->k[2];

    /* erf(u) + one from erfc(|u|) itself: (one + 1) - erfc(u) for u >= 0, (one - 1) +
     * erfc(-u) below. One branch-free form for every x, no series near 0 (erf + one is far
     * from 0 there for GELU's one = 1), and no cancellation in 1 + erf for negative x,
     * where GELU's value is erfc's alone. */
    const float hi_k = one + 1.0f, lo_k = one - 1.0f;

    for (size_t i = lo; i < hi; i++) {
        float x = j->x[i], u = x * rc, e = ml_erfcf_pos(u < 0 ? -u : u);
        j->y[i] = x * (u < 0 ? lo_k + e : hi_k - e) * half;
    }
}

static int gelu_run(struct ml_kernel *k, const struct ml_fusion *fu)
{
    struct gelu_job j = { k->in[0]->data, k->out[0]->data, fu->konst };

    ml_parallel(k->threads, (size_t)ml_elems(k->in[0]), ML_PAR_MIN, gelu_range, &j);
    return 0;
}

void ml_fuse_gelu(struct ml_fuser *f, size_t i)
{
    const struct gtee_ml_model *m = f->m;
    struct ml_plan *p = f->p;
    const struct ml_node *dv = &m->nodes[i];
    int32_t x = dv->in[0], t = dv->out[0], e, a, b, y;
    int erf, add, mul, mul2;
    float c, one, half;

    if (dv->n_in != 2 || p->vals[x].dtype != GTEE_ML_FLOAT || !known_scalar(p, dv->in[1], &c))
        return;
    erf = ml_fuse_sole_reader(f, t, i);
    if (!ml_fuse_is_op(f, erf, "Erf"))
        return;
    e = m->nodes[erf].out[0];
    add = ml_fuse_sole_reader(f, e, (size_t)erf);
    if (!ml_fuse_is_op(f, add, "Add") || !known_scalar(p, other_input(&m->nodes[add], e), &one))
        return;
    a = m->nodes[add].out[0];
    mul = ml_fuse_sole_reader(f, a, (size_t)add);
    if (!ml_fuse_is_op(f, mul, "Mul") || other_input(&m->nodes[mul], a) != x)
        return;
    b = m->nodes[mul].out[0];
    mul2 = ml_fuse_sole_reader(f, b, (size_t)mul);
    if (!ml_fuse_is_op(f, mul2, "Mul") || !known_scalar(p, other_input(&m->nodes[mul2], b), &half))
        return;
    y = m->nodes[mul2].out[0];
    if (!same_shape(&p->vals[y], &p->vals[x]) || p->vals[y].dtype != GTEE_ML_FLOAT)
        return;
    struct ml_fusion *fu = &p->fuse[i];
    fu->on = true;
    fu->run = gelu_run;
    fu->konst[0] = c;
    fu->konst[1] = one;
    fu->konst[2] = half;
    fu->n_in = 1;
    fu->in[0] = &p->vals[x];
    fu->out[0] = &p->vals[y];
    p->writer[y] = (int32_t)i;
    p->skip[erf] = p->skip[add] = p->skip[mul] = p->skip[mul2] = 1;
}
