/* The evm ledger: the Glacier contract's view of an enclave (enclave(), lastProof(),
 * isActive()) and Work Proofs submitted in batches, skipping what the chain already holds so
 * that submitting again after a failure or a chain restart sends each proof once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/glacier.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"

struct gtee_ledger {
    struct gtee_evm *evm;
    uint8_t contract[GTEE_PROOF_ID_LEN];
};

int gtee_ledger_open_evm(const struct gtee_evm_options *o, const uint8_t key[32],
                         const uint8_t contract[GTEE_PROOF_ID_LEN], struct gtee_ledger **out, struct gtee_err *err)
{
    struct gtee_ledger *l = calloc(1, sizeof(*l));
    int rc;

    *out = NULL;
    ENSURE(l, err, GTEE_ENOMEM, "ledger: out of memory");
    memcpy(l->contract, contract, GTEE_PROOF_ID_LEN);
    TRY(gtee_evm_open(o, key, &l->evm, err));
    *out = l;
    l = NULL;
out:
    gtee_ledger_close(l);
    return rc;
}

void gtee_ledger_close(struct gtee_ledger *l)
{
    if (!l)
        return;
    gtee_evm_close(l->evm);
    free(l);
}

uint64_t gtee_ledger_chain_id(const struct gtee_ledger *l)
{
    return gtee_evm_chain_id(l->evm);
}

void gtee_ledger_domain(const struct gtee_ledger *l, struct gtee_proof_domain *d)
{
    d->chain_id = gtee_evm_chain_id(l->evm);
    memcpy(d->contract, l->contract, GTEE_PROOF_ID_LEN);
}

void gtee_ledger_operator(const struct gtee_ledger *l, uint8_t addr[GTEE_PROOF_ID_LEN])
{
    gtee_evm_address(l->evm, addr);
}

/* register(Registration) / renew(Registration): the tuple has strings, so it is an offset
 * word, then its head (six static fields, two string offsets from the tuple's start, the Sig
 * inline: eleven words), then the two strings' tails. */
int gtee_ledger_register(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
                         struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    static const char tuple[] =
        "((address,uint8,bytes32,uint32,bytes32,uint64,string,string,(bytes32,bytes32,uint8)))";
    size_t eu = strlen(r->evidence_url), nu = strlen(r->node_url), head = 11 * 32;
    struct chain_buf b = {0};
    char sig[16 + sizeof(tuple)];
    int rc = 0;

    ENSURE(eu <= 2048 && nu <= 2048, err, GTEE_EINVAL, "ledger: an evidence or node URL over 2048 bytes");
    ENSURE(r->consent_sig[64] == 27 || r->consent_sig[64] == 28, err, GTEE_EINVAL,
           "ledger: the consent signature's v is not 27 or 28");
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
    rc = gtee_evm_send(l->evm, l->contract, renew ? NULL : r->stake, b.p, b.len, receipt, err);
out:
    chain_buf_free(&b);
    return rc;
}

/* A view taking one address; GTEE_EFORMAT when it returns nothing (no contract there). */
static int view(struct gtee_ledger *l, const char *signature, const uint8_t addr[20], uint8_t **out, size_t *len,
                struct gtee_err *err)
{
    struct chain_buf b = {0};
    int rc = 0;

    abi_selector(&b, signature);
    abi_address(&b, addr);
    ENSURE(!b.oom, err, GTEE_ENOMEM, "ledger: out of memory");
    TRY(gtee_evm_call(l->evm, l->contract, b.p, b.len, out, len, err));
    if (*len == 0) {
        free(*out);
        *out = NULL;
        rc = GTEE_FAIL(err, GTEE_EFORMAT, "ledger: %s returned nothing: is the address a Glacier contract?",
                       signature);
    }
out:
    chain_buf_free(&b);
    return rc;
}

int gtee_ledger_standing(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                         struct gtee_ledger_standing *s, struct gtee_err *err)
{
    uint8_t *d = NULL;
    uint64_t status = 0, slashed = 0, active = 0;
    size_t n = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    /* enclave(address) returns a tuple with strings: an offset word, then its head */
    TRY(view(l, "enclave(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 1 + 2, &status, err));
    TRY(abi_word_u64(d, n, 1 + 3, &slashed, err));
    ENSURE(status <= GTEE_ENCLAVE_REVOKED && slashed <= 1, err, GTEE_EFORMAT, "ledger: enclave() answered status %llu",
           (unsigned long long)status);
    free(d);
    d = NULL;
    TRY(view(l, "lastProof(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &s->last_seq, err));
    TRY(abi_word(d, n, 1, s->last_hash, err));
    free(d);
    d = NULL;
    TRY(view(l, "isActive(address)", enclave_id, &d, &n, err));
    TRY(abi_word_u64(d, n, 0, &active, err));
    s->status = (enum gtee_enclave_status)status;
    s->slashed = (int)slashed;
    s->active = active != 0;
out:
    free(d);
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
                   "ledger: enclave %s: the chain holds another proof with seq %llu (equivocation)", id,
                   (unsigned long long)p[i].seq);
        }
    }
out:
    return rc;
}

int gtee_ledger_submit(struct gtee_ledger *l, struct gtee_proof *p, size_t n, unsigned batch,
                       gtee_ledger_batch_fn on_batch, void *arg, size_t *skipped, size_t *sent, struct gtee_err *err)
{
    struct chain_buf b = {0};
    size_t pending = 0;
    int rc = 0;

    *skipped = 0;
    *sent = 0;
    ENSURE(batch >= 1 && batch <= 64, err, GTEE_EINVAL, "ledger: a batch of %u proofs; from 1 to 64 allowed", batch);
    for (size_t i = 0; i < n; i++)
        ENSURE(p[i].domain.chain_id == gtee_evm_chain_id(l->evm) &&
                   !memcmp(p[i].domain.contract, l->contract, GTEE_PROOF_ID_LEN),
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
        chain_buf_free(&b);
        glacier_submit_call(&b, p + i, k);
        ENSURE(!b.oom, err, GTEE_ENOMEM, "ledger: out of memory");
        rc = gtee_evm_send(l->evm, l->contract, NULL, b.p, b.len, &r.receipt, err);
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
    chain_buf_free(&b);
    return rc;
}
