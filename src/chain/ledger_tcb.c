/* The TCB rule of the registry (docs/chain.md, "The TCB rule"), as contracts/Registry.sol's
 * tcbMeets states it: Intel's TCB evaluation data numbers (and the simulated TEE's, which are
 * Intel's format) order as numbers; an AMD SEV-SNP TCB is four SVNs that AMD compares one by
 * one, so a packed figure meets a minimum only when each of its bytes does. */
#include <stdio.h>

#include "gtee/ledger.h"

#define TEE_SNP 4 /* include/gtee/tee_kind.h, as contracts/Registry.sol numbers it */

bool gtee_ledger_tcb_meets(uint8_t tee_type, uint32_t tcb, uint32_t min)
{
    if (tee_type != TEE_SNP)
        return tcb >= min;
    for (int shift = 0; shift < 32; shift += 8)
        if ((uint8_t)(tcb >> shift) < (uint8_t)(min >> shift))
            return false;
    return true;
}

char *gtee_ledger_tcb_text(uint8_t tee_type, uint32_t tcb, char out[GTEE_LEDGER_TCB_TEXT_MAX])
{
    if (tee_type == TEE_SNP)
        snprintf(out, GTEE_LEDGER_TCB_TEXT_MAX, "0x%08x (bootloader %u, tee %u, snp %u, microcode %u)", (unsigned)tcb,
                 (unsigned)(tcb >> 24), (unsigned)(tcb >> 16 & 0xff), (unsigned)(tcb >> 8 & 0xff),
                 (unsigned)(tcb & 0xff));
    else
        snprintf(out, GTEE_LEDGER_TCB_TEXT_MAX, "%u", (unsigned)tcb);
    return out;
}
