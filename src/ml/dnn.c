/* oneDNN glue shared by the convolution kernels (see dnn.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/dnn.h"

/* Debian's libdnnl2 (the runtime package of libdnnl-dev) */
#define ML_DNNL_SONAME "libdnnl.so.2"

struct ml_dnnl_api ml_dnnl;
static char g_load_error[256];
static pthread_once_t g_load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *h = dlopen(ML_DNNL_SONAME, RTLD_NOW | RTLD_LOCAL);
    struct ml_dnnl_api api;
    const char *missing = NULL;

    if (!h) {
        snprintf(g_load_error, sizeof(g_load_error), "%s", dlerror());
        return;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer */
#define ML_DNNL_SYM(f)                                \
    if (!missing && !(*(void **)&api.p_##f = dlsym(h, #f))) \
        missing = #f;
    ML_DNNL_FUNCS(ML_DNNL_SYM)
    ML_DNNL_SYM(omp_set_num_threads)
#undef ML_DNNL_SYM
    if (missing) {
        snprintf(g_load_error, sizeof(g_load_error), "%s has no %s", ML_DNNL_SONAME, missing);
        dlclose(h);
        return;
    }
    ml_dnnl = api; /* the library stays loaded for the process's life */
}

int ml_dnn_load(struct gtee_err *err)
{
    pthread_once(&g_load_once, load);
    if (g_load_error[0])
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "ml: oneDNN (%s, Debian's libdnnl2) could not be loaded: %s",
                         ML_DNNL_SONAME, g_load_error);
    return 0;
}

static struct ml_dnn g_dnn;
static dnnl_status_t g_status = dnnl_success;
static int g_block;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void dnn_init(void)
{
    dnnl_cpu_isa_t isa;

    if (ml_dnn_load(NULL) < 0) {
        g_status = dnnl_runtime_error;
        return;
    }
    isa = dnnl_get_effective_cpu_isa();
    /* the ISA values are bit sets that grow with the CPU's features */
    g_block = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
    g_status = dnnl_engine_create(&g_dnn.eng, dnnl_cpu, 0);
    if (g_status == dnnl_success)
        g_status = dnnl_stream_create(&g_dnn.st, g_dnn.eng, dnnl_stream_default_flags);
}

int gtee_ml_prepare(struct gtee_err *err)
{
    int rc = ml_dnn_load(err);

    if (rc < 0)
        return rc;
    pthread_once(&g_once, dnn_init);
    if (g_status != dnnl_success)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "ml: oneDNN's CPU engine could not be made (status %d)",
                         (int)g_status);
    return 0;
}

static const char *status_name(dnnl_status_t s)
{
    switch (s) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "no implementation for these shapes";
    case dnnl_runtime_error: return "runtime error";
    default: return "failure";
    }
}

int ml_dnn_check(const struct ml_kernel *k, dnnl_status_t s, const char *what)
{
    if (s == dnnl_success)
        return 0;
    return ml_fail(k, s == dnnl_out_of_memory ? GTEE_ENOMEM : s == dnnl_unimplemented ? GTEE_EUNSUPPORTED : GTEE_EIO,
                   "oneDNN: %s: %s (status %d)", what, status_name(s), (int)s);
}

int ml_dnn_get(const struct ml_kernel *k, const struct ml_dnn **out)
{
    if (ml_dnn_load(NULL) < 0)
        return ml_fail(k, GTEE_EUNSUPPORTED, "oneDNN (%s) could not be loaded: %s", ML_DNNL_SONAME, g_load_error);
    pthread_once(&g_once, dnn_init);
    if (g_status != dnnl_success)
        return ml_dnn_check(k, g_status, "creating the CPU engine");
    *out = &g_dnn;
    return 0;
}

const struct ml_dnn *ml_dnn_engine(void)
{
    if (ml_dnn_load(NULL) < 0)
        return NULL;
    pthread_once(&g_once, dnn_init);
    return g_status == dnnl_success ? &g_dnn : NULL;
}

int ml_dnn_block(void)
{
    pthread_once(&g_once, dnn_init);
    return g_block ? g_block : 16; /* not loaded: plans fail before any kernel runs */
}

dnnl_format_tag_t ml_dnn_blocked_tag(void)
{
    return ml_dnn_block() == 16 ? dnnl_nChw16c : dnnl_nChw8c;
}

void ml_dnn_threads(int n)
{
    omp_set_num_threads(n > 0 ? n : 1);
}

int ml_dnn_md4(const struct ml_kernel *k, dnnl_memory_desc_t *md, const int64_t *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d = { dims[0], dims[1], dims[2], dims[3] };

    return ml_dnn_check(k, dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag), "memory descriptor");
}

/* The shared stream takes one primitive at a time: sessions on several threads may reach
 * it at once (a stream is not for concurrent use), so its users queue here. */
static pthread_mutex_t g_stream_mu = PTHREAD_MUTEX_INITIALIZER;

int ml_dnn_exec(const struct ml_kernel *k, dnnl_primitive_t p, const struct ml_dnn_arg *args, int n)
{
    const struct ml_dnn *d;
    int rc;

    if ((rc = ml_dnn_get(k, &d)) < 0)
        return rc;
    pthread_mutex_lock(&g_stream_mu);
    rc = ml_dnn_exec_on(k, d->st, p, args, n);
    pthread_mutex_unlock(&g_stream_mu);
    return rc;
}

int ml_dnn_prim_new(const struct ml_kernel *k, const void *op_desc, const_dnnl_primitive_attr_t attr,
                    const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, dnnl_primitive_t *p, const char *what)
{
    const struct ml_dnn *d;
    int rc;

    *pd = NULL;
    *p = NULL;
    if ((rc = ml_dnn_get(k, &d)) < 0)
        return rc;
    if ((rc = ml_dnn_check(k, dnnl_primitive_desc_create(pd, op_desc, attr, d->eng, hint), what)) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_create(p, *pd), what)) < 0) {
        ml_dnn_prim_free(pd, p);
        return rc;
    }
    return 0;
}

void ml_dnn_prim_free(dnnl_primitive_desc_t *pd, dnnl_primitive_t *p)
{
    if (*p)
        dnnl_primitive_destroy(*p);
    if (*pd)
        dnnl_primitive_desc_destroy(*pd);
    *p = NULL;
    *pd = NULL;
}

int ml_dnn_reorder_new(const struct ml_kernel *k, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                       const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd, dnnl_primitive_t *p)
{
    const struct ml_dnn *d;
    int rc;

    *pd = NULL;
    *p = NULL;
    if ((rc = ml_dnn_get(k, &d)) < 0 ||
        (rc = ml_dnn_check(k, dnnl_reorder_primitive_desc_create(pd, from, d->eng, to, d->eng, attr), "reorder")) <
            0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_create(p, *pd), "reorder")) < 0)
        ml_dnn_prim_free(pd, p);
    return rc;
}

int ml_dnn_reorder(const struct ml_kernel *k, const dnnl_memory_desc_t *smd, const void *src,
                   const dnnl_memory_desc_t *dmd, void *dst)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    int rc;

    if ((rc = ml_dnn_reorder_new(k, smd, dmd, NULL, &pd, &p)) < 0)
        return rc;
    rc = ml_dnn_exec(k, p, (const struct ml_dnn_arg[]){ { DNNL_ARG_FROM, smd, (void *)src }, { DNNL_ARG_TO, dmd, dst } },
                     2);
    ml_dnn_prim_free(&pd, &p);
    return rc;
}

const dnnl_memory_desc_t *ml_dnn_query(const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

size_t ml_dnn_size(const dnnl_memory_desc_t *md)
{
    return dnnl_memory_desc_get_size(md);
}

bool ml_dnn_same(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return dnnl_memory_desc_equal(a, b) != 0;
}

/* ml_dnn_exec on a stream of the caller's (one per thread when primitives run on several). */
int ml_dnn_exec_on(const struct ml_kernel *k, dnnl_stream_t st, dnnl_primitive_t p, const struct ml_dnn_arg *args,
                   int n)
{
    const struct ml_dnn *d;
    dnnl_exec_arg_t ea[8];
    dnnl_status_t s = dnnl_success;
    int rc, made = 0;

    if ((rc = ml_dnn_get(k, &d)) < 0)
        return rc;
    if (n > 8)
        return ml_fail(k, GTEE_EINVAL, "oneDNN: too many arguments");
    for (; made < n; made++) {
        ea[made].arg = args[made].arg;
        if ((s = dnnl_memory_create(&ea[made].memory, args[made].md, d->eng, args[made].ptr)) != dnnl_success)
            break;
    }
    if (s == dnnl_success)
        s = dnnl_primitive_execute(p, st, n, ea);
    if (s == dnnl_success)
        s = dnnl_stream_wait(st);
    for (int i = 0; i < made; i++)
        dnnl_memory_destroy(ea[i].memory);
    return ml_dnn_check(k, s, "executing a primitive");
}

int ml_dnn_piece_init(const struct ml_kernel *k, struct ml_dnn_piece *pc)
{
    const struct ml_dnn *d;
    int rc;

    memset(pc, 0, sizeof(*pc));
    if ((rc = ml_dnn_get(k, &d)) < 0)
        return rc;
    return ml_dnn_check(k, dnnl_stream_create(&pc->st, d->eng, dnnl_stream_default_flags), "stream");
}

int ml_dnn_piece_pad(const struct ml_kernel *k, struct ml_dnn_piece *pc, size_t bytes)
{
    size_t sz = ml_align_up(bytes);

    if (bytes <= pc->pad_size)
        return 0;
    ml_free(pc->pad);
    pc->pad_size = 0;
    if (!(pc->pad = aligned_alloc(ML_ALIGN, sz)))
        return ml_fail(k, GTEE_ENOMEM, "out of memory for a oneDNN scratchpad of %zu bytes", bytes);
    pc->pad_size = bytes;
    return 0;
}

void ml_dnn_piece_free(struct ml_dnn_piece *pc)
{
    if (pc->st)
        dnnl_stream_destroy(pc->st);
    ml_free(pc->pad);
    memset(pc, 0, sizeof(*pc));
}

void ml_dnn_pad_max(size_t *size, const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = ml_dnn_query(pd, dnnl_query_scratchpad_md);
    size_t n = md ? ml_dnn_size(md) : 0;

    *size = n > *size ? n : *size;
}

int ml_dnn_piece_exec(const struct ml_kernel *k, const struct ml_dnn_piece *pc, const_dnnl_primitive_desc_t pd,
                      dnnl_primitive_t p, struct ml_dnn_arg *args, int n)
{
    const dnnl_memory_desc_t *pad = ml_dnn_query(pd, dnnl_query_scratchpad_md);

    if (pad && ml_dnn_size(pad)) {
        if (ml_dnn_size(pad) > pc->pad_size)
            return ml_fail(k, GTEE_EINVAL, "oneDNN: a scratchpad of %zu bytes, %zu made", ml_dnn_size(pad),
                           pc->pad_size);
        args[n++] = (struct ml_dnn_arg){ DNNL_ARG_SCRATCHPAD, pad, pc->pad };
    }
    return ml_dnn_exec_on(k, pc->st, p, args, n);
}

void ml_dnn_piece_start(struct ml_dnn_piece *pc)
{
    pc->rc = GTEE_EIO;
    memset(&pc->err, 0, sizeof(pc->err));
}

int ml_dnn_piece_raise(const struct ml_kernel *k, const struct ml_dnn_piece *pc, size_t i)
{
    if (pc->rc >= 0)
        return 0;
    if (!pc->err.msg[0])
        return ml_fail(k, pc->rc, "piece %zu of the images did not run", i);
    return gtee_err_set(k->err, pc->rc, pc->err.file, pc->err.line, "%s", pc->err.msg);
}
