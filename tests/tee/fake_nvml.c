/* A fake NVIDIA management library for the collector's tests (not a test itself): the
 * symbols and calling convention of libnvidia-ml.so.1 that src/tee/nvml.c uses, serving the
 * real h100-1 sample (tests/vectors/nvidia/h100-1) as a GPU in CC mode with driver 550.90.07
 * and VBIOS 96.00.9F.00.01. Like a GPU, it answers over the caller's nonce: the sample with
 * that nonce in its request (offset 4). The signature stays the sample's, so the report
 * verifies only for the sample's own nonce; over any other, a verifier refuses its signature
 * (gpu.signature), which lets an enclave with a GPU start and present its bundle.
 * FAKE_NVML_MODE picks another behaviour: "fixed" (the sample as it is, whatever the nonce),
 * "nogpu" (no device), "ccoff" (confidential computing off), "initfail" (nvmlInit fails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct fake_device *nvmlDevice_t;

typedef struct {
    unsigned environment, ccFeature, devToolsMode;
} nvmlConfComputeSystemState_t;
typedef struct {
    unsigned certChainSize, attestationCertChainSize;
    unsigned char certChain[0x1000];
    unsigned char attestationCertChain[0x1400];
} nvmlConfComputeGpuCertificate_t;
typedef struct {
    unsigned isCecAttestationReportPresent, attestationReportSize, cecAttestationReportSize;
    unsigned char nonce[0x20];
    unsigned char attestationReport[0x2000];
    unsigned char cecAttestationReport[0x1000];
} nvmlConfComputeGpuAttestationReport_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_UNKNOWN 999

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t r);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *device);
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned length);
nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t device, char *version, unsigned length);
nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *state);
nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t device,
                                                          nvmlConfComputeGpuAttestationReport_t *report);
nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t device, nvmlConfComputeGpuCertificate_t *cert);

static int inited;
static struct fake_device { int id; } gpu0 = { 0 };

static int mode(const char *m)
{
    const char *s = getenv("FAKE_NVML_MODE");
    return s && strcmp(s, m) == 0;
}

static size_t sample(const char *name, unsigned char *out, size_t cap)
{
    char path[4096 + 64];
    /* the checkout the tests name, else the one this library was built from (an enclave runs
     * with its environment wiped, docs/tee.md §8) */
    const char *src = getenv("GTEE_SOURCE_DIR");
    FILE *f;
    size_t n;

    if (!src || !*src)
        src = FAKE_NVML_SOURCE_DIR;
    snprintf(path, sizeof(path), "%s/tests/vectors/nvidia/h100-1/%s", src, name);
    f = fopen(path, "rb");
    if (!f)
        return 0;
    n = fread(out, 1, cap, f);
    fclose(f);
    return n;
}

nvmlReturn_t nvmlInit_v2(void)
{
    if (mode("initfail"))
        return NVML_ERROR_DRIVER_NOT_LOADED;
    inited = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
    inited = 0;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
    return r == NVML_ERROR_DRIVER_NOT_LOADED ? "Driver Not Loaded" : r == NVML_ERROR_INVALID_ARGUMENT ? "Invalid Argument" : "Unknown Error";
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *count)
{
    if (!inited)
        return NVML_ERROR_UNINITIALIZED;
    *count = mode("nogpu") ? 0 : 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *device)
{
    if (!inited || index != 0 || mode("nogpu"))
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &gpu0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned length)
{
    snprintf(version, length, "550.90.07");
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t device, char *version, unsigned length)
{
    if (device != &gpu0)
        return NVML_ERROR_INVALID_ARGUMENT;
    snprintf(version, length, "96.00.9F.00.01");
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *state)
{
    state->environment = 1; /* NVML_CC_SYSTEM_ENVIRONMENT_PROD */
    state->ccFeature = mode("ccoff") ? 0 : 1;
    state->devToolsMode = 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t device,
                                                          nvmlConfComputeGpuAttestationReport_t *report)
{
    if (device != &gpu0)
        return NVML_ERROR_INVALID_ARGUMENT;
    report->attestationReportSize = (unsigned)sample("report.bin", report->attestationReport,
                                                     sizeof(report->attestationReport));
    /* the SPDM GET_MEASUREMENTS request's Nonce, DSP0274 1.1 (docs/evidence-nvidia.md) */
    if (!mode("fixed") && report->attestationReportSize >= 4 + sizeof(report->nonce))
        memcpy(report->attestationReport + 4, report->nonce, sizeof(report->nonce));
    report->isCecAttestationReportPresent = 0;
    report->cecAttestationReportSize = 0;
    return report->attestationReportSize ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t device, nvmlConfComputeGpuCertificate_t *cert)
{
    if (device != &gpu0)
        return NVML_ERROR_INVALID_ARGUMENT;
    cert->certChainSize = 0;
    cert->attestationCertChainSize = (unsigned)sample("cert_chain.pem", cert->attestationCertChain,
                                                      sizeof(cert->attestationCertChain));
    return cert->attestationCertChainSize ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}
