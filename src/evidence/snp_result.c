/* SEV-SNP verification results: the list of failure reasons with stable codes, and how
 * the first one becomes the caller's struct gtee_err. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "evidence/snp_internal.h"

int snp_reason_add(struct gtee_snp_result *res, int rc, const char *code, const char *fmt, ...)
{
    struct gtee_snp_reason *r;
    va_list ap;

    if (res->n_reasons >= GTEE_SNP_MAX_REASONS) {
        res->reasons_truncated = true;
        return rc;
    }
    r = &res->reasons[res->n_reasons++];
    r->rc = rc;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return rc;
}

int snp_reason_to_err(const struct gtee_snp_result *res, struct gtee_err *err)
{
    if (res->n_reasons == 0)
        return GTEE_FAIL(err, GTEE_EPOLICY, "snp: verification incomplete");
    return GTEE_FAIL(err, res->reasons[0].rc, "snp: %s: %s", res->reasons[0].code,
                     res->reasons[0].msg);
}

const struct gtee_snp_reason *gtee_snp_result_find(const struct gtee_snp_result *res,
                                                   const char *code)
{
    for (size_t i = 0; res && code && i < res->n_reasons; i++)
        if (strcmp(res->reasons[i].code, code) == 0)
            return &res->reasons[i];
    return NULL;
}
