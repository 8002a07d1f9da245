/* Simulated collateral in the shape Intel's PCS serves (API v4): TCB info v3 ("SGX" and
 * "TDX") and enclave identity v2 ("QE" and "TD_QE"), each {"<name>":{...},"signature":HEX}
 * where the signature (raw r||s, TCB signing key) covers the exact bytes of the inner
 * object as written to the file. The levels match the simulated platform, so its quotes
 * are UpToDate. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "simvendor/sim_internal.h"

#define SIM_TCB_EVAL_NUMBER 1
#define SIM_DAYS_PER_YEAR 365

static const char HEXU[] = "0123456789ABCDEF";

/* Uppercase hex, as PCS writes FMSPC, MRSIGNER and masks. */
static json_t *hex_upper(const uint8_t *p, size_t n)
{
    char buf[2 * 48 + 1];

    if (n > 48)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = HEXU[p[i] >> 4];
        buf[2 * i + 1] = HEXU[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return json_string(buf);
}

static json_t *iso_time(time_t t)
{
    struct tm tm;
    char buf[32];

    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return NULL;
    return json_string(buf);
}

static json_t *svn_list(const uint8_t svn[16])
{
    json_t *a = json_array();

    for (int i = 0; a && i < 16; i++)
        if (json_array_append_new(a, json_pack("{s:i}", "svn", (int)svn[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *isvsvn_level(int svn, time_t now)
{
    return json_pack("{s:{s:i},s:o,s:s}", "tcb", "isvsvn", svn, "tcbDate", iso_time(now), "tcbStatus",
                     "UpToDate");
}

/* The header every collateral object starts with. */
static json_t *collateral_head(const char *id, int version, time_t now)
{
    time_t next = now + (time_t)SIM_VALIDITY_YEARS * SIM_DAYS_PER_YEAR * 86400;

    return json_pack("{s:s,s:i,s:o,s:o}", "id", id, "version", version, "issueDate", iso_time(now),
                     "nextUpdate", iso_time(next));
}

static int obj_add(json_t *obj, const char *key, json_t *value)
{
    return obj && value && json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}

static json_t *tcb_info(int version, time_t now)
{
    static const uint8_t zero48[48];
    static const uint8_t mask8[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t older[16];
    json_t *o = collateral_head(version == GTEE_SIM_QUOTE_TDX ? "TDX" : "SGX", 3, now);
    json_t *up, *old, *module;
    int bad = 0;

    bad |= obj_add(o, "fmspc", hex_upper(SIM_FMSPC, sizeof(SIM_FMSPC)));
    bad |= obj_add(o, "pceId", hex_upper(SIM_PCEID, sizeof(SIM_PCEID)));
    bad |= obj_add(o, "tcbType", json_integer(0));
    bad |= obj_add(o, "tcbEvaluationDataNumber", json_integer(SIM_TCB_EVAL_NUMBER));
    if (version == GTEE_SIM_QUOTE_TDX) {
        /* The simulated module is signed like Intel's (MRSIGNERSEAM zero, attributes 0). */
        module = json_pack("{s:o,s:o,s:o}", "mrsigner", hex_upper(zero48, 48), "attributes",
                           hex_upper(zero48, 8), "attributesMask", hex_upper(mask8, 8));
        bad |= obj_add(o, "tdxModule", module);
        module = json_pack("{s:s,s:o,s:o,s:o,s:[o]}", "id", "TDX_01", "mrsigner", hex_upper(zero48, 48),
                           "attributes", hex_upper(zero48, 8), "attributesMask", hex_upper(mask8, 8),
                           "tcbLevels", isvsvn_level(SIM_TEE_TCB_SVN[0], now));
        bad |= obj_add(o, "tdxModuleIdentities", module ? json_pack("[o]", module) : NULL);
    }
    /* Level 1: the simulated platform exactly (UpToDate). Level 2: one microcode SVN and
     * one PCESVN lower (OutOfDate), so a verifier must pick the right level. */
    up = json_pack("{s:{s:o,s:i},s:o,s:s}", "tcb", "sgxtcbcomponents", svn_list(SIM_CPUSVN), "pcesvn",
                   SIM_PCESVN, "tcbDate", iso_time(now), "tcbStatus", "UpToDate");
    memcpy(older, SIM_CPUSVN, sizeof(older));
    older[0]--;
    old = json_pack("{s:{s:o,s:i},s:o,s:s,s:[s]}", "tcb", "sgxtcbcomponents", svn_list(older), "pcesvn",
                    SIM_PCESVN - 1, "tcbDate", iso_time(now - 365 * 86400), "tcbStatus", "OutOfDate",
                    "advisoryIDs", "GLACIER-SIM-SA-00001");
    if (version == GTEE_SIM_QUOTE_TDX) {
        bad |= obj_add(json_object_get(up, "tcb"), "tdxtcbcomponents", svn_list(SIM_TEE_TCB_SVN));
        bad |= obj_add(json_object_get(old, "tcb"), "tdxtcbcomponents", svn_list(SIM_TEE_TCB_SVN));
    }
    bad |= obj_add(o, "tcbLevels", up && old ? json_pack("[o,o]", up, old) : NULL);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sim_qe_measurements(int version, uint8_t mrenclave[32], uint8_t mrsigner[32], uint16_t *prod_id,
                        uint16_t *svn)
{
    const char *enclave = version == GTEE_SIM_QUOTE_TDX ? SIM_TDQE_ENCLAVE_LABEL : SIM_QE_ENCLAVE_LABEL;
    const char *signer = version == GTEE_SIM_QUOTE_TDX ? SIM_TDQE_SIGNER_LABEL : SIM_QE_SIGNER_LABEL;

    *prod_id = version == GTEE_SIM_QUOTE_TDX ? SIM_TDQE_PROD_ID : SIM_QE_PROD_ID;
    *svn = version == GTEE_SIM_QUOTE_TDX ? SIM_TDQE_SVN : SIM_QE_SVN;
    if (gtee_sha256(enclave, strlen(enclave), mrenclave) < 0 || gtee_sha256(signer, strlen(signer), mrsigner) < 0)
        return GTEE_ECRYPTO;
    return 0;
}

static json_t *qe_identity(int version, time_t now)
{
    /* Attributes as the QE runs (INIT | MODE64BIT | PROVISIONKEY) under a mask that
     * ignores MODE64BIT, as Intel's identities do; MISCSELECT 0. */
    static const uint8_t attrs[16] = { 0x11 };
    static const uint8_t mask[16] = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t misc[4] = { 0 };
    static const uint8_t misc_mask[4] = { 0xff, 0xff, 0xff, 0xff };
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t prod_id, svn;
    json_t *o = collateral_head(version == GTEE_SIM_QUOTE_TDX ? "TD_QE" : "QE", 2, now);
    int bad = 0;

    if (sim_qe_measurements(version, mrenclave, mrsigner, &prod_id, &svn) < 0) {
        json_decref(o);
        return NULL;
    }
    bad |= obj_add(o, "tcbEvaluationDataNumber", json_integer(SIM_TCB_EVAL_NUMBER));
    bad |= obj_add(o, "miscselect", hex_upper(misc, 4));
    bad |= obj_add(o, "miscselectMask", hex_upper(misc_mask, 4));
    bad |= obj_add(o, "attributes", hex_upper(attrs, 16));
    bad |= obj_add(o, "attributesMask", hex_upper(mask, 16));
    bad |= obj_add(o, "mrsigner", hex_upper(mrsigner, 32));
    bad |= obj_add(o, "isvprodid", json_integer(prod_id));
    bad |= obj_add(o, "tcbLevels", json_pack("[o]", isvsvn_level(svn, now)));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* {"<outer>":<inner compact>,"signature":"<hex r||s over the inner bytes>"} */
static int signed_file(EVP_PKEY *key, const char *outer, json_t *inner, struct sim_blob *blob,
                       struct gtee_err *err)
{
    char *body = NULL;
    uint8_t sig[64];
    char sig_hex[129];
    size_t n;
    int rc = GTEE_ECRYPTO;

    ENSURE(inner, err, GTEE_ENOMEM, "sim: building %s failed", outer);
    /* Compact, keys in insertion order: the bytes signed are the bytes written. */
    body = json_dumps(inner, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ENSURE(body, err, GTEE_ENOMEM, "sim: serializing %s failed", outer);
    TRY(sim_sign_raw(key, body, strlen(body), sig, err));
    gtee_hex_encode(sig, sizeof(sig), sig_hex);
    n = strlen(outer) + strlen(body) + sizeof(sig_hex) + 32;
    blob->data = malloc(n);
    ENSURE(blob->data, err, GTEE_ENOMEM, "sim: out of memory for %s", outer);
    blob->len = (size_t)snprintf((char *)blob->data, n, "{\"%s\":%s,\"signature\":\"%s\"}", outer, body,
                                 sig_hex);
    rc = 0;
out:
    free(body);
    json_decref(inner);
    return rc;
}

int sim_collateral_json(const struct sim_pki *pki, int version, time_t now, struct sim_blob *tcb,
                        struct sim_blob *qe, struct gtee_err *err)
{
    int rc = GTEE_ECRYPTO;

    snprintf(tcb->name, sizeof(tcb->name), "tcb_info.json");
    snprintf(qe->name, sizeof(qe->name), "qe_identity.json");
    TRY(signed_file(pki->tcb_key, "tcbInfo", tcb_info(version, now), tcb, err));
    TRY(signed_file(pki->tcb_key, "enclaveIdentity", qe_identity(version, now), qe, err));
    rc = 0;
out:
    return rc;
}
