/* libFuzzer target: the policy JSON parser, and the policy applied to claim sets of each TEE
 * type (revocation checked or not). Seeds: example policies from docs/policy.md, the
 * revocation settings and the TDX pins. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gtee_verdict v;

/* What must hold of any policy: nothing unverified is accepted, and a type whose revocation
 * the policy requires is not accepted without it. */
static void apply_to(const struct gtee_policy *p, enum gtee_tee_type tee, bool rev, uint8_t fill)
{
    memset(&v, 0, sizeof(v));
    v.verified = fill & 1;
    v.claims.tee = tee;
    v.claims.tcb_status = GTEE_TCB_UP_TO_DATE;
    v.claims.revocation_checked = rev;
    v.claims.crls_applied = rev ? GTEE_CRL_PCK | GTEE_CRL_ROOT_CA : fill & 3;
    memset(v.claims.tdx.mrowner, fill, sizeof(v.claims.tdx.mrowner));
    memset(v.claims.tdx.mrconfigid, fill, sizeof(v.claims.tdx.mrconfigid));
    memset(v.claims.tdx.td_attributes, fill, sizeof(v.claims.tdx.td_attributes));
    memset(v.claims.tdx.xfam, fill, sizeof(v.claims.tdx.xfam));
    gtee_policy_apply(p, 1752919277, &v);
    if (v.accepted && !v.verified)
        abort();
    if (v.accepted && !rev && (p->require_revocation & (1u << tee)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_policy p, def;
    struct gtee_err err;

    gtee_policy_default(&def);
    if (gtee_policy_parse((const char *)data, size, &p, &err) != 0) {
        /* a failed parse leaves the strict defaults, every field of them */
        if (memcmp(&p, &def, sizeof(p)) != 0)
            abort();
        return 0;
    }
    for (int t = GTEE_TEE_SGX; t <= GTEE_TEE_SNP; t++)
        for (int rev = 0; rev < 2; rev++)
            apply_to(&p, (enum gtee_tee_type)t, rev, (uint8_t)(size + (size_t)t));
    return 0;
}
