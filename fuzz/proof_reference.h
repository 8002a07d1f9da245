/* The Work Proof file reader as a general JSON parser (jansson, JSON_REJECT_DUPLICATES)
 * would read it: fuzz/fuzz_proof.c's reference for src/proof/parse.c, which must accept
 * exactly the inputs this accepts and read the same proofs from them. Only for the fuzzer. */
#ifndef GTEE_FUZZ_PROOF_REFERENCE_H
#define GTEE_FUZZ_PROOF_REFERENCE_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

#define REF_PROOF_FORMAT "gtee-work-proof-1"

#define REF_PROOF_FORMAT "gtee-work-proof-1"

static const char *const ref_proof_keys[] = {
    "format", "domain", "enclave_id", "job_id", "job_kind", "model_cid", "input_cid", "output_cid", "units",
    "receipt_hash", "start_time", "end_time", "seq", "prev_hash", "evidence_hash", "gpu_evidence_hash",
    "signature",
};
static const char *const ref_domain_keys[] = { "chain_id", "contract" };

static int ref_known_keys(json_t *obj, const char *const *keys, size_t n, const char *where, size_t idx,
                      struct gtee_err *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        size_t i = 0;

        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        if (i == n)
            return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: unknown field '%.64s' in %s", idx, k, where);
    }
    return 0;
}

static int ref_get_hex(json_t *obj, const char *key, uint8_t *out, size_t len, size_t idx, struct gtee_err *err)
{
    json_t *v = json_object_get(obj, key);
    const char *s = v ? json_string_value(v) : NULL;

    if (!v)
        return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: field '%s' is missing", idx, key);
    if (!s || strncmp(s, "0x", 2) != 0 || json_string_length(v) != 2 + 2 * len ||
        gtee_hex_decode(s, out, len) != 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: field '%s' must be 0x and %zu hex digits", idx, key,
                         2 * len);
    return 0;
}

static int ref_get_u64(json_t *obj, const char *key, uint64_t *out, size_t idx, struct gtee_err *err)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: field '%s' is missing", idx, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: field '%s' must be an integer from 0 to 2^63-1", idx,
                         key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int ref_parse_kind(json_t *obj, uint8_t *kind, size_t idx, struct gtee_err *err)
{
    const char *s = json_string_value(json_object_get(obj, "job_kind"));

    for (unsigned k = GTEE_JOB_INFERENCE; s && k <= GTEE_JOB_APP; k++)
        if (!strcmp(s, gtee_job_kind_name(k))) {
            *kind = (uint8_t)k;
            return 0;
        }
    return GTEE_FAIL(err, GTEE_EFORMAT, "proof %zu: field 'job_kind' must be \"inference\", \"training\" or \"app\"",
                     idx);
}

static int ref_parse_one(json_t *obj, struct gtee_proof *p, size_t idx, struct gtee_err *err)
{
    json_t *dom = json_object_get(obj, "domain");
    const char *fmt = json_string_value(json_object_get(obj, "format"));
    int rc;

    memset(p, 0, sizeof(*p));
    ENSURE(json_is_object(obj), err, GTEE_EFORMAT, "proof %zu: not a JSON object", idx);
    TRY(ref_known_keys(obj, ref_proof_keys, GTEE_ARRAY_LEN(ref_proof_keys), "the proof", idx, err));
    ENSURE(fmt && !strcmp(fmt, REF_PROOF_FORMAT), err, GTEE_EFORMAT, "proof %zu: field 'format' must be \"%s\"", idx,
           REF_PROOF_FORMAT);
    ENSURE(json_is_object(dom), err, GTEE_EFORMAT, "proof %zu: field 'domain' must be an object", idx);
    TRY(ref_known_keys(dom, ref_domain_keys, GTEE_ARRAY_LEN(ref_domain_keys), "'domain'", idx, err));
    TRY(ref_get_u64(dom, "chain_id", &p->domain.chain_id, idx, err));
    ENSURE(p->domain.chain_id >= 1, err, GTEE_EFORMAT, "proof %zu: domain chain_id is 0", idx);
    TRY(ref_get_hex(dom, "contract", p->domain.contract, sizeof(p->domain.contract), idx, err));
    TRY(ref_get_hex(obj, "enclave_id", p->enclave_id, sizeof(p->enclave_id), idx, err));
    TRY(ref_get_hex(obj, "job_id", p->job_id, sizeof(p->job_id), idx, err));
    TRY(ref_parse_kind(obj, &p->job_kind, idx, err));
    TRY(ref_get_hex(obj, "model_cid", p->model_cid, sizeof(p->model_cid), idx, err));
    TRY(ref_get_hex(obj, "input_cid", p->input_cid, sizeof(p->input_cid), idx, err));
    TRY(ref_get_hex(obj, "output_cid", p->output_cid, sizeof(p->output_cid), idx, err));
    TRY(ref_get_u64(obj, "units", &p->units, idx, err));
    TRY(ref_get_hex(obj, "receipt_hash", p->receipt_hash, sizeof(p->receipt_hash), idx, err));
    TRY(ref_get_u64(obj, "start_time", &p->start_time, idx, err));
    TRY(ref_get_u64(obj, "end_time", &p->end_time, idx, err));
    TRY(ref_get_u64(obj, "seq", &p->seq, idx, err));
    TRY(ref_get_hex(obj, "prev_hash", p->prev_hash, sizeof(p->prev_hash), idx, err));
    TRY(ref_get_hex(obj, "evidence_hash", p->evidence_hash, sizeof(p->evidence_hash), idx, err));
    TRY(ref_get_hex(obj, "gpu_evidence_hash", p->gpu_evidence_hash, sizeof(p->gpu_evidence_hash), idx, err));
    TRY(ref_get_hex(obj, "signature", p->sig, sizeof(p->sig), idx, err));
out:
    return rc;
}

static int ref_parse(const void *buf, size_t len, struct gtee_proof **out, size_t *n, struct gtee_err *err)
{
    json_error_t je;
    json_t *root = NULL;
    struct gtee_proof *ps = NULL;
    size_t count = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    ENSURE(len <= GTEE_PROOF_FILE_MAX, err, GTEE_EFORMAT, "proof file: %zu bytes, more than the %u allowed", len,
           GTEE_PROOF_FILE_MAX);
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    ENSURE(root, err, GTEE_EFORMAT, "proof file: not JSON: %s at line %d column %d", je.text, je.line, je.column);
    count = json_is_array(root) ? json_array_size(root) : 1;
    ENSURE(json_is_array(root) || json_is_object(root), err, GTEE_EFORMAT,
           "proof file: neither a proof object nor an array of proofs");
    ENSURE(count >= 1 && count <= GTEE_PROOF_MAX_PROOFS, err, GTEE_EFORMAT,
           "proof file: %zu proofs; from 1 to %u allowed", count, GTEE_PROOF_MAX_PROOFS);
    ps = calloc(count, sizeof(*ps));
    ENSURE(ps, err, GTEE_ENOMEM, "proof file: out of memory for %zu proofs", count);
    for (size_t i = 0; i < count; i++)
        TRY(ref_parse_one(json_is_array(root) ? json_array_get(root, i) : root, &ps[i], i, err));
    *out = ps;
    *n = count;
    ps = NULL;
out:
    free(ps);
    json_decref(root);
    return rc;
}

#endif
