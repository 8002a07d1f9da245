/* The ledger's rules as one table of cases, written once and run against both backends
 * through include/gtee/ledger.h: against the local ledger by tests/chain/test_ledger_local.c,
 * against the evm one on anvil by tests/chain/ledger_rules_check.c (from
 * tests/chain/test_chain_anvil.sh). Each case is an operation and what must come of it:
 * accepted, or refused with the contract's reason. The last case restarts the ledger between
 * two submissions (w->restart). Header-only, tests only, no cmocka (the
 * anvil driver is a plain program). */
#ifndef GTEE_TESTS_LEDGER_RULES_H
#define GTEE_TESTS_LEDGER_RULES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/ledger.h"
#include "gtee/proof.h"
#include "gtee/report_data.h"
#include "gtee/sim.h"

#define RULES_TEE_SIM 1
#define RULES_FRESHNESS 3600
#define RULES_EPOCH 600

/* What a backend gives the table: three accounts on one ledger, its clock, and how a
 * registration gets approved (the evm ledger: a verifier's vote; the local one: nothing, it
 * verified the evidence itself). */
struct rules_world {
    struct gtee_ledger *gov, *op, *other; /* the governor, an operator, a stranger (reporter) */
    int local;
    uint64_t (*now)(struct rules_world *w);
    void (*advance)(struct rules_world *w, uint64_t seconds);
    int (*approve)(struct rules_world *w, const uint8_t id[20], struct gtee_err *err);
    void *arg;
    /* stops the ledger and starts it again with its state (the local ledger: its file closed
     * and opened again; anvil: stopped with its state dumped, started again with it loaded);
     * the world's three ledgers are usable after it */
    int (*restart)(struct rules_world *w, struct gtee_err *err);
    /* the simulated device whose quotes are the registrations' evidence */
    char dev[256];
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
    struct gtee_collateral col;
    uint8_t *root;
    size_t root_len;
    struct gtee_anchors anchors;
    struct gtee_policy policy; /* the local ledger's evidence policy: simulation allowed */
    /* The simulated TEE's TCB figure, as the verdict of one of its quotes gives it
     * (claims.tcb_number: its collateral's tcbEvaluationDataNumber): what every registration
     * of the table declares, and the minimum the governor sets. */
    uint32_t tcb;
    int failures, cases;
};

static void rules_check(struct rules_world *w, const char *name, int rc, const struct gtee_err *err,
                        const char *reason)
{
    w->cases++;
    if (!reason && rc == 0) {
        printf("ok      %s\n", name);
        return;
    }
    if (reason && rc == GTEE_EPOLICY && strstr(err->msg, reason)) {
        printf("ok      %s: refused (%s)\n", name, reason);
        return;
    }
    w->failures++;
    if (reason)
        printf("FAILED  %s: expected a refusal naming '%s', got rc %d: %s\n", name, reason, rc, rc ? err->msg : "accepted");
    else
        printf("FAILED  %s: expected acceptance, got rc %d: %s\n", name, rc, err->msg);
}

static void rules_true(struct rules_world *w, const char *name, int cond)
{
    w->cases++;
    if (cond) {
        printf("ok      %s\n", name);
        return;
    }
    w->failures++;
    printf("FAILED  %s\n", name);
}

/* A fresh simulated device in a temporary directory and what verifying its quotes needs. */
static int rules_sim_open(struct rules_world *w)
{
    char tmpl[] = "/tmp/gtee-ledger-rules-XXXXXX", p[512];
    struct gtee_err err = {0};

    if (!mkdtemp(tmpl))
        return -1;
    snprintf(w->dev, sizeof(w->dev), "%s/dev", tmpl);
    if (gtee_sim_init(w->dev, &err) != 0 || gtee_sim_open(w->dev, &w->sim, &err) != 0)
        goto fail;
    snprintf(p, sizeof(p), "%s/%s", w->dev, GTEE_SIM_ROOT_CA_FILE);
    if (gtee_file_read(p, 1 << 16, &w->root, &w->root_len, &err) != 0)
        goto fail;
    snprintf(p, sizeof(p), "%s/%s", w->dev, GTEE_SIM_SGX_COLLATERAL_DIR);
    if (gtee_collateral_load(p, &w->col, &err) != 0)
        goto fail;
    w->anchors.sim_root_der = w->root;
    w->anchors.sim_root_len = w->root_len;
    gtee_policy_default(&w->policy);
    w->policy.allow_simulation = true;
    memset(w->id.mrenclave, 0x4d, sizeof(w->id.mrenclave));
    memset(w->id.mrsigner, 0x53, sizeof(w->id.mrsigner));
    w->id.isv_prod_id = 1;
    w->id.isv_svn = 1;
    {
        uint8_t rd[GTEE_REPORT_DATA_LEN] = {0}, *q = NULL;
        size_t qlen = 0;
        struct gtee_verdict *v = calloc(1, sizeof(*v));
        int rc = v ? gtee_sim_quote(w->sim, GTEE_SIM_QUOTE_SGX, &w->id, rd, &q, &qlen, &err) : -1;

        if (rc == 0)
            rc = gtee_evidence_verify(q, qlen, &w->col, &w->anchors, &w->policy, (int64_t)time(NULL), v, &err);
        if (rc == 0)
            w->tcb = v->claims.tcb_number;
        free(q);
        free(v);
        if (rc != 0 || w->tcb == 0) {
            fprintf(stderr, "ledger rules: the simulated TEE's TCB figure: %s\n", rc ? err.msg : "none in its verdict");
            return -1;
        }
    }
    return 0;
fail:
    fprintf(stderr, "ledger rules: simulated device: %s\n", err.msg);
    return -1;
}

static void rules_sim_close(struct rules_world *w)
{
    char cmd[600];

    gtee_sim_close(w->sim);
    gtee_collateral_free(&w->col);
    free(w->root);
    if (w->dev[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(w->dev) - 4), w->dev);
        if (system(cmd) != 0)
            fprintf(stderr, "ledger rules: could not remove %s\n", w->dev);
    }
}

/* An enclave: its key and ID, and a channel key its evidence binds. */
struct rules_enclave {
    uint8_t key[32], pub[65], id[20], channel_pub[65];
    uint8_t *quote;
    size_t quote_len;
};

static int rules_enclave_make(struct rules_world *w, struct rules_enclave *e)
{
    uint8_t rd[GTEE_REPORT_DATA_LEN], junk[32];
    struct gtee_err err = {0};

    memset(e, 0, sizeof(*e));
    if (gtee_secp256k1_keypair(e->key, e->pub) != 0 || gtee_eth_address(e->pub, e->id) != 0 ||
        gtee_secp256k1_keypair(junk, e->channel_pub) != 0) /* any point: the report data hashes it */
        return -1;
    if (gtee_tee_report_data(e->pub, e->channel_pub, NULL, rd) != 0 ||
        gtee_sim_quote(w->sim, GTEE_SIM_QUOTE_SGX, &w->id, rd, &e->quote, &e->quote_len, &err) != 0) {
        fprintf(stderr, "ledger rules: quote: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void rules_enclave_free(struct rules_enclave *e)
{
    free(e->quote);
    gtee_wipe(e->key, sizeof(e->key));
}

/* A registration of e by the operator of l, the evidence e's quote made at `when`. */
static void rules_registration(struct rules_world *w, struct gtee_ledger *l, const struct rules_enclave *e,
                               uint64_t when, struct gtee_ledger_registration *r)
{
    struct gtee_proof_domain d;
    uint8_t op[20], h[32], sig[65];

    memset(r, 0, sizeof(*r));
    memcpy(r->enclave_id, e->id, 20);
    r->tee_type = RULES_TEE_SIM;
    memcpy(r->measurement, w->id.mrenclave, 32);
    r->tcb = w->tcb; /* the evidence's own figure */
    gtee_keccak256(e->quote, e->quote_len, r->evidence_hash);
    r->evidence_time = when;
    r->evidence_url = "https://node.example/evidence";
    r->node_url = "https://node.example:8443";
    r->evidence = e->quote;
    r->evidence_len = e->quote_len;
    r->collateral = &w->col;
    memcpy(r->channel_pub, e->channel_pub, 65);
    gtee_ledger_domain(l, &d);
    gtee_ledger_operator(l, op);
    gtee_proof_consent_hash(&d, e->id, op, r->evidence_hash, h);
    if (gtee_secp256k1_sign(e->key, h, sig) == 0) {
        memcpy(r->consent_sig, sig, 64);
        r->consent_sig[64] = (uint8_t)(27 + sig[64]);
    }
}

/* A proof of e's with seq after prev (NULL: seq 1), signed by signer (NULL: e's key). */
static void rules_proof(struct gtee_ledger *l, const struct rules_enclave *e, uint64_t seq, const uint8_t *prev,
                        uint64_t units, const uint8_t *signer, struct gtee_proof *p)
{
    struct gtee_err err = {0};

    memset(p, 0, sizeof(*p));
    gtee_ledger_domain(l, &p->domain);
    memcpy(p->enclave_id, e->id, 20);
    memset(p->job_id, (int)seq, 32);
    p->job_kind = GTEE_JOB_INFERENCE;
    memset(p->model_cid, 2, 32);
    memset(p->input_cid, 3, 32);
    memset(p->output_cid, 4, 32);
    p->units = units;
    p->start_time = 1780000000;
    p->end_time = 1780000010;
    p->seq = seq;
    if (prev)
        memcpy(p->prev_hash, prev, 32);
    memset(p->evidence_hash, 0xe5, 32);
    if (gtee_proof_sign_key(p, signer ? signer : e->key, &err) != 0)
        fprintf(stderr, "ledger rules: signing: %s\n", err.msg);
}

static int rules_submit(struct gtee_ledger *l, const struct gtee_proof *p, size_t n, size_t *skipped, size_t *sent,
                        struct gtee_err *err)
{
    struct gtee_proof copy[8];

    memcpy(copy, p, n * sizeof(*p));
    return gtee_ledger_submit(l, copy, n, 32, NULL, NULL, skipped, sent, err);
}

static uint64_t rules_units(struct gtee_ledger *l, const uint8_t op[20])
{
    struct gtee_ledger_rewards r;
    struct gtee_err err = {0};
    uint64_t v = 0;

    if (gtee_ledger_rewards(l, op, &r, &err) != 0)
        return UINT64_MAX;
    for (int i = 24; i < 32; i++)
        v = v << 8 | r.units[i];
    return v;
}

static int rules_active(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_standing *s)
{
    struct gtee_err err = {0};

    if (gtee_ledger_standing(l, id, s, &err) != 0)
        return -1;
    return s->active;
}

static void rules_keyrelease_sig(struct gtee_ledger *l, const uint8_t key[32], const uint8_t id[20],
                                 const uint8_t blob[32], const uint8_t grant[32], uint64_t t, uint8_t sig[65])
{
    struct gtee_proof_domain d;
    uint8_t h[32];

    gtee_ledger_domain(l, &d);
    gtee_proof_keyrelease_hash(&d, id, blob, grant, t, h);
    if (gtee_secp256k1_sign(key, h, sig) == 0)
        sig[64] = (uint8_t)(27 + sig[64]);
}

/* The table: runs every case in order on a fresh ledger; returns the failures. */
__attribute__((unused)) static int rules_run(struct rules_world *w)
{
    struct gtee_ledger_registration r;
    struct gtee_ledger_standing s;
    struct gtee_ledger_policy pol, saved;
    struct gtee_proof p[4], q;
    struct gtee_err err = {0};
    struct rules_enclave e1, e2, e3;
    uint8_t op[20], other[20], gov[20], h[3][32], m_other[32], blob[32], grant[32], ksig[65], claimed[32];
    size_t skipped = 0, sent = 0;
    uint64_t now, uses = 0;
    int rc;

    if (rules_enclave_make(w, &e1) || rules_enclave_make(w, &e2) || rules_enclave_make(w, &e3)) {
        w->failures++;
        return w->failures;
    }
    gtee_ledger_operator(w->op, op);
    gtee_ledger_operator(w->other, other);
    gtee_ledger_operator(w->gov, gov);
    memset(m_other, 0x99, 32);

    /* governance */
    rc = gtee_ledger_set_measurement(w->op, w->id.mrenclave, 1, NULL, &err);
    rules_check(w, "governance by another than the governor", rc, &err, "governance: not the governor");
    rc = gtee_ledger_set_measurement(w->gov, w->id.mrenclave, 1, NULL, &err);
    rules_check(w, "the governor accepts a measurement", rc, &err, NULL);
    rc = gtee_ledger_set_min_tcb(w->gov, RULES_TEE_SIM, w->tcb, NULL, &err);
    rules_check(w, "the governor sets the minimum TCB to the simulated TEE's figure", rc, &err, NULL);
    rc = gtee_ledger_policy(w->gov, &saved, gov, &err);
    rules_check(w, "the policy reads", rc, &err, NULL);
    pol = saved;
    pol.quorum = 0;
    rc = gtee_ledger_set_policy(w->gov, &pol, NULL, &err);
    rules_check(w, "a policy with quorum 0", rc, &err, "governance: quorum must be at least 1");

    /* registration */
    now = w->now(w);
    rules_registration(w, w->op, &e1, now - 10, &r);
    r.tee_type = 9;
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "an unknown TEE type", rc, &err, "registration: unknown TEE type");
    rules_registration(w, w->op, &e1, now - 10, &r);
    memcpy(r.measurement, m_other, 32);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a measurement not accepted", rc, &err, "registration: measurement not accepted");
    rc = gtee_ledger_set_min_tcb(w->gov, RULES_TEE_SIM, w->tcb + 1, NULL, &err);
    rules_check(w, "the governor sets the minimum one above the simulated TEE's TCB", rc, &err, NULL);
    rules_registration(w, w->op, &e1, now - 10, &r);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a TCB below the minimum", rc, &err, "registration: TCB below the minimum");
    rc = gtee_ledger_set_min_tcb(w->gov, RULES_TEE_SIM, w->tcb, NULL, &err);
    rules_check(w, "the minimum back at the simulated TEE's TCB", rc, &err, NULL);
    if (w->local) { /* the contract cannot read evidence: on a chain the verifiers vote this down */
        rules_registration(w, w->op, &e1, now - 10, &r);
        r.tcb = w->tcb + 1;
        rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
        rules_check(w, "a TCB declared above the evidence's", rc, &err, "registration: the declared TCB");
    }
    rules_registration(w, w->op, &e1, now + 1000, &r);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "evidence from the future", rc, &err, "registration: evidence from the future");
    rules_registration(w, w->op, &e1, now - 2 * RULES_FRESHNESS, &r);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "evidence older than the freshness window", rc, &err,
                "registration: evidence older than the freshness window");
    rules_registration(w, w->gov, &e1, now - 10, &r); /* the consent names the governor */
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a consent given to another operator", rc, &err,
                "registration: the enclave did not sign this operator's consent");
    pol = saved;
    pol.allow_simulated = 0;
    rc = gtee_ledger_set_policy(w->gov, &pol, NULL, &err);
    rules_check(w, "the governor forbids simulation", rc, &err, NULL);
    rules_registration(w, w->op, &e1, now - 10, &r);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a simulated enclave while the policy forbids it", rc, &err,
                "registration: simulated TEE not allowed by policy");
    rc = gtee_ledger_set_policy(w->gov, &saved, NULL, &err);
    rules_check(w, "the governor allows simulation again", rc, &err, NULL);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a registration", rc, &err, NULL);
    rc = w->approve(w, e1.id, &err);
    rules_check(w, "its approval", rc, &err, NULL);
    rules_true(w, "the registered enclave is active", rules_active(w->op, e1.id, &s) == 1 &&
                                                          s.status == GTEE_ENCLAVE_ACTIVE && s.last_seq == 0);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "registering twice", rc, &err, "registration: enclave already registered");

    /* proofs */
    rules_proof(w->op, &e1, 1, NULL, 5, e2.key, &p[0]);
    rc = rules_submit(w->op, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof signed by a key that is not its Enclave ID", rc, &err, "proof: not signed by its Enclave ID");
    rules_proof(w->op, &e3, 1, NULL, 5, NULL, &p[0]);
    rc = rules_submit(w->op, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof of an enclave never registered", rc, &err, "proof: enclave not active");
    rules_proof(w->op, &e1, 1, NULL, 5, NULL, &p[0]);
    gtee_proof_hash(&p[0], h[0]);
    rules_proof(w->op, &e1, 2, h[0], 5, NULL, &p[1]);
    rc = rules_submit(w->op, &p[1], 1, &skipped, &sent, &err);
    rules_check(w, "a skipped sequence number", rc, &err, "proof: seq is not one past the enclave's last");
    rc = rules_submit(w->other, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof, submitted by anyone", rc, &err, NULL);
    memset(h[1], 0x77, 32); /* not proof 1's hash */
    rules_proof(w->op, &e1, 2, h[1], 5, NULL, &q);
    rc = rules_submit(w->op, &q, 1, &skipped, &sent, &err);
    rules_check(w, "a wrong previous hash", rc, &err, "proof: prevHash is not the enclave's last proof");
    gtee_proof_hash(&p[1], h[1]);
    rules_proof(w->op, &e1, 3, h[1], 5, NULL, &p[2]);
    gtee_proof_hash(&p[2], h[2]);
    rc = rules_submit(w->op, p, 3, &skipped, &sent, &err);
    rules_check(w, "a batch after the first, the first again in it", rc, &err, NULL);
    rules_true(w, "the proof the ledger holds is skipped, the rest sent", skipped == 1 && sent == 2);
    rules_true(w, "the operator is credited every proof's units once", rules_units(w->op, op) == 15);
    rules_true(w, "the ledger's last proof is seq 3", rules_active(w->op, e1.id, &s) == 1 && s.last_seq == 3 &&
                                                        !memcmp(s.last_hash, h[2], 32));
    rc = rules_submit(w->op, &p[2], 1, &skipped, &sent, &err);
    rules_check(w, "a replayed proof sends nothing", rc, &err, NULL);
    rules_true(w, "a replay counts nothing", skipped == 1 && sent == 0 && rules_units(w->op, op) == 15);
    rules_proof(w->op, &e1, 3, h[1], 6, NULL, &q);
    rc = rules_submit(w->op, &q, 1, &skipped, &sent, &err);
    rules_check(w, "another proof with the ledger's last seq", rc, &err, "equivocation");
    rules_proof(w->op, &e1, 4, h[2], 5, NULL, &p[0]);
    gtee_proof_hash(&p[0], h[0]);
    rules_proof(w->op, &e1, 6, h[0], 5, NULL, &p[1]);
    rc = rules_submit(w->op, p, 2, &skipped, &sent, &err);
    rules_check(w, "a batch with a gap in it", rc, &err, "proof: seq is not one past the enclave's last");
    rules_true(w, "a refused batch leaves nothing of itself", rules_active(w->op, e1.id, &s) == 1 && s.last_seq == 3 &&
                                                                 rules_units(w->op, op) == 15);
    rc = gtee_ledger_check_sealed(w->op, e1.id, 3, h[2], &err);
    rules_check(w, "a sealed counter at the ledger's last proof", rc, &err, NULL);
    rc = gtee_ledger_check_sealed(w->op, e1.id, 5, h[0], &err);
    rules_check(w, "a sealed counter ahead of the ledger (proofs not yet submitted)", rc, &err, NULL);
    rc = gtee_ledger_check_sealed(w->op, e1.id, 2, h[1], &err);
    rules_true(w, "a sealed counter behind the ledger is a rollback", rc == GTEE_ESTATE && strstr(err.msg, "restored"));

    /* key releases */
    memset(blob, 0xb1, 32);
    memset(grant, 0x61, 32);
    rules_keyrelease_sig(w->op, e1.key, e1.id, blob, grant, 1780000000, ksig);
    rc = gtee_ledger_record_key_release(w->other, e1.id, blob, grant, 1780000000, ksig, NULL, &err);
    rules_check(w, "a key release sent by another than the operator", rc, &err, "key release: not the enclave's operator");
    rc = gtee_ledger_record_key_release(w->op, e1.id, blob, grant, 1780000001, ksig, NULL, &err);
    rules_check(w, "a key release the enclave did not sign", rc, &err, "key release: not signed by the enclave");
    rc = gtee_ledger_record_key_release(w->op, e1.id, blob, grant, 1780000000, ksig, NULL, &err);
    rules_check(w, "a key release", rc, &err, NULL);
    rc = gtee_ledger_record_key_release(w->op, e1.id, blob, grant, 1780000000, ksig, NULL, &err);
    rules_check(w, "a key release recorded twice", rc, &err, "key release: receipt already recorded");
    rules_true(w, "the blob's uses count once", gtee_ledger_blob_uses(w->op, blob, &uses, &err) == 0 && uses == 1);
    {
        struct gtee_ledger_key_release *kr = NULL;
        uint8_t other_blob[32];
        size_t nkr = 0;

        rules_keyrelease_sig(w->op, e1.key, e1.id, blob, grant, 1780000002, ksig);
        rc = gtee_ledger_record_key_release(w->op, e1.id, blob, grant, 1780000002, ksig, NULL, &err);
        rules_check(w, "a second key release of the blob under the same grant, later", rc, &err, NULL);
        memset(other_blob, 0xb2, 32);
        rules_keyrelease_sig(w->op, e1.key, e1.id, other_blob, grant, 1780000003, ksig);
        rc = gtee_ledger_record_key_release(w->op, e1.id, other_blob, grant, 1780000003, ksig, NULL, &err);
        rules_check(w, "a key release of another blob", rc, &err, NULL);
        rc = gtee_ledger_key_releases(w->other, blob, &kr, &nkr, &err);
        rules_check(w, "anyone lists a blob's key releases", rc, &err, NULL);
        rules_true(w, "the blob's receipts: two, in order, with enclave, grant, time and the count",
                   rc == 0 && nkr == 2 && !memcmp(kr[0].enclave_id, e1.id, 20) && !memcmp(kr[0].grant_id, grant, 32) &&
                       kr[0].time == 1780000000 && kr[1].time == 1780000002 && kr[0].uses == 1 && kr[1].uses == 2 &&
                       kr[0].block >= 1 && kr[1].block > kr[0].block);
        free(kr);
        rules_true(w, "the blob's uses count both", gtee_ledger_blob_uses(w->op, blob, &uses, &err) == 0 && uses == 2);
    }

    /* standing that changes without the enclave's doing */
    rules_true(w, "at the minimum TCB (the simulated TEE's own figure) the enclave is active",
               rules_active(w->op, e1.id, &s) == 1);
    rc = gtee_ledger_set_min_tcb(w->gov, RULES_TEE_SIM, w->tcb + 1, NULL, &err);
    rules_check(w, "the governor raises the minimum TCB one above the enclave's", rc, &err, NULL);
    rules_true(w, "a TCB below the new minimum stops earning", rules_active(w->op, e1.id, &s) == 0);
    rc = rules_submit(w->op, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof of an enclave below the minimum TCB", rc, &err, "proof: enclave not active");
    rules_true(w, "an enclave below the minimum TCB earns nothing", rules_units(w->op, op) == 15);
    rc = gtee_ledger_set_min_tcb(w->gov, RULES_TEE_SIM, w->tcb, NULL, &err);
    rules_check(w, "the minimum TCB lowered again", rc, &err, NULL);
    rc = gtee_ledger_set_measurement(w->gov, w->id.mrenclave, 0, NULL, &err);
    rules_check(w, "the governor withdraws the measurement", rc, &err, NULL);
    rules_true(w, "a withdrawn measurement stops earning", rules_active(w->op, e1.id, &s) == 0);
    rc = gtee_ledger_set_measurement(w->gov, w->id.mrenclave, 1, NULL, &err);
    rules_check(w, "the measurement accepted again", rc, &err, NULL);
    rules_true(w, "active again", rules_active(w->op, e1.id, &s) == 1);
    w->advance(w, RULES_EPOCH + 1);
    rules_true(w, "a registration past its epoch is not active", rules_active(w->op, e1.id, &s) == 0 &&
                                                                     s.status == GTEE_ENCLAVE_ACTIVE);
    rc = rules_submit(w->op, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof of an expired registration", rc, &err, "proof: enclave not active");
    rules_registration(w, w->other, &e1, w->now(w) - 10, &r);
    rc = gtee_ledger_register(w->other, &r, 1, NULL, &err);
    rules_check(w, "a renewal by another than the operator", rc, &err, "registration: not the enclave's operator");
    rules_registration(w, w->op, &e1, w->now(w) - 10, &r);
    rc = gtee_ledger_register(w->op, &r, 1, NULL, &err);
    rules_check(w, "a renewal with fresh evidence", rc, &err, NULL);
    rc = w->approve(w, e1.id, &err);
    rules_check(w, "its approval", rc, &err, NULL);
    rules_true(w, "renewed: active again", rules_active(w->op, e1.id, &s) == 1 && s.last_seq == 3);
    rc = rules_submit(w->op, p, 1, &skipped, &sent, &err);
    rules_check(w, "a proof after the renewal", rc, &err, NULL);

    /* rewards */
    rc = gtee_ledger_claim(w->other, claimed, NULL, &err);
    rules_check(w, "a claim with nothing to claim", rc, &err, "rewards: nothing to claim");
    rc = gtee_ledger_claim(w->op, claimed, NULL, &err);
    rules_check(w, "the operator claims", rc, &err, NULL);
    rules_true(w, "the claim is the units credited, which are then zero",
               claimed[31] == 20 && rules_units(w->op, op) == 0);

    /* revocation */
    rc = gtee_ledger_revoke(w->other, e1.id, NULL, &err);
    rules_check(w, "a revocation by a stranger", rc, &err, "revoke: not the governor or the operator");
    rules_registration(w, w->op, &e2, w->now(w) - 10, &r);
    rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
    rules_check(w, "a second enclave registers", rc, &err, NULL);
    rc = w->approve(w, e2.id, &err);
    rules_check(w, "its approval", rc, &err, NULL);
    rc = gtee_ledger_revoke(w->op, e2.id, NULL, &err);
    rules_check(w, "its operator revokes it", rc, &err, NULL);
    rules_true(w, "revoked", rules_active(w->op, e2.id, &s) == 0 && s.status == GTEE_ENCLAVE_REVOKED);
    rules_proof(w->op, &e2, 1, NULL, 5, NULL, &q);
    rc = rules_submit(w->op, &q, 1, &skipped, &sent, &err);
    rules_check(w, "a revoked node that keeps submitting", rc, &err, "proof: enclave not active");
    rc = gtee_ledger_revoke(w->gov, e2.id, NULL, &err);
    rules_check(w, "revoking twice", rc, &err, "revoke: not registered");

    /* equivocation */
    rules_proof(w->op, &e1, 5, h[0], 5, NULL, &p[1]);
    rules_proof(w->op, &e1, 5, h[0], 6, NULL, &p[2]);
    rules_proof(w->op, &e1, 6, h[0], 6, NULL, &p[3]);
    rc = gtee_ledger_report_equivocation(w->other, &p[1], &p[3], NULL, &err);
    rules_check(w, "an equivocation report of two seqs", rc, &err, "equivocation: not one enclave and one seq");
    rc = gtee_ledger_report_equivocation(w->other, &p[1], &p[1], NULL, &err);
    rules_check(w, "an equivocation report of one proof twice", rc, &err, "equivocation: the same proof twice");
    rules_proof(w->op, &e1, 5, h[0], 6, e2.key, &q);
    memcpy(q.enclave_id, e1.id, 20);
    rc = gtee_ledger_report_equivocation(w->other, &p[1], &q, NULL, &err);
    rules_check(w, "an equivocation report with a proof another key signed", rc, &err,
                "equivocation: not both signed by the enclave");
    rules_proof(w->op, &e3, 1, NULL, 5, NULL, &p[0]);
    rules_proof(w->op, &e3, 1, NULL, 6, NULL, &q);
    rc = gtee_ledger_report_equivocation(w->other, &p[0], &q, NULL, &err);
    rules_check(w, "an equivocation report of an enclave never registered", rc, &err,
                "equivocation: enclave not registered");
    rc = gtee_ledger_report_equivocation(w->other, &p[1], &p[2], NULL, &err);
    rules_check(w, "equivocation: two proofs with one seq, reported by anyone", rc, &err, NULL);
    rules_true(w, "the equivocating enclave is slashed and revoked",
               rules_active(w->op, e1.id, &s) == 0 && s.slashed && s.status == GTEE_ENCLAVE_REVOKED);
    rc = gtee_ledger_report_equivocation(w->other, &p[1], &p[2], NULL, &err);
    rules_check(w, "an equivocation reported twice", rc, &err, "equivocation: already slashed");
    rc = rules_submit(w->op, &p[1], 1, &skipped, &sent, &err);
    rules_check(w, "a slashed enclave's proof", rc, &err, "proof: enclave not active");

    /* a chain restart in the middle of submissions: nothing lost, nothing counted twice */
    {
        struct rules_enclave e4;
        struct gtee_proof c[4];
        uint8_t ch[4][32];
        uint64_t before;

        if (rules_enclave_make(w, &e4) != 0) {
            w->failures++;
            goto done;
        }
        rules_registration(w, w->op, &e4, w->now(w) - 10, &r);
        rc = gtee_ledger_register(w->op, &r, 0, NULL, &err);
        rules_check(w, "an enclave registers before the restart", rc, &err, NULL);
        rc = w->approve(w, e4.id, &err);
        rules_check(w, "its approval", rc, &err, NULL);
        before = rules_units(w->op, op);
        for (int i = 0; i < 4; i++) {
            rules_proof(w->op, &e4, (uint64_t)i + 1, i ? ch[i - 1] : NULL, 7, NULL, &c[i]);
            gtee_proof_hash(&c[i], ch[i]);
        }
        rc = rules_submit(w->op, c, 2, &skipped, &sent, &err);
        rules_check(w, "proofs 1 and 2 before the restart", rc, &err, NULL);
        rc = w->restart(w, &err);
        rules_check(w, "the ledger stops and starts again", rc, &err, NULL);
        rules_true(w, "after the restart the ledger holds proofs 1 and 2",
                   rules_active(w->op, e4.id, &s) == 1 && s.last_seq == 2 && !memcmp(s.last_hash, ch[1], 32));
        rc = rules_submit(w->op, c, 4, &skipped, &sent, &err);
        rules_check(w, "proofs 1 to 4 sent again after the restart", rc, &err, NULL);
        rules_true(w, "the two it holds are skipped, the two new ones sent", skipped == 2 && sent == 2);
        rules_true(w, "each proof's units are credited once", rules_units(w->op, op) == before + 4 * 7);
        rules_true(w, "the ledger's last proof is seq 4", rules_active(w->op, e4.id, &s) == 1 && s.last_seq == 4 &&
                                                            !memcmp(s.last_hash, ch[3], 32));
        rc = rules_submit(w->op, c, 4, &skipped, &sent, &err);
        rules_true(w, "all four again send nothing and count nothing",
                   rc == 0 && skipped == 4 && sent == 0 && rules_units(w->op, op) == before + 4 * 7);
        rules_enclave_free(&e4);
    }
    /* the ledger's clock, which a registration's evidence is dated by (docs/node.md) */
    {
        uint64_t t = 0;

        rc = gtee_ledger_now(w->op, &t, &err);
        rules_check(w, "the ledger's clock reads", rc, &err, NULL);
        rules_true(w, "the ledger's clock is the one its rules read", rc == 0 && t == w->now(w));
    }

done:
    rules_enclave_free(&e1);
    rules_enclave_free(&e2);
    rules_enclave_free(&e3);
    printf("%d cases, %d failed\n", w->cases, w->failures);
    return w->failures;
}

#endif
