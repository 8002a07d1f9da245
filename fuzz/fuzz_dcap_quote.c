/* libFuzzer target: the DCAP quote parser, then the whole verifier (PEM chain, PCK
 * extensions, signature checks) on the parsed quote, without collateral, which must never
 * verify (fail closed). Seeds: the real SGX v3 and TDX v4 samples. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_verdict v;
    struct dcap_quote *q = malloc(sizeof(*q));
    struct gtee_err err;

    if (!q)
        abort();
    if (dcap_quote_parse(data, size, q, &err) == 0) {
        /* A successful parse keeps every region inside the input. */
        if (q->cert_data.off + q->cert_data.len > size || q->signed_len > size)
            abort();
    }
    (void)gtee_evidence_verify(data, size, NULL, NULL, NULL, 1752919277, &v, &err);
    /* Fail closed: without collateral no TCB info or QE identity check can pass, so nothing
     * verifies, and a rejection always names a reason. */
    if (v.verified || v.accepted || v.n_reasons == 0)
        abort();
    free(q);
    return 0;
}
