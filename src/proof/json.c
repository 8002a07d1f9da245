/* The Work Proof file format (docs/proofs.md "File format"): one JSON object per proof, or
 * an array of them. Strict: every field present, no unknown field, no duplicate key, hex of
 * the exact length, integers in range, so a proof's file says exactly what was signed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

#define PROOF_FORMAT "gtee-work-proof-1"

static const char *const proof_keys[] = {
    "format", "domain", "enclave_id", "job_id", "job_kind", "model_cid", "input_cid", "output_cid", "units",
    "receipt_hash", "start_time", "end_time", "seq", "prev_hash", "evidence_hash", "gpu_evidence_hash",
    "signature",
};
static const char *const domain_keys[] = { "chain_id", "contract" };

static int known_keys(json_t *obj, const char *const *keys, size_t n, const char *where, size_t idx,
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

static int get_hex(json_t *obj, const char *key, uint8_t *out, size_t len, size_t idx, struct gtee_err *err)
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

static int get_u64(json_t *obj, const char *key, uint64_t *out, size_t idx, struct gtee_err *err)
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

static int parse_kind(json_t *obj, uint8_t *kind, size_t idx, struct gtee_err *err)
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

static int parse_one(json_t *obj, struct gtee_proof *p, size_t idx, struct gtee_err *err)
{
    json_t *dom = json_object_get(obj, "domain");
    const char *fmt = json_string_value(json_object_get(obj, "format"));
    int rc;

    memset(p, 0, sizeof(*p));
    ENSURE(json_is_object(obj), err, GTEE_EFORMAT, "proof %zu: not a JSON object", idx);
    TRY(known_keys(obj, proof_keys, GTEE_ARRAY_LEN(proof_keys), "the proof", idx, err));
    ENSURE(fmt && !strcmp(fmt, PROOF_FORMAT), err, GTEE_EFORMAT, "proof %zu: field 'format' must be \"%s\"", idx,
           PROOF_FORMAT);
    ENSURE(json_is_object(dom), err, GTEE_EFORMAT, "proof %zu: field 'domain' must be an object", idx);
    TRY(known_keys(dom, domain_keys, GTEE_ARRAY_LEN(domain_keys), "'domain'", idx, err));
    TRY(get_u64(dom, "chain_id", &p->domain.chain_id, idx, err));
    ENSURE(p->domain.chain_id >= 1, err, GTEE_EFORMAT, "proof %zu: domain chain_id is 0", idx);
    TRY(get_hex(dom, "contract", p->domain.contract, sizeof(p->domain.contract), idx, err));
    TRY(get_hex(obj, "enclave_id", p->enclave_id, sizeof(p->enclave_id), idx, err));
    TRY(get_hex(obj, "job_id", p->job_id, sizeof(p->job_id), idx, err));
    TRY(parse_kind(obj, &p->job_kind, idx, err));
    TRY(get_hex(obj, "model_cid", p->model_cid, sizeof(p->model_cid), idx, err));
    TRY(get_hex(obj, "input_cid", p->input_cid, sizeof(p->input_cid), idx, err));
    TRY(get_hex(obj, "output_cid", p->output_cid, sizeof(p->output_cid), idx, err));
    TRY(get_u64(obj, "units", &p->units, idx, err));
    TRY(get_hex(obj, "receipt_hash", p->receipt_hash, sizeof(p->receipt_hash), idx, err));
    TRY(get_u64(obj, "start_time", &p->start_time, idx, err));
    TRY(get_u64(obj, "end_time", &p->end_time, idx, err));
    TRY(get_u64(obj, "seq", &p->seq, idx, err));
    TRY(get_hex(obj, "prev_hash", p->prev_hash, sizeof(p->prev_hash), idx, err));
    TRY(get_hex(obj, "evidence_hash", p->evidence_hash, sizeof(p->evidence_hash), idx, err));
    TRY(get_hex(obj, "gpu_evidence_hash", p->gpu_evidence_hash, sizeof(p->gpu_evidence_hash), idx, err));
    TRY(get_hex(obj, "signature", p->sig, sizeof(p->sig), idx, err));
out:
    return rc;
}

int gtee_proof_parse(const void *buf, size_t len, struct gtee_proof **out, size_t *n, struct gtee_err *err)
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
        TRY(parse_one(json_is_array(root) ? json_array_get(root, i) : root, &ps[i], i, err));
    *out = ps;
    *n = count;
    ps = NULL;
out:
    free(ps);
    json_decref(root);
    return rc;
}

static json_t *hex_str(const uint8_t *p, size_t len)
{
    char buf[2 + 2 * GTEE_PROOF_SIG_LEN + 1] = "0x";

    gtee_hex_encode(p, len, buf + 2);
    return json_string(buf);
}

int gtee_proof_encode(const struct gtee_proof *p, char **json, struct gtee_err *err)
{
    char contract[GTEE_ETH_ADDR_HEX_LEN + 1], id[GTEE_ETH_ADDR_HEX_LEN + 1];
    const char *kind = gtee_job_kind_name(p->job_kind);
    json_t *o = NULL;
    int rc = 0;

    *json = NULL;
    ENSURE(kind, err, GTEE_EINVAL, "proof: job_kind %u is not a known job kind", p->job_kind);
    ENSURE(p->domain.chain_id <= INT64_MAX && p->units <= INT64_MAX && p->start_time <= INT64_MAX &&
               p->end_time <= INT64_MAX && p->seq <= INT64_MAX,
           err, GTEE_EINVAL, "proof: an integer field is above 2^63-1, which the file format cannot hold");
    gtee_eth_address_hex(p->domain.contract, contract);
    gtee_eth_address_hex(p->enclave_id, id);
    o = json_pack("{s:s, s:{s:I, s:s}, s:s, s:o, s:s, s:o, s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
                  "format", PROOF_FORMAT, "domain", "chain_id", (json_int_t)p->domain.chain_id, "contract", contract,
                  "enclave_id", id, "job_id", hex_str(p->job_id, 32), "job_kind", kind,
                  "model_cid", hex_str(p->model_cid, 32), "input_cid", hex_str(p->input_cid, 32),
                  "output_cid", hex_str(p->output_cid, 32), "units", (json_int_t)p->units,
                  "receipt_hash", hex_str(p->receipt_hash, 32), "start_time", (json_int_t)p->start_time,
                  "end_time", (json_int_t)p->end_time, "seq", (json_int_t)p->seq,
                  "prev_hash", hex_str(p->prev_hash, 32), "evidence_hash", hex_str(p->evidence_hash, 32),
                  "gpu_evidence_hash", hex_str(p->gpu_evidence_hash, 32),
                  "signature", hex_str(p->sig, GTEE_PROOF_SIG_LEN));
    ENSURE(o, err, GTEE_ENOMEM, "proof: out of memory encoding JSON");
    *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    ENSURE(*json, err, GTEE_ENOMEM, "proof: out of memory encoding JSON");
out:
    json_decref(o);
    return rc;
}
