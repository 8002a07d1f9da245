/* The engine's own loops across threads: a range is split in contiguous pieces, up to
 * ML_PIECES_PER_THREAD per thread, joined before returning. Every piece writes disjoint
 * outputs with the same arithmetic whichever thread runs it; element-wise results do not
 * depend on the thread count (a product cut in slices may be summed by OpenBLAS in
 * another order).
 *
 * The threads are kept: one pool per process (as OpenBLAS keeps its own), started when a
 * loop first asks for them and grown when a loop asks for more. Starting a thread costs
 * tens of microseconds, as much as a whole small operator; a kept worker waits for the next
 * loop spinning a short while (about as long as an operator between two parallel loops),
 * then sleeps on a condition variable. Pieces are claimed (below), so the caller never
 * waits for a worker that has not started. One loop uses the pool at a time; a loop that finds
 * it busy (another session on another thread, or a loop inside a piece) runs its pieces on
 * the calling thread, which gives the same results. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ml/gemm.h"
#include "ml/ml.h"

#define ML_MAX_THREADS 64
/* Polls of a waiting thread before it sleeps (a pause each: some tens of microseconds). */
#define ML_SPIN 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The current loop's claim word: loop number (bits 32..63), threads that may take part
 * (24..31), pieces (12..23), next piece to claim (0..11). A thread claims a piece by
 * compare-and-swap and only then reads the loop's fields: a claim that succeeds is for a
 * loop still running, whose fields stay put. */
#define ST_GEN(s) ((uint32_t)((s) >> 32))
#define ST_SLOTS(s) ((size_t)(((s) >> 24) & 0xffu))
#define ST_PIECES(s) ((size_t)(((s) >> 12) & 0xfffu))
#define ST_NEXT(s) ((size_t)((s)&0xfffu))
/* Pieces per thread: a thread that starts late (a loaded machine) still finds some. */
#define ML_PIECES_PER_THREAD 4

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_flag busy;         /* held by the loop that uses the pool */
    size_t workers;           /* started; worker w uses scratch slot w + 1 */
    _Atomic uint64_t state;   /* claim word (above) */
    atomic_size_t finished;   /* pieces of the current loop done */
    /* the current loop, written before its claim word is published */
    ml_piece_fn fn;
    void *arg;
    size_t n;
    bool by_slot; /* fn gets the thread's slot (ml_parallel_slots), else the piece's index */
};

static struct pool pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
                            ATOMIC_FLAG_INIT, 0, 0, 0, NULL, NULL, 0, false };

/* Claims and runs pieces of loop gen with scratch slot `slot` until none is left. */
static void claim_pieces(uint32_t gen, size_t slot)
{
    uint64_t s = atomic_load_explicit(&pool.state, memory_order_acquire);

    for (;;) {
        size_t t, i;

        if (ST_GEN(s) != gen || ST_NEXT(s) >= ST_PIECES(s) || slot >= ST_SLOTS(s))
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool.state, &s, s + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        t = ST_PIECES(s);
        i = ST_NEXT(s);
        pool.fn(pool.arg, pool.by_slot ? slot : i, pool.n * i / t, pool.n * (i + 1) / t);
        if (atomic_fetch_add_explicit(&pool.finished, 1, memory_order_acq_rel) + 1 == t) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
        s = atomic_load_explicit(&pool.state, memory_order_acquire);
    }
}

/* The loop number when each worker was started: loops after it are its to join. */
static uint32_t started_at[ML_MAX_THREADS];

static void *worker(void *p)
{
    size_t id = (size_t)(uintptr_t)p;
    uint32_t seen = started_at[id], g = seen;

    (void)pthread_setname_np(pthread_self(), "gtee-ml-pool");

    for (;;) {
        for (int s = 0; s < ML_SPIN && (g = ST_GEN(atomic_load_explicit(&pool.state, memory_order_acquire))) == seen;
             s++)
            cpu_relax();
        if (g == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((g = ST_GEN(atomic_load_explicit(&pool.state, memory_order_acquire))) == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = g;
        claim_pieces(g, id + 1);
    }
    return NULL;
}

/* Starts workers until there are want; returns how many there are. Caller holds busy. */
static size_t grow(size_t want)
{
    while (pool.workers < want && pool.workers < ML_MAX_THREADS - 1) {
        pthread_t tid;
        pthread_attr_t at;
        int ok;

        if (pthread_attr_init(&at))
            break;
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        started_at[pool.workers] = ST_GEN(atomic_load_explicit(&pool.state, memory_order_relaxed));
        ok = pthread_create(&tid, &at, worker, (void *)(uintptr_t)pool.workers) == 0;
        pthread_attr_destroy(&at);
        if (!ok)
            break;
        pool.workers++;
    }
    return pool.workers;
}

/* Pieces are claimed, not assigned: the caller takes the next piece whenever it is free,
 * so a worker that the system has not scheduled yet (a loaded machine) delays nothing; the
 * caller waits only for pieces that a worker has begun. Which thread runs a piece does not
 * change what it computes. */
static void run_pool(int threads, size_t n, size_t min_per_thread, bool by_slot, ml_piece_fn fn, void *arg)
{
    size_t t = threads > 1 ? (size_t)threads : 1, c;
    uint32_t gen;

    if (t > ML_MAX_THREADS)
        t = ML_MAX_THREADS;
    if (min_per_thread == 0)
        min_per_thread = 1;
    if (n / min_per_thread < t)
        t = n / min_per_thread ? n / min_per_thread : 1;
    if (t <= 1) {
        if (n)
            fn(arg, 0, 0, n);
        return;
    }
    c = t;
    if (by_slot && t * ML_PIECES_PER_THREAD < n / min_per_thread)
        c = t * ML_PIECES_PER_THREAD;
    else if (by_slot)
        c = n / min_per_thread;
    if (atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
        for (size_t i = 0; i < c; i++) /* pool in use: the same pieces, here */
            fn(arg, by_slot ? 0 : i, n * i / c, n * (i + 1) / c);
        return;
    }
    grow(t - 1);
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn;
    pool.arg = arg;
    pool.n = n;
    pool.by_slot = by_slot;
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    gen = ST_GEN(atomic_load_explicit(&pool.state, memory_order_relaxed)) + 1;
    atomic_store_explicit(&pool.state, (uint64_t)gen << 32 | (uint64_t)t << 24 | (uint64_t)c << 12,
                          memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    claim_pieces(gen, 0);
    for (int s = 0; s < ML_SPIN && atomic_load_explicit(&pool.finished, memory_order_acquire) < c; s++)
        cpu_relax();
    if (atomic_load_explicit(&pool.finished, memory_order_acquire) < c) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load_explicit(&pool.finished, memory_order_acquire) < c)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    atomic_flag_clear_explicit(&pool.busy, memory_order_release);
}

void ml_parallel_pieces(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg)
{
    run_pool(threads, n, min_per_thread, false, fn, arg);
}

void ml_parallel_slots(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg)
{
    run_pool(threads, n, min_per_thread, true, fn, arg);
}

struct ranged {
    ml_range_fn fn;
    void *arg;
};

static void ranged_piece(void *arg, size_t piece, size_t lo, size_t hi)
{
    const struct ranged *r = arg;

    (void)piece;
    r->fn(r->arg, lo, hi);
}

void ml_parallel(int threads, size_t n, size_t min_per_thread, ml_range_fn fn, void *arg)
{
    struct ranged r = { fn, arg };

    ml_parallel_slots(threads, n, min_per_thread, ranged_piece, &r);
}

/* OpenBLAS's thread count is one setting per process; the engine keeps it at one around
 * its products (ml_sgemm splits them across its own pool). The setting is read back first
 * (others set it too) so an unchanged one costs nothing. */
int ml_blas_one(void)
{
    int prev = openblas_get_num_threads();

    if (prev != 1)
        openblas_set_num_threads(1);
    return prev;
}

void ml_blas_restore(int prev)
{
    if (prev != openblas_get_num_threads())
        openblas_set_num_threads(prev);
}

/* A product smaller than this runs on one thread: a second one gains less than it costs. */
#define ML_GEMM_PAR_MIN (1u << 22)
/* Slices are whole multiples of this many rows or columns: the kernels' full blocks. */
#define ML_GEMM_UNIT 16

void ml_gemm_split(int threads, int m, int n, int k, bool *split_n, size_t *pieces, int *width)
{
    uint64_t macs = (uint64_t)m * (uint64_t)n * (uint64_t)k;
    size_t len, units;

    *split_n = n >= m;
    len = (size_t)(*split_n ? n : m);
    units = (len + ML_GEMM_UNIT - 1) / ML_GEMM_UNIT;
    *pieces = threads > 1 && macs >= ML_GEMM_PAR_MIN && len >= 2 * ML_GEMM_UNIT
                  ? ((size_t)threads < units ? (size_t)threads : units)
                  : 1;
    *width = *pieces > 1 ? (int)((units + *pieces - 1) / *pieces * ML_GEMM_UNIT) : (int)len;
}

struct gemm_job {
    bool ta, tb, split_n;
    enum ml_gemm_kernel kernel;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    size_t units, pieces;
    _Atomic int rc; /* the first piece's failure */
};

/* Rows (or columns) [lo, hi) of C: the same product on a slice of A (or B). */
static int gemm_slice(const struct gemm_job *j, int l, int w)
{
    bool ta = j->ta, tb = j->tb;
    int m = j->split_n ? j->m : w, n = j->split_n ? w : j->n;
    const float *a = j->split_n ? j->a : ta ? j->a + l : j->a + (size_t)l * (size_t)j->lda;
    const float *b = !j->split_n ? j->b : tb ? j->b + (size_t)l * (size_t)j->ldb : j->b + l;
    float *c = j->split_n ? j->c + l : j->c + (size_t)l * (size_t)j->ldc;

    if (j->kernel == ML_GEMM_DNNL)
        return ml_gemm_dnn(ta, tb, m, n, j->k, j->alpha, a, j->lda, b, j->ldb, j->beta, c, j->ldc);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, j->k, j->alpha,
                a, j->lda, b, j->ldb, j->beta, c, j->ldc);
    return 0;
}

/* Piece i: units [units i / pieces, units (i + 1) / pieces), the last cut at the matrix's edge. */
static void gemm_piece(void *arg, size_t i, size_t lo, size_t hi)
{
    struct gemm_job *j = arg;
    size_t len = (size_t)(j->split_n ? j->n : j->m), l = lo * ML_GEMM_UNIT, h = hi * ML_GEMM_UNIT;
    int rc, ok = 0;

    (void)i;
    if (h > len)
        h = len;
    if (h > l && (rc = gemm_slice(j, (int)l, (int)(h - l))) < 0)
        atomic_compare_exchange_strong(&j->rc, &ok, rc);
}

int ml_sgemm(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
    struct gemm_job j = { .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                          .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c };
    int width;

    if (m <= 0 || n <= 0)
        return 0;
    if (k <= 0) { /* no products to sum: C = beta C, as cblas_sgemm leaves it */
        for (int r = 0; r < m; r++)
            for (int q = 0; q < n; q++)
                c[(size_t)r * (size_t)ldc + (size_t)q] = beta == 0.0f ? 0.0f : beta * c[(size_t)r * (size_t)ldc + (size_t)q];
        return 0;
    }
    j.kernel = ml_gemm_choose((uint64_t)m * (uint64_t)n * (uint64_t)k);
    ml_gemm_split(threads, m, n, k, &j.split_n, &j.pieces, &width);
    if (j.pieces <= 1)
        return gemm_slice(&j, 0, j.split_n ? n : m);
    j.units = ((size_t)(j.split_n ? n : m) + ML_GEMM_UNIT - 1) / ML_GEMM_UNIT;
    /* one piece per thread: each piece packs its own copy of the other operand */
    ml_parallel_pieces((int)j.pieces, j.units, 1, gemm_piece, &j);
    return j.rc;
}
