/* The matrix-product kernel for this machine (gemm.h): the CPU's instruction sets (cpuid),
 * what oneDNN and OpenBLAS make of them, the rule between the two, and the words that
 * `gtee model run --verbose` and the benchmarks print about it. */
#include <cblas.h>
#include <cpuid.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ml/dnn.h"
#include "ml/gemm.h"

enum { ISA_SSE, ISA_AVX, ISA_AVX2, ISA_AVX512 };
static const char *const isa_names[] = { "sse", "avx", "avx2", "avx512" };

static struct gtee_ml_kernels g_env;
static int g_cpu_level, g_blas_level;
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;
static atomic_bool g_no_jit; /* gtee_ml_forbid_jit */

/* OpenBLAS 0.3.21's core names (driver/others/dynamic.c) by the widest vectors their
 * kernels use; any other name (Prescott, Core2, Nehalem, Atom, Opteron ...) is SSE. */
static int blas_level(const char *core)
{
    static const char *const avx512[] = { "SkylakeX", "CooperLake", "SapphireRapids", NULL };
    static const char *const avx2[] = { "Haswell", "Zen", NULL };
    static const char *const avx[] = { "Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator", NULL };
    const char *const *lists[] = { avx512, avx2, avx };
    const int levels[] = { ISA_AVX512, ISA_AVX2, ISA_AVX };

    for (int l = 0; l < 3; l++)
        for (const char *const *n = lists[l]; *n; n++)
            if (!strcasecmp(core, *n))
                return levels[l];
    return ISA_SSE;
}

static const char *dnnl_isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
    }
}

static void cpu_detect(struct gtee_ml_kernels *e)
{
    unsigned a, b, c, d, brand[12] = { 0 };

    if (__get_cpuid(1, &a, &b, &c, &d)) {
        unsigned fam = (a >> 8) & 0xf, model = (a >> 4) & 0xf;

        /* the extended fields count from family 15 (and model from families 6 and 15) */
        e->cpu_family = (int)(fam == 0xf ? fam + ((a >> 20) & 0xff) : fam);
        e->cpu_model = (int)(fam == 6 || fam == 0xf ? model | ((a >> 16) & 0xf) << 4 : model);
    }
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        memcpy(e->cpu, brand, sizeof(brand) < sizeof(e->cpu) ? sizeof(brand) : sizeof(e->cpu) - 1);
    }
    {
        size_t i = 0, n = strlen(e->cpu);
        while (e->cpu[i] == ' ')
            i++;
        memmove(e->cpu, e->cpu + i, n - i + 1);
        for (n = strlen(e->cpu); n && e->cpu[n - 1] == ' '; n--)
            e->cpu[n - 1] = '\0';
    }
    if (!e->cpu[0])
        snprintf(e->cpu, sizeof(e->cpu), "unknown");
    /* __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV) */
    __builtin_cpu_init();
    e->cpu_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    e->cpu_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    /* AMX tiles (CPUID.7.0:EDX bit 24); only oneDNN's bf16 and int8 kernels use them */
    e->cpu_amx = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 24 & 1) && e->cpu_avx512;
    g_cpu_level = e->cpu_avx512 ? ISA_AVX512 : e->cpu_avx2 ? ISA_AVX2 : __builtin_cpu_supports("avx") ? ISA_AVX : ISA_SSE;
}

static void env_init(void)
{
    struct gtee_ml_kernels *e = &g_env;
    const struct ml_dnn *dnn;
    const char *core = openblas_get_corename();
    int parallel;

    cpu_detect(e);
    snprintf(e->blas_core, sizeof(e->blas_core), "%s", core ? core : "unknown");
    g_blas_level = blas_level(e->blas_core);
    snprintf(e->blas_isa, sizeof(e->blas_isa), "%s", isa_names[g_blas_level]);
    e->blas_below = g_blas_level < g_cpu_level;
    e->blas_generic = g_blas_level == ISA_SSE && g_cpu_level >= ISA_AVX2;
    /* the build the loader found: the serial one that CMakeLists.txt links, or another one
     * put first by LD_LIBRARY_PATH or a system without it */
    parallel = openblas_get_parallel();
    e->blas_threaded = parallel != 0;
    snprintf(e->blas_build, sizeof(e->blas_build), "%s", !parallel ? "serial" : parallel == 2 ? "OpenMP" : "pthreads");
    if ((dnn = ml_dnn_engine())) {
        const dnnl_version_t *v = dnnl_version();

        e->dnnl_ok = true;
        snprintf(e->dnnl_release, sizeof(e->dnnl_release), "%d.%d.%d", v->major, v->minor, v->patch);
        snprintf(e->dnnl_isa, sizeof(e->dnnl_isa), "%s", dnnl_isa_name(dnnl_get_effective_cpu_isa()));
    }
    if (e->blas_below) {
        e->dnnl_min_macs = 0;
        snprintf(e->why, sizeof(e->why), "all on oneDNN: OpenBLAS's %.31s kernels use %.7s, below the CPU's %s%s",
                 e->blas_core, e->blas_isa, isa_names[g_cpu_level], e->blas_generic ? " (its generic fallback)" : "");
    } else {
        e->dnnl_min_macs = ML_GEMM_DNN_MIN_MACS;
        snprintf(e->why, sizeof(e->why),
                 "oneDNN from %llu multiply-adds; OpenBLAS (%.31s, %.7s: the CPU's own) below, where its smaller "
                 "per-call cost wins",
                 (unsigned long long)ML_GEMM_DNN_MIN_MACS, e->blas_core, e->blas_isa);
    }
}

const struct gtee_ml_kernels *ml_gemm_env(void)
{
    pthread_once(&g_env_once, env_init);
    return &g_env;
}

enum ml_gemm_kernel ml_gemm_choose(uint64_t macs)
{
    if (atomic_load_explicit(&g_no_jit, memory_order_relaxed))
        return ML_GEMM_OPENBLAS;
    return macs >= ml_gemm_env()->dnnl_min_macs ? ML_GEMM_DNNL : ML_GEMM_OPENBLAS;
}

void gtee_ml_forbid_jit(void)
{
    atomic_store(&g_no_jit, true);
}

/* oneDNN maps its generated code read-write-execute (mprotect of pages it allocated); a
 * seccomp list without JIT answers that call EPERM (docs/tee.md §8), as other policies
 * that forbid writable code do. A page is put through the same call: refused, the
 * process has no JIT for good (a process is hardened once, never softened). */
void ml_gemm_check_jit(void)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p;

    if (atomic_load(&g_no_jit) || page <= 0)
        return;
    p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return; /* no memory now: the products will say so themselves */
    if (mprotect(p, (size_t)page, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
        gtee_ml_forbid_jit();
    munmap(p, (size_t)page);
}

int gtee_ml_kernels_get(struct gtee_ml_kernels *out, struct gtee_err *err)
{
    int rc = gtee_ml_prepare(err);

    if (rc < 0)
        return rc;
    *out = *ml_gemm_env();
    if (atomic_load(&g_no_jit)) {
        out->dnnl_min_macs = UINT64_MAX;
        snprintf(out->why, sizeof(out->why),
                 "all on OpenBLAS (%.31s, %.7s): this process may not make executable memory (hardened without "
                 "JIT), which oneDNN's kernels need",
                 out->blas_core, out->blas_isa);
    }
    return 0;
}

int gtee_ml_kernels_describe(char *buf, size_t len, struct gtee_err *err)
{
    struct gtee_ml_kernels e;
    int rc = gtee_ml_kernels_get(&e, err), n;

    if (rc < 0)
        return rc;
    n = snprintf(buf, len,
                 "cpu: %s (family %d, model %d): avx2 %s, avx512 %s, amx %s\n"
                 "oneDNN %s: effective ISA %s%s\n"
                 "OpenBLAS: core %s, %s kernels%s, %s build%s\n"
                 "matrix products: %s\n",
                 e.cpu, e.cpu_family, e.cpu_model, e.cpu_avx2 ? "yes" : "no", e.cpu_avx512 ? "yes" : "no",
                 e.cpu_amx ? "yes" : "no", e.dnnl_release, e.dnnl_isa,
                 !strncmp(e.dnnl_isa, isa_names[g_cpu_level], strlen(isa_names[g_cpu_level])) ? ""
                                                                                             : " (below the CPU's)",
                 e.blas_core, e.blas_isa,
                 e.blas_generic ? " (a generic fallback: OpenBLAS does not know this CPU model)"
                 : e.blas_below ? " (below the CPU's)"
                                : "",
                 e.blas_build,
                 e.blas_threaded ? " (not the serial build the engine is linked for: its idle threads spin for the "
                                   "process's first tenth of a second, taking a CPU from the engine's own)"
                                 : "",
                 e.why);
    if (n < 0 || (size_t)n >= len)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: the kernel report needs %d bytes, %zu given", n, len);
    return 0;
}

int gtee_ml_kernels_product(bool ta, bool tb, int m, int n, int k, int threads, char *buf, size_t len,
                            struct gtee_err *err)
{
    uint64_t macs = (uint64_t)m * (uint64_t)n * (uint64_t)k;
    bool split_n;
    size_t pieces;
    int width, rc, w;
    char impl[64], slices[96] = "";

    if (m <= 0 || n <= 0 || k <= 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: a product of %dx%d . %dx%d has nothing to run", m, k, k, n);
    if ((rc = gtee_ml_prepare(err)) < 0)
        return rc;
    ml_gemm_split(threads, m, n, k, &split_n, &pieces, &width);
    if (pieces > 1)
        snprintf(slices, sizeof(slices), ", %zu slices of up to %d %s on the engine's threads", pieces, width,
                 split_n ? "columns" : "rows");
    if (ml_gemm_choose(macs) == ML_GEMM_OPENBLAS) {
        const struct gtee_ml_kernels *e = ml_gemm_env();

        if (atomic_load(&g_no_jit))
            w = snprintf(buf, len, "OpenBLAS %s (%s): no JIT in this process%s", e->blas_core, e->blas_isa, slices);
        else
            w = snprintf(buf, len, "OpenBLAS %s (%s), under %llu multiply-adds%s", e->blas_core, e->blas_isa,
                         (unsigned long long)e->dnnl_min_macs, slices);
    } else {
        if ((rc = ml_gemm_dnn_impl(ta, tb, pieces > 1 && !split_n ? width : m, pieces > 1 && split_n ? width : n,
                                   k, impl, sizeof(impl))) < 0)
            return GTEE_FAIL(err, rc, "ml: oneDNN has no matmul for %dx%d . %dx%d", m, k, k, n);
        w = snprintf(buf, len, "oneDNN %s (ISA %s)%s", impl, ml_gemm_env()->dnnl_isa, slices);
    }
    if (w < 0 || (size_t)w >= len)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: the product's description needs %d bytes, %zu given", w, len);
    return 0;
}

int ml_gemm_fail(const struct ml_kernel *k, int rc)
{
    struct gtee_err why = { 0 };

    if (rc == GTEE_ENOMEM)
        return ml_fail(k, rc, "matrix product: out of memory for oneDNN's matmul");
    if (gtee_ml_prepare(&why) < 0)
        return ml_fail(k, rc, "matrix product: %s", why.msg);
    return ml_fail(k, rc, "matrix product: oneDNN's matmul failed (%s)", rc == GTEE_EUNSUPPORTED ? "unsupported" : "runtime error");
}
