/* Matrix products on oneDNN's matmul primitive (gemm.h): a transposed operand or a leading
 * dimension is a stride of its memory descriptor, alpha an output scale, beta a sum
 * post-op. Each thread keeps its own primitives (by shape, transposes, strides, alpha and
 * beta), stream, memory objects and scratchpad: the engine's pool runs slices of one
 * product on several threads at once, and a primitive made with a user scratchpad runs on
 * any of them without locks. A thread's cache holds ML_GEMM_CACHE shapes, the least
 * recently used one replaced; it is listed in g_caches while its thread lives (the pool's
 * threads live as long as the process) and freed when the thread exits (a session's own
 * thread, a job's). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/dnn.h"
#include "ml/gemm.h"

/* A training step of the reference models uses a dozen shapes, a transformer's plan a few
 * dozen; primitives cost tens of microseconds to make, kilobytes to keep. */
#define ML_GEMM_CACHE 48

struct gkey {
    int ta, tb, m, n, k, lda, ldb, ldc;
    float alpha, beta;
};

struct gentry {
    struct gkey key;
    uint64_t used; /* the cache's tick when last used (0: empty) */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_memory_t ma, mb, mc, mpad;
    size_t pad;
};

struct gcache {
    struct gcache *next; /* g_caches */
    dnnl_stream_t st;
    uint64_t tick;
    void *pad; /* one scratchpad for every primitive of the thread (one runs at a time) */
    size_t pad_size;
    struct gentry e[ML_GEMM_CACHE];
};

static pthread_mutex_t g_caches_mu = PTHREAD_MUTEX_INITIALIZER;
static struct gcache *g_caches;
static _Thread_local struct gcache *t_cache;
static pthread_key_t g_exit_key; /* its destructor frees an exiting thread's cache */
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static int g_key_rc;

static void entry_free(struct gentry *e)
{
    dnnl_memory_t *mem[4] = { &e->ma, &e->mb, &e->mc, &e->mpad };

    for (int i = 0; i < 4; i++)
        if (*mem[i])
            dnnl_memory_destroy(*mem[i]);
    ml_dnn_prim_free(&e->pd, &e->p);
    memset(e, 0, sizeof(*e));
}

static int status_rc(dnnl_status_t s)
{
    return s == dnnl_success ? 0 : s == dnnl_out_of_memory ? GTEE_ENOMEM : GTEE_EIO;
}

static void cache_free(void *p)
{
    struct gcache *c = p, **link;

    pthread_mutex_lock(&g_caches_mu);
    for (link = &g_caches; *link && *link != c; link = &(*link)->next)
        ;
    if (*link)
        *link = c->next;
    pthread_mutex_unlock(&g_caches_mu);
    for (size_t i = 0; i < ML_GEMM_CACHE; i++)
        entry_free(&c->e[i]);
    if (c->st)
        dnnl_stream_destroy(c->st);
    ml_free(c->pad);
    free(c);
    t_cache = NULL;
}

static void key_init(void)
{
    g_key_rc = pthread_key_create(&g_exit_key, cache_free) ? GTEE_ENOMEM : 0;
}

static int thread_cache(const struct ml_dnn *d, struct gcache **out)
{
    struct gcache *c = t_cache;
    int rc;

    if (c) {
        *out = c;
        return 0;
    }
    pthread_once(&g_key_once, key_init);
    if (g_key_rc < 0)
        return g_key_rc;
    if (!(c = calloc(1, sizeof(*c))))
        return GTEE_ENOMEM;
    if ((rc = status_rc(dnnl_stream_create(&c->st, d->eng, dnnl_stream_default_flags))) < 0 ||
        (rc = pthread_setspecific(g_exit_key, c) ? GTEE_ENOMEM : 0) < 0) {
        if (c->st)
            dnnl_stream_destroy(c->st);
        free(c);
        return rc;
    }
    pthread_mutex_lock(&g_caches_mu);
    c->next = g_caches;
    g_caches = c;
    pthread_mutex_unlock(&g_caches_mu);
    t_cache = *out = c;
    return 0;
}

/* A (m x k), B (k x n) and C (m x n) as they lie in memory: a transposed operand is the
 * same matrix read down its columns. */
static void descs(const struct gkey *q, dnnl_memory_desc_t md[3], dnnl_status_t *s)
{
    dnnl_dims_t ad = { q->m, q->k }, bd = { q->k, q->n }, cd = { q->m, q->n };
    dnnl_dims_t as = { q->ta ? 1 : q->lda, q->ta ? q->lda : 1 }, bs = { q->tb ? 1 : q->ldb, q->tb ? q->ldb : 1 };
    dnnl_dims_t cs = { q->ldc, 1 };

    if ((*s = dnnl_memory_desc_init_by_strides(&md[0], 2, ad, dnnl_f32, as)) == dnnl_success &&
        (*s = dnnl_memory_desc_init_by_strides(&md[1], 2, bd, dnnl_f32, bs)) == dnnl_success)
        *s = dnnl_memory_desc_init_by_strides(&md[2], 2, cd, dnnl_f32, cs);
}

/* The primitive descriptor for q, with one OpenMP thread (set before creating: oneDNN
 * balances its work for the threads it sees then). */
static dnnl_status_t make_pd(const struct ml_dnn *d, const struct gkey *q, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t md[3];
    dnnl_matmul_desc_t mm;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s;

    *pd = NULL;
    descs(q, md, &s);
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&mm, &md[0], &md[1], NULL, &md[2]);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success && q->alpha != 1.0f)
        s = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &q->alpha);
    if (s == dnnl_success && q->beta != 0.0f) { /* C = alpha A B + beta C: the sum post-op */
        if ((s = dnnl_post_ops_create(&po)) == dnnl_success && (s = dnnl_post_ops_append_sum(po, q->beta)) ==
                                                                   dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success) {
        ml_dnn_threads(1);
        s = dnnl_primitive_desc_create(pd, &mm, attr, d->eng, NULL);
    }
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

static int entry_make(const struct ml_dnn *d, struct gcache *c, const struct gkey *q, struct gentry *e)
{
    const dnnl_memory_desc_t *pad;
    dnnl_status_t s;
    int rc;

    entry_free(e);
    e->key = *q;
    if ((s = make_pd(d, q, &e->pd)) == dnnl_success)
        s = dnnl_primitive_create(&e->p, e->pd);
    if (s == dnnl_success)
        s = dnnl_memory_create(&e->ma, ml_dnn_query(e->pd, dnnl_query_src_md), d->eng, DNNL_MEMORY_NONE);
    if (s == dnnl_success)
        s = dnnl_memory_create(&e->mb, ml_dnn_query(e->pd, dnnl_query_weights_md), d->eng, DNNL_MEMORY_NONE);
    if (s == dnnl_success)
        s = dnnl_memory_create(&e->mc, ml_dnn_query(e->pd, dnnl_query_dst_md), d->eng, DNNL_MEMORY_NONE);
    pad = s == dnnl_success ? ml_dnn_query(e->pd, dnnl_query_scratchpad_md) : NULL;
    e->pad = pad ? ml_dnn_size(pad) : 0;
    if (e->pad && s == dnnl_success)
        s = dnnl_memory_create(&e->mpad, pad, d->eng, DNNL_MEMORY_NONE);
    if ((rc = status_rc(s)) < 0) {
        entry_free(e);
        return rc;
    }
    if (e->pad > c->pad_size) {
        void *p = aligned_alloc(ML_ALIGN, ml_align_up(e->pad));

        if (!p) {
            entry_free(e);
            return GTEE_ENOMEM;
        }
        ml_free(c->pad);
        c->pad = p;
        c->pad_size = e->pad;
    }
    return 0;
}

static bool same_key(const struct gkey *a, const struct gkey *b)
{
    return a->ta == b->ta && a->tb == b->tb && a->m == b->m && a->n == b->n && a->k == b->k && a->lda == b->lda &&
           a->ldb == b->ldb && a->ldc == b->ldc && a->alpha == b->alpha && a->beta == b->beta;
}

/* The thread's entry for q: found, or made in the least recently used slot. */
static int lookup(const struct ml_dnn *d, struct gcache *c, const struct gkey *q, struct gentry **out)
{
    struct gentry *victim = &c->e[0];
    int rc;

    for (size_t i = 0; i < ML_GEMM_CACHE; i++) {
        struct gentry *e = &c->e[i];

        if (e->used && same_key(&e->key, q)) {
            e->used = ++c->tick;
            *out = e;
            return 0;
        }
        if (e->used < victim->used)
            victim = e;
    }
    if ((rc = entry_make(d, c, q, victim)) < 0)
        return rc;
    victim->used = ++c->tick;
    *out = victim;
    return 0;
}

int ml_gemm_dnn(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc)
{
    struct gkey q = { ta, tb, m, n, k, lda, ldb, ldc, alpha, beta };
    const struct ml_dnn *d;
    struct gcache *tc;
    struct gentry *e;
    dnnl_exec_arg_t args[4];
    dnnl_status_t s;
    int rc, na = 3;

    if (!(d = ml_dnn_engine()))
        return GTEE_EUNSUPPORTED;
    if ((rc = thread_cache(d, &tc)) < 0 || (rc = lookup(d, tc, &q, &e)) < 0)
        return rc;
    args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, e->ma };
    args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, e->mb };
    args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, e->mc };
    if ((s = dnnl_memory_set_data_handle(e->ma, (void *)a)) == dnnl_success &&
        (s = dnnl_memory_set_data_handle(e->mb, (void *)b)) == dnnl_success)
        s = dnnl_memory_set_data_handle(e->mc, c);
    if (s == dnnl_success && e->pad) {
        s = dnnl_memory_set_data_handle(e->mpad, tc->pad);
        args[na++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, e->mpad };
    }
    if (s == dnnl_success) {
        ml_dnn_threads(1); /* this thread's setting: others may have left another */
        s = dnnl_primitive_execute(e->p, tc->st, na, args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(tc->st);
    return status_rc(s);
}

int ml_gemm_dnn_impl(bool ta, bool tb, int m, int n, int k, char *impl, size_t len)
{
    struct gkey q = { ta, tb, m, n, k, ta ? m : k, tb ? k : n, n, 1.0f, 0.0f };
    const struct ml_dnn *d;
    dnnl_primitive_desc_t pd = NULL;
    const char *name = NULL;
    dnnl_status_t s;

    if (!(d = ml_dnn_engine()))
        return GTEE_EUNSUPPORTED;
    if ((s = make_pd(d, &q, &pd)) == dnnl_success)
        s = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    if (s == dnnl_success)
        snprintf(impl, len, "%s", name ? name : "?");
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return status_rc(s);
}
