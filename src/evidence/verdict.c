/* Verdict bookkeeping: reasons with stable codes, advisory lists, and the names of TEE types
 * and Intel TCB statuses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "evidence/dcap.h"

static const char *const tee_names[GTEE_TEE_TYPE_COUNT] = { "unknown", "sgx", "tdx", "snp", "gpu" };

/* Intel's spellings (TCB info v3 "tcbStatus"), in enum order. */
static const char *const tcb_names[GTEE_TCB_STATUS_COUNT] = {
    "None", "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked",
};

const char *gtee_crl_name(unsigned bit)
{
    return bit == GTEE_CRL_PCK       ? "pck_crl.der"
           : bit == GTEE_CRL_ROOT_CA ? "root_ca_crl.der"
           : bit == GTEE_CRL_SNP_ARK ? "ark_crl.der"
                                     : NULL;
}

const char *gtee_tee_type_name(enum gtee_tee_type t)
{
    return (unsigned)t < GTEE_TEE_TYPE_COUNT ? tee_names[t] : "unknown";
}

const char *gtee_tcb_status_name(enum gtee_tcb_status s)
{
    return (unsigned)s < GTEE_TCB_STATUS_COUNT ? tcb_names[s] : "None";
}

enum gtee_tcb_status gtee_tcb_status_from_name(const char *name)
{
    for (unsigned i = 1; name && i < GTEE_TCB_STATUS_COUNT; i++)
        if (strcmp(name, tcb_names[i]) == 0)
            return (enum gtee_tcb_status)i;
    return GTEE_TCB_NONE;
}

void verdict_reset(struct gtee_verdict *v)
{
    memset(v, 0, sizeof(*v));
}

void verdict_add(struct gtee_verdict *v, const char *code, const char *fmt, ...)
{
    struct gtee_reason *r;
    va_list ap;

    v->accepted = false;
    if (v->n_reasons >= GTEE_REASON_MAX) {
        v->reasons_truncated = true;
        return;
    }
    r = &v->reasons[v->n_reasons++];
    snprintf(r->code, sizeof(r->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

void verdict_add_advisory(struct gtee_verdict *v, const char *id)
{
    struct gtee_claims *c = &v->claims;

    for (size_t i = 0; i < c->n_advisories; i++)
        if (strcmp(c->advisory_ids[i], id) == 0)
            return;
    if (c->n_advisories < GTEE_ADVISORY_MAX)
        snprintf(c->advisory_ids[c->n_advisories++], GTEE_ADVISORY_ID_MAX, "%s", id);
}

bool gtee_verdict_has(const struct gtee_verdict *v, const char *prefix)
{
    size_t n = strlen(prefix);

    for (size_t i = 0; i < v->n_reasons; i++)
        if (strncmp(v->reasons[i].code, prefix, n) == 0)
            return true;
    return false;
}

/* Platform status (TCB info) converged with the QE identity status, as Intel's QVL does
 * (QuoteVerification "convergeTcbStatusWithQeTcbStatus"): an out-of-date QE makes the result
 * OutOfDate, or OutOfDateConfigurationNeeded if the platform also needs configuration; a
 * revoked QE makes it Revoked; otherwise the platform status stands. */
enum gtee_tcb_status tcb_status_merge(enum gtee_tcb_status platform, enum gtee_tcb_status qe)
{
    if (qe == GTEE_TCB_REVOKED)
        return GTEE_TCB_REVOKED;
    if (qe == GTEE_TCB_OUT_OF_DATE || qe == GTEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) {
        switch (platform) {
        case GTEE_TCB_UP_TO_DATE:
        case GTEE_TCB_SW_HARDENING_NEEDED:
            return GTEE_TCB_OUT_OF_DATE;
        case GTEE_TCB_CONFIGURATION_NEEDED:
        case GTEE_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
            return GTEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
        default:
            return platform;
        }
    }
    return platform;
}
