/* Attesting a node's enclave and relaying to it, for the providers' commands: the node only
 * carries the evidence and the boxes; the keys are trusted because the evidence, verified
 * with the client's anchors, collateral and policy, commits to them and to the client's
 * nonce (docs/tee.md §5, "Report data"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/ledger.h"
#include "gtee/tee_kind.h"
#include "runtime/verifier.h"
#include "cli/http.h"
#include "cli/node_client.h"

/* A hex field of the evidence answer into exactly n bytes. */
static int hex_field(json_t *o, const char *key, uint8_t *out, size_t n, struct gtee_err *err)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (!s || strlen(s) != 2 * n || gtee_hex_decode(s, out, n) != 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "the node's evidence answer: %s is not %zu bytes of hex", key, n);
    return 0;
}

int cli_node_attest(const char *url, const struct cli_attest_opts *o, struct cli_enclave *e, struct gtee_err *err)
{
    char full[1200];
    int rc;

    ENSURE(strlen(url) < sizeof(e->url), err, GTEE_EINVAL, "--node: URL too long");
    ENSURE(cli_http_url(full, sizeof(full), url, "/api/v1/evidence") == 0, err, GTEE_EINVAL,
           "--node %s: expected an http:// or https:// URL", url);
    TRY(cli_attest_evidence_url(full, o, 120, NULL, e, err));
    snprintf(e->url, sizeof(e->url), "%s", url);
out:
    return rc;
}

int cli_attest_evidence_url(const char *evidence_url, const struct cli_attest_opts *o, long timeout_s,
                            const uint8_t *expect_id, struct cli_enclave *e, struct gtee_err *err)
{
    struct gtee_client_options co = { .policy_file = o->policy, .collateral_dir = o->collateral,
                                      .sim_root_file = o->sim_root };
    struct sdk_verifier *v = calloc(1, sizeof(*v));
    struct gtee_verdict *verdict = calloc(1, sizeof(*verdict));
    struct gtee_binding_expect bx;
    struct cli_http_resp r = { 0 };
    uint8_t nonce[32], *ev = NULL;
    const uint8_t *q;
    char full[1200], hex[65], why[GTEE_ERR_MSG_MAX];
    const char *evhex, *tee, *url = evidence_url;
    size_t ev_len, qlen;
    int rc, loaded = 0;

    memset(e, 0, sizeof(*e));
    memset(&bx, 0, sizeof(bx));
    ENSURE(v && verdict, err, GTEE_ENOMEM, "out of memory");
    ENSURE(!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8), err, GTEE_EINVAL,
           "evidence URL %.200s: expected an http:// or https:// URL", url);
    TRY(sdk_verifier_load(v, &co, err));
    loaded = 1;
    ENSURE(gtee_random(nonce, sizeof(nonce)) == 0, err, GTEE_ECRYPTO, "no randomness for the nonce");
    gtee_hex_encode(nonce, sizeof(nonce), hex);
    ENSURE((size_t)snprintf(full, sizeof(full), "%s%cnonce=%s", url, strchr(url, '?') ? '&' : '?', hex) < sizeof(full),
           err, GTEE_EINVAL, "evidence URL %.200s: too long", url);
    TRY(cli_http_request("GET", full, NULL, NULL, 0, -1, 0, -1, timeout_s, NULL, NULL, &r, err));
    ENSURE(r.status == 200, err, r.status >= 500 || r.status == 0 ? GTEE_EIO : GTEE_EFORMAT, "%s: no evidence: %s", url,
           cli_http_error(&r, why, sizeof(why)));
    ENSURE(json_is_object(r.json), err, GTEE_EFORMAT, "%s: the evidence answer is not a JSON object", url);
    TRY(hex_field(r.json, "enclave_public_key", bx.enclave_pub, sizeof(bx.enclave_pub), err));
    TRY(hex_field(r.json, "channel_public_key", bx.channel_pub, sizeof(bx.channel_pub), err));
    evhex = json_string_value(json_object_get(r.json, "evidence"));
    ENSURE(evhex && strlen(evhex) % 2 == 0 && strlen(evhex) > 0, err, GTEE_EFORMAT,
           "the node's evidence answer: evidence is not hex");
    ev_len = strlen(evhex) / 2;
    ev = malloc(ev_len);
    ENSURE(ev, err, GTEE_ENOMEM, "out of memory");
    ENSURE(gtee_hex_decode(evhex, ev, ev_len) == 0, err, GTEE_EFORMAT, "the node's evidence answer: evidence is not hex");
    bx.has_keys = true;
    bx.has_nonce = true;
    memcpy(bx.nonce, nonce, sizeof(nonce));
    if (expect_id) {
        bx.has_enclave_id = true;
        memcpy(bx.enclave_id, expect_id, sizeof(bx.enclave_id));
    }
    /* The collateral of the quote's kind (of a bundle, its CVM part's): TDX where the
     * header's TEE type (u32 at offset 4; TDX DCAP Quoting Library API, A.3) is 0x81, in a
     * version 4 or 5 quote; else SGX's. */
    gtee_bundle_cvm(ev, ev_len, &q, &qlen);
    rc = gtee_evidence_verify_bound(ev, ev_len,
                                    qlen >= 8 && (q[0] == 4 || q[0] == 5) && q[1] == 0 && q[4] == 0x81 && q[5] == 0 &&
                                            q[6] == 0 && q[7] == 0
                                        ? v->vfy.tdx_col
                                        : v->vfy.sgx_col,
                                    &v->anchors, &v->policy, &bx, (int64_t)time(NULL), verdict, err);
    if (rc == 0 && !verdict->accepted)
        rc = GTEE_EPOLICY;
    if (rc < 0) {
        if (verdict->n_reasons) {
            snprintf(e->reject_code, sizeof(e->reject_code), "%s", verdict->reasons[0].code);
            rc = GTEE_FAIL(err, GTEE_EPOLICY, "%s: the enclave's evidence is rejected: %s: %s%s", url,
                           verdict->reasons[0].code, verdict->reasons[0].msg,
                           verdict->n_reasons > 1 ? " (and more; gtee evidence verify shows all)" : "");
        }
        goto out;
    }
    memcpy(e->channel_pub, bx.channel_pub, sizeof(e->channel_pub));
    memcpy(e->enclave_pub, bx.enclave_pub, sizeof(e->enclave_pub));
    memcpy(e->enclave_addr, verdict->claims.binding.enclave_id, sizeof(e->enclave_addr));
    gtee_eth_address_hex(verdict->claims.binding.enclave_id, e->enclave_id);
    tee = json_string_value(json_object_get(r.json, "tee"));
    snprintf(e->tee, sizeof(e->tee), "%s", tee ? tee : "?");
    e->simulated = verdict->claims.simulated;
    e->tee_kind = verdict->claims.simulated ? GTEE_TEE_KIND_SIM
                  : verdict->claims.tee == GTEE_TEE_SGX ? GTEE_TEE_KIND_SGX
                  : verdict->claims.tee == GTEE_TEE_TDX ? GTEE_TEE_KIND_TDX
                  : verdict->claims.tee == GTEE_TEE_SNP ? GTEE_TEE_KIND_SNP : 0;
    gtee_ledger_measurement_of(&verdict->claims, e->measurement);
    e->tcb = verdict->claims.tcb_number;
out:
    free(ev);
    cli_http_resp_free(&r);
    if (loaded)
        sdk_verifier_free(v);
    free(v);
    free(verdict);
    return rc;
}

int cli_node_relay(const struct cli_enclave *e, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len,
                   struct gtee_err *err)
{
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], *box = NULL;
    size_t box_len = 0;
    struct cli_http_resp r = { 0 };
    char full[1200], why[GTEE_ERR_MSG_MAX];
    int rc;

    *out = NULL;
    *out_len = 0;
    ENSURE(cli_http_url(full, sizeof(full), e->url, "/api/v1/relay") == 0, err, GTEE_EINVAL, "--node: bad URL");
    TRY(gtee_relay_seal_request(e->channel_pub, req, len, resp_key, &box, &box_len, err));
    TRY(cli_http_request("POST", full, "application/octet-stream", box, box_len, -1, 0, -1, 120, NULL, NULL, &r, err));
    ENSURE(r.status != 400, err, GTEE_EPOLICY, "the enclave refused the request: %s",
           cli_http_error(&r, why, sizeof(why)));
    ENSURE(r.status == 200, err, GTEE_EIO, "%s: the relay failed: %s", e->url, cli_http_error(&r, why, sizeof(why)));
    TRY(gtee_relay_open_response(resp_key, r.body, r.body_len, out, out_len, err));
out:
    gtee_wipe(resp_key, sizeof(resp_key));
    free(box);
    cli_http_resp_free(&r);
    return rc;
}

int cli_node_get(const char *url, const char *path, uint8_t **out, size_t *len, struct gtee_err *err)
{
    char full[1200], why[GTEE_ERR_MSG_MAX];
    struct cli_http_resp r = { 0 };
    int rc;

    *out = NULL;
    ENSURE(cli_http_url(full, sizeof(full), url, path) == 0, err, GTEE_EINVAL,
           "--node %s: expected an http:// or https:// URL", url);
    TRY(cli_http_request("GET", full, NULL, NULL, 0, -1, 0, -1, 300, NULL, NULL, &r, err));
    ENSURE(r.status != 400, err, GTEE_EPOLICY, "%s", cli_http_error(&r, why, sizeof(why)));
    ENSURE(r.status == 200 && r.body, err, GTEE_EIO, "%s", cli_http_error(&r, why, sizeof(why)));
    *out = r.body;
    *len = r.body_len;
    r.body = NULL;
out:
    cli_http_resp_free(&r);
    return rc;
}

json_t *cli_job_summary(const char *id, const struct gtee_job_record *rec, const char *result)
{
    char model[65], input[65], labels[65];
    json_t *sum;

    gtee_hex_encode(rec->model, 32, model);
    gtee_hex_encode(rec->input, 32, input);
    gtee_hex_encode(rec->labels, 32, labels);
    sum = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "job", id, "kind",
                    rec->kind == GTEE_JOB_TRAIN ? "train" : "infer", "result", result, "recipient",
                    rec->recipient == 1 ? "requester" : "model owner", "model", model,
                    rec->kind == GTEE_JOB_TRAIN ? "features" : "input", input, "macs", (json_int_t)rec->macs,
                    "samples", (json_int_t)rec->samples);
    if (sum && rec->kind == GTEE_JOB_TRAIN) {
        json_t *eps = json_array();

        json_object_set_new(sum, "labels", json_string(labels));
        for (unsigned i = 0; eps && i < rec->n_epochs; i++)
            json_array_append_new(eps, json_pack("{s:i,s:f,s:f}", "epoch", (int)i + 1, "loss", rec->epochs[i].loss,
                                                 "accuracy", rec->epochs[i].samples
                                                                 ? (double)rec->epochs[i].correct /
                                                                       (double)rec->epochs[i].samples
                                                                 : 0.0));
        json_object_set_new(sum, "epochs", eps);
    }
    return sum;
}

void cli_job_print(const struct gtee_job_record *rec)
{
    for (unsigned i = 0; i < rec->n_epochs; i++)
        printf("epoch %u/%u: loss %.4f accuracy %.4f (%llu/%llu)\n", i + 1, (unsigned)rec->n_epochs,
               rec->epochs[i].loss,
               rec->epochs[i].samples ? (double)rec->epochs[i].correct / (double)rec->epochs[i].samples : 0.0,
               (unsigned long long)rec->epochs[i].correct, (unsigned long long)rec->epochs[i].samples);
    printf("work: %llu multiply-accumulates over %llu samples\n", (unsigned long long)rec->macs,
           (unsigned long long)rec->samples);
}
