/* libFuzzer target: what the tdx and snp backends parse from configfs-tsm files
 * (src/tee/tsm.c, src/tee/tee_file.c): an attribute's text (`provider`, `generation`), the
 * generation number, and the measurement in an outblob (TDX quote v4 MRTD, SNP MEASUREMENT).
 * Seeds: the attribute texts a kernel writes and the real tdx-1 quote and milan-1 report. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tee/tee_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum gtee_tee_kind kinds[] = { GTEE_TEE_KIND_TDX, GTEE_TEE_KIND_SNP };
    struct gtee_err err;
    char text[32];
    unsigned long g = 0;
    uint8_t m[GTEE_MEASUREMENT_MAX];
    size_t ml = 0;

    if (tee_text_parse(data, size, text, sizeof(text), "fuzz", &err) == 0) {
        size_t n = strlen(text);

        /* what comes out is the input less its trailing newlines, spaces and NULs */
        if (n >= sizeof(text) || n > size || memcmp(text, data, n) != 0 ||
            (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')))
            abort();
        if (tee_tsm_parse_generation(text, &g, "fuzz", &err) == 0) {
            for (size_t i = 0; i < n; i++)
                if (text[i] < '0' || text[i] > '9')
                    abort();
            if (n == 0 || g == ULONG_MAX) /* g + 1 must never wrap */
                abort();
        }
    }
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (tee_tsm_outblob_measurement(kinds[k], data, size, m, &ml, &err) != 0)
            continue;
        if (ml != 48 || size < (kinds[k] == GTEE_TEE_KIND_TDX ? 48 + 136 : 0x90) + 48)
            abort();
        if (memcmp(m, data + (kinds[k] == GTEE_TEE_KIND_TDX ? 48 + 136 : 0x90), 48) != 0)
            abort();
    }
    return 0;
}
