/* libFuzzer target: the Work Proof file parser (docs/proofs.md "File format"), which must
 * accept exactly what jansson's strict reading of the format accepts (proof_reference.h) and
 * read the same proofs; then each parsed proof verified, re-encoded and parsed back
 * unchanged, and the hash chain over all of them; and the sealed proof counter's reader,
 * whose records must encode back the same. Seeds: a chain of signed proofs, single proofs of
 * each job kind, and one written with escapes, blanks and another key order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/proof.h"
#include "proof_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_proof *p = NULL, *back = NULL, *ref = NULL;
    uint8_t(*h)[GTEE_PROOF_HASH_LEN] = NULL;
    struct gtee_err err = {0};
    struct gtee_proof_counter c;
    size_t n = 0, m = 0, nref = 0;
    int got, want;

    if (gtee_proof_counter_decode(data, size, &c, &err) == 0) {
        uint8_t rec[GTEE_PROOF_COUNTER_LEN];

        gtee_proof_counter_encode(&c, rec);
        if (memcmp(rec, data, sizeof(rec)))
            abort();
    }
    got = gtee_proof_parse(data, size, &p, &n, &err);
    want = ref_parse(data, size, &ref, &nref, &err);
    /* jansson's lexer drops a NUL byte that directly follows a number or a literal (it
     * reads the pushed-back NUL as the end of its one-character buffer), so it accepts
     * "1780000003\0," where RFC 8259 does not: that one disagreement is jansson's, and
     * the stricter reader is right. */
    if (got != 0 && want == 0 && memchr(data, 0, size))
        want = got;
    if ((got == 0) != (want == 0) || (got == 0 && (n != nref || memcmp(p, ref, n * sizeof(*p)))))
        abort(); /* the two readers disagree */
    if (got != 0 && got != GTEE_EFORMAT && got != GTEE_ENOMEM)
        abort();
    free(ref);
    if (got != 0)
        return 0;
    h = calloc(n, sizeof(*h));
    if (!h)
        abort();
    for (size_t i = 0; i < n; i++) {
        char *js = NULL;

        (void)gtee_proof_verify(&p[i], h[i], &err);
        gtee_proof_hash(&p[i], h[i]);
        if (gtee_proof_encode(&p[i], &js, &err) != 0)
            abort(); /* whatever parses must encode */
        if (gtee_proof_parse(js, strlen(js), &back, &m, &err) != 0 || m != 1 || memcmp(back, &p[i], sizeof(*back)))
            abort(); /* and come back the same */
        free(back);
        free(js);
    }
    (void)gtee_proof_chain_check(p, (const uint8_t(*)[GTEE_PROOF_HASH_LEN])h, n, &err);
    free(h);
    free(p);
    return 0;
}
