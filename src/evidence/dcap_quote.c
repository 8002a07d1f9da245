/* Parses Intel DCAP quotes: SGX v3 and TDX v4/v5 (header, report body, signature data,
 * certification data) with the bounded reader only. No cryptography here. */
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "evidence/dcap.h"

static struct dcap_region region(const uint8_t *base, const uint8_t *p, size_t len)
{
    struct dcap_region r = { p, len, p ? (size_t)(p - base) : 0 };
    return r;
}

/* SGX ECDSA Quote Library API, A.4 "Enclave Report Body" (384 bytes). */
void dcap_sgx_report_decode(const uint8_t *p, struct sgx_report *r)
{
    struct span s = span_init(p, DCAP_SGX_REPORT_LEN);

    span_copy(&s, r->cpu_svn, 16);
    r->miscselect = span_u32le(&s);
    span_take(&s, 28);
    span_copy(&s, r->attributes, 16);
    span_copy(&s, r->mrenclave, 32);
    span_take(&s, 32);
    span_copy(&s, r->mrsigner, 32);
    span_take(&s, 96);
    r->isv_prod_id = span_u16le(&s);
    r->isv_svn = span_u16le(&s);
    span_take(&s, 60);
    span_copy(&s, r->report_data, 64);
}

/* TDX DCAP Quoting Library API, A.3.2 "TD Quote Body" (TD 1.0: 584 bytes; 1.5 adds 64). */
static void td_report_decode(const uint8_t *p, size_t len, struct td_report *r)
{
    struct span s = span_init(p, len);

    span_copy(&s, r->tee_tcb_svn, 16);
    span_copy(&s, r->mrseam, 48);
    span_copy(&s, r->mrsignerseam, 48);
    span_copy(&s, r->seam_attributes, 8);
    span_copy(&s, r->td_attributes, 8);
    span_copy(&s, r->xfam, 8);
    span_copy(&s, r->mrtd, 48);
    span_copy(&s, r->mrconfigid, 48);
    span_copy(&s, r->mrowner, 48);
    span_copy(&s, r->mrownerconfig, 48);
    for (int i = 0; i < 4; i++)
        span_copy(&s, r->rtmr[i], 48);
    span_copy(&s, r->report_data, 64);
    if (len == DCAP_TD15_REPORT_LEN) {
        span_copy(&s, r->tee_tcb_svn2, 16);
        span_copy(&s, r->mrservicetd, 48);
    }
}

/* The QE report certification data: QE report, its signature, QE authentication data, then
 * the inner certification data (type 5, the PCK chain). */
static int parse_qe_cert_data(const uint8_t *base, struct span *s, struct dcap_quote *q, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;
    const uint8_t *p;
    uint16_t auth_len;
    uint32_t cert_len;

    p = span_take(s, DCAP_SGX_REPORT_LEN);
    q->qe_report = region(base, p, DCAP_SGX_REPORT_LEN);
    p = span_take(s, DCAP_SIG_LEN);
    q->qe_report_sig = region(base, p, DCAP_SIG_LEN);
    ENSURE(!s->bad, err, GTEE_EFORMAT, "quote: QE report truncated (offset %zu)", s->off);
    auth_len = span_u16le(s);
    p = span_take(s, auth_len);
    ENSURE(!s->bad, err, GTEE_EFORMAT, "quote: QE authentication data truncated (offset %zu)", s->off);
    q->qe_auth = region(base, p, auth_len);
    q->cert_type = span_u16le(s);
    cert_len = span_u32le(s);
    ENSURE(!s->bad, err, GTEE_EFORMAT, "quote: certification data header truncated (offset %zu)", s->off);
    ENSURE(q->cert_type == DCAP_CERT_PCK_CHAIN, err, GTEE_EUNSUPPORTED,
           "quote: certification data type %u unsupported, need 5 (PCK chain) (offset %zu)",
           q->cert_type, s->off - 6);
    p = span_take(s, cert_len);
    ENSURE(p != NULL, err, GTEE_EFORMAT, "quote: certification data truncated (offset %zu, %u bytes)",
           s->off, cert_len);
    q->cert_data = region(base, p, cert_len);
    dcap_sgx_report_decode(q->qe_report.p, &q->qe);
    rc = 0;
out:
    return rc;
}

static int parse_header(struct span *s, struct dcap_quote *q, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;

    q->version = span_u16le(s);
    q->att_key_type = span_u16le(s);
    q->tee_type = span_u32le(s);  /* v3: reserved, zero (SGX) */
    q->qe_svn = span_u16le(s);
    q->pce_svn = span_u16le(s);
    span_copy(s, q->qe_vendor_id, 16);
    span_take(s, 20);               /* user data */
    ENSURE(!s->bad, err, GTEE_EFORMAT, "quote: header truncated (%zu of 48 bytes)", s->off);
    ENSURE(q->version == 3 || q->version == 4 || q->version == 5, err, GTEE_EUNSUPPORTED,
           "quote: header version %u unsupported (offset 0)", q->version);
    ENSURE(q->att_key_type == DCAP_ATT_KEY_ECDSA_P256, err, GTEE_EUNSUPPORTED,
           "quote: header attestation key type %u unsupported, need 2 (ECDSA P-256) (offset 2)", q->att_key_type);
    if (q->version == 3) {
        ENSURE(q->tee_type == DCAP_TEE_SGX, err, GTEE_EFORMAT,
               "quote: header reserved bytes nonzero in a version 3 quote (offset 4)");
        q->tee = GTEE_TEE_SGX;
    } else if (q->tee_type == DCAP_TEE_TDX) {
        q->tee = GTEE_TEE_TDX;
    } else {
        ENSURE(q->tee_type == DCAP_TEE_SGX, err, GTEE_EUNSUPPORTED,
               "quote: header TEE type 0x%x unsupported (offset 4)", q->tee_type);
        q->tee = GTEE_TEE_SGX;
    }
    rc = 0;
out:
    return rc;
}

static int parse_body(const uint8_t *base, struct span *s, struct dcap_quote *q, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;
    size_t body_len;
    const uint8_t *p;

    if (q->version == 5) {
        /* TDX quote v5, A.3.3: body descriptor (type u16, size u32) before the body. */
        uint32_t size;

        q->body_type = span_u16le(s);
        size = span_u32le(s);
        ENSURE(!s->bad, err, GTEE_EFORMAT, "quote: body descriptor truncated (offset 48)");
        body_len = q->body_type == DCAP_BODY_SGX ? DCAP_SGX_REPORT_LEN
                 : q->body_type == DCAP_BODY_TD10 ? DCAP_TD10_REPORT_LEN
                 : q->body_type == DCAP_BODY_TD15 ? DCAP_TD15_REPORT_LEN : 0;
        ENSURE(body_len != 0, err, GTEE_EUNSUPPORTED, "quote: body type %u unsupported (offset 48)", q->body_type);
        ENSURE(size == body_len, err, GTEE_EFORMAT, "quote: body size %u does not match type %u (offset 50)",
               size, q->body_type);
        ENSURE((q->body_type == DCAP_BODY_SGX) == (q->tee == GTEE_TEE_SGX), err, GTEE_EFORMAT,
               "quote: body type %u does not match the header TEE type (offset 48)", q->body_type);
    } else {
        q->body_type = q->tee == GTEE_TEE_SGX ? DCAP_BODY_SGX : DCAP_BODY_TD10;
        body_len = q->tee == GTEE_TEE_SGX ? DCAP_SGX_REPORT_LEN : DCAP_TD10_REPORT_LEN;
    }
    p = span_take(s, body_len);
    ENSURE(p != NULL, err, GTEE_EFORMAT, "quote: report body truncated (offset %zu, need %zu bytes)", s->off,
           body_len);
    q->body = region(base, p, body_len);
    q->signed_len = s->off;
    if (q->tee == GTEE_TEE_SGX) {
        dcap_sgx_report_decode(p, &q->sgx);
        q->report_data = region(base, p + 320, 64);
    } else {
        td_report_decode(p, body_len, &q->td);
        q->report_data = region(base, p + 520, 64);
    }
    rc = 0;
out:
    return rc;
}

int dcap_quote_parse(const uint8_t *p, size_t len, struct dcap_quote *q, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;
    struct span s = span_init(p, len);
    struct span sig;
    uint32_t sig_len;
    const uint8_t *x;

    memset(q, 0, sizeof(*q));
    ENSURE(p != NULL, err, GTEE_EINVAL, "quote: no bytes");
    TRY(parse_header(&s, q, err));
    q->header = region(p, p, DCAP_HEADER_LEN);
    TRY(parse_body(p, &s, q, err));

    sig_len = span_u32le(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "quote: signature data length missing (offset %zu)", s.off);
    sig = span_sub(&s, sig_len);
    ENSURE(!sig.bad, err, GTEE_EFORMAT, "quote: signature data truncated (offset %zu, %u bytes declared, %zu left)",
           sig.off, sig_len, s.len);
    /* Quote buffers from the TDX quote generation service are fixed-size and zero-padded:
     * zero bytes after the signature data are ignored, anything else is malformed. */
    for (size_t i = 0; i < s.len; i++)
        ENSURE(s.p[i] == 0, err, GTEE_EFORMAT, "quote: nonzero byte after the signature data (offset %zu)",
               s.off + i);

    x = span_take(&sig, DCAP_SIG_LEN);
    q->signature = region(p, x, DCAP_SIG_LEN);
    x = span_take(&sig, DCAP_ATT_KEY_LEN);
    q->att_key = region(p, x, DCAP_ATT_KEY_LEN);
    ENSURE(!sig.bad, err, GTEE_EFORMAT, "quote: signature or attestation key truncated (offset %zu)", sig.off);

    if (q->version == 3) {
        TRY(parse_qe_cert_data(p, &sig, q, err));
    } else {
        /* v4/v5: the outer certification data is type 6 wrapping the QE report data. */
        uint16_t type = span_u16le(&sig);
        uint32_t clen = span_u32le(&sig);
        struct span inner;

        ENSURE(!sig.bad, err, GTEE_EFORMAT, "quote: certification data header truncated (offset %zu)", sig.off);
        ENSURE(type == DCAP_CERT_QE_REPORT, err, GTEE_EUNSUPPORTED,
               "quote: certification data type %u unsupported, need 6 (offset %zu)", type, sig.off - 6);
        inner = span_sub(&sig, clen);
        ENSURE(!inner.bad, err, GTEE_EFORMAT, "quote: QE report certification data truncated (offset %zu)",
               inner.off);
        TRY(parse_qe_cert_data(p, &inner, q, err));
        ENSURE(inner.len == 0, err, GTEE_EFORMAT, "quote: %zu trailing bytes in QE report certification data",
               inner.len);
    }
    ENSURE(sig.len == 0, err, GTEE_EFORMAT, "quote: %zu trailing bytes in signature data (offset %zu)", sig.len,
           sig.off);
    rc = 0;
out:
    return rc;
}
