/* Writing a Work Proof in the file format (docs/proofs.md "File format"): one JSON object,
 * every field, in the order the format lists them. Reading is parse.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

#define PROOF_FORMAT "gtee-work-proof-1"

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
