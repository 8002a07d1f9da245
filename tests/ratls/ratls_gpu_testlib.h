/* Test helpers for composite evidence over the attested channel: a bundle's collateral
 * directory (cvm/: a simulated device's SGX collateral; gpu0/: the h100-1 sample's chain and
 * production RIMs), a verifier that reads it, and a look at every reason of a verdict.
 * Header-only, tests only; include after ratls/ratls_testlib.h. */
#ifndef GTEE_TESTS_RATLS_GPU_TESTLIB_H
#define GTEE_TESTS_RATLS_GPU_TESTLIB_H

#include <dirent.h>
#include <sys/stat.h>

#include "evidence/nv_test_util.h"

/* A GPU policy for the sample: simulation allowed (the CVM part is the simulated TEE's), and
 * no OCSP responses for the GPU (the sample's are stale), so revocation is not checked. */
#define T_GPU_POLICY "{\"allow_simulation\": true, \"gpu\": {\"allow_unchecked_revocation\": true}}"
#define T_GPU_POLICY_REQUIRED                                                                                          \
    "{\"allow_simulation\": true, \"gpu\": {\"allow_unchecked_revocation\": true, \"min_count\": 1}}"

static inline void t_copy_file(const char *from, const char *dir, const char *name)
{
    char to[PATH_MAX];
    uint8_t *p = NULL;
    size_t len = 0;

    assert_int_equal(gtee_file_read(from, 8u << 20, &p, &len, NULL), 0);
    snprintf(to, sizeof(to), "%.*s/%s", PATH_MAX - 256, dir, name);
    assert_int_equal(gtee_file_write(to, p, len, 0600, 0, NULL), 0);
    free(p);
}

/* out/cvm: every file of the simulated device dev's SGX collateral; out/gpu0: the sample's. */
static inline void t_bundle_collateral(const char *dev, const char *out)
{
    static const char *const gpu_files[] = { "cert_chain.pem", "production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml",
                                             "production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml" };
    char from[PATH_MAX], sub[PATH_MAX], rel[256];
    struct dirent *d;
    DIR *dir;

    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(sub, sizeof(sub), "%.*s/cvm", PATH_MAX - 16, out);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(from, sizeof(from), "%.*s/%s", PATH_MAX - 64, dev, GTEE_SIM_SGX_COLLATERAL_DIR);
    dir = opendir(from);
    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL) {
        char f[PATH_MAX];
        struct stat st;

        snprintf(f, sizeof(f), "%.*s/%.*s", PATH_MAX - 300, from, 255, d->d_name);
        if (stat(f, &st) == 0 && S_ISREG(st.st_mode))
            t_copy_file(f, sub, d->d_name);
    }
    closedir(dir);
    snprintf(sub, sizeof(sub), "%.*s/gpu0", PATH_MAX - 16, out);
    assert_int_equal(mkdir(sub, 0700), 0);
    for (size_t i = 0; i < sizeof(gpu_files) / sizeof(gpu_files[0]); i++) {
        const char *slash = strrchr(gpu_files[i], '/');

        snprintf(rel, sizeof(rel), "nvidia/h100-1/%s", gpu_files[i]);
        t_copy_file(vector_path(from, sizeof(from), rel), sub, slash ? slash + 1 : gpu_files[i]);
    }
}

/* A verifier of the simulated device dev whose SGX collateral is the bundle directory bdir. */
static inline void t_verifier_bundle(struct t_verifier *v, const char *dev, const char *bdir, const char *policy_json)
{
    struct gtee_err err = {0};

    t_verifier_open(v, dev, policy_json);
    gtee_collateral_free(&v->sgx);
    if (gtee_collateral_load(bdir, &v->sgx, &err) != 0)
        fail_msg("%s", err.msg);
    assert_non_null(v->sgx.cvm);
    assert_int_equal(v->sgx.n_gpus, 1);
}

static inline void t_print_reasons(const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
}

/* How many reasons have a code starting with prefix (and, if given, a message containing
 * needle). */
static inline size_t t_count(const struct gtee_verdict *v, const char *prefix, const char *needle)
{
    size_t n = 0;

    for (size_t i = 0; i < v->n_reasons; i++)
        if (strncmp(v->reasons[i].code, prefix, strlen(prefix)) == 0 && (!needle || strstr(v->reasons[i].msg, needle)))
            n++;
    return n;
}

/* How many reasons are the sample's RIM signing certificates, expired since June 2026: the one
 * fault of the h100-1 sample at today's date besides those a test expects. */
static inline size_t t_expired_rims(const struct gtee_verdict *v)
{
    size_t n = 0;

    for (size_t i = 0; i < v->n_reasons; i++)
        if (strncmp(v->reasons[i].code, "gpu.rim.", 8) == 0 && strstr(v->reasons[i].code, ".chain.expired") &&
            strncmp(v->reasons[i].msg, "GPU 0: ", 7) == 0)
            n++;
    return n;
}

#endif
