/* Intel TCB info (version 3, SGX and TDX) and QE identity (version 2) documents, parsed
 * with jansson from the exact signed bytes (Intel PCS API v4: "TCB Info V3", "Enclave
 * Identity V2"). */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "gtee/crypto.h"

static bool get_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s && strlen(s) == 2 * n && gtee_hex_decode(s, out, n) == 0;
}

static bool get_uint(json_t *o, const char *key, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool get_time(json_t *o, const char *key, int64_t *out)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s && dcap_time_parse(s, out) == 0;
}

/* Sixteen {"svn": N} components. */
static bool get_components(json_t *arr, uint8_t out[16])
{
    size_t i;
    json_t *c;
    json_int_t x;

    if (!json_is_array(arr) || json_array_size(arr) != 16)
        return false;
    json_array_foreach(arr, i, c) {
        if (!get_uint(c, "svn", 255, &x))
            return false;
        out[i] = (uint8_t)x;
    }
    return true;
}

/* tcbStatus and advisoryIDs of one level. */
static bool get_status(json_t *lvl, struct tcb_level *l)
{
    json_t *adv = json_object_get(lvl, "advisoryIDs");
    json_t *a;
    size_t i;

    l->status = gtee_tcb_status_from_name(json_string_value(json_object_get(lvl, "tcbStatus")));
    if (l->status == GTEE_TCB_NONE)
        return false;
    if (!adv)
        return true;
    if (!json_is_array(adv) || json_array_size(adv) > GTEE_ADVISORY_MAX)
        return false;
    json_array_foreach(adv, i, a) {
        const char *s = json_string_value(a);

        if (!s || strlen(s) >= GTEE_ADVISORY_ID_MAX)
            return false;
        memcpy(l->adv[l->n_adv++], s, strlen(s) + 1);
    }
    return true;
}

/* Levels of the form {"tcb":{"isvsvn":N}, "tcbStatus":..}: QE identity and TDX modules. */
static bool get_isv_levels(json_t *arr, struct tcb_level *levels, size_t max, size_t *n)
{
    size_t i;
    json_t *lvl;
    json_int_t x;

    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > max)
        return false;
    json_array_foreach(arr, i, lvl) {
        struct tcb_level *l = &levels[i];

        if (!get_uint(json_object_get(lvl, "tcb"), "isvsvn", 65535, &x) || !get_status(lvl, l))
            return false;
        l->isv_svn = (uint16_t)x;
    }
    *n = json_array_size(arr);
    return true;
}

static int parse_tdx_parts(json_t *root, struct tcb_info *ti, struct gtee_err *err)
{
    json_t *mod = json_object_get(root, "tdxModule");
    json_t *ids = json_object_get(root, "tdxModuleIdentities");
    json_t *m;
    size_t i;
    int rc = GTEE_EFORMAT;

    if (mod) {
        ENSURE(get_hex(mod, "mrsigner", ti->module_mrsigner, 48) && get_hex(mod, "attributes", ti->module_attributes, 8) &&
                   get_hex(mod, "attributesMask", ti->module_attributes_mask, 8),
               err, GTEE_EFORMAT, "tcb info: tdxModule malformed");
        ti->has_module = true;
    }
    if (ids) {
        ENSURE(json_is_array(ids) && json_array_size(ids) <= GTEE_ARRAY_LEN(ti->modules), err, GTEE_EFORMAT,
               "tcb info: tdxModuleIdentities malformed");
        json_array_foreach(ids, i, m) {
            struct tdx_module_id *id = &ti->modules[i];
            const char *name = json_string_value(json_object_get(m, "id"));

            ENSURE(name && strlen(name) < sizeof(id->id) && get_hex(m, "mrsigner", id->mrsigner, 48) &&
                       get_hex(m, "attributes", id->attributes, 8) &&
                       get_hex(m, "attributesMask", id->attributes_mask, 8) &&
                       get_isv_levels(json_object_get(m, "tcbLevels"), id->levels, GTEE_ARRAY_LEN(id->levels),
                                      &id->n_levels),
                   err, GTEE_EFORMAT, "tcb info: tdxModuleIdentities[%zu] malformed", i);
            memcpy(id->id, name, strlen(name) + 1);
        }
        ti->n_modules = json_array_size(ids);
    }
    rc = 0;
out:
    return rc;
}

int dcap_tcb_info_parse(const uint8_t *json, size_t len, struct tcb_info *ti, struct gtee_err *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    json_t *levels, *lvl;
    const char *id;
    json_int_t x;
    size_t i;
    int rc = GTEE_EFORMAT;

    memset(ti, 0, sizeof(*ti));
    ENSURE(json_is_object(root), err, GTEE_EFORMAT, "tcb info: not a JSON object (line %d: %.80s)", je.line, je.text);
    id = json_string_value(json_object_get(root, "id"));
    ENSURE(id && (strcmp(id, "SGX") == 0 || strcmp(id, "TDX") == 0), err, GTEE_EFORMAT, "tcb info: id not SGX/TDX");
    ti->tdx = strcmp(id, "TDX") == 0;
    ENSURE(get_uint(root, "version", 100, &x) && x == 3, err, GTEE_EUNSUPPORTED, "tcb info: version must be 3");
    ti->version = (int)x;
    ENSURE(get_time(root, "issueDate", &ti->issue_date) && get_time(root, "nextUpdate", &ti->next_update), err,
           GTEE_EFORMAT, "tcb info: issueDate/nextUpdate malformed");
    ENSURE(get_hex(root, "fmspc", ti->fmspc, 6) && get_hex(root, "pceId", ti->pce_id, 2), err, GTEE_EFORMAT,
           "tcb info: fmspc/pceId malformed");
    ENSURE(get_uint(root, "tcbType", 0, &x), err, GTEE_EUNSUPPORTED, "tcb info: tcbType must be 0");
    /* required by TCB info v3: the evaluation a ledger's minimum TCB is stated in */
    ENSURE(get_uint(root, "tcbEvaluationDataNumber", UINT32_MAX, &x), err, GTEE_EFORMAT,
           "tcb info: tcbEvaluationDataNumber missing or not an integer 0..4294967295");
    ti->eval_number = (uint32_t)x;
    levels = json_object_get(root, "tcbLevels");
    ENSURE(json_is_array(levels) && json_array_size(levels) > 0 && json_array_size(levels) <= TCB_LEVEL_MAX, err,
           GTEE_EFORMAT, "tcb info: tcbLevels malformed");
    json_array_foreach(levels, i, lvl) {
        struct tcb_level *l = &ti->levels[i];
        json_t *tcb = json_object_get(lvl, "tcb");

        ENSURE(get_components(json_object_get(tcb, "sgxtcbcomponents"), l->sgx_svn) &&
                   get_uint(tcb, "pcesvn", 65535, &x) && get_status(lvl, l),
               err, GTEE_EFORMAT, "tcb info: tcbLevels[%zu] malformed", i);
        l->pce_svn = (uint16_t)x;
        if (ti->tdx) {
            ENSURE(get_components(json_object_get(tcb, "tdxtcbcomponents"), l->tdx_svn), err, GTEE_EFORMAT,
                   "tcb info: tcbLevels[%zu] tdxtcbcomponents malformed", i);
            l->has_tdx = true;
        }
    }
    ti->n_levels = json_array_size(levels);
    if (ti->tdx)
        TRY(parse_tdx_parts(root, ti, err));
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int dcap_qe_identity_parse(const uint8_t *json, size_t len, struct qe_identity *qi, struct gtee_err *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    const char *id;
    json_int_t x;
    uint8_t b4[4];
    int rc = GTEE_EFORMAT;

    memset(qi, 0, sizeof(*qi));
    ENSURE(json_is_object(root), err, GTEE_EFORMAT, "qe identity: not a JSON object (line %d: %.80s)", je.line,
           je.text);
    id = json_string_value(json_object_get(root, "id"));
    ENSURE(id && (strcmp(id, "QE") == 0 || strcmp(id, "TD_QE") == 0), err, GTEE_EFORMAT,
           "qe identity: id not QE/TD_QE");
    qi->td_qe = strcmp(id, "TD_QE") == 0;
    ENSURE(get_uint(root, "version", 100, &x) && x == 2, err, GTEE_EUNSUPPORTED, "qe identity: version must be 2");
    qi->version = (int)x;
    ENSURE(get_time(root, "issueDate", &qi->issue_date) && get_time(root, "nextUpdate", &qi->next_update), err,
           GTEE_EFORMAT, "qe identity: issueDate/nextUpdate malformed");
    /* MISCSELECT: hex of the bytes as the report holds them, so read little-endian. */
    ENSURE(get_hex(root, "miscselect", b4, 4), err, GTEE_EFORMAT, "qe identity: miscselect malformed");
    qi->miscselect = (uint32_t)b4[3] << 24 | (uint32_t)b4[2] << 16 | (uint32_t)b4[1] << 8 | b4[0];
    ENSURE(get_hex(root, "miscselectMask", b4, 4), err, GTEE_EFORMAT, "qe identity: miscselectMask malformed");
    qi->miscselect_mask = (uint32_t)b4[3] << 24 | (uint32_t)b4[2] << 16 | (uint32_t)b4[1] << 8 | b4[0];
    ENSURE(get_hex(root, "attributes", qi->attributes, 16) && get_hex(root, "attributesMask", qi->attributes_mask, 16),
           err, GTEE_EFORMAT, "qe identity: attributes malformed");
    ENSURE(get_hex(root, "mrsigner", qi->mrsigner, 32), err, GTEE_EFORMAT, "qe identity: mrsigner malformed");
    ENSURE(get_uint(root, "tcbEvaluationDataNumber", UINT32_MAX, &x), err, GTEE_EFORMAT,
           "qe identity: tcbEvaluationDataNumber missing or not an integer 0..4294967295");
    qi->eval_number = (uint32_t)x;
    ENSURE(get_uint(root, "isvprodid", 65535, &x), err, GTEE_EFORMAT, "qe identity: isvprodid malformed");
    qi->isv_prod_id = (uint16_t)x;
    ENSURE(get_isv_levels(json_object_get(root, "tcbLevels"), qi->levels, TCB_LEVEL_MAX, &qi->n_levels), err,
           GTEE_EFORMAT, "qe identity: tcbLevels malformed");
    rc = 0;
out:
    json_decref(root);
    return rc;
}
