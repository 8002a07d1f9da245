/* Golden values against the report: NVIDIA's index rule. RIM index i (0-based) is compared
 * with measurement block Index i+1 (1-based, SPDM); the active entries of the driver and the
 * VBIOS RIM together are the golden values (an index active in both is an error); a value
 * matches when any of its alternatives equals the block byte for byte. Index 35 is not
 * compared when the report's NVDEC0 status says the decoder is disabled (0x55), and is when
 * it says enabled (0xAA). docs/evidence-nvidia.md, "Golden values". */
#include <stdio.h>
#include <string.h>

#include "evidence/nv_internal.h"

#define NVDEC0_INDEX 35

/* One reason per RIM naming every mismatching index. */
static void name_mismatches(struct gtee_nv_result *res, unsigned rim, size_t compared)
{
    char list[GTEE_NV_REASON_MSG_MAX - 80];
    size_t used = 0, n = 0;

    list[0] = '\0';
    for (size_t k = 0; k < res->n_mismatch; k++) {
        int w;

        if (res->mismatch[k].rim != rim)
            continue;
        n++;
        w = snprintf(list + used, sizeof(list) - used, "%s%u", used ? ", " : "", res->mismatch[k].index);
        if (w < 0 || (size_t)w >= sizeof(list) - used) {
            snprintf(list + sizeof(list) - 5, 5, "...");
            used = sizeof(list) - 1;
            break;
        }
        used += (size_t)w;
    }
    if (n)
        nv_reason(res, rim == GTEE_NV_RIM_DRIVER ? "gpu.measurement.driver" : "gpu.measurement.vbios",
                  "%zu of %zu golden values of the %s RIM differ from the report: indices %s", n, compared,
                  gtee_nv_rim_kind_name((enum gtee_nv_rim_kind)rim), list);
}

void nv_compare(const struct gtee_nv_rim *rims[2], const struct gtee_nv_report *r, struct gtee_nv_result *res)
{
    size_t compared[2] = { 0, 0 };
    bool conflict = false;

    res->n_golden = res->n_compared = res->n_matched = res->n_mismatch = 0;
    for (unsigned i = 0; i < GTEE_NV_RIM_INDEX_MAX; i++) {
        const struct gtee_nv_rim_entry *d = &rims[0]->entry[i], *v = &rims[1]->entry[i], *g;
        unsigned src;
        bool match = false;

        if (d->active && v->active) {
            nv_reason(res, "gpu.rim.index_conflict", "golden index %u is active in both the driver and the VBIOS RIM", i);
            conflict = true;
            continue;
        }
        if (!d->active && !v->active)
            continue;
        src = d->active ? GTEE_NV_RIM_DRIVER : GTEE_NV_RIM_VBIOS;
        g = d->active ? d : v;
        res->n_golden++;
        if (i == NVDEC0_INDEX && gtee_nv_opaque_has(&r->opaque, GTEE_NV_OP_NVDEC0_STATUS) &&
            r->opaque.nvdec0 == GTEE_NV_NVDEC0_DISABLED)
            continue;
        res->n_compared++;
        compared[src]++;
        if (i < r->n_blocks)
            for (unsigned k = 0; k < g->n_alt && !match; k++)
                match = memcmp(g->alt[k], r->value[i], GTEE_NV_DIGEST_LEN) == 0;
        if (match) {
            res->n_matched++;
        } else {
            res->mismatch[res->n_mismatch].index = (uint16_t)i;
            res->mismatch[res->n_mismatch].rim = (uint8_t)src;
            res->n_mismatch++;
        }
    }
    if (res->n_golden > r->n_blocks)
        nv_reason(res, "gpu.measurement.count", "%zu golden values but the report has %zu measurement blocks",
                  res->n_golden, r->n_blocks);
    name_mismatches(res, GTEE_NV_RIM_VBIOS, compared[GTEE_NV_RIM_VBIOS]);
    name_mismatches(res, GTEE_NV_RIM_DRIVER, compared[GTEE_NV_RIM_DRIVER]);
    res->measurements_ok = !conflict && res->n_mismatch == 0 && res->n_golden <= r->n_blocks && res->n_compared > 0;
}
