/* Fuzz target for the opaque data of NVIDIA GPU reports (type/length/value fields): a parse
 * that succeeds leaves NUL-terminated text and sizes that follow the fixed-size rules. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gtee/nvidia.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_nv_opaque o;
    char code[GTEE_NV_CODE_MAX] = "";

    if (gtee_nv_opaque_parse(data, size, 0, &o, code, NULL) == 0) {
        if (code[0] || memchr(o.driver_version, 0, sizeof(o.driver_version)) == NULL ||
            memchr(o.vbios_version, 0, sizeof(o.vbios_version)) == NULL ||
            (gtee_nv_opaque_has(&o, GTEE_NV_OP_NVDEC0_STATUS) && o.nvdec0 != GTEE_NV_NVDEC0_ENABLED &&
             o.nvdec0 != GTEE_NV_NVDEC0_DISABLED) ||
            (gtee_nv_opaque_has(&o, GTEE_NV_OP_FWID) && o.fwid_off + GTEE_NV_DIGEST_LEN > size) ||
            (gtee_nv_opaque_has(&o, GTEE_NV_OP_DRIVER_VERSION) && o.driver_version[0] == '\0'))
            __builtin_trap();
    } else if (code[0] == '\0') {
        __builtin_trap();
    }
    return 0;
}
