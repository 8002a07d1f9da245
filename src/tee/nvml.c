/* The NVML collector: libnvidia-ml.so.1 loaded with dlopen at run time (no NVIDIA package in
 * the build), its confidential-computing calls resolved by name and called with NVML's own
 * types (nvml.h, R535 and later: nvmlSystemGetConfComputeState,
 * nvmlDeviceGetConfComputeGpuAttestationReport, nvmlDeviceGetConfComputeGpuCertificate).
 * Every NVML failure becomes an error naming the call and NVML's message. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/tee_gpu.h"

/* NVML's types, as nvml.h declares them (the layout is NVML's ABI). */
typedef int nvml_return;
typedef struct nvml_device *nvml_device;
#define NVML_SUCCESS 0
#define NVML_CC_SYSTEM_FEATURE_ENABLED 1u
#define NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE 32
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

struct nvml_cc_state {
    unsigned environment, cc_feature, dev_tools_mode;
};
struct nvml_cert {
    unsigned cert_chain_size, attestation_cert_chain_size;
    unsigned char cert_chain[0x1000];
    unsigned char attestation_cert_chain[0x1400];
};
struct nvml_report {
    unsigned cec_present, report_size, cec_report_size;
    unsigned char nonce[32];
    unsigned char report[0x2000];
    unsigned char cec_report[0x1000];
};

struct nvml {
    void *so;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    const char *(*error_string)(nvml_return);
    nvml_return (*count)(unsigned *);
    nvml_return (*handle)(unsigned, nvml_device *);
    nvml_return (*driver)(char *, unsigned);
    nvml_return (*vbios)(nvml_device, char *, unsigned);
    nvml_return (*cc_state)(struct nvml_cc_state *);
    nvml_return (*report)(nvml_device, struct nvml_report *);
    nvml_return (*cert)(nvml_device, struct nvml_cert *);
    bool initialised;
};

#define SPDM_REQUEST_LEN 37

static int sym(struct nvml *n, const char *name, void **out, struct gtee_err *err)
{
    *out = dlsym(n->so, name);
    if (!*out)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "gpu: the NVIDIA management library has no %s (a driver older "
                         "than R535, or not NVML)", name);
    return 0;
}

static const char *why(const struct nvml *n, nvml_return r)
{
    const char *s = n->error_string ? n->error_string(r) : NULL;
    return s ? s : "unknown NVML error";
}

static void nvml_close(struct nvml *n)
{
    if (n->initialised && n->shutdown)
        (void)n->shutdown();
    if (n->so)
        dlclose(n->so);
    memset(n, 0, sizeof(*n));
}

static int nvml_open(const char *lib, struct nvml *n, struct gtee_err *err)
{
    nvml_return r;
    int rc;

    memset(n, 0, sizeof(*n));
    lib = lib ? lib : GTEE_GPU_LIBRARY;
    n->so = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    ENSURE(n->so != NULL, err, GTEE_ENOTFOUND, "gpu: the NVIDIA management library %s could not be loaded (%s): "
           "no NVIDIA driver on this machine", lib, dlerror());
    TRY(sym(n, "nvmlInit_v2", (void **)&n->init, err));
    TRY(sym(n, "nvmlShutdown", (void **)&n->shutdown, err));
    TRY(sym(n, "nvmlErrorString", (void **)&n->error_string, err));
    TRY(sym(n, "nvmlDeviceGetCount_v2", (void **)&n->count, err));
    TRY(sym(n, "nvmlDeviceGetHandleByIndex_v2", (void **)&n->handle, err));
    TRY(sym(n, "nvmlSystemGetDriverVersion", (void **)&n->driver, err));
    TRY(sym(n, "nvmlDeviceGetVbiosVersion", (void **)&n->vbios, err));
    TRY(sym(n, "nvmlSystemGetConfComputeState", (void **)&n->cc_state, err));
    TRY(sym(n, "nvmlDeviceGetConfComputeGpuAttestationReport", (void **)&n->report, err));
    TRY(sym(n, "nvmlDeviceGetConfComputeGpuCertificate", (void **)&n->cert, err));
    r = n->init();
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlInit_v2 failed: %s", why(n, r));
    n->initialised = true;
    rc = 0;
out:
    if (rc < 0)
        nvml_close(n);
    return rc;
}

struct gtee_tee_gpu_lib {
    struct nvml n;
};

int gtee_tee_gpu_open(const char *lib, struct gtee_tee_gpu_lib **out, unsigned *count, struct gtee_err *err)
{
    struct gtee_tee_gpu_lib *l = calloc(1, sizeof(*l));
    nvml_return r;
    int rc;

    *out = NULL;
    *count = 0;
    ENSURE(l != NULL, err, GTEE_ENOMEM, "gpu: out of memory");
    TRY(nvml_open(lib, &l->n, err));
    r = l->n.count(count);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetCount_v2 failed: %s", why(&l->n, r));
    *out = l;
    l = NULL;
out:
    gtee_tee_gpu_close(l);
    return rc;
}

void gtee_tee_gpu_close(struct gtee_tee_gpu_lib *l)
{
    if (!l)
        return;
    nvml_close(&l->n);
    free(l);
}

int gtee_tee_gpu_count(const char *lib, unsigned *count, struct gtee_err *err)
{
    struct gtee_tee_gpu_lib *l;
    int rc = gtee_tee_gpu_open(lib, &l, count, err);

    gtee_tee_gpu_close(l);
    return rc;
}

void gtee_tee_gpu_free(struct gtee_tee_gpu *g)
{
    if (!g)
        return;
    free(g->report);
    free(g->cert_chain);
    memset(g, 0, sizeof(*g));
}

int gtee_tee_gpu_collect(const char *lib, unsigned index, const uint8_t nonce[GTEE_GPU_NONCE_LEN],
                         struct gtee_tee_gpu *g, struct gtee_err *err)
{
    struct gtee_tee_gpu_lib *l;
    unsigned count;
    int rc;

    memset(g, 0, sizeof(*g));
    TRY(gtee_tee_gpu_open(lib, &l, &count, err));
    rc = gtee_tee_gpu_collect_from(l, index, nonce, g, err);
    gtee_tee_gpu_close(l);
out:
    return rc;
}

int gtee_tee_gpu_collect_from(struct gtee_tee_gpu_lib *l, unsigned index, const uint8_t nonce[GTEE_GPU_NONCE_LEN],
                              struct gtee_tee_gpu *g, struct gtee_err *err)
{
    struct nvml n = l->n;
    struct nvml_cc_state cc = { 0, 0, 0 };
    struct nvml_report *rep = calloc(1, sizeof(*rep));
    struct nvml_cert *cert = calloc(1, sizeof(*cert));
    nvml_device dev = NULL;
    unsigned count = 0;
    nvml_return r;
    int rc;

    memset(g, 0, sizeof(*g));
    ENSURE(rep && cert, err, GTEE_ENOMEM, "gpu: out of memory");
    ENSURE(nonce != NULL, err, GTEE_EINVAL, "gpu: no nonce");
    r = n.count(&count);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetCount_v2 failed: %s", why(&n, r));
    ENSURE(count > 0, err, GTEE_ENOTFOUND, "gpu: NVML sees no GPU on this machine");
    ENSURE(index < count, err, GTEE_ENOTFOUND, "gpu: no GPU %u (NVML sees %u)", index, count);
    r = n.handle(index, &dev);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetHandleByIndex_v2(%u) failed: %s", index, why(&n, r));
    r = n.cc_state(&cc);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlSystemGetConfComputeState failed: %s", why(&n, r));
    ENSURE(cc.cc_feature == NVML_CC_SYSTEM_FEATURE_ENABLED, err, GTEE_ESTATE,
           "gpu: confidential computing is off on this machine (NVML CC feature %u): the GPU cannot attest; "
           "enable CC mode (nvidia-smi conf-compute) in a confidential VM", cc.cc_feature);
    r = n.driver(g->driver_version, NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlSystemGetDriverVersion failed: %s", why(&n, r));
    g->driver_version[sizeof(g->driver_version) - 1] = '\0';
    r = n.vbios(dev, g->vbios_version, NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetVbiosVersion failed: %s", why(&n, r));
    g->vbios_version[sizeof(g->vbios_version) - 1] = '\0';

    memcpy(rep->nonce, nonce, GTEE_GPU_NONCE_LEN);
    r = n.report(dev, rep);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetConfComputeGpuAttestationReport failed: %s",
           why(&n, r));
    ENSURE(rep->report_size > SPDM_REQUEST_LEN && rep->report_size <= sizeof(rep->report), err, GTEE_EFORMAT,
           "gpu: NVML returned a %u-byte attestation report (its buffer holds %zu)", rep->report_size,
           sizeof(rep->report));
    /* The report must be over our nonce: the SPDM request's Nonce (offset 4). */
    ENSURE(rep->report[0] == 0x11 && rep->report[1] == 0xE0 &&
               gtee_ct_equal(rep->report + 4, nonce, GTEE_GPU_NONCE_LEN),
           err, GTEE_EAUTH, "gpu: the attestation report is not an SPDM 1.1 GET_MEASUREMENTS over our nonce");
    r = n.cert(dev, cert);
    ENSURE(r == NVML_SUCCESS, err, GTEE_EIO, "gpu: nvmlDeviceGetConfComputeGpuCertificate failed: %s", why(&n, r));
    ENSURE(cert->attestation_cert_chain_size > 0 && cert->attestation_cert_chain_size <= sizeof(cert->attestation_cert_chain),
           err, GTEE_EFORMAT, "gpu: NVML returned a %u-byte attestation certificate chain (its buffer holds %zu)",
           cert->attestation_cert_chain_size, sizeof(cert->attestation_cert_chain));
    g->report = malloc(rep->report_size);
    g->cert_chain = malloc(cert->attestation_cert_chain_size + 1);
    ENSURE(g->report && g->cert_chain, err, GTEE_ENOMEM, "gpu: out of memory");
    memcpy(g->report, rep->report, rep->report_size);
    g->report_len = rep->report_size;
    memcpy(g->cert_chain, cert->attestation_cert_chain, cert->attestation_cert_chain_size);
    g->cert_chain[cert->attestation_cert_chain_size] = '\0';
    g->cert_chain_len = cert->attestation_cert_chain_size;
    g->index = index;
    rc = 0;
out:
    free(rep);
    free(cert);
    if (rc < 0)
        gtee_tee_gpu_free(g);
    return rc;
}
