/* Fuzz target for the NVIDIA RIM reader (libxml2, no DTD or entities) and its XML signature
 * check (libxmlsec1) under the input's own first certificate: a RIM that reads has sane
 * entries, and nothing the input says makes either step reach outside the document. */
#include <stddef.h>
#include <stdint.h>

#include "gtee/nvidia.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_nv_rim rim;

    if (gtee_nv_rim_read(data, size, &rim, NULL) == 0) {
        size_t present = 0;

        for (size_t i = 0; i < GTEE_NV_RIM_INDEX_MAX; i++) {
            const struct gtee_nv_rim_entry *e = &rim.entry[i];

            present += e->present;
            if (e->present && (e->n_alt < 1 || e->n_alt > GTEE_NV_RIM_ALT_MAX))
                __builtin_trap();
            if (!e->present && (e->active || e->n_alt))
                __builtin_trap();
        }
        if (present != rim.n_entries || rim.n_entries == 0 || rim.n_certs < 2 || rim.version[0] == '\0')
            __builtin_trap();
        (void)gtee_nv_rim_verify_signature(data, size, rim.cert[0], rim.cert_len[0], NULL);
        gtee_nv_rim_free(&rim);
    }
    return 0;
}
