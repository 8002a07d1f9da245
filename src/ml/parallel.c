/* The engine's own loops across threads (OpenBLAS has its own pool): a range is split in
 * contiguous pieces, one per thread, joined before returning. Results never depend on the
 * thread count because every piece writes disjoint outputs with the same arithmetic. */
#include <cblas.h>
#include <pthread.h>

#include "ml/ml.h"

#define ML_MAX_THREADS 64

struct piece {
    ml_piece_fn fn;
    void *arg;
    size_t index, lo, hi;
};

static void *run_piece(void *p)
{
    struct piece *pc = p;

    pc->fn(pc->arg, pc->index, pc->lo, pc->hi);
    return NULL;
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

void ml_parallel_pieces(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg)
{
    struct piece pc[ML_MAX_THREADS];
    pthread_t tid[ML_MAX_THREADS];
    bool started[ML_MAX_THREADS] = { false };
    size_t t = threads > 1 ? (size_t)threads : 1;

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
    for (size_t i = 0; i < t; i++) {
        pc[i] = (struct piece){ fn, arg, i, n * i / t, n * (i + 1) / t };
        if (i > 0)
            started[i] = pthread_create(&tid[i], NULL, run_piece, &pc[i]) == 0;
    }
    for (size_t i = 1; i < t; i++)
        if (!started[i]) /* no thread available: do that piece here */
            run_piece(&pc[i]);
    run_piece(&pc[0]);
    for (size_t i = 1; i < t; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
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
