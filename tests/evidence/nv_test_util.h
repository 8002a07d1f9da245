/* Shared by the GPU evidence tests: the h100-1 sample and its collateral, read from
 * tests/vectors/nvidia/. */
#ifndef GTEE_TESTS_NV_TEST_UTIL_H
#define GTEE_TESTS_NV_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/nvidia.h"
#include "vectors.h"

/* 931d8dd0...64dfcb: the requester nonce of h100-1 (tests/vectors/nvidia/h100-1/expected.json) */
static const uint8_t nv_sample_nonce[GTEE_NV_NONCE_LEN] = {
    0x93, 0x1d, 0x8d, 0xd0, 0xad, 0xd2, 0x03, 0xac, 0x3d, 0x8b, 0x4f, 0xbd, 0xe7, 0x5e, 0x11, 0x52,
    0x78, 0xee, 0xfc, 0xdc, 0xea, 0xc5, 0xb8, 0x76, 0x71, 0xa7, 0x48, 0xf3, 0x23, 0x64, 0xdf, 0xcb,
};

__attribute__((unused)) static uint8_t *nv_vec(const char *rel, size_t *len)
{
    char path[4096];
    uint8_t *p = NULL;

    if (gtee_file_read(vector_path(path, sizeof(path), rel), 8u << 20, &p, len, NULL) != 0)
        abort();
    return p;
}

/* The collateral of h100-1 with the production RIMs (production) or the test RIMs shipped
 * beside the report; with_ocsp adds every stored OCSP response. */
__attribute__((unused)) static void nv_col(struct gtee_nv_collateral *c, int production, int with_ocsp)
{
    static const char *const ocsp[] = { "gpu_certificate_l2.der", "gpu_certificate_l3.der", "gpu_certificate_l4.der",
                                        "gpu_driver_rim_l3.der",  "gpu_driver_rim_l4.der",  "gpu_rim_l2.der",
                                        "gpu_vbios_l4.der" };

    memset(c, 0, sizeof(*c));
    c->chain_pem = nv_vec("nvidia/h100-1/cert_chain.pem", &c->chain_len);
    c->driver_rim = nv_vec(production ? "nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml"
                                      : "nvidia/h100-1/driver_rim_test.swidtag",
                           &c->driver_rim_len);
    c->vbios_rim = nv_vec(production ? "nvidia/h100-1/production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"
                                     : "nvidia/h100-1/vbios_rim_test.swidtag",
                          &c->vbios_rim_len);
    for (size_t i = 0; with_ocsp && i < sizeof(ocsp) / sizeof(ocsp[0]); i++) {
        char rel[128];

        snprintf(rel, sizeof(rel), "nvidia/h100-1/ocsp/%s", ocsp[i]);
        c->ocsp[c->n_ocsp] = nv_vec(rel, &c->ocsp_len[c->n_ocsp]);
        snprintf(c->ocsp_name[c->n_ocsp], sizeof(c->ocsp_name[0]), "%s", ocsp[i]);
        c->n_ocsp++;
    }
}

__attribute__((unused)) static int64_t nv_time(const char *s)
{
    int64_t t = 0;

    if (gtee_time_parse(s, &t, NULL) != 0)
        abort();
    return t;
}

/* True if res carries a reason with this code whose message contains needle (NULL: any). */
__attribute__((unused)) static bool nv_has(const struct gtee_nv_result *res, const char *code, const char *needle)
{
    for (size_t i = 0; i < res->n_reasons; i++)
        if (strcmp(res->reasons[i].code, code) == 0 && (!needle || strstr(res->reasons[i].msg, needle)))
            return true;
    return false;
}

#endif
