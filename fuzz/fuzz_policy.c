/* libFuzzer target: the policy JSON parser. Seeds: example policies from docs/policy.md. */
#include <stdint.h>
#include <stdlib.h>

#include "gtee/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_policy p;
    struct gtee_err err;

    if (gtee_policy_parse((const char *)data, size, &p, &err) != 0) {
        /* a failed parse leaves the strict defaults */
        if (p.allow_debug || p.allow_simulation || p.has_report_data)
            abort();
    }
    return 0;
}
