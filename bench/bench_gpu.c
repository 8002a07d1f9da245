/* GPU evidence benchmark (not a test): h100-1 with its production RIMs verified at
 * 2025-10-24T12:00:00Z, warm (the collateral prepared once: chains, RIMs and their
 * signatures), for SECONDS of process CPU time; prints "verifications seconds". A warm
 * verification makes one signature check, the report's ECDSA P-384. Usage: bench_gpu
 * VECTORS_DIR SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/nvidia.h"

static uint8_t *rd(const char *dir, const char *rel, size_t *len)
{
    char path[4096];
    uint8_t *p = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (gtee_file_read(path, 8u << 20, &p, len, NULL) != 0) {
        fprintf(stderr, "bench_gpu: cannot read %s\n", path);
        exit(2);
    }
    return p;
}

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const uint8_t nonce[32] = { 0x93, 0x1d, 0x8d, 0xd0, 0xad, 0xd2, 0x03, 0xac, 0x3d, 0x8b, 0x4f,
                                       0xbd, 0xe7, 0x5e, 0x11, 0x52, 0x78, 0xee, 0xfc, 0xdc, 0xea, 0xc5,
                                       0xb8, 0x76, 0x71, 0xa7, 0x48, 0xf3, 0x23, 0x64, 0xdf, 0xcb };
    struct gtee_nv_collateral c = { 0 };
    struct gtee_nv_prepared *p = NULL;
    struct gtee_nv_result *res = calloc(1, sizeof(*res));
    size_t len, n = 0;
    uint8_t *rep;
    int64_t at = 0;
    double secs, t0, t;

    if (argc != 3 || !res)
        return 2;
    secs = atof(argv[2]);
    rep = rd(argv[1], "nvidia/h100-1/report.bin", &len);
    c.chain_pem = rd(argv[1], "nvidia/h100-1/cert_chain.pem", &c.chain_len);
    c.driver_rim = rd(argv[1], "nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml", &c.driver_rim_len);
    c.vbios_rim = rd(argv[1], "nvidia/h100-1/production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml",
                     &c.vbios_rim_len);
    if (gtee_time_parse("2025-10-24T12:00:00Z", &at, NULL) != 0 || gtee_nv_prepare(&c, &p, NULL) != 0)
        return 1;
    /* warm-up, and the sample must verify: a benchmark of a failing path measures nothing */
    if (gtee_nv_verify_prepared(p, rep, len, nonce, at, res, NULL) != 0) {
        fprintf(stderr, "bench_gpu: the sample does not verify\n");
        return 1;
    }
    t0 = cpu_now();
    do {
        for (int i = 0; i < 16; i++, n++)
            if (gtee_nv_verify_prepared(p, rep, len, nonce, at, res, NULL) != 0)
                return 1;
        t = cpu_now() - t0;
    } while (t < secs);
    printf("%zu %.3f\n", n, t);
    gtee_nv_prepared_free(p);
    gtee_nv_collateral_free(&c);
    free(rep);
    free(res);
    return 0;
}
