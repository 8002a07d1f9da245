/* The node's ledger (docs/node.md, "Ledger"): one thread hands each start of the enclave its
 * sealed proof counter and the ledger's standing (PROOF_START), registers the enclave with
 * the consent and fresh evidence it answers with (or renews it, and again every half epoch),
 * and submits the Work Proofs the store keeps, in seq order and in batches, with backoff while
 * the ledger refuses or is away. A proof is marked submitted only once the ledger holds it, so
 * a crash anywhere loses none and the ledger, which skips what it holds, counts none twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/msg.h"
#include "gtee/proof.h"
#include "node/config.h"
#include "node/ledger.h"
#include "node/node.h"
#include "node/supervise.h"

#define TICK_MS 1000
#define RETRY_ATTACH_S 30
#define BACKOFF_MAX_S 60
#define PENDING_MAX 1024 /* proofs read per pass */

/* An error for the operator: logged once until it changes, kept for status. */
static void error_once(struct gtee_node_ledger *nl, const char *what, const char *msg)
{
    char text[GTEE_ERR_MSG_MAX];
    int same;

    snprintf(text, sizeof(text), "%s: %s", what, msg);
    pthread_mutex_lock(&nl->mu);
    same = !strcmp(nl->last_error, text);
    snprintf(nl->last_error, sizeof(nl->last_error), "%s", text);
    pthread_mutex_unlock(&nl->mu);
    if (!same)
        gtee_node_store_event(nl->store, "error", "ledger: %s", text);
}

static void set_standing(struct gtee_node_ledger *nl)
{
    struct gtee_ledger_standing s;
    struct gtee_err err = { 0 };

    if (!nl->have_id || gtee_ledger_standing(nl->l, nl->enclave_id, &s, &err) < 0)
        return;
    pthread_mutex_lock(&nl->mu);
    nl->standing = s;
    pthread_mutex_unlock(&nl->mu);
}

/* Registers (or renews) the enclave with what PROOF_START gave: the evidence verified here
 * first, for the measurement it carries (and so that a bad one is named here, not as a
 * refusal). On the node's own local ledger the operator is the governor: it accepts its
 * enclave's measurement itself, and says so. */
static int enroll(struct gtee_node_ledger *nl, const struct gtee_enclave_info *info, const uint8_t *consent,
                  const uint8_t eh[32], const uint8_t *ev, size_t ev_len, struct gtee_err *err)
{
    struct gtee_ledger_registration r = { 0 };
    struct gtee_ledger_standing s;
    struct gtee_collateral col = { 0 };
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_ledger_policy lp;
    uint8_t governor[20], op[20];
    char dir[GTEE_FILE_PATH_MAX], hex[65];
    int rc, have_col = 0, accepted = 0, renew;
    int64_t now = (int64_t)time(NULL);
    uint64_t chain_now = 0;

    ENSURE(v, err, GTEE_ENOMEM, "node: out of memory");
    if (nl->collateral[0]) {
        gtee_node_collateral_dir(nl->collateral, ev, ev_len, dir, sizeof(dir));
        TRY(gtee_collateral_load(dir, &col, err));
        have_col = 1;
    }
    TRY(gtee_evidence_verify(ev, ev_len, have_col ? &col : NULL, &nl->anchors, &nl->policy, now, v, err));
    ENSURE(v->accepted, err, GTEE_EPOLICY, "the enclave's evidence does not verify under the node's policy: %s",
           v->n_reasons ? v->reasons[0].msg : "rejected");
    memcpy(r.enclave_id, info->enclave_addr, 20);
    r.tee_type = (uint8_t)info->kind;
    gtee_ledger_measurement_of(&v->claims, r.measurement);
    r.tcb = v->claims.tcb_number; /* what the evidence shows, which the ledger's checkers compare */
    memcpy(r.evidence_hash, eh, 32);
    /* Made now, but dated no later than the ledger's clock: a chain's gas estimate runs at its
     * latest block, behind this machine's clock by up to a block interval, and would refuse
     * evidence dated after it as from the future (the date only counts against freshness). */
    TRY(gtee_ledger_now(nl->l, &chain_now, err));
    r.evidence_time = chain_now && chain_now < (uint64_t)now ? chain_now : (uint64_t)now;
    memcpy(r.stake, nl->stake, 32); /* a renewal sends none (the ledger ignores it) */
    r.evidence_url = nl->evidence_url;
    r.node_url = nl->node_url;
    memcpy(r.consent_sig, consent, 65);
    r.evidence = ev;
    r.evidence_len = ev_len;
    r.collateral = have_col ? &col : NULL;
    memcpy(r.channel_pub, info->channel_pub, 65);
    TRY(gtee_ledger_policy(nl->l, &lp, governor, err));
    gtee_ledger_operator(nl->l, op);
    if (!strcmp(nl->kind, "local") && !memcmp(governor, op, 20)) {
        TRY(gtee_ledger_measurement_accepted(nl->l, r.measurement, &accepted, err));
        if (!accepted) {
            TRY(gtee_ledger_set_measurement(nl->l, r.measurement, 1, NULL, err));
            gtee_hex_encode(r.measurement, 32, hex);
            gtee_node_store_event(nl->store, "info",
                                  "ledger: the local ledger now accepts the enclave's measurement 0x%s (the operator "
                                  "governs its own local ledger)",
                                  hex);
        }
    }
    TRY(gtee_ledger_standing(nl->l, r.enclave_id, &s, err));
    ENSURE(s.status != GTEE_ENCLAVE_REVOKED, err, GTEE_EPOLICY,
           "the enclave is revoked on the ledger%s: it can no longer be registered", s.slashed ? " (slashed)" : "");
    renew = s.status == GTEE_ENCLAVE_PENDING || s.status == GTEE_ENCLAVE_ACTIVE;
    TRY(gtee_ledger_register(nl->l, &r, renew, NULL, err));
    gtee_node_store_event(nl->store, "info", "ledger: enclave %s with fresh evidence (epoch %llu s)",
                          renew ? "renewed" : "registered", (unsigned long long)lp.epoch);
    pthread_mutex_lock(&nl->mu);
    nl->registered_at = now;
    nl->epoch = lp.epoch;
    nl->enrolled = 1;
    nl->renewed = renew;
    pthread_mutex_unlock(&nl->mu);
out:
    gtee_collateral_free(&col);
    free(v);
    return rc;
}

/* PROOF_START for the running start of the enclave, then its registration; why it failed in
 * *e (the thread's own, or `gtee node register`'s). */
static int attach(struct gtee_node_ledger *nl, unsigned start_no, struct gtee_err *e)
{
    struct gtee_enclave_info info;
    struct gtee_ledger_standing s;
    struct gtee_proof_domain d;
    uint8_t *counter = NULL, *in = NULL, *reply = NULL, *r = NULL;
    size_t counter_len = 0, reply_len = 0, r_len = 0;
    uint64_t counter_seq = 0;
    int rc, ok = 0;

    pthread_mutex_lock(&nl->mu);
    nl->enrolled = 0;
    pthread_mutex_unlock(&nl->mu);
    if ((rc = gtee_node_enclave_call(nl->enc, GTEE_MSG_INFO, NULL, 0, &r, &r_len, &info, e)) < 0) {
        error_once(nl, "cannot ask the enclave its identity", e->msg);
        goto out;
    }
    memcpy(nl->enclave_id, info.enclave_addr, 20);
    nl->have_id = 1;
    if ((rc = gtee_ledger_standing(nl->l, info.enclave_addr, &s, e)) < 0) {
        error_once(nl, "cannot read the enclave's standing", e->msg);
        goto out;
    }
    if ((rc = gtee_node_store_proof_counter(nl->store, &counter, &counter_len, &counter_seq, e)) < 0) {
        error_once(nl, "cannot read the proof counter", e->msg);
        goto out;
    }
    in = calloc(1, 120 + counter_len);
    if (!in) {
        rc = GTEE_FAIL(e, GTEE_ENOMEM, "node: out of memory");
        goto out;
    }
    gtee_ledger_domain(nl->l, &d);
    for (int i = 0; i < 8; i++)
        in[i] = (uint8_t)(d.chain_id >> (56 - 8 * i));
    memcpy(in + 8, d.contract, 20);
    gtee_ledger_operator(nl->l, in + 28);
    if ((rc = gtee_random(in + 48, 32)) < 0) {
        error_once(nl, "PROOF_START", "no randomness for the nonce");
        goto out;
    }
    for (int i = 0; i < 8; i++)
        in[80 + i] = (uint8_t)(s.last_seq >> (56 - 8 * i));
    memcpy(in + 88, s.last_hash, 32);
    if (counter_len)
        memcpy(in + 120, counter, counter_len);
    rc = gtee_node_enclave_call(nl->enc, GTEE_MSG_PROOF_START, in, 120 + counter_len, &reply, &reply_len, &info, e);
    if (rc < 0) {
        /* The enclave's refusal (its counter behind the ledger's) is the alarm of a host
         * that restored old sealed state: no proof is signed until it is resolved. */
        pthread_mutex_lock(&nl->mu);
        snprintf(nl->refusal, sizeof(nl->refusal), "%s", e->msg);
        pthread_mutex_unlock(&nl->mu);
        error_once(nl, "the enclave refuses to sign Work Proofs (its proof counter against the ledger's last proof)",
                   e->msg);
        goto out;
    }
    if (reply_len <= 161) {
        rc = GTEE_FAIL(e, GTEE_EIO, "the enclave's PROOF_START answer is %zu bytes", reply_len);
        error_once(nl, "PROOF_START", e->msg);
        goto out;
    }
    ok = 1;
    pthread_mutex_lock(&nl->mu);
    nl->refusal[0] = '\0';
    nl->proofs_ok = 1;
    pthread_mutex_unlock(&nl->mu);
    if ((rc = enroll(nl, &info, reply + 64, reply + 129, reply + 161, reply_len - 161, e)) < 0)
        error_once(nl, "registration (retried in 30 s)", e->msg);
out:
    pthread_mutex_lock(&nl->mu);
    nl->attached_no = start_no;
    if (!ok)
        nl->proofs_ok = 0;
    pthread_cond_broadcast(&nl->cv);
    pthread_mutex_unlock(&nl->mu);
    set_standing(nl);
    free(counter);
    free(in);
    free(reply);
    free(r);
    return rc < 0 ? rc : 0;
}

/* The pending proofs, in seq order, to the ledger; those it then holds are marked. */
static int submit(struct gtee_node_ledger *nl)
{
    struct gtee_node_proof_rec *recs = NULL;
    struct gtee_proof *p = NULL;
    uint8_t (*hashes)[32] = NULL;
    struct gtee_err err = { 0 };
    size_t n = 0, skipped = 0, sent = 0;
    int rc;

    if ((rc = gtee_node_store_proofs(nl->store, 1, PENDING_MAX, &recs, &n, &err)) < 0) {
        error_once(nl, "cannot read the proofs to submit", err.msg);
        return rc;
    }
    if (!n)
        goto out;
    /* Fewer than a batch: they wait for more, up to proof_batch_wait seconds from the oldest
     * (a transaction's fixed gas then paid once for many proofs); the loop looks again each
     * tick and when a proof is stored. */
    if (n < nl->batch && nl->batch_wait && (int64_t)time(NULL) - recs[0].created < (int64_t)nl->batch_wait)
        goto out;
    p = calloc(n, sizeof(*p));
    hashes = calloc(n, sizeof(*hashes));
    if (!p || !hashes) {
        rc = GTEE_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct gtee_proof *one = NULL;
        size_t k = 0;

        rc = gtee_proof_parse(recs[i].record, recs[i].record_len, &one, &k, &err);
        if (rc == 0 && k == 1) {
            p[i] = one[0];
            rc = gtee_proof_verify(&p[i], hashes[i], &err);
        } else if (rc == 0) {
            rc = GTEE_FAIL(&err, GTEE_EFORMAT, "%zu proofs in one record", k);
        }
        free(one);
        if (rc < 0) {
            char msg[GTEE_ERR_MSG_MAX];

            snprintf(msg, sizeof(msg), "the stored proof seq %llu: %.200s", (unsigned long long)recs[i].seq, err.msg);
            error_once(nl, "cannot submit", msg);
            goto out;
        }
        if (!nl->have_id) {
            memcpy(nl->enclave_id, p[i].enclave_id, 20);
            nl->have_id = 1;
        }
    }
    if ((rc = gtee_proof_chain_check(p, (const uint8_t(*)[32])hashes, n, &err)) < 0) {
        error_once(nl, "cannot submit: the stored proofs do not chain", err.msg);
        goto out;
    }
    rc = gtee_ledger_submit(nl->l, p, n, nl->batch, NULL, NULL, &skipped, &sent, &err);
    {
        struct gtee_ledger_standing s;
        struct gtee_err e2 = { 0 };

        /* whatever the ledger holds now (before a refusal, or from a run that died after
         * sending) is submitted */
        if (gtee_ledger_standing(nl->l, nl->enclave_id, &s, &e2) == 0) {
            if (gtee_node_store_proofs_submitted(nl->store, s.last_seq, &e2) < 0)
                gtee_node_store_event(nl->store, "error", "ledger: cannot mark proofs submitted: %s", e2.msg);
            pthread_mutex_lock(&nl->mu);
            nl->standing = s;
            pthread_mutex_unlock(&nl->mu);
        }
    }
    if (rc < 0) {
        error_once(nl, "submitting proofs", err.msg);
        goto out;
    }
    if (sent || skipped)
        gtee_node_store_event(nl->store, "info",
                              "ledger: %zu proof%s submitted (seq %llu to %llu), %zu already held by the ledger", sent,
                              sent == 1 ? "" : "s", (unsigned long long)p[0].seq, (unsigned long long)p[n - 1].seq,
                              skipped);
    pthread_mutex_lock(&nl->mu);
    nl->last_error[0] = '\0';
    pthread_mutex_unlock(&nl->mu);
out:
    gtee_node_proof_recs_free(recs, n);
    free(p);
    free(hashes);
    return rc;
}

/* The key-release receipts the enclave signed since the last pass, kept in the store at once
 * (RELEASE_TAKE hands each over once), then every receipt the ledger has not recorded, oldest
 * first. A receipt the ledger already holds (sent before a crash) is marked recorded; any
 * other refusal (an enclave not active yet) keeps it for the next pass. */
static int releases(struct gtee_node_ledger *nl)
{
    struct gtee_node_release *rs = NULL;
    struct gtee_err err = { 0 };
    uint8_t *reply = NULL;
    size_t reply_len = 0, n = 0, recorded = 0;
    unsigned start_no;
    int rc = 0, ok;

    pthread_mutex_lock(&nl->mu);
    ok = nl->proofs_ok && nl->have_id && nl->attached_no;
    start_no = nl->attached_no;
    pthread_mutex_unlock(&nl->mu);
    /* only from the start whose counter passed: a fresh start signs nothing before its own */
    if (ok && gtee_node_enclave_start_no(nl->enc, NULL) == start_no) {
        if ((rc = gtee_node_enclave_call(nl->enc, GTEE_MSG_RELEASE_TAKE, NULL, 0, &reply, &reply_len, NULL, &err)) <
            0) {
            error_once(nl, "cannot take the enclave's key-release receipts", err.msg);
            goto out;
        }
        if (reply_len < 1 || reply_len != 1 + (size_t)reply[0] * GTEE_RELEASE_RECEIPT_LEN) {
            rc = GTEE_EIO;
            error_once(nl, "RELEASE_TAKE", "the enclave's answer is malformed");
            goto out;
        }
        for (size_t i = 0; i < reply[0]; i++) {
            const uint8_t *p = reply + 1 + i * GTEE_RELEASE_RECEIPT_LEN;
            struct gtee_node_release r = { 0 };

            memcpy(r.enclave_id, nl->enclave_id, 20);
            memcpy(r.blob, p, 32);
            memcpy(r.grant_id, p + 32, 32);
            for (int k = 0; k < 8; k++)
                r.time = r.time << 8 | p[64 + k];
            memcpy(r.sig, p + 72, 65);
            if ((rc = gtee_node_store_release_add(nl->store, &r, &err)) < 0) {
                error_once(nl, "cannot keep a key-release receipt", err.msg);
                goto out;
            }
        }
    }
    if ((rc = gtee_node_store_releases(nl->store, PENDING_MAX, &rs, &n, &err)) < 0) {
        error_once(nl, "cannot read the key-release receipts to record", err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = gtee_ledger_record_key_release(nl->l, rs[i].enclave_id, rs[i].blob, rs[i].grant_id, rs[i].time, rs[i].sig,
                                            NULL, &err);
        if (rc == GTEE_EPOLICY && strstr(err.msg, "key release: receipt already recorded"))
            rc = 0;
        if (rc < 0) {
            error_once(nl, "recording key-release receipts", err.msg);
            break;
        }
        if ((rc = gtee_node_store_release_recorded(nl->store, rs[i].seq, &err)) < 0) {
            error_once(nl, "cannot mark a key-release receipt recorded", err.msg);
            break;
        }
        recorded++;
    }
    if (recorded)
        gtee_node_store_event(nl->store, "info", "ledger: %zu key-release receipt%s recorded", recorded,
                              recorded == 1 ? "" : "s");
out:
    free(reply);
    free(rs);
    return rc;
}

static void *run(void *arg)
{
    struct gtee_node_ledger *nl = arg;
    unsigned backoff = 0;
    int64_t next_submit = 0, next_attach = 0, next_standing = 0;

    for (;;) {
        int64_t now = (int64_t)time(NULL);
        unsigned start_no = gtee_node_enclave_start_no(nl->enc, NULL), attached;
        int ok, renew, enrolled;
        struct timespec ts;

        pthread_mutex_lock(&nl->mu);
        if (nl->stop) {
            pthread_mutex_unlock(&nl->mu);
            break;
        }
        attached = nl->attached_no;
        ok = nl->proofs_ok;
        enrolled = nl->enrolled;
        renew = ok && nl->epoch && now - nl->registered_at >= (int64_t)(nl->epoch / 2);
        pthread_mutex_unlock(&nl->mu);
        /* a new start; the renewal every half epoch; a refused counter or a registration that
         * did not go through, again after a while */
        if (start_no && (start_no != attached || renew || ((!ok || !enrolled) && now >= next_attach))) {
            struct gtee_err err = { 0 };

            if (attach(nl, start_no, &err) < 0)
                next_attach = now + RETRY_ATTACH_S;
            now = (int64_t)time(NULL);
        }
        if (now >= next_submit) {
            int sub = submit(nl), rel = releases(nl);

            if (sub < 0 || rel < 0) {
                backoff = backoff ? (backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2) : 1;
                next_submit = now + backoff;
            } else {
                backoff = 0;
                next_submit = now; /* each tick, or sooner when a stored proof wakes it */
            }
        }
        if (now >= next_standing) {
            set_standing(nl);
            next_standing = now + 10;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += TICK_MS / 1000;
        pthread_mutex_lock(&nl->mu);
        if (!nl->stop)
            (void)pthread_cond_timedwait(&nl->cv, &nl->mu, &ts);
        pthread_mutex_unlock(&nl->mu);
    }
    return NULL;
}

int gtee_node_ledger_open(struct gtee_node_ledger *nl, const char *dir, const struct gtee_node_config *cfg,
                          const uint8_t operator_key[32], const struct gtee_node_check *check, const char *url,
                          struct gtee_node_store *store, struct gtee_node_enclave *enc, struct gtee_err *err)
{
    pthread_condattr_t ca;
    char path[GTEE_FILE_PATH_MAX];
    int rc = 0;

    memset(nl, 0, sizeof(*nl));
    pthread_mutex_init(&nl->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nl->cv, &ca);
    pthread_condattr_destroy(&ca);
    nl->store = store;
    nl->enc = enc;
    nl->batch = cfg->proof_batch ? cfg->proof_batch : 32;
    nl->batch_wait = cfg->proof_batch_wait;
    TRY(gtee_node_config_stake(cfg, nl->stake, err));
    snprintf(nl->node_url, sizeof(nl->node_url), "%s", url);
    snprintf(nl->evidence_url, sizeof(nl->evidence_url), "%sapi/v1/evidence", url);
    /* Registrations' evidence is read as the node's own check reads it. */
    gtee_policy_default(&nl->policy);
    if (check->policy && check->policy[0])
        TRY(gtee_policy_load(check->policy, &nl->policy, err));
    if (check->sim_root && check->sim_root[0]) {
        nl->policy.allow_simulation = true;
        TRY(gtee_file_read(check->sim_root, 64 << 10, &nl->sim_root, &nl->sim_root_len, err));
        nl->anchors.sim_root_der = nl->sim_root;
        nl->anchors.sim_root_len = nl->sim_root_len;
    }
    if (check->collateral)
        snprintf(nl->collateral, sizeof(nl->collateral), "%s", check->collateral);
    if (!strcmp(cfg->ledger, "local")) {
        struct gtee_ledger_local_options lo = { .evidence_policy = &nl->policy, .anchors = &nl->anchors };

        snprintf(nl->kind, sizeof(nl->kind), "local");
        ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s", dir, GTEE_NODE_LEDGER_FILE) < sizeof(path), err,
               GTEE_EINVAL, "ledger: path too long");
        rc = gtee_ledger_open_local(path, &lo, operator_key, &nl->l, err);
        ENSURE(rc != GTEE_ENOTFOUND, err, GTEE_ENOTFOUND,
               "ledger = local, but %s does not exist (`gtee node init` makes it; a data directory made before "
               "ledgers has none: make one with `gtee chain deploy --ledger local:%s --key %s/%s`)",
               path, path, dir, GTEE_NODE_OPERATOR_KEY);
        TRY(rc);
    } else {
        /* evm:URL,ADDRESS (config.c checked the shape) */
        struct gtee_evm_options eo = { .timeout_ms = 10000, .retries = 2 };
        const char *rest = cfg->ledger + 4, *comma = strrchr(rest, ',');
        char rpc[GTEE_NODE_VALUE_MAX];
        uint8_t contract[20];

        snprintf(nl->kind, sizeof(nl->kind), "evm");
        ENSURE(comma && (size_t)(comma - rest) < sizeof(rpc), err, GTEE_EINVAL, "ledger: evm:URL,ADDRESS expected");
        memcpy(rpc, rest, (size_t)(comma - rest));
        rpc[comma - rest] = '\0';
        ENSURE(!strncmp(comma + 1, "0x", 2) && gtee_hex_decode(comma + 1, contract, 20) == 0, err, GTEE_EINVAL,
               "ledger: the contract '%.60s' is not 0x and 40 hex digits", comma + 1);
        eo.rpc_url = rpc;
        TRY(gtee_ledger_open_evm(&eo, operator_key, contract, &nl->l, err));
    }
    nl->opened = 1;
out:
    if (rc < 0) {
        gtee_ledger_close(nl->l);
        nl->l = NULL;
        free(nl->sim_root);
        nl->sim_root = NULL;
        pthread_cond_destroy(&nl->cv);
        pthread_mutex_destroy(&nl->mu);
    }
    return rc;
}

int gtee_node_ledger_start(struct gtee_node_ledger *nl, const char *dir, const struct gtee_node_config *cfg,
                           const uint8_t operator_key[32], const struct gtee_node_check *check, const char *url,
                           struct gtee_node_store *store, struct gtee_node_enclave *enc, struct gtee_err *err)
{
    int rc;

    TRY(gtee_node_ledger_open(nl, dir, cfg, operator_key, check, url, store, enc, err));
    if (pthread_create(&nl->thread, NULL, run, nl) != 0) {
        gtee_node_ledger_stop(nl);
        return GTEE_FAIL(err, GTEE_EIO, "node: cannot start the ledger's thread");
    }
    nl->started = 1;
out:
    return rc;
}

int gtee_node_ledger_enroll_now(struct gtee_node_ledger *nl, struct gtee_node_enrollment *out, struct gtee_err *err)
{
    unsigned start_no = gtee_node_enclave_start_no(nl->enc, NULL);
    int rc;

    memset(out, 0, sizeof(*out));
    ENSURE(start_no, err, GTEE_ESTATE, "the enclave is not running");
    TRY(attach(nl, start_no, err));
    /* attach records a refused counter or registration and still returns 0 for the
     * thread's retry; here they are the answer */
    pthread_mutex_lock(&nl->mu);
    out->signing = nl->proofs_ok;
    out->enrolled = nl->enrolled;
    out->renewed = nl->renewed;
    out->epoch = nl->epoch;
    out->registered_at = nl->registered_at;
    out->standing = nl->standing;
    memcpy(out->enclave_id, nl->enclave_id, 20);
    pthread_mutex_unlock(&nl->mu);
    ENSURE(out->enrolled, err, GTEE_ESTATE, "the enclave was not registered");
out:
    return rc;
}

void gtee_node_ledger_stop(struct gtee_node_ledger *nl)
{
    if (!nl->opened)
        return;
    if (nl->started) {
        pthread_mutex_lock(&nl->mu);
        nl->stop = 1;
        pthread_cond_broadcast(&nl->cv);
        pthread_mutex_unlock(&nl->mu);
        pthread_join(nl->thread, NULL);
        nl->started = 0;
    }
    nl->opened = 0;
    gtee_ledger_close(nl->l);
    nl->l = NULL;
    free(nl->sim_root);
    nl->sim_root = NULL;
    pthread_cond_destroy(&nl->cv);
    pthread_mutex_destroy(&nl->mu);
}

void gtee_node_ledger_wait(struct gtee_node_ledger *nl, unsigned start_no, int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&nl->mu);
    pthread_cond_broadcast(&nl->cv); /* the thread looks now */
    while (!nl->stop && nl->attached_no != start_no && pthread_cond_timedwait(&nl->cv, &nl->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&nl->mu);
}

void gtee_node_ledger_refused(struct gtee_node_ledger *nl, const char *job_id, const char *why)
{
    pthread_mutex_lock(&nl->mu);
    nl->refused++;
    pthread_mutex_unlock(&nl->mu);
    gtee_node_store_event(nl->store, "error", "job %.16s: NO WORK PROOF: the enclave refused to sign it: %s", job_id,
                          why);
}

void gtee_node_ledger_wake(struct gtee_node_ledger *nl)
{
    pthread_mutex_lock(&nl->mu);
    pthread_cond_broadcast(&nl->cv);
    pthread_mutex_unlock(&nl->mu);
}

json_t *gtee_node_ledger_status(struct gtee_node_ledger *nl)
{
    struct gtee_proof_domain d;
    uint8_t op[20];
    char contract[GTEE_ETH_ADDR_HEX_LEN + 1], opaddr[GTEE_ETH_ADDR_HEX_LEN + 1], id[GTEE_ETH_ADDR_HEX_LEN + 1] = "";
    long long pending = 0, submitted = 0, rel_pending = 0, rel_recorded = 0;
    json_t *j;

    gtee_ledger_domain(nl->l, &d);
    gtee_ledger_operator(nl->l, op);
    gtee_eth_address_hex(d.contract, contract);
    gtee_eth_address_hex(op, opaddr);
    (void)gtee_node_store_proof_counts(nl->store, &pending, &submitted);
    (void)gtee_node_store_release_counts(nl->store, &rel_pending, &rel_recorded);
    pthread_mutex_lock(&nl->mu);
    if (nl->have_id)
        gtee_eth_address_hex(nl->enclave_id, id);
    j = json_pack("{s:s,s:I,s:s,s:s,s:{s:s,s:s,s:b,s:b,s:I},s:I,s:{s:b,s:s,s:I,s:I,s:I},s:s}", "kind", nl->kind,
                  "chain_id", (json_int_t)d.chain_id, "contract", contract, "operator", opaddr, "enclave", "id", id,
                  "status", gtee_ledger_status_name(nl->standing.status), "active", nl->standing.active, "slashed",
                  nl->standing.slashed, "last_seq", (json_int_t)nl->standing.last_seq, "registered_at",
                  (json_int_t)nl->registered_at, "proofs", "signing", nl->proofs_ok, "refusal", nl->refusal,
                  "pending", (json_int_t)pending, "submitted", (json_int_t)submitted, "refused",
                  (json_int_t)nl->refused, "last_error", nl->last_error);
    pthread_mutex_unlock(&nl->mu);
    if (j)
        json_object_set_new(j, "key_releases",
                            json_pack("{s:I,s:I}", "pending", (json_int_t)rel_pending, "recorded",
                                      (json_int_t)rel_recorded));
    return j;
}
