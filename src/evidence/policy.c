/* The policy engine: a JSON policy (docs/policy.md) parsed over strict defaults, and its
 * application to verified claims. Unknown keys are errors naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "gtee/crypto.h"
#include "gtee/file.h"

#define POLICY_FILE_MAX 65535

void gtee_policy_default(struct gtee_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->tee_types = 1u << GTEE_TEE_SGX | 1u << GTEE_TEE_TDX | 1u << GTEE_TEE_SNP | 1u << GTEE_TEE_GPU;
    p->accepted_tcb = 1u << GTEE_TCB_UP_TO_DATE;
    /* Hardware evidence is judged with its CRLs: Intel's two, AMD's ARK CRL (docs/policy.md). */
    p->require_revocation = 1u << GTEE_TEE_SGX | 1u << GTEE_TEE_TDX | 1u << GTEE_TEE_SNP;
    /* SMT: nearly every SEV-SNP host runs with SMT on and guests say they tolerate it; the
     * AMD advisories it matters for are a platform matter. Strict users set it false. */
    p->snp.allow_smt = true;
}

static int hex_list(json_t *arr, size_t n, struct gtee_measurement_list *l, const char *key, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;
    size_t i;
    json_t *x;

    ENSURE(json_is_array(arr) && json_array_size(arr) <= GTEE_POLICY_LIST_MAX, err, GTEE_EFORMAT,
           "policy: \"%s\" must be an array of at most %d hex strings", key, GTEE_POLICY_LIST_MAX);
    json_array_foreach(arr, i, x) {
        const char *s = json_string_value(x);

        ENSURE(s && strlen(s) == 2 * n && gtee_hex_decode(s, l->v[i], n) == 0, err, GTEE_EFORMAT,
               "policy: \"%s\"[%zu] must be %zu hex digits", key, i, 2 * n);
    }
    l->n = json_array_size(arr);
    rc = 0;
out:
    return rc;
}

static int uint_val(json_t *x, json_int_t max, json_int_t *out, const char *key, struct gtee_err *err)
{
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > max)
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: \"%s\" must be an integer 0..%lld", key, (long long)max);
    *out = json_integer_value(x);
    return 0;
}

static int bool_val(json_t *x, bool *out, const char *key, struct gtee_err *err)
{
    if (!json_is_boolean(x))
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: \"%s\" must be true or false", key);
    *out = json_is_true(x);
    return 0;
}

static int parse_sgx(json_t *o, struct gtee_policy *p, struct gtee_err *err)
{
    const char *k;
    json_t *x;
    json_int_t n = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "policy: \"sgx\" must be an object");
    json_object_foreach(o, k, x) {
        if (strcmp(k, "mrenclave") == 0) {
            TRY(hex_list(x, 32, &p->sgx.mrenclave, "sgx.mrenclave", err));
        } else if (strcmp(k, "mrsigner") == 0) {
            TRY(hex_list(x, 32, &p->sgx.mrsigner, "sgx.mrsigner", err));
        } else if (strcmp(k, "isv_prod_id") == 0) {
            TRY(uint_val(x, 65535, &n, "sgx.isv_prod_id", err));
            p->sgx.has_isv_prod_id = true;
            p->sgx.isv_prod_id = (uint16_t)n;
        } else if (strcmp(k, "min_isv_svn") == 0) {
            TRY(uint_val(x, 65535, &n, "sgx.min_isv_svn", err));
            p->sgx.min_isv_svn = (uint16_t)n;
        } else {
            ENSURE(false, err, GTEE_EFORMAT, "policy: unknown key \"sgx.%s\"", k);
        }
    }
    rc = 0;
out:
    return rc;
}

/* One exact value: a string of exactly 2 * n hex digits. */
static int hex_exact(json_t *x, uint8_t *out, size_t n, bool *has, const char *key, struct gtee_err *err)
{
    const char *s = json_string_value(x);

    if (!s || strlen(s) != 2 * n || gtee_hex_decode(s, out, n) != 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: \"%s\" must be %zu hex digits", key, 2 * n);
    *has = true;
    return 0;
}

static int parse_tdx(json_t *o, struct gtee_policy *p, struct gtee_err *err)
{
    static const char *const rtmr[GTEE_RTMR_COUNT] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
    const char *k;
    json_t *x;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "policy: \"tdx\" must be an object");
    json_object_foreach(o, k, x) {
        int r = -1;

        for (int i = 0; i < GTEE_RTMR_COUNT; i++)
            if (strcmp(k, rtmr[i]) == 0)
                r = i;
        if (strcmp(k, "mrtd") == 0)
            TRY(hex_list(x, 48, &p->tdx.mrtd, "tdx.mrtd", err));
        else if (r >= 0)
            TRY(hex_list(x, 48, &p->tdx.rtmr[r], k, err));
        else if (strcmp(k, "mrowner") == 0)
            TRY(hex_exact(x, p->tdx.mrowner, 48, &p->tdx.has_mrowner, "tdx.mrowner", err));
        else if (strcmp(k, "mrconfigid") == 0)
            TRY(hex_exact(x, p->tdx.mrconfigid, 48, &p->tdx.has_mrconfigid, "tdx.mrconfigid", err));
        else if (strcmp(k, "td_attributes") == 0)
            TRY(hex_exact(x, p->tdx.td_attributes, 8, &p->tdx.has_td_attributes, "tdx.td_attributes", err));
        else if (strcmp(k, "xfam") == 0)
            TRY(hex_exact(x, p->tdx.xfam, 8, &p->tdx.has_xfam, "tdx.xfam", err));
        else
            ENSURE(false, err, GTEE_EFORMAT, "policy: unknown key \"tdx.%s\"", k);
    }
    rc = 0;
out:
    return rc;
}

/* "min_tcb": {"bootloader":n,"tee":n,"snp":n,"microcode":n}, each 0..255, missing ones 0. */
static int parse_min_tcb(json_t *o, struct gtee_policy *p, struct gtee_err *err)
{
    const char *k;
    json_t *x;
    json_int_t n = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "policy: \"snp.min_tcb\" must be an object");
    memset(&p->snp.min_tcb, 0, sizeof(p->snp.min_tcb));
    json_object_foreach(o, k, x) {
        uint8_t *f = strcmp(k, "bootloader") == 0 ? &p->snp.min_tcb.bootloader
                     : strcmp(k, "tee") == 0      ? &p->snp.min_tcb.tee
                     : strcmp(k, "snp") == 0      ? &p->snp.min_tcb.snp
                     : strcmp(k, "microcode") == 0 ? &p->snp.min_tcb.microcode
                                                   : NULL;

        ENSURE(f != NULL, err, GTEE_EFORMAT, "policy: unknown key \"snp.min_tcb.%s\"", k);
        TRY(uint_val(x, 255, &n, "snp.min_tcb component", err));
        *f = (uint8_t)n;
    }
    p->snp.has_min_tcb = true;
    rc = 0;
out:
    return rc;
}

static int parse_snp(json_t *o, struct gtee_policy *p, struct gtee_err *err)
{
    const char *k;
    json_t *x;
    json_int_t n = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "policy: \"snp\" must be an object");
    json_object_foreach(o, k, x) {
        if (strcmp(k, "measurement") == 0) {
            TRY(hex_list(x, 48, &p->snp.measurement, "snp.measurement", err));
        } else if (strcmp(k, "host_data") == 0) {
            const char *s = json_string_value(x);

            ENSURE(s && strlen(s) == 64 && gtee_hex_decode(s, p->snp.host_data, 32) == 0, err, GTEE_EFORMAT,
                   "policy: \"snp.host_data\" must be 64 hex digits");
            p->snp.has_host_data = true;
        } else if (strcmp(k, "allow_smt") == 0) {
            TRY(bool_val(x, &p->snp.allow_smt, "snp.allow_smt", err));
        } else if (strcmp(k, "allow_migration_agent") == 0) {
            TRY(bool_val(x, &p->snp.allow_migration_agent, "snp.allow_migration_agent", err));
        } else if (strcmp(k, "min_abi_major") == 0) {
            TRY(uint_val(x, 255, &n, "snp.min_abi_major", err));
            p->snp.min_abi_major = (uint8_t)n;
        } else if (strcmp(k, "min_abi_minor") == 0) {
            TRY(uint_val(x, 255, &n, "snp.min_abi_minor", err));
            p->snp.min_abi_minor = (uint8_t)n;
        } else if (strcmp(k, "min_tcb") == 0) {
            TRY(parse_min_tcb(x, p, err));
        } else {
            ENSURE(false, err, GTEE_EFORMAT, "policy: unknown key \"snp.%s\"", k);
        }
    }
    rc = 0;
out:
    return rc;
}

/* A list of version strings (printable, no spaces), at most GTEE_POLICY_LIST_MAX. */
static int version_list(json_t *arr, size_t width, char (*out)[64], char (*out16)[16], size_t *n, const char *key,
                        struct gtee_err *err)
{
    size_t i;
    json_t *x;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_array(arr) && json_array_size(arr) <= GTEE_POLICY_LIST_MAX, err, GTEE_EFORMAT,
           "policy: \"%s\" must be an array of at most %d version strings", key, GTEE_POLICY_LIST_MAX);
    json_array_foreach(arr, i, x) {
        const char *s = json_string_value(x);
        size_t len = s ? strlen(s) : 0;

        ENSURE(s && len > 0 && len < width, err, GTEE_EFORMAT, "policy: \"%s\"[%zu] must be a version string of "
               "1..%zu characters", key, i, width - 1);
        for (size_t j = 0; j < len; j++)
            ENSURE(s[j] > 0x20 && s[j] < 0x7f, err, GTEE_EFORMAT, "policy: \"%s\"[%zu] must be printable", key, i);
        memcpy(out ? out[i] : out16[i], s, len + 1);
    }
    *n = json_array_size(arr);
    rc = 0;
out:
    return rc;
}

/* "gpu": the allowed driver and VBIOS versions, and whether unchecked revocation is accepted. */
static int parse_gpu(json_t *o, struct gtee_policy *p, struct gtee_err *err)
{
    const char *k;
    json_t *x;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "policy: \"gpu\" must be an object");
    json_object_foreach(o, k, x) {
        if (strcmp(k, "driver_versions") == 0) {
            TRY(version_list(x, 64, p->gpu.driver, NULL, &p->gpu.n_driver, "gpu.driver_versions", err));
        } else if (strcmp(k, "vbios_versions") == 0) {
            TRY(version_list(x, 16, NULL, p->gpu.vbios, &p->gpu.n_vbios, "gpu.vbios_versions", err));
        } else if (strcmp(k, "min_count") == 0) {
            json_int_t n = 0;

            TRY(uint_val(x, 8, &n, "gpu.min_count", err));
            p->gpu.min_count = (uint32_t)n;
        } else if (strcmp(k, "allow_unchecked_revocation") == 0) {
            TRY(bool_val(x, &p->gpu.allow_unchecked_revocation, "gpu.allow_unchecked_revocation", err));
        } else {
            ENSURE(false, err, GTEE_EFORMAT, "policy: unknown key \"gpu.%s\"", k);
        }
    }
    rc = 0;
out:
    return rc;
}

static int parse_names(json_t *arr, const char *key, unsigned *bits, bool tee, struct gtee_err *err)
{
    size_t i;
    json_t *x;
    int rc = GTEE_EFORMAT;

    ENSURE(json_is_array(arr), err, GTEE_EFORMAT, "policy: \"%s\" must be an array of strings", key);
    *bits = 0;
    json_array_foreach(arr, i, x) {
        const char *s = json_string_value(x);
        unsigned b = 0;

        if (s && tee) {
            for (unsigned t = 1; t < GTEE_TEE_TYPE_COUNT; t++)
                if (strcmp(s, gtee_tee_type_name((enum gtee_tee_type)t)) == 0)
                    b = 1u << t;
        } else if (s) {
            enum gtee_tcb_status st = gtee_tcb_status_from_name(s);

            b = st == GTEE_TCB_NONE ? 0 : 1u << st;
        }
        ENSURE(b != 0, err, GTEE_EFORMAT, "policy: \"%s\"[%zu] is not a known name", key, i);
        *bits |= b;
    }
    rc = 0;
out:
    return rc;
}

/* "require_revocation": true (every TEE type), false (none), or a list of TEE type names. */
static int parse_revocation(json_t *x, struct gtee_policy *p, struct gtee_err *err)
{
    if (json_is_boolean(x)) {
        p->require_revocation = json_is_true(x) ? 1u << GTEE_TEE_SGX | 1u << GTEE_TEE_TDX | 1u << GTEE_TEE_SNP : 0;
        return 0;
    }
    if (!json_is_array(x))
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: \"require_revocation\" must be true, false or an array of TEE "
                         "type names");
    return parse_names(x, "require_revocation", &p->require_revocation, true, err);
}

/* Why jansson refused the text. A repeated key is named with where it starts: jansson stops
 * just after the repeated key's closing quote, so the key is found by walking back to its
 * opening quote (one not escaped by an odd run of backslashes). */
static int json_refused(const char *text, size_t len, const json_error_t *je, struct gtee_err *err)
{
    size_t end = (size_t)(je->position > 0 ? je->position : 0), start;
    char key[68];
    size_t n = 0;

    if (json_error_code(je) != json_error_duplicate_key || end < 2 || end > len || text[end - 1] != '"')
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: not valid JSON at line %d, column %d: %.80s", je->line,
                         je->column, je->text);
    for (start = end - 1; start-- > 0;) {
        size_t bs = 0;

        while (bs < start && text[start - 1 - bs] == '\\')
            bs++;
        if (text[start] == '"' && bs % 2 == 0)
            break;
    }
    if (start == (size_t)-1)
        return GTEE_FAIL(err, GTEE_EFORMAT, "policy: duplicate key at line %d, byte offset %d", je->line,
                         je->position);
    /* printable ASCII only: the key comes from the file and goes to a terminal */
    for (size_t i = start + 1; i < end - 1 && n < sizeof(key) - 4; i++)
        key[n++] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    if (n < (end - 1) - (start + 1))
        key[n++] = '.', key[n++] = '.', key[n++] = '.';
    key[n] = 0;
    return GTEE_FAIL(err, GTEE_EFORMAT, "policy: duplicate key \"%s\" at line %d, byte offset %zu", key, je->line,
                     start);
}

int gtee_policy_parse(const char *text, size_t len, struct gtee_policy *p, struct gtee_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    const char *k;
    json_t *x;
    json_int_t n = 0;
    int rc = GTEE_EFORMAT;

    gtee_policy_default(p);
    if (!root) {
        rc = json_refused(text, len, &je, err);
        goto out;
    }
    ENSURE(json_is_object(root), err, GTEE_EFORMAT, "policy: not a JSON object (the policy is one {...})");
    json_object_foreach(root, k, x) {
        if (strcmp(k, "tee_types") == 0) {
            TRY(parse_names(x, k, &p->tee_types, true, err));
        } else if (strcmp(k, "accepted_tcb_statuses") == 0) {
            TRY(parse_names(x, k, &p->accepted_tcb, false, err));
        } else if (strcmp(k, "allow_simulation") == 0) {
            TRY(bool_val(x, &p->allow_simulation, k, err));
        } else if (strcmp(k, "allow_debug") == 0) {
            TRY(bool_val(x, &p->allow_debug, k, err));
        } else if (strcmp(k, "require_revocation") == 0) {
            TRY(parse_revocation(x, p, err));
        } else if (strcmp(k, "max_collateral_age_days") == 0) {
            TRY(uint_val(x, 100000, &n, k, err));
            p->max_collateral_age_days = (uint32_t)n;
        } else if (strcmp(k, "sgx") == 0) {
            TRY(parse_sgx(x, p, err));
        } else if (strcmp(k, "tdx") == 0) {
            TRY(parse_tdx(x, p, err));
        } else if (strcmp(k, "snp") == 0) {
            TRY(parse_snp(x, p, err));
        } else if (strcmp(k, "gpu") == 0) {
            TRY(parse_gpu(x, p, err));
        } else if (strcmp(k, "report_data") == 0) {
            const char *s = json_string_value(x);

            ENSURE(s && strlen(s) == 128 && gtee_hex_decode(s, p->report_data, 64) == 0, err, GTEE_EFORMAT,
                   "policy: \"report_data\" must be 128 hex digits");
            p->has_report_data = true;
        } else {
            ENSURE(false, err, GTEE_EFORMAT, "policy: unknown key \"%s\"", k);
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        gtee_policy_default(p);
    return rc;
}

int gtee_policy_load(const char *path, struct gtee_policy *p, struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc;

    gtee_policy_default(p);
    /* A regular file of bounded size: a FIFO or device as --policy fails at once. */
    rc = gtee_file_read(path, POLICY_FILE_MAX, &buf, &n, err);
    if (rc < 0) {
        gtee_err_wrap(err, "policy: ");
        return rc;
    }
    rc = gtee_policy_parse((const char *)buf, n, p, err);
    free(buf);
    return rc;
}
