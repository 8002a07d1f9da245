/* The ledger interface both backends share (include/gtee/ledger.h): the domain, ledger specs,
 * and Work Proofs submitted in batches, skipping what the ledger already holds so that
 * submitting again after a failure or a restart sends each proof once. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "chain/ledger_impl.h"
#include "gtee/crypto.h"

int gtee_ledger_spec_parse(const char *spec, const char **kind, const char **rest, struct gtee_err *err)
{
    int rc = 0;

    ENSURE(spec, err, GTEE_EINVAL, "--ledger: no ledger given");
    if (!strncmp(spec, "local:", 6)) {
        *kind = "local";
        *rest = spec + 6;
    } else if (!strncmp(spec, "evm:", 4)) {
        *kind = "evm";
        *rest = spec + 4;
    } else {
        ENSURE(0, err, GTEE_EINVAL, "--ledger: '%.80s' is not local:PATH or evm:URL", spec);
    }
    ENSURE(**rest, err, GTEE_EINVAL, "--ledger: '%.80s' names no %s", spec, !strcmp(*kind, "local") ? "file" : "URL");
out:
    return rc;
}

void gtee_ledger_close(struct gtee_ledger *l)
{
    if (l)
        l->ops->close(l);
}

const char *gtee_ledger_status_name(enum gtee_enclave_status s)
{
    static const char *const n[] = { "unregistered", "pending", "active", "rejected", "revoked" };

    return (unsigned)s < GTEE_ARRAY_LEN(n) ? n[s] : "unknown";
}

const char *gtee_ledger_kind(const struct gtee_ledger *l)
{
    return l->ops->kind;
}

uint64_t gtee_ledger_chain_id(const struct gtee_ledger *l)
{
    return l->chain_id;
}

void gtee_ledger_domain(const struct gtee_ledger *l, struct gtee_proof_domain *d)
{
    d->chain_id = l->chain_id;
    memcpy(d->contract, l->contract, GTEE_PROOF_ID_LEN);
}

void gtee_ledger_operator(const struct gtee_ledger *l, uint8_t addr[GTEE_PROOF_ID_LEN])
{
    memcpy(addr, l->operator_addr, GTEE_PROOF_ID_LEN);
}

int gtee_ledger_register(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
                         struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    int rc = 0;

    ENSURE(strlen(r->evidence_url) <= 2048 && strlen(r->node_url) <= 2048, err, GTEE_EINVAL,
           "ledger: an evidence or node URL over 2048 bytes");
    ENSURE(r->consent_sig[64] == 27 || r->consent_sig[64] == 28, err, GTEE_EINVAL,
           "ledger: the consent signature's v is not 27 or 28");
    rc = l->ops->reg(l, r, renew, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
out:
    return rc;
}

int gtee_ledger_standing(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                         struct gtee_ledger_standing *s, struct gtee_err *err)
{
    memset(s, 0, sizeof(*s));
    return l->ops->standing(l, enclave_id, s, err);
}

int gtee_ledger_check_sealed(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN], uint64_t sealed_seq,
                             const uint8_t sealed_hash[GTEE_PROOF_HASH_LEN], struct gtee_err *err)
{
    struct gtee_ledger_standing s;
    char id[GTEE_ETH_ADDR_HEX_LEN + 1];
    int rc;

    TRY(gtee_ledger_standing(l, enclave_id, &s, err));
    gtee_eth_address_hex(enclave_id, id);
    ENSURE(sealed_seq >= s.last_seq, err, GTEE_ESTATE,
           "enclave %s: the sealed counter is at seq %llu, behind the ledger's last proof %llu: the host restored "
           "old sealed state",
           id, (unsigned long long)sealed_seq, (unsigned long long)s.last_seq);
    ENSURE(sealed_seq != s.last_seq || !memcmp(sealed_hash, s.last_hash, GTEE_PROOF_HASH_LEN), err, GTEE_ESTATE,
           "enclave %s: the sealed counter's proof seq %llu is not the ledger's proof with that seq: the host "
           "restored other sealed state",
           id, (unsigned long long)sealed_seq);
out:
    return rc;
}

static int by_enclave_seq(const void *x, const void *y)
{
    const struct gtee_proof *a = x, *b = y;
    int c = memcmp(a->enclave_id, b->enclave_id, GTEE_PROOF_ID_LEN);

    return c ? c : a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Moves the proofs the ledger does not hold yet to the front; *keep counts them. */
static int drop_held(struct gtee_ledger *l, struct gtee_proof *p, size_t n, size_t *keep, struct gtee_err *err)
{
    struct gtee_ledger_standing s = {0};
    uint8_t h[GTEE_PROOF_HASH_LEN];
    int rc = 0;

    *keep = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || memcmp(p[i].enclave_id, p[i - 1].enclave_id, GTEE_PROOF_ID_LEN))
            TRY(gtee_ledger_standing(l, p[i].enclave_id, &s, err));
        if (p[i].seq > s.last_seq) {
            p[(*keep)++] = p[i];
            continue;
        }
        if (p[i].seq == s.last_seq) {
            char id[GTEE_ETH_ADDR_HEX_LEN + 1];

            gtee_proof_hash(&p[i], h);
            gtee_eth_address_hex(p[i].enclave_id, id);
            ENSURE(!memcmp(h, s.last_hash, sizeof(h)), err, GTEE_EPOLICY,
                   "ledger: enclave %s: the ledger holds another proof with seq %llu (equivocation)", id,
                   (unsigned long long)p[i].seq);
        }
    }
out:
    return rc;
}

int gtee_ledger_submit(struct gtee_ledger *l, struct gtee_proof *p, size_t n, unsigned batch,
                       gtee_ledger_batch_fn on_batch, void *arg, size_t *skipped, size_t *sent, struct gtee_err *err)
{
    size_t pending = 0;
    int rc = 0;

    *skipped = 0;
    *sent = 0;
    ENSURE(batch >= 1 && batch <= 64, err, GTEE_EINVAL, "ledger: a batch of %u proofs; from 1 to 64 allowed", batch);
    for (size_t i = 0; i < n; i++)
        ENSURE(p[i].domain.chain_id == l->chain_id && !memcmp(p[i].domain.contract, l->contract, GTEE_PROOF_ID_LEN),
               err, GTEE_EPOLICY, "ledger: proof %zu was made for another chain or contract", i);
    qsort(p, n, sizeof(*p), by_enclave_seq);
    TRY(drop_held(l, p, n, &pending, err));
    *skipped = n - pending;
    for (size_t i = 0; i < pending;) {
        struct gtee_ledger_batch r = {0};
        size_t k = 1;

        /* one transaction: up to `batch` proofs of one enclave */
        while (k < batch && i + k < pending && !memcmp(p[i + k].enclave_id, p[i].enclave_id, GTEE_PROOF_ID_LEN))
            k++;
        rc = l->ops->submit(l, p + i, k, &r.receipt, err);
        if (rc < 0) {
            char id[GTEE_ETH_ADDR_HEX_LEN + 1];

            gtee_eth_address_hex(p[i].enclave_id, id);
            gtee_err_wrap(err, "enclave %s seq %llu..%llu (%zu of %zu proofs submitted before): ", id,
                          (unsigned long long)p[i].seq, (unsigned long long)p[i + k - 1].seq, *sent, pending);
            goto out;
        }
        memcpy(r.enclave_id, p[i].enclave_id, GTEE_PROOF_ID_LEN);
        r.first_seq = p[i].seq;
        r.last_seq = p[i + k - 1].seq;
        r.proofs = k;
        if (on_batch)
            on_batch(arg, &r);
        *sent += k;
        i += k;
    }
out:
    return rc;
}

int gtee_ledger_rewards(struct gtee_ledger *l, const uint8_t operator_addr[GTEE_PROOF_ID_LEN],
                        struct gtee_ledger_rewards *r, struct gtee_err *err)
{
    memset(r, 0, sizeof(*r));
    return l->ops->rewards(l, operator_addr, r, err);
}

int gtee_ledger_claim(struct gtee_ledger *l, uint8_t claimed[32], struct gtee_evm_receipt *receipt,
                      struct gtee_err *err)
{
    memset(claimed, 0, 32);
    return l->ops->claim(l, claimed, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_report_equivocation(struct gtee_ledger *l, const struct gtee_proof *a, const struct gtee_proof *b,
                                    struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    return l->ops->equivocation(l, a, b, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_revoke(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                       struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    return l->ops->revoke(l, enclave_id, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_record_key_release(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                                   const uint8_t blob_cid[32], const uint8_t grant_id[32], uint64_t time,
                                   const uint8_t sig[GTEE_PROOF_SIG_LEN], struct gtee_evm_receipt *receipt,
                                   struct gtee_err *err)
{
    return l->ops->key_release(l, enclave_id, blob_cid, grant_id, time, sig, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_blob_uses(struct gtee_ledger *l, const uint8_t blob_cid[32], uint64_t *uses, struct gtee_err *err)
{
    *uses = 0;
    return l->ops->blob_uses(l, blob_cid, uses, err);
}

int gtee_ledger_now(struct gtee_ledger *l, uint64_t *t, struct gtee_err *err)
{
    *t = 0;
    return l->ops->now(l, t, err);
}

int gtee_ledger_deployed_at(struct gtee_ledger *l, uint64_t *block, struct gtee_err *err)
{
    *block = 0;
    return l->ops->deployed_at ? l->ops->deployed_at(l, block, err) : 0;
}

int gtee_ledger_key_releases(struct gtee_ledger *l, const uint8_t blob_cid[32], struct gtee_ledger_key_release **out,
                             size_t *n, struct gtee_err *err)
{
    *out = NULL;
    *n = 0;
    return l->ops->key_releases(l, blob_cid, out, n, err);
}

int gtee_ledger_policy(struct gtee_ledger *l, struct gtee_ledger_policy *p, uint8_t governor[GTEE_PROOF_ID_LEN],
                       struct gtee_err *err)
{
    memset(p, 0, sizeof(*p));
    return l->ops->policy(l, p, governor, err);
}

int gtee_ledger_set_policy(struct gtee_ledger *l, const struct gtee_ledger_policy *p,
                           struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    return l->ops->set_policy(l, p, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_set_measurement(struct gtee_ledger *l, const uint8_t measurement[32], int accepted,
                                struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    return l->ops->set_measurement(l, measurement, accepted, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_set_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t tcb, struct gtee_evm_receipt *receipt,
                            struct gtee_err *err)
{
    return l->ops->set_min_tcb(l, tee_type, tcb, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_measurement_accepted(struct gtee_ledger *l, const uint8_t measurement[32], int *accepted,
                                     struct gtee_err *err)
{
    *accepted = 0;
    return l->ops->measurement_accepted(l, measurement, accepted, err);
}

int gtee_ledger_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t *tcb, struct gtee_err *err)
{
    *tcb = 0;
    return l->ops->min_tcb(l, tee_type, tcb, err);
}

void gtee_ledger_measurement_of(const struct gtee_claims *c, uint8_t measurement[32])
{
    memset(measurement, 0, 32);
    if (c->tee == GTEE_TEE_SGX)
        memcpy(measurement, c->sgx.mrenclave, 32);
    else if (c->tee == GTEE_TEE_TDX)
        gtee_keccak256(c->tdx.mrtd, GTEE_MEASUREMENT_MAX_LEN, measurement);
    else if (c->tee == GTEE_TEE_SNP)
        gtee_keccak256(c->snp.measurement, GTEE_MEASUREMENT_MAX_LEN, measurement);
}

int gtee_ledger_enclave(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                        struct gtee_ledger_enclave *e, struct gtee_err *err)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->enclave_id, enclave_id, GTEE_PROOF_ID_LEN);
    return l->ops->enclave(l, enclave_id, e, err);
}

void gtee_ledger_enclave_free(struct gtee_ledger_enclave *e)
{
    free(e->evidence_url);
    free(e->node_url);
    e->evidence_url = e->node_url = NULL;
}

int gtee_ledger_enclave_ids(struct gtee_ledger *l, uint8_t (**ids)[GTEE_PROOF_ID_LEN], size_t *n, struct gtee_err *err)
{
    *ids = NULL;
    *n = 0;
    return l->ops->enclave_ids(l, ids, n, err);
}

static int no_verifiers(struct gtee_err *err)
{
    return GTEE_FAIL(err, GTEE_EPOLICY,
                     "the local ledger verifies registrations' evidence itself: it has no verifiers to join or votes");
}

int gtee_ledger_join_verifiers(struct gtee_ledger *l, const uint8_t stake[32], struct gtee_evm_receipt *receipt,
                               struct gtee_err *err)
{
    if (!l->ops->join)
        return no_verifiers(err);
    return l->ops->join(l, stake, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

int gtee_ledger_verifier_stake(struct gtee_ledger *l, const uint8_t addr[GTEE_PROOF_ID_LEN], uint8_t stake[32],
                               struct gtee_err *err)
{
    if (!l->ops->verifier_stake)
        return no_verifiers(err);
    return l->ops->verifier_stake(l, addr, stake, err);
}

int gtee_ledger_vote(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN], uint32_t round, int approve,
                     struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    if (!l->ops->vote)
        return no_verifiers(err);
    return l->ops->vote(l, enclave_id, round, approve, receipt ? receipt : &(struct gtee_evm_receipt){0}, err);
}

struct gtee_evm *gtee_ledger_evm(struct gtee_ledger *l)
{
    return strcmp(l->ops->kind, "evm") ? NULL : l->impl;
}

void gtee_ledger_contract(const struct gtee_ledger *l, uint8_t contract[GTEE_PROOF_ID_LEN])
{
    memcpy(contract, l->contract, GTEE_PROOF_ID_LEN);
}
