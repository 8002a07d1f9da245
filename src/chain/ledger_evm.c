/* The evm ledger: the Glacier contract over JSON-RPC (include/gtee/evm.h). Each operation is
 * the contract's function of the same name as ABI bytes; a refusal comes back from the gas
 * estimate as GTEE_EPOLICY with the contract's revert reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/glacier.h"
#include "chain/ledger_impl.h"
#include "gtee/crypto.h"

static struct gtee_evm *evm_of(struct gtee_ledger *l)
{
    return l->impl;
}

/* register(Registration) / renew(Registration): the tuple has strings, so it is an offset
 * word, then its head (six static fields, two string offsets from the tuple's start, the Sig
 * inline: eleven words), then the two strings' tails. */
static int evm_register(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
                        struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    static const char tuple[] =
        "((address,uint8,bytes32,uint32,bytes32,uint64,string,string,(bytes32,bytes32,uint8)))";
    size_t eu = strlen(r->evidence_url), nu = strlen(r->node_url), head = 11 * 32;
    struct chain_buf b = {0};
    char sig[16 + sizeof(tuple)];
    int rc = 0;

    snprintf(sig, sizeof(sig), "%s%s", renew ? "renew" : "register", tuple);
    abi_selector(&b, sig);
    abi_u64(&b, 32);
    abi_address(&b, r->enclave_id);
    abi_u64(&b, r->tee_type);
    abi_bytes32(&b, r->measurement);
    abi_u64(&b, r->tcb);
    abi_bytes32(&b, r->evidence_hash);
    abi_u64(&b, r->evidence_time);
    abi_u64(&b, head);
    abi_u64(&b, head + 32 + (eu + 31) / 32 * 32);
    abi_bytes32(&b, r->consent_sig);
    abi_bytes32(&b, r->consent_sig + 32);
    abi_u64(&b, r->consent_sig[64]);
    abi_tail(&b, r->evidence_url, eu);
    abi_tail(&b, r->node_url, nu);
    ENSURE(!b.oom, err, GTEE_ENOMEM, "ledger: out of memory");
    rc = gtee_evm_send(evm_of(l), l->contract, renew ? NULL : r->stake, b.p, b.len, receipt, err);
out:
    chain_buf_free(&b);
    return rc;
}

/* A view; GTEE_EFORMAT when it returns nothing (no contract there). */
static int view(struct gtee_ledger *l, struct chain_buf *b, const char *signature, uint8_t **out, size_t *len,
                struct gtee_err *err)
{
    int rc = 0;

    ENSURE(!b->oom, err, GTEE_ENOMEM, "ledger: out of memory");
    TRY(gtee_evm_call(evm_of(l), l->contract, b->p, b->len, out, len, err));
    if (*len == 0) {
        free(*out);
        *out = NULL;
        rc = GTEE_FAIL(err, GTEE_EFORMAT, "ledger: %s returned nothing: is the address a Glacier contract?",
                       signature);
    }
out:
    chain_buf_free(b);
    return rc;
}

/* A view taking nothing or one address (addr NULL: nothing). */
static int view_addr(struct gtee_ledger *l, const char *signature, const uint8_t *addr, uint8_t **out, size_t *len,
                     struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, signature);
    if (addr)
        abi_address(&b, addr);
    return view(l, &b, signature, out, len, err);
}

static int view_word(struct gtee_ledger *l, const char *signature, const uint8_t word[32], uint8_t **out,
                     size_t *len, struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, signature);
    abi_bytes32(&b, word);
    return view(l, &b, signature, out, len, err);
}

/* The block the contract was deployed in (its deployedAt()), where every scan of its events
 * starts: from block 0, a public chain's history is thousands of eth_getLogs requests. */
static int evm_now(struct gtee_ledger *l, uint64_t *t, struct gtee_err *err)
{
    return gtee_evm_block_time(evm_of(l), t, err);
}

static int first_block(struct gtee_ledger *l, uint64_t *from, struct gtee_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    int rc;

    TRY(view_addr(l, "deployedAt()", NULL, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, from, err));
out:
    free(d);
    return rc;
}

static int send(struct gtee_ledger *l, struct chain_buf *b, struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    int rc = 0;

    ENSURE(!b->oom, err, GTEE_ENOMEM, "ledger: out of memory");
    rc = gtee_evm_send(evm_of(l), l->contract, NULL, b->p, b->len, receipt, err);
out:
    chain_buf_free(b);
    return rc;
}

static int evm_standing(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                        struct gtee_ledger_standing *s, struct gtee_err *err)
{
    uint8_t *d = NULL;
    uint64_t status = 0, slashed = 0, active = 0;
    size_t n = 0;
    int rc;

    /* enclave(address) returns a tuple with strings: an offset word, then its head */
    TRY(view_addr(l, "enclave(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 1 + 2, &status, err));
    TRY(abi_word_u64(d, n, 1 + 3, &slashed, err));
    TRY(abi_word_u64(d, n, 1 + 5, &s->expires, err)); /* Registry.sol's Enclave.expires */
    ENSURE(status <= GTEE_ENCLAVE_REVOKED && slashed <= 1, err, GTEE_EFORMAT, "ledger: enclave() answered status %llu",
           (unsigned long long)status);
    free(d);
    d = NULL;
    TRY(view_addr(l, "lastProof(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &s->last_seq, err));
    TRY(abi_word(d, n, 1, s->last_hash, err));
    free(d);
    d = NULL;
    TRY(view_addr(l, "isActive(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &active, err));
    s->status = (enum gtee_enclave_status)status;
    s->slashed = (int)slashed;
    s->active = active != 0;
out:
    free(d);
    return rc;
}

static int evm_submit(struct gtee_ledger *l, const struct gtee_proof *p, size_t n, struct gtee_evm_receipt *receipt,
                      struct gtee_err *err)
{
    struct chain_buf b = {0};

    glacier_submit_call(&b, p, n);
    return send(l, &b, receipt, err);
}

static int evm_rewards(struct gtee_ledger *l, const uint8_t op[20], struct gtee_ledger_rewards *r, struct gtee_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    int rc;

    TRY(view_addr(l, "rewardUnits(address)", op, &d, &n, err));
    TRY(abi_word(d, n, 0, r->units, err));
    free(d);
    d = NULL;
    TRY(view_addr(l, "policy()", NULL, &d, &n, err));
    TRY(abi_word(d, n, 6, r->reward_per_unit, err));
    free(d);
    d = NULL;
    TRY(view_addr(l, "rewardPool()", NULL, &d, &n, err));
    TRY(abi_word(d, n, 0, r->pool, err));
out:
    free(d);
    return rc;
}

static int evm_claim(struct gtee_ledger *l, uint8_t claimed[32], struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct gtee_ledger_rewards r;
    struct chain_buf b = {0};
    int rc;

    TRY(evm_rewards(l, l->operator_addr, &r, err));
    abi_selector(&b, "claimRewards()");
    TRY(send(l, &b, receipt, err));
    memcpy(claimed, r.units, 32);
out:
    return rc;
}

static int evm_equivocation(struct gtee_ledger *l, const struct gtee_proof *a, const struct gtee_proof *c,
                            struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct chain_buf b = {0};

    glacier_equivocation_call(&b, a, c);
    return send(l, &b, receipt, err);
}

static int evm_revoke(struct gtee_ledger *l, const uint8_t id[20], struct gtee_evm_receipt *receipt,
                      struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "revoke(address)");
    abi_address(&b, id);
    return send(l, &b, receipt, err);
}

static int evm_key_release(struct gtee_ledger *l, const uint8_t id[20], const uint8_t blob[32],
                           const uint8_t grant[32], uint64_t time, const uint8_t sig[65],
                           struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "recordKeyRelease((address,bytes32,bytes32,uint64),(bytes32,bytes32,uint8))");
    abi_address(&b, id);
    abi_bytes32(&b, blob);
    abi_bytes32(&b, grant);
    abi_u64(&b, time);
    abi_bytes32(&b, sig);
    abi_bytes32(&b, sig + 32);
    abi_u64(&b, sig[64]);
    return send(l, &b, receipt, err);
}

static int evm_blob_uses(struct gtee_ledger *l, const uint8_t blob[32], uint64_t *uses, struct gtee_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    int rc;

    TRY(view_word(l, "blobUses(bytes32)", blob, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, uses, err));
out:
    free(d);
    return rc;
}

/* Every event of one signature the contract emitted, from its deployment to the head, 10,000
 * blocks a request, each given to fn in order. */
static int scan_events(struct gtee_ledger *l, const char *sig,
                       int (*fn)(void *arg, const struct gtee_evm_log *log, struct gtee_err *err), void *arg,
                       struct gtee_err *err)
{
    struct gtee_evm_log *logs = NULL;
    uint8_t topic0[32];
    uint64_t head = 0, from;
    size_t k = 0;
    int rc;

    gtee_keccak256(sig, strlen(sig), topic0);
    TRY(gtee_evm_block_number(evm_of(l), &head, err));
    TRY(first_block(l, &from, err));
    for (; from <= head; from += 10000) {
        uint64_t to = head - from < 9999 ? head : from + 9999;

        TRY(gtee_evm_logs(evm_of(l), l->contract, (const uint8_t(*)[32])topic0, 1, from, to, 100000, &logs, &k, err));
        for (size_t i = 0; i < k; i++)
            TRY(fn(arg, &logs[i], err));
        gtee_evm_logs_free(logs, k);
        logs = NULL;
        k = 0;
        if (head - from < 10000)
            break;
    }
out:
    gtee_evm_logs_free(logs, k);
    return rc;
}

/* A growing array of *n elements of size bytes: room for one more (*cap doubled). */
static int grow(void **p, size_t size, size_t n, size_t *cap, struct gtee_err *err)
{
    void *g;

    if (n < *cap)
        return 0;
    g = realloc(*p, (*cap ? 2 * *cap : 16) * size);
    if (!g)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ledger: out of memory");
    *p = g;
    *cap = *cap ? 2 * *cap : 16;
    return 0;
}

struct releases_scan {
    const uint8_t *blob;
    struct gtee_ledger_key_release *out;
    size_t n, cap;
};

/* A KeyReleased event, kept if its blob (the second indexed topic) is the one asked for. */
static int release_seen(void *arg, const struct gtee_evm_log *log, struct gtee_err *err)
{
    struct releases_scan *x = arg;
    struct gtee_ledger_key_release *r;
    int rc;

    ENSURE(log->n_topics == 4, err, GTEE_EFORMAT, "ledger: a KeyReleased event without its three topics");
    if (memcmp(log->topics[2], x->blob, 32))
        return 0;
    TRY(grow((void **)&x->out, sizeof(*x->out), x->n, &x->cap, err));
    r = &x->out[x->n++];
    memset(r, 0, sizeof(*r));
    memcpy(r->enclave_id, log->topics[1] + 12, 20);
    memcpy(r->grant_id, log->topics[3], 32);
    TRY(abi_word_u64(log->data, log->len, 0, &r->time, err));
    TRY(abi_word_u64(log->data, log->len, 1, &r->uses, err));
    r->block = log->block;
    memcpy(r->tx_hash, log->tx_hash, 32);
out:
    return rc;
}

/* The KeyReleased events of blob, from the contract's deployment to the head. */
static int evm_key_releases(struct gtee_ledger *l, const uint8_t blob[32], struct gtee_ledger_key_release **out,
                            size_t *n, struct gtee_err *err)
{
    struct releases_scan x = { .blob = blob };
    int rc = scan_events(l, "KeyReleased(address,bytes32,bytes32,uint64,uint256)", release_seen, &x, err);

    if (rc < 0) {
        free(x.out);
        return rc;
    }
    *out = x.out;
    *n = x.n;
    return 0;
}

static int evm_policy(struct gtee_ledger *l, struct gtee_ledger_policy *p, uint8_t governor[20], struct gtee_err *err)
{
    uint8_t *d = NULL;
    uint64_t quorum = 0, sim = 0;
    size_t n = 0;
    int rc;

    TRY(view_addr(l, "governor()", NULL, &d, &n, err));
    TRY(abi_word_address(d, n, 0, governor, err));
    free(d);
    d = NULL;
    TRY(view_addr(l, "policy()", NULL, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &p->freshness, err));
    TRY(abi_word_u64(d, n, 1, &p->epoch, err));
    TRY(abi_word_u64(d, n, 2, &quorum, err));
    TRY(abi_word_u64(d, n, 3, &sim, err));
    ENSURE(quorum <= 65535 && sim <= 1, err, GTEE_EFORMAT, "ledger: policy() answered quorum %llu",
           (unsigned long long)quorum);
    p->quorum = (uint16_t)quorum;
    p->allow_simulated = (int)sim;
    TRY(abi_word(d, n, 4, p->min_stake, err));
    TRY(abi_word(d, n, 5, p->min_verifier_stake, err));
    TRY(abi_word(d, n, 6, p->reward_per_unit, err));
out:
    free(d);
    return rc;
}

static int evm_set_policy(struct gtee_ledger *l, const struct gtee_ledger_policy *p, struct gtee_evm_receipt *receipt,
                          struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "setPolicy((uint64,uint64,uint16,bool,uint256,uint256,uint256))");
    abi_u64(&b, p->freshness);
    abi_u64(&b, p->epoch);
    abi_u64(&b, p->quorum);
    abi_u64(&b, p->allow_simulated ? 1 : 0);
    abi_u256(&b, p->min_stake);
    abi_u256(&b, p->min_verifier_stake);
    abi_u256(&b, p->reward_per_unit);
    return send(l, &b, receipt, err);
}

static int evm_set_measurement(struct gtee_ledger *l, const uint8_t m[32], int accepted,
                               struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "setMeasurement(bytes32,bool)");
    abi_bytes32(&b, m);
    abi_u64(&b, accepted ? 1 : 0);
    return send(l, &b, receipt, err);
}

static int evm_set_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t tcb, struct gtee_evm_receipt *receipt,
                           struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "setMinTcb(uint8,uint32)");
    abi_u64(&b, tee_type);
    abi_u64(&b, tcb);
    return send(l, &b, receipt, err);
}

static int evm_measurement_accepted(struct gtee_ledger *l, const uint8_t m[32], int *accepted, struct gtee_err *err)
{
    uint8_t *d = NULL;
    uint64_t v = 0;
    size_t n = 0;
    int rc;

    TRY(view_word(l, "acceptedMeasurement(bytes32)", m, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &v, err));
    *accepted = v != 0;
out:
    free(d);
    return rc;
}

static int evm_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t *tcb, struct gtee_err *err)
{
    struct chain_buf b = {0};
    uint8_t *d = NULL;
    uint64_t v = 0;
    size_t n = 0;
    int rc;

    abi_selector(&b, "minTcb(uint8)");
    abi_u64(&b, tee_type);
    TRY(view(l, &b, "minTcb(uint8)", &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &v, err));
    ENSURE(v <= UINT32_MAX, err, GTEE_EFORMAT, "ledger: minTcb() answered %llu", (unsigned long long)v);
    *tcb = (uint32_t)v;
out:
    free(d);
    return rc;
}

/* enclave(address): an offset word, then the Enclave tuple's head (its fields in
 * contracts/Registry.sol's order, the two strings' offsets from the tuple last). */
static int evm_enclave(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_enclave *e, struct gtee_err *err)
{
    uint8_t *d = NULL;
    uint64_t v[11] = {0}, active = 0;
    size_t n = 0;
    int rc;

    TRY(view_addr(l, "enclave(address)", id, &d, &n, err));
    TRY(abi_word_address(d, n, 1 + 0, e->operator_addr, err));
    for (size_t i = 0; i < 10; i++)
        TRY(abi_word_u64(d, n, 1 + 1 + i, &v[i], err));
    TRY(abi_word(d, n, 1 + 12, e->measurement, err));
    TRY(abi_word(d, n, 1 + 13, e->evidence_hash, err));
    TRY(abi_word_u64(d, n, 1 + 14, &e->evidence_time, err));
    ENSURE(v[0] <= 255 && v[1] <= GTEE_ENCLAVE_REVOKED && v[2] <= 1 && v[3] <= UINT32_MAX && v[5] <= UINT32_MAX &&
               v[6] <= UINT32_MAX,
           err, GTEE_EFORMAT, "ledger: enclave() answered fields out of their types' range");
    e->tee_type = (uint8_t)v[0];
    e->status = (enum gtee_enclave_status)v[1];
    e->slashed = (int)v[2];
    e->tcb = (uint32_t)v[3];
    e->expires = v[4];
    e->round = (uint32_t)v[5];
    e->approved_round = (uint32_t)v[6];
    e->last_seq = v[9];
    TRY(abi_string(d, n, 32, 17, &e->evidence_url, err));
    TRY(abi_string(d, n, 32, 18, &e->node_url, err));
    free(d);
    d = NULL;
    TRY(view_addr(l, "isActive(address)", id, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &active, err));
    e->active = active != 0;
out:
    if (rc < 0)
        gtee_ledger_enclave_free(e);
    free(d);
    return rc;
}

struct ids_scan {
    uint8_t (*ids)[20];
    size_t n, cap;
};

/* A Registered event: its Enclave ID (the first indexed topic), once. */
static int registered_seen(void *arg, const struct gtee_evm_log *log, struct gtee_err *err)
{
    struct ids_scan *x = arg;
    size_t j = 0;
    int rc;

    ENSURE(log->n_topics >= 2, err, GTEE_EFORMAT, "ledger: a Registered event without its Enclave ID");
    while (j < x->n && memcmp(x->ids[j], log->topics[1] + 12, 20))
        j++;
    if (j < x->n)
        return 0;
    TRY(grow((void **)&x->ids, sizeof(*x->ids), x->n, &x->cap, err));
    memcpy(x->ids[x->n++], log->topics[1] + 12, 20);
out:
    return rc;
}

/* The Enclave IDs of the Registered events, from the contract's deployment to the head, each
 * once, in the order first registered. */
static int evm_enclave_ids(struct gtee_ledger *l, uint8_t (**ids)[20], size_t *n, struct gtee_err *err)
{
    struct ids_scan x = { 0 };
    int rc = scan_events(l, "Registered(address,address,uint32,uint8,bytes32,uint32,bytes32,uint64,string,string)",
                         registered_seen, &x, err);

    if (rc < 0) {
        free(x.ids);
        return rc;
    }
    *ids = x.ids;
    *n = x.n;
    return 0;
}

static int evm_join(struct gtee_ledger *l, const uint8_t stake[32], struct gtee_evm_receipt *receipt,
                    struct gtee_err *err)
{
    struct chain_buf b = {0};
    int rc = 0;

    abi_selector(&b, "joinVerifiers()");
    ENSURE(!b.oom, err, GTEE_ENOMEM, "ledger: out of memory");
    rc = gtee_evm_send(evm_of(l), l->contract, stake, b.p, b.len, receipt, err);
out:
    chain_buf_free(&b);
    return rc;
}

static int evm_verifier_stake(struct gtee_ledger *l, const uint8_t addr[20], uint8_t stake[32], struct gtee_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    int rc;

    TRY(view_addr(l, "verifierStake(address)", addr, &d, &n, err));
    TRY(abi_word(d, n, 0, stake, err));
out:
    free(d);
    return rc;
}

static int evm_vote(struct gtee_ledger *l, const uint8_t id[20], uint32_t round, int approve,
                    struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct chain_buf b = {0};

    abi_selector(&b, "vote(address,uint32,bool)");
    abi_address(&b, id);
    abi_u64(&b, round);
    abi_u64(&b, approve ? 1 : 0);
    return send(l, &b, receipt, err);
}

static void evm_close(struct gtee_ledger *l)
{
    gtee_evm_close(evm_of(l));
    free(l);
}

static const struct ledger_ops evm_ops = {
    .kind = "evm",
    .close = evm_close,
    .reg = evm_register,
    .standing = evm_standing,
    .submit = evm_submit,
    .rewards = evm_rewards,
    .claim = evm_claim,
    .equivocation = evm_equivocation,
    .revoke = evm_revoke,
    .key_release = evm_key_release,
    .blob_uses = evm_blob_uses,
    .key_releases = evm_key_releases,
    .deployed_at = first_block,
    .now = evm_now,
    .policy = evm_policy,
    .set_policy = evm_set_policy,
    .set_measurement = evm_set_measurement,
    .set_min_tcb = evm_set_min_tcb,
    .measurement_accepted = evm_measurement_accepted,
    .min_tcb = evm_min_tcb,
    .enclave = evm_enclave,
    .enclave_ids = evm_enclave_ids,
    .join = evm_join,
    .verifier_stake = evm_verifier_stake,
    .vote = evm_vote,
};

int gtee_ledger_open_evm(const struct gtee_evm_options *o, const uint8_t key[32],
                         const uint8_t contract[GTEE_PROOF_ID_LEN], struct gtee_ledger **out, struct gtee_err *err)
{
    struct gtee_ledger *l = calloc(1, sizeof(*l));
    struct gtee_evm *e = NULL;
    int rc;

    *out = NULL;
    ENSURE(l, err, GTEE_ENOMEM, "ledger: out of memory");
    TRY(gtee_evm_open(o, key, &e, err));
    l->ops = &evm_ops;
    l->impl = e;
    l->chain_id = gtee_evm_chain_id(e);
    memcpy(l->contract, contract, GTEE_PROOF_ID_LEN);
    gtee_evm_address(e, l->operator_addr);
    *out = l;
    l = NULL;
out:
    free(l);
    return rc;
}
