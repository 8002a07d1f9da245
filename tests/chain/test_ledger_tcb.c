/* The TCB rule both ledgers and the verifiers apply (gtee_ledger_tcb_meets, docs/chain.md
 * "The TCB rule"; contracts/Registry.sol's tcbMeets, which tests/chain/contracts_check.js
 * checks on anvil): Intel figures order as numbers; SEV-SNP figures, four SVNs packed, only
 * component by component. The SNP figures are those of the real Milan sample
 * (tests/vectors/snp/milan-1), as its verdict gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/evidence_samples.h"
#include "gtee/ledger.h"

#define TEE_SIM 1
#define TEE_SGX 2
#define TEE_TDX 3
#define TEE_SNP 4

static uint32_t pack(unsigned bl, unsigned tee, unsigned snp, unsigned uc)
{
    return (uint32_t)bl << 24 | (uint32_t)tee << 16 | (uint32_t)snp << 8 | uc;
}

static void test_intel_figures_order_as_numbers(void **state)
{
    (void)state;
    for (uint8_t t = TEE_SIM; t <= TEE_TDX; t++) {
        assert_true(gtee_ledger_tcb_meets(t, 17, 17));
        assert_true(gtee_ledger_tcb_meets(t, 18, 17));
        assert_false(gtee_ledger_tcb_meets(t, 16, 17));
        assert_true(gtee_ledger_tcb_meets(t, 0, 0));
        /* what the SNP rule refuses, a number accepts: a lower low byte in a higher number */
        assert_true(gtee_ledger_tcb_meets(t, 0x0300, 0x0201));
    }
}

/* The Milan sample's REPORTED_TCB, from its verdict. */
static uint32_t milan_tcb(void)
{
    char dir[1024], path[1100];
    struct gtee_collateral col;
    struct gtee_verdict v;
    struct gtee_policy p;
    uint8_t *report;
    size_t len = 0;
    int64_t at;

    vector_path(dir, sizeof(dir), "snp/milan-1");
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    report = read_all(path, &len);
    assert_non_null(report);
    assert_int_equal(gtee_collateral_load(dir, &col, NULL), 0);
    assert_int_equal(gtee_time_parse("2025-07-19T00:00:00Z", &at, NULL), 0); /* tests/vectors/README.md */
    gtee_policy_default(&p);
    p.allow_debug = true;
    p.require_revocation = 0;
    assert_int_equal(gtee_evidence_verify(report, len, &col, NULL, &p, at, &v, NULL), 0);
    gtee_collateral_free(&col);
    free(report);
    assert_int_not_equal(v.claims.tcb_number, 0);
    return v.claims.tcb_number;
}

static void test_snp_figures_compare_component_by_component(void **state)
{
    uint32_t t = milan_tcb();
    unsigned bl = t >> 24, tee = t >> 16 & 0xff, snp = t >> 8 & 0xff, uc = t & 0xff;
    char text[GTEE_LEDGER_TCB_TEXT_MAX], want[GTEE_LEDGER_TCB_TEXT_MAX];

    (void)state;
    assert_true(gtee_ledger_tcb_meets(TEE_SNP, t, t));
    assert_true(gtee_ledger_tcb_meets(TEE_SNP, t, 0));
    /* a minimum one above in any single SVN refuses it */
    if (bl < 255)
        assert_false(gtee_ledger_tcb_meets(TEE_SNP, t, pack(bl + 1, tee, snp, uc)));
    if (tee < 255)
        assert_false(gtee_ledger_tcb_meets(TEE_SNP, t, pack(bl, tee + 1, snp, uc)));
    if (snp < 255)
        assert_false(gtee_ledger_tcb_meets(TEE_SNP, t, pack(bl, tee, snp + 1, uc)));
    if (uc < 255)
        assert_false(gtee_ledger_tcb_meets(TEE_SNP, t, pack(bl, tee, snp, uc + 1)));
    /* a higher bootloader does not make up for a lower microcode, though it is a higher number */
    if (bl < 255 && uc > 0) {
        uint32_t higher = pack(bl + 1, tee, snp, uc - 1);

        assert_true(higher > t);
        assert_false(gtee_ledger_tcb_meets(TEE_SNP, higher, t));
        assert_true(gtee_ledger_tcb_meets(TEE_SGX, higher, t));
    }
    snprintf(want, sizeof(want), "0x%08x (bootloader %u, tee %u, snp %u, microcode %u)", t, bl, tee, snp, uc);
    assert_string_equal(gtee_ledger_tcb_text(TEE_SNP, t, text), want);
    assert_string_equal(gtee_ledger_tcb_text(TEE_SGX, 17, text), "17");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_figures_order_as_numbers),
        cmocka_unit_test(test_snp_figures_compare_component_by_component),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
