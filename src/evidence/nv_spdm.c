/* NVIDIA GPU reports: the SPDM 1.1 GET_MEASUREMENTS request and MEASUREMENTS response
 * (DMTF DSP0274 1.1.0, "GET_MEASUREMENTS request and MEASUREMENTS response" and
 * "Measurement block"), parsed exactly through the bounded reader. Every error names
 * the field, its absolute offset and a stable code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/nvidia.h"

#define SPDM_VERSION_11 0x11
#define SPDM_GET_MEASUREMENTS 0xE0
#define SPDM_MEASUREMENTS 0x60
#define SPDM_SIG_REQUESTED 0x01        /* Param1 bit 0 */
#define SPDM_ALL_MEASUREMENTS 0xFF     /* Param2 */
#define DMTF_SPEC 0x01                 /* MeasurementSpecification bit 0: DMTF */
#define DMTF_DIGEST_MUTABLE_FW 0x01    /* DMTFSpecMeasurementValueType: digest (bit 7 clear),
                                        * mutable firmware (NVIDIA's only kind) */
#define BLOCK_HEADER 4                 /* Index, Specification, MeasurementSize */
#define DMTF_HEADER 3                  /* ValueType, ValueSize */

static int bad(struct gtee_nv_report *r, struct gtee_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(struct gtee_nv_report *r, struct gtee_err *err, const char *code, const char *fmt, ...)
{
    char msg[GTEE_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->bad_code, sizeof(r->bad_code), "%s", code);
    return GTEE_FAIL(err, GTEE_EFORMAT, "gpu report: %s", msg);
}

bool gtee_nv_report_detect(const uint8_t *buf, size_t len)
{
    return buf && len > GTEE_NV_REQUEST_LEN + 2 && buf[0] == SPDM_VERSION_11 && buf[1] == SPDM_GET_MEASUREMENTS &&
           buf[GTEE_NV_REQUEST_LEN] == SPDM_VERSION_11 && buf[GTEE_NV_REQUEST_LEN + 1] == SPDM_MEASUREMENTS;
}

static int parse_request(struct span *s, struct gtee_nv_report *r, struct gtee_err *err)
{
    uint8_t ver = span_u8(s), code = span_u8(s), p1 = span_u8(s), p2 = span_u8(s);

    span_copy(s, r->nonce, GTEE_NV_NONCE_LEN);
    uint8_t slot = span_u8(s);

    if (s->bad)
        return bad(r, err, "gpu.report.length", "request truncated: a GET_MEASUREMENTS request is %d bytes",
                   GTEE_NV_REQUEST_LEN);
    if (ver != SPDM_VERSION_11)
        return bad(r, err, "gpu.request.version", "request SPDMVersion (offset 0) is 0x%02x, not 0x11 (SPDM 1.1)", ver);
    if (code != SPDM_GET_MEASUREMENTS)
        return bad(r, err, "gpu.request.code",
                   "request RequestResponseCode (offset 1) is 0x%02x, not 0xE0 GET_MEASUREMENTS", code);
    if (p1 != SPDM_SIG_REQUESTED)
        return bad(r, err, "gpu.request.param1",
                   "request Param1 (offset 2) is 0x%02x; only 0x01 (signature requested) is defined", p1);
    if (p2 != SPDM_ALL_MEASUREMENTS)
        return bad(r, err, "gpu.request.param2",
                   "request Param2 (offset 3) is 0x%02x, not 0xFF (all measurements)", p2);
    if (slot != 0)
        return bad(r, err, "gpu.request.slot", "request SlotIDParam (offset 36) is %u, not slot 0", slot);
    return 0;
}

/* One DMTF measurement block (DSP0274 1.1, table "Measurement block format" and "DMTF
 * measurement specification format"). */
static int parse_block(struct span *s, size_t k, struct gtee_nv_report *r, struct gtee_err *err)
{
    size_t at = s->off; /* sub-spans count offsets from the start of the report */
    uint8_t index = span_u8(s), spec = span_u8(s);
    uint16_t size = span_u16le(s);
    struct span m = span_sub(s, size);
    uint8_t type = span_u8(&m);
    uint16_t vsize = span_u16le(&m);

    if (s->bad)
        return bad(r, err, "gpu.block.length",
                   "measurement block %zu (offset %zu) runs past MeasurementRecordLength", k + 1, at);
    if (index != k + 1)
        return bad(r, err, "gpu.block.index",
                   "measurement block %zu (offset %zu) has Index %u; Index must run 1..N in order", k + 1, at,
                   index);
    if (spec != DMTF_SPEC)
        return bad(r, err, "gpu.block.spec",
                   "measurement block %u (offset %zu) MeasurementSpecification is 0x%02x, not 0x01 (DMTF)", index,
                   at + 1, spec);
    if (m.bad || size != DMTF_HEADER + GTEE_NV_DIGEST_LEN || vsize != GTEE_NV_DIGEST_LEN)
        return bad(r, err, "gpu.block.size",
                   "measurement block %u (offset %zu): MeasurementSize %u / ValueSize %u, a SHA-384 digest "
                   "block is 51 / 48",
                   index, at + 2, size, vsize);
    if (type != DMTF_DIGEST_MUTABLE_FW)
        return bad(r, err, "gpu.block.type",
                   "measurement block %u (offset %zu) DMTFSpecMeasurementValueType is 0x%02x, not 0x01 "
                   "(digest of mutable firmware)",
                   index, at + 4, type);
    span_copy(&m, r->value[k], GTEE_NV_DIGEST_LEN);
    return 0;
}

int gtee_nv_report_parse(const uint8_t *buf, size_t len, struct gtee_nv_report *r, struct gtee_err *err)
{
    struct span s = span_init(buf, buf ? len : 0), resp, rec;
    uint8_t ver, code, nblocks;
    uint32_t l1;
    uint16_t l2;
    const uint8_t *l1b, *op;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    if (!buf)
        return bad(r, err, "gpu.report.length", "no bytes");
    TRY(parse_request(&s, r, err));
    resp = span_sub(&s, s.len);
    ver = span_u8(&resp);
    code = span_u8(&resp);
    (void)span_u8(&resp); /* Param1: reserved when the request's Param2 is not 0 */
    (void)span_u8(&resp); /* Param2: SlotID in libspdm's responses, reserved in 1.1 */
    nblocks = span_u8(&resp);
    l1b = span_take(&resp, 3);
    if (resp.bad)
        return bad(r, err, "gpu.report.length", "response header truncated (offset 37, 8 bytes)");
    if (ver != SPDM_VERSION_11)
        return bad(r, err, "gpu.response.version", "response SPDMVersion (offset 37) is 0x%02x, not 0x11", ver);
    if (code != SPDM_MEASUREMENTS)
        return bad(r, err, "gpu.response.code",
                   "response RequestResponseCode (offset 38) is 0x%02x, not 0x60 MEASUREMENTS", code);
    l1 = (uint32_t)l1b[0] | (uint32_t)l1b[1] << 8 | (uint32_t)l1b[2] << 16;
    if (nblocks == 0)
        return bad(r, err, "gpu.response.blocks", "NumberOfBlocks (offset 41) is 0: no measurements");
    r->record_len = l1;
    rec = span_sub(&resp, l1);
    if (rec.bad)
        return bad(r, err, "gpu.response.record_length",
                   "MeasurementRecordLength (offset 42) is %u but only %zu bytes follow", l1, resp.len);
    for (size_t k = 0; k < nblocks; k++)
        TRY(parse_block(&rec, k, r, err));
    if (rec.len != 0)
        return bad(r, err, "gpu.response.record_length",
                   "MeasurementRecordLength (offset 42) is %u but %u blocks use %zu bytes", l1, nblocks, (size_t)l1 - rec.len);
    r->n_blocks = nblocks;
    if (!span_copy(&resp, r->responder_nonce, GTEE_NV_NONCE_LEN))
        return bad(r, err, "gpu.report.length", "responder nonce (offset %zu) truncated", resp.off);
    l2 = span_u16le(&resp);
    r->opaque_off = resp.off;
    op = span_take(&resp, l2);
    if (resp.bad)
        return bad(r, err, "gpu.response.opaque_length", "OpaqueLength (offset %zu) is %u but only %zu bytes follow",
                   r->opaque_off - 2, l2, resp.len);
    r->opaque_len = l2;
    if (gtee_nv_opaque_parse(op, l2, r->opaque_off, &r->opaque, r->bad_code, err) < 0)
        return GTEE_EFORMAT;
    r->signed_len = resp.off;
    if (resp.len != GTEE_NV_SIG_LEN)
        return bad(r, err, resp.len < GTEE_NV_SIG_LEN ? "gpu.signature.length" : "gpu.report.trailing",
                   "%zu bytes after the opaque data (offset %zu); the report must end with exactly the "
                   "96-byte signature",
                   resp.len, r->signed_len);
    span_copy(&resp, r->sig, GTEE_NV_SIG_LEN);
    return 0;
out:
    return rc;
}
