/* The verdict as JSON (the `--json` output of `gtee evidence verify`, docs/evidence.md
 * "Verdict JSON"). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "gtee/nvidia.h"
#include "gtee/crypto.h"

static int put_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char buf[2 * GTEE_BOUND_PUB_LEN + 1];

    if (n > GTEE_BOUND_PUB_LEN)
        return -1;
    gtee_hex_encode(p, n, buf);
    return json_object_set_new(o, key, json_string(buf));
}

/* "revocation_checked" and "crls_applied" (file names), for every kind of evidence. */
static int revocation_json(json_t *o, const struct gtee_claims *c)
{
    static const unsigned bits[] = { GTEE_CRL_PCK, GTEE_CRL_ROOT_CA, GTEE_CRL_SNP_ARK };
    json_t *crls = json_array();
    int bad = !crls;

    for (size_t i = 0; i < GTEE_ARRAY_LEN(bits) && !bad; i++)
        if (c->crls_applied & bits[i])
            bad |= json_array_append_new(crls, json_string(gtee_crl_name(bits[i])));
    bad |= json_object_set_new(o, "revocation_checked", json_boolean(c->revocation_checked));
    bad |= crls ? json_object_set_new(o, "crls_applied", crls) : -1;
    return bad;
}

static json_t *claims_json(const struct gtee_claims *c)
{
    json_t *o = json_object(), *adv = json_array();
    int bad = !o || !adv;

    bad |= json_object_set_new(o, "tee", json_string(gtee_tee_type_name(c->tee)));
    bad |= json_object_set_new(o, "simulated", json_boolean(c->simulated));
    bad |= json_object_set_new(o, "debug", json_boolean(c->debug));
    if (c->tee != GTEE_TEE_GPU) { /* a GPU report has no report data: its nonce is gpu_nonce */
        bad |= put_hex(o, "report_data", c->report_data, GTEE_REPORT_DATA_LEN);
        bad |= put_hex(o, "nonce", c->report_data + 32, GTEE_BOUND_NONCE_LEN); /* docs/tee.md, "Report data" */
    }
    bad |= json_object_set_new(o, "nonce_checked", json_boolean(c->binding.nonce_checked));
    bad |= json_object_set_new(o, "keys_bound", json_boolean(c->binding.bound));
    if (c->binding.bound) {
        char id[GTEE_ETH_ADDR_HEX_LEN + 1];

        gtee_eth_address_hex(c->binding.enclave_id, id);
        bad |= json_object_set_new(o, "enclave_id", json_string(id));
        bad |= put_hex(o, "enclave_public_key", c->binding.enclave_pub, GTEE_BOUND_PUB_LEN);
        bad |= put_hex(o, "channel_public_key", c->binding.channel_pub, GTEE_BOUND_PUB_LEN);
    }
    if (c->tee == GTEE_TEE_SGX) {
        bad |= json_object_set_new(o, "quote_version", json_integer(c->quote_version));
        bad |= put_hex(o, "mrenclave", c->sgx.mrenclave, 32);
        bad |= put_hex(o, "mrsigner", c->sgx.mrsigner, 32);
        bad |= json_object_set_new(o, "isv_prod_id", json_integer(c->sgx.isv_prod_id));
        bad |= json_object_set_new(o, "isv_svn", json_integer(c->sgx.isv_svn));
        bad |= put_hex(o, "attributes", c->sgx.attributes, 16);
    } else if (c->tee == GTEE_TEE_TDX) {
        static const char *const rk[GTEE_RTMR_COUNT] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };

        bad |= json_object_set_new(o, "quote_version", json_integer(c->quote_version));
        bad |= put_hex(o, "mrtd", c->tdx.mrtd, 48);
        for (int i = 0; i < GTEE_RTMR_COUNT; i++)
            bad |= put_hex(o, rk[i], c->tdx.rtmr[i], 48);
        bad |= put_hex(o, "td_attributes", c->tdx.td_attributes, 8);
        bad |= put_hex(o, "xfam", c->tdx.xfam, 8);
        bad |= put_hex(o, "mrconfigid", c->tdx.mrconfigid, 48);
        bad |= put_hex(o, "mrowner", c->tdx.mrowner, 48);
        bad |= put_hex(o, "tee_tcb_svn", c->tdx.tee_tcb_svn, 16);
        bad |= put_hex(o, "mrseam", c->tdx.mrseam, 48);
    } else if (c->tee == GTEE_TEE_SNP) {
        bad |= put_hex(o, "measurement", c->snp.measurement, 48);
        bad |= put_hex(o, "host_data", c->snp.host_data, 32);
        bad |= json_object_set_new(o, "report_version", json_integer(c->quote_version));
        bad |= json_object_set_new(o, "guest_policy", json_integer((json_int_t)c->snp.guest_policy));
        uint8_t tcb[8]; /* the report's little-endian bytes, as AMD's tools print them */

        for (int i = 0; i < 8; i++)
            tcb[i] = (uint8_t)(c->snp.reported_tcb >> (8 * i));
        bad |= put_hex(o, "reported_tcb", tcb, sizeof(tcb));
    } else if (c->tee == GTEE_TEE_GPU) {
        bad |= json_object_set_new(o, "driver_version", json_string(c->gpu.driver_version));
        bad |= json_object_set_new(o, "vbios_version", json_string(c->gpu.vbios_version));
        bad |= put_hex(o, "gpu_nonce", c->gpu.nonce, 32);
        bad |= json_object_set_new(o, "nvdec0", json_string(c->gpu.nvdec0 == GTEE_NV_NVDEC0_ENABLED    ? "enabled"
                                                            : c->gpu.nvdec0 == GTEE_NV_NVDEC0_DISABLED ? "disabled"
                                                                                                       : "absent"));
        bad |= json_object_set_new(o, "golden_values", json_integer(c->gpu.golden));
        bad |= json_object_set_new(o, "golden_compared", json_integer(c->gpu.compared));
        bad |= json_object_set_new(o, "golden_matched", json_integer(c->gpu.matched));
        bad |= json_object_set_new(o, "gpu_revocation",
                                   json_string(gtee_nv_revocation_name((enum gtee_nv_revocation)c->gpu.revocation)));
    }
    if (c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX) {
        bad |= json_object_set_new(o, "tcb_status", c->tcb_status == GTEE_TCB_NONE
                                                        ? json_null()
                                                        : json_string(gtee_tcb_status_name(c->tcb_status)));
        for (size_t i = 0; i < c->n_advisories && !bad; i++)
            bad |= json_array_append_new(adv, json_string(c->advisory_ids[i]));
        bad |= json_object_set(o, "advisory_ids", adv);
        bad |= put_hex(o, "fmspc", c->fmspc, GTEE_FMSPC_LEN);
        bad |= json_object_set_new(o, "collateral_issued", json_integer(c->collateral_issued));
        bad |= json_object_set_new(o, "collateral_next_update", json_integer(c->collateral_next_update));
    }
    if (c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX || c->tee == GTEE_TEE_SNP)
        bad |= json_object_set_new(o, "tcb_number", json_integer(c->tcb_number)); /* docs/evidence.md */
    bad |= json_object_set_new(o, "gpus_bound", json_integer(c->gpus_bound));
    bad |= revocation_json(o, c);
    json_decref(adv);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int gtee_verdict_to_json(const struct gtee_verdict *v, char **out, struct gtee_err *err)
{
    json_t *o = json_object(), *reasons = json_array(), *claims = claims_json(&v->claims);
    int bad = !o || !reasons || !claims, rc = GTEE_ENOMEM;

    for (size_t i = 0; i < v->n_reasons && !bad; i++)
        bad |= json_array_append_new(reasons, json_pack("{s:s,s:s}", "code", v->reasons[i].code, "message",
                                                         v->reasons[i].msg));
    bad |= json_object_set_new(o, "accepted", json_boolean(v->accepted));
    bad |= json_object_set_new(o, "verified", json_boolean(v->verified));
    bad |= json_object_set(o, "reasons", reasons);
    bad |= json_object_set_new(o, "reasons_truncated", json_boolean(v->reasons_truncated));
    bad |= json_object_set(o, "claims", claims);
    ENSURE(!bad, err, GTEE_ENOMEM, "evidence: cannot build the verdict JSON");
    *out = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    ENSURE(*out != NULL, err, GTEE_ENOMEM, "evidence: cannot serialise the verdict JSON");
    rc = 0;
out:
    json_decref(reasons);
    json_decref(claims);
    json_decref(o);
    return rc;
}
