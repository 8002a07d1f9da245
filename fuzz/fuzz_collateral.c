/* libFuzzer target: Intel collateral through the whole verifier. The input is split into the
 * collateral blobs and a quote, the blobs are prepared (gtee_collateral_prepare, and the
 * quote's PCK chain with gtee_collateral_prepare_pck) and the quote verified against them
 * (gtee_evidence_verify) under a policy that accepts every TCB status, so both accepting and
 * rejecting paths are reached. Checks that the return code and the verdict agree.
 *
 * Input format (the seeds in fuzz/corpus/fuzz_collateral/ are sgx-1 and tdx-1 from
 * tests/vectors, quote included): a sequence of records, each
 *     tag (1 byte) | length (4 bytes, little-endian) | bytes
 * with the tags
 *     'Q' quote.bin                   'T' tcb_info.json      't' tcb_info_issuer_chain.pem
 *     'I' qe_identity.json            'i' qe_identity_issuer_chain.pem
 *     'P' pck_crl.der                 'R' root_ca_crl.der    'p' pck_crl_issuer_chain.pem
 *     'A' the verification time: unix seconds, 8 bytes little-endian (the first 8 if longer)
 * A later record of a tag replaces an earlier one; unknown tags are skipped; a truncated
 * last record is cut to the bytes there are. Each blob is copied with a NUL after it, as
 * gtee_collateral_load leaves it. Without an 'A' record the time is 2025-07-19T10:01:17Z
 * (sgx-1's; the seeds carry each sample's time, at which it verifies). The seeds were made from the sample directories with
 *     for tag, name in (("Q", "quote.bin"), ("T", "tcb_info.json"), ...):
 *         out += tag.encode() + struct.pack("<I", len(blob)) + blob   (Python) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/evidence.h"

#define AT_DEFAULT 1752919277 /* 2025-07-19T10:01:17Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gtee_blob *slot(struct gtee_collateral *c, struct gtee_blob *quote, uint8_t tag)
{
    switch (tag) {
    case 'Q': return quote;
    case 'T': return &c->tcb_info;
    case 't': return &c->tcb_info_chain;
    case 'I': return &c->qe_identity;
    case 'i': return &c->qe_identity_chain;
    case 'P': return &c->pck_crl;
    case 'R': return &c->root_ca_crl;
    case 'p': return &c->pck_crl_chain;
    default: return NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_verdict v;
    struct gtee_collateral col = {0};
    struct gtee_blob quote = {0};
    struct gtee_policy policy;
    size_t off = 0;
    int64_t at = AT_DEFAULT;
    int rc;

    while (size - off >= 5) {
        uint8_t tag = data[off];
        size_t n = (size_t)data[off + 1] | (size_t)data[off + 2] << 8 | (size_t)data[off + 3] << 16 |
                   (size_t)data[off + 4] << 24;
        struct gtee_blob *b = slot(&col, &quote, tag);

        off += 5;
        if (n > size - off)
            n = size - off;
        if (tag == 'A' && n >= 8) {
            uint64_t t = 0;

            for (int i = 7; i >= 0; i--)
                t = t << 8 | data[off + (size_t)i];
            at = (int64_t)t;
        } else if (b) {
            free(b->p);
            b->p = malloc(n + 1);
            if (!b->p)
                abort();
            memcpy(b->p, data + off, n);
            b->p[n] = 0;
            b->len = n;
        }
        off += n;
    }
    gtee_policy_default(&policy);
    policy.accepted_tcb = ~0u;
    if (gtee_collateral_prepare(&col, NULL, NULL) == 0 && quote.p &&
        gtee_collateral_prepare_pck(&col, quote.p, quote.len, NULL) != 0) {
        /* no usable PCK chain in the quote: the verification below names the problem */
    }
    rc = gtee_evidence_verify(quote.p, quote.len, &col, NULL, &policy, at, &v, NULL);
    /* accepted exactly when 0 is returned; a rejection always names a reason */
    if ((rc == 0) != v.accepted || (rc == 0 && (!v.verified || v.n_reasons != 0)) ||
        ((rc == GTEE_EPOLICY || rc == GTEE_EFORMAT) && v.n_reasons == 0))
        __builtin_trap();
    free(quote.p);
    gtee_collateral_free(&col);
    return 0;
}
