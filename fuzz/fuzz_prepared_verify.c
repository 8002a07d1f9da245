/* libFuzzer target, differential: a quote verified against the sgx-1 sample collateral
 * prepared with the sample quote (gtee_collateral_prepare + _prepare_pck: the prepared
 * results of docs/evidence.md "Prepared collateral") must get exactly the verdict it gets
 * against the same collateral never prepared (the full path): same return code, acceptance
 * and reasons. Mutated quotes that keep the sample's PCK chain bytes use the prepared
 * results; any other change takes the full path, and a changed chain that still verifies
 * enters the PCK chain cache (docs/evidence.md "PCK chain cache"), whose later hits are
 * compared as well. Collateral: tests/vectors/sgx/sgx-1, found by vector_path
 * (tests/vectors.h). Seeds: the sgx-1 quote. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/vectors.h"
#include "gtee/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SAMPLE_AT 1752919277 /* 2025-07-19T10:01:17Z, the sample's time */

static struct gtee_collateral plain, prep;
static bool ready;

static void load(void)
{
    char dir[4096], qpath[4200];
    uint8_t *quote = malloc(1 << 16);
    size_t len;
    FILE *f;

    vector_path(dir, sizeof(dir), "sgx/sgx-1");
    snprintf(qpath, sizeof(qpath), "%s/quote.bin", dir);
    f = fopen(qpath, "rb");
    if (!quote || !f)
        abort();
    len = fread(quote, 1, 1 << 16, f);
    fclose(f);
    if (gtee_collateral_load(dir, &plain, NULL) != 0 || gtee_collateral_load(dir, &prep, NULL) != 0 ||
        gtee_collateral_prepare(&prep, NULL, NULL) != 0 || gtee_collateral_prepare_pck(&prep, quote, len, NULL) != 0)
        abort();
    free(quote);
    ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_verdict a, b;
    struct gtee_policy p;
    int ra, rb;

    if (!ready)
        load();
    gtee_policy_default(&p);
    p.accepted_tcb = ~1u;
    ra = gtee_evidence_verify(data, size, &prep, NULL, &p, SAMPLE_AT, &a, NULL);
    rb = gtee_evidence_verify(data, size, &plain, NULL, &p, SAMPLE_AT, &b, NULL);
    if (ra != rb || a.accepted != b.accepted || a.verified != b.verified || a.n_reasons != b.n_reasons)
        abort();
    for (size_t i = 0; i < a.n_reasons; i++)
        if (strcmp(a.reasons[i].code, b.reasons[i].code) != 0 || strcmp(a.reasons[i].msg, b.reasons[i].msg) != 0)
            abort();
    return 0;
}
