/* The opaque data of an NVIDIA MEASUREMENTS response: a list of [type u16][size u16][value]
 * fields (NVIDIA's OPAQUE_FIELD_ID_* types) that must use exactly OpaqueLength bytes. Unknown
 * and repeated types are refused, as are wrong sizes of the fixed-size fields and text that
 * is not printable ASCII. docs/evidence-nvidia.md, "Opaque data". */
#include <stdio.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/nvidia.h"

#define SET_CODE(c) do { if (code) snprintf(code, GTEE_NV_CODE_MAX, "%s", (c)); } while (0)

static bool known(unsigned t)
{
    return (t >= GTEE_NV_OP_CERT_ISSUER_NAME && t <= GTEE_NV_OP_LOCK_SWITCH_STATUS) ||
           (t >= GTEE_NV_OP_GPU_LINK_CONN && t <= GTEE_NV_OP_FEATURE_FLAG);
}

/* The size a field must have, 0 if any; `mult` for arrays of fixed-size items. */
static void size_rule(unsigned t, size_t *exact, size_t *mult)
{
    *exact = 0;
    *mult = 1;
    switch (t) {
    case GTEE_NV_OP_FWID: *exact = GTEE_NV_DIGEST_LEN; break;
    case GTEE_NV_OP_NVDEC0_STATUS:
    case GTEE_NV_OP_PROTECTED_PCIE_STATUS: *exact = 1; break;
    case GTEE_NV_OP_VBIOS_VERSION: *exact = GTEE_NV_VBIOS_LEN; break;
    case GTEE_NV_OP_MSRSCNT: *mult = 4; break;
    case GTEE_NV_OP_SWITCH_PDI: *mult = 8; break;
    default: break;
    }
}

/* ASCII text: printable characters, then only NUL padding (at least one NUL when nul_req). */
static bool text(const uint8_t *p, size_t n, bool nul_req, char *out, size_t out_len)
{
    size_t i = 0;

    while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
        i++;
    if (nul_req && i == n)
        return false;
    for (size_t j = i; j < n; j++)
        if (p[j] != 0)
            return false;
    if (i >= out_len)
        return false;
    memcpy(out, p, i);
    out[i] = '\0';
    return true;
}

int gtee_nv_opaque_parse(const uint8_t *buf, size_t len, size_t base, struct gtee_nv_opaque *o, char *code,
                         struct gtee_err *err)
{
    struct span s = span_init(buf, buf ? len : 0);
    int rc = 0;

    memset(o, 0, sizeof(*o));
    while (s.len > 0) {
        size_t at = base + s.off, exact, mult;
        unsigned t = span_u16le(&s);
        uint16_t n = span_u16le(&s);
        const uint8_t *v = span_take(&s, n);
        bool ok = true;

        if (s.bad) {
            SET_CODE("gpu.opaque.length");
            ENSURE(false, err, GTEE_EFORMAT,
                   "gpu report: opaque field at offset %zu (type %u, size %u) runs past OpaqueLength", at, t, n);
        }
        if (!known(t)) {
            SET_CODE("gpu.opaque.unknown");
            ENSURE(false, err, GTEE_EFORMAT, "gpu report: opaque field at offset %zu has unknown type %u", at, t);
        }
        if (gtee_nv_opaque_has(o, t)) {
            SET_CODE("gpu.opaque.duplicate");
            ENSURE(false, err, GTEE_EFORMAT, "gpu report: opaque field type %u at offset %zu appears twice", t, at);
        }
        o->seen[t / 8] |= (uint8_t)(1u << (t % 8));
        size_rule(t, &exact, &mult);
        if ((exact && n != exact) || n % mult != 0) {
            SET_CODE("gpu.opaque.size");
            ENSURE(false, err, GTEE_EFORMAT, "gpu report: opaque field type %u at offset %zu has size %u, must be %s%zu",
                   t, at, n, exact ? "" : "a multiple of ", exact ? exact : mult);
        }
        switch (t) {
        case GTEE_NV_OP_DRIVER_VERSION:
            ok = n >= 2 && text(v, n, true, o->driver_version, sizeof(o->driver_version)) && o->driver_version[0];
            break;
        case GTEE_NV_OP_PROJECT: ok = text(v, n, false, o->project, sizeof(o->project)); break;
        case GTEE_NV_OP_PROJECT_SKU: ok = text(v, n, false, o->project_sku, sizeof(o->project_sku)); break;
        case GTEE_NV_OP_CHIP_SKU: ok = text(v, n, false, o->chip_sku, sizeof(o->chip_sku)); break;
        case GTEE_NV_OP_VBIOS_VERSION:
            memcpy(o->vbios, v, GTEE_NV_VBIOS_LEN);
            /* NVIDIA prints bytes 3, 2, 1, 0 then 4 (format_vbios_version) */
            snprintf(o->vbios_version, sizeof(o->vbios_version), "%02x.%02x.%02x.%02x.%02x", v[3], v[2], v[1], v[0],
                     v[4]);
            break;
        case GTEE_NV_OP_NVDEC0_STATUS:
            o->nvdec0 = v[0];
            if (v[0] != GTEE_NV_NVDEC0_ENABLED && v[0] != GTEE_NV_NVDEC0_DISABLED) {
                SET_CODE("gpu.opaque.nvdec0");
                ENSURE(false, err, GTEE_EFORMAT,
                       "gpu report: NVDEC0_STATUS at offset %zu is 0x%02x, neither 0xAA (enabled) nor 0x55 "
                       "(disabled)",
                       at + 4, v[0]);
            }
            break;
        case GTEE_NV_OP_FWID:
            memcpy(o->fwid, v, GTEE_NV_DIGEST_LEN);
            o->fwid_off = at + 4;
            break;
        case GTEE_NV_OP_MSRSCNT: o->n_msrscnt = n / 4; break;
        default: break;
        }
        if (!ok) {
            SET_CODE("gpu.opaque.text");
            ENSURE(false, err, GTEE_EFORMAT,
                   "gpu report: opaque field type %u at offset %zu is not printable ASCII%s", t, at,
                   t == GTEE_NV_OP_DRIVER_VERSION ? " ending in one or more NULs" : " with NUL padding");
        }
    }
out:
    return rc;
}
