/* The engine's own loops across threads (OpenBLAS has its own pool): a range is split in
 * contiguous pieces, one per thread, joined before returning. Results never depend on the
 * thread count because every piece writes disjoint outputs with the same arithmetic.
 *
 * The threads are kept: one pool per process (as OpenBLAS keeps its own), started when a
 * loop first asks for them and grown when a loop asks for more. Starting a thread costs
 * tens of microseconds, as much as a whole small operator; a kept worker waits for the next
 * loop spinning a short while (about as long as an operator between two parallel loops),
 * then sleeps on a condition variable. One loop uses the pool at a time; a loop that finds
 * it busy (another session on another thread, or a loop inside a piece) runs its pieces on
 * the calling thread, which gives the same results. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

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

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_flag busy;       /* held by the loop that uses the pool */
    size_t workers;         /* started (worker w runs piece w + 1) */
    atomic_uint_fast64_t gen; /* bumped per loop; workers wait for a change */
    atomic_size_t pending;  /* workers that have not finished the current loop */
    /* the current loop, written before gen is bumped */
    ml_piece_fn fn;
    void *arg;
    size_t n, pieces;
};

static struct pool pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
                            ATOMIC_FLAG_INIT, 0, 0, 0, NULL, NULL, 0, 0 };

static void run_piece(ml_piece_fn fn, void *arg, size_t i, size_t n, size_t t)
{
    fn(arg, i, n * i / t, n * (i + 1) / t);
}

/* The loop count when each worker was started: loops after it are its to run. */
static uint_fast64_t started_at[ML_MAX_THREADS];

static void *worker(void *p)
{
    size_t id = (size_t)(uintptr_t)p;
    uint_fast64_t seen = started_at[id], g = seen;

    for (;;) {
        for (int s = 0; s < ML_SPIN && (g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen; s++)
            cpu_relax();
        if (g == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = g;
        if (id + 1 < pool.pieces)
            run_piece(pool.fn, pool.arg, id + 1, pool.n, pool.pieces);
        /* every started worker reports, so the next loop cannot begin while one still reads this one */
        if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
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
        started_at[pool.workers] = atomic_load_explicit(&pool.gen, memory_order_relaxed);
        ok = pthread_create(&tid, &at, worker, (void *)(uintptr_t)pool.workers) == 0;
        pthread_attr_destroy(&at);
        if (!ok)
            break;
        pool.workers++;
    }
    return pool.workers;
}

void ml_parallel_pieces(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg)
{
    size_t t = threads > 1 ? (size_t)threads : 1, have;

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
    if (atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
        for (size_t i = 0; i < t; i++) /* pool in use: the same pieces, here */
            run_piece(fn, arg, i, n, t);
        return;
    }
    have = grow(t - 1);
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn;
    pool.arg = arg;
    pool.n = n;
    pool.pieces = t;
    atomic_store_explicit(&pool.pending, have, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    run_piece(fn, arg, 0, n, t);
    for (size_t i = have + 1; i < t; i++) /* workers that could not be started */
        run_piece(fn, arg, i, n, t);
    for (int s = 0; s < ML_SPIN && atomic_load_explicit(&pool.pending, memory_order_acquire); s++)
        cpu_relax();
    if (atomic_load_explicit(&pool.pending, memory_order_acquire)) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load_explicit(&pool.pending, memory_order_acquire))
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    atomic_flag_clear_explicit(&pool.busy, memory_order_release);
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

    ml_parallel_pieces(threads, n, min_per_thread, ranged_piece, &r);
}

/* OpenBLAS's thread count is one setting per process; a product too small to gain from a
 * second thread (under ML_BLAS_PAR_MIN multiply-adds) runs on one. The last value set is
 * remembered per thread so an unchanged setting costs nothing. */
#define ML_BLAS_PAR_MIN (1u << 22)

void ml_blas_threads(int threads, uint64_t macs)
{
    static _Thread_local int current = -1;
    int want = macs < ML_BLAS_PAR_MIN ? 1 : threads;

    if (want != current) {
        openblas_set_num_threads(want);
        current = want;
    }
}
