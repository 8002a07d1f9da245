/* NVIDIA GPU reports in the common verdict: gtee_nv_verify (nvidia.h) does the verification;
 * its reasons become verdict reasons and what it established (versions, nonce, golden-value
 * counts, revocation) the claims that the shared policy engine checks. */
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap.h"
#include "evidence/evidence_gpu.h"
#include "gtee/nvidia.h"

int evidence_gpu_verify(const uint8_t *report, size_t len, const struct gtee_collateral *col, const uint8_t *nonce,
                        int64_t at, struct gtee_verdict *v, bool *complete)
{
    struct gtee_nv_result *res = calloc(1, sizeof(*res));
    struct gtee_claims *c = &v->claims;
    struct gtee_err err = {0};
    int rc;

    *complete = false;
    c->tee = GTEE_TEE_GPU;
    if (!res) {
        verdict_add(v, "evidence.internal", "out of memory");
        return 0;
    }
    if (!col || !col->gpu) {
        verdict_add(v, "gpu.collateral.missing", "GPU evidence needs a collateral directory with cert_chain.pem and "
                    "the driver and VBIOS RIMs");
        rc = gtee_nv_report_parse(report, len, &res->report, &err) < 0 ? GTEE_EFORMAT : 0;
        if (rc < 0)
            verdict_add(v, res->report.bad_code, "%s", err.msg);
        free(res);
        return rc;
    }
    /* Prepared collateral: the chains and RIMs checked once, if prepared from these bytes. */
    if (dcap_prepared_gpu(col))
        rc = gtee_nv_verify_prepared(dcap_prepared_gpu(col), report, len, nonce, at, res, &err);
    else
        rc = gtee_nv_verify(report, len, nonce, col->gpu, at, res, &err);
    for (size_t i = 0; i < res->n_reasons; i++)
        verdict_add(v, res->reasons[i].code, "%s", res->reasons[i].msg);
    if (res->reasons_truncated)
        v->reasons_truncated = true;
    if (rc != 0 && rc != GTEE_EPOLICY && rc != GTEE_EFORMAT && v->n_reasons == 0)
        verdict_add(v, "gpu.internal", "%s", err.msg);
    *complete = rc == 0 && res->verified;
    if (res->parsed) {
        const struct gtee_nv_opaque *o = &res->report.opaque;

        memcpy(c->gpu.driver_version, o->driver_version, sizeof(c->gpu.driver_version));
        memcpy(c->gpu.vbios_version, o->vbios_version, sizeof(c->gpu.vbios_version));
        memcpy(c->gpu.nonce, res->report.nonce, sizeof(c->gpu.nonce));
        c->gpu.nvdec0 = o->nvdec0;
        c->gpu.golden = (uint32_t)res->n_golden;
        c->gpu.compared = (uint32_t)res->n_compared;
        c->gpu.matched = (uint32_t)res->n_matched;
        c->gpu.revocation = (int)res->revocation;
        c->revocation_checked = res->revocation == GTEE_NV_REVOCATION_GOOD;
    }
    rc = res->parsed ? 0 : GTEE_EFORMAT;
    free(res);
    return rc;
}
