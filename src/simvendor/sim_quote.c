/* Simulated Intel DCAP quotes: SGX ECDSA quote v3 and TDX quote v4 (Intel "SGX ECDSA
 * Quote Library API" appendix A and "TDX DCAP Quoting Library API" appendix A), byte for
 * byte in the layouts of the real samples in tests/vectors. The quote is signed by
 * the device's attestation key; the QE report binding that key is signed by the PCK key;
 * the PCK chain travels as certification data type 5 (v3) or inside type 6 (v4). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "simvendor/sim_internal.h"

#define HEADER_LEN 48
#define SGX_BODY_LEN 384
#define TD_BODY_LEN 584
#define ATT_KEY_TYPE_ECDSA_P256 2
#define TEE_TYPE_SGX 0x00000000u
#define TEE_TYPE_TDX 0x00000081u
#define CERT_TYPE_PCK_CHAIN 5
#define CERT_TYPE_QE_REPORT 6
#define QE_AUTH_LEN 32

/* Intel's QE vendor ID, which a DCAP verifier expects (the header's bytes 12..27). */
static const uint8_t QE_VENDOR_ID[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                          0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };

static void put_u64le(uint8_t *p, uint64_t v)
{
    put_u32le(p, (uint32_t)v);
    put_u32le(p + 4, (uint32_t)(v >> 32));
}

/* sgx_report_body_t: cpusvn@0, miscselect@16, attributes@48 (flags, xfrm), mrenclave@64,
 * mrsigner@128, isvprodid@256, isvsvn@258, reportdata@320. Reserved fields stay zero. */
struct report_fields {
    const uint8_t *mrenclave, *mrsigner, *report_data;
    uint64_t flags;
    uint16_t prod_id, svn;
};

static void sgx_report_body(uint8_t b[SGX_BODY_LEN], const struct report_fields *f)
{
    memset(b, 0, SGX_BODY_LEN);
    memcpy(b, SIM_CPUSVN, 16);
    put_u32le(b + 16, 0);
    put_u64le(b + 48, f->flags);
    put_u64le(b + 56, SIM_ATTR_XFRM);
    memcpy(b + 64, f->mrenclave, 32);
    memcpy(b + 128, f->mrsigner, 32);
    put_u16le(b + 256, f->prod_id);
    put_u16le(b + 258, f->svn);
    memcpy(b + 320, f->report_data, 64);
}

/* RTMR extend from zero: SHA-384(48 zero bytes || SHA-384(event)). */
static int rtmr_of(const char *event, uint8_t out[48])
{
    uint8_t buf[96] = { 0 };

    if (gtee_sha384(event, strlen(event), buf + 48) < 0)
        return GTEE_ECRYPTO;
    return gtee_sha384(buf, sizeof(buf), out);
}

/* TD report body (TDX quote v4): TEE_TCB_SVN@0, MRSEAM@16, MRSIGNERSEAM@64,
 * SEAMATTRIBUTES@112, TDATTRIBUTES@120, XFAM@128, MRTD@136, MRCONFIGID@184, MROWNER@232,
 * MROWNERCONFIG@280, RTMR0..3@328/376/424/472, REPORTDATA@520. */
static int td_report_body(uint8_t b[TD_BODY_LEN], const struct gtee_sim_identity *id, const uint8_t rd[64])
{
    static const char *const rtmr_events[3] = {
        "Glacier SIMULATED TD firmware (NOT SECURE)",
        "Glacier SIMULATED TD kernel (NOT SECURE)",
        "Glacier SIMULATED TD initrd and command line (NOT SECURE)",
    };
    uint64_t attrs = SIM_TD_ATTR_SEPT_VE_DISABLE | (id->debug ? SIM_TD_ATTR_DEBUG : 0);

    memset(b, 0, TD_BODY_LEN);
    memcpy(b, SIM_TEE_TCB_SVN, 16);
    if (gtee_sha384(SIM_TDX_MODULE_LABEL, strlen(SIM_TDX_MODULE_LABEL), b + 16) < 0)
        return GTEE_ECRYPTO;
    /* MRSIGNERSEAM@64 and SEAMATTRIBUTES@112 zero: an Intel-signed module. */
    put_u64le(b + 120, attrs);
    put_u64le(b + 128, SIM_TD_XFAM);
    memcpy(b + 136, id->mrenclave, 32);   /* MRTD = measurement || 16 zero bytes */
    memcpy(b + 232, id->mrsigner, 32);    /* MROWNER = signer || 16 zero bytes */
    put_u16le(b + 280, id->isv_prod_id); /* MROWNERCONFIG = prod id, svn, zeros */
    put_u16le(b + 282, id->isv_svn);
    for (int i = 0; i < 3; i++)
        if (rtmr_of(rtmr_events[i], b + 328 + 48 * i) < 0)
            return GTEE_ECRYPTO;
    memcpy(b + 520, rd, 64);
    return 0;
}

/* The QE's part: its report (report data = SHA-256(attestation key || auth data) || 0^32),
 * the PCK signature over it, the auth data and the type-5 PCK chain. */
static int qe_block(struct gtee_sim *sim, int version, uint8_t *p, struct gtee_err *err)
{
    uint8_t bound[64 + QE_AUTH_LEN];
    uint8_t rd[64] = { 0 };
    uint8_t mrenclave[32], mrsigner[32];
    struct report_fields f = { mrenclave, mrsigner, rd, SIM_QE_ATTR_FLAGS, 0, 0 };
    uint8_t *auth;
    int rc = GTEE_ECRYPTO;

    ENSURE(sim_qe_measurements(version, mrenclave, mrsigner, &f.prod_id, &f.svn) == 0, err, GTEE_ECRYPTO,
           "sim: QE measurement failed");
    auth = p + SGX_BODY_LEN + 64 + 2;
    for (int i = 0; i < QE_AUTH_LEN; i++)
        auth[i] = (uint8_t)i;
    memcpy(bound, sim->qe_pub, 64);
    memcpy(bound + 64, auth, QE_AUTH_LEN);
    ENSURE(gtee_sha256(bound, sizeof(bound), rd) == 0, err, GTEE_ECRYPTO, "sim: QE report data hash failed");
    sgx_report_body(p, &f);
    TRY(sim_sign_raw(sim->pck_key, p, SGX_BODY_LEN, p + SGX_BODY_LEN, err));
    put_u16le(p + SGX_BODY_LEN + 64, QE_AUTH_LEN);
    p = auth + QE_AUTH_LEN;
    put_u16le(p, CERT_TYPE_PCK_CHAIN);
    put_u32le(p + 2, (uint32_t)sim->pck_chain_len);
    memcpy(p + 6, sim->pck_chain, sim->pck_chain_len);
    rc = 0;
out:
    return rc;
}

int gtee_sim_quote(struct gtee_sim *sim, int version, const struct gtee_sim_identity *id,
                   const uint8_t report_data[GTEE_SIM_REPORT_DATA_LEN], uint8_t **quote, size_t *quote_len,
                   struct gtee_err *err)
{
    const int tdx = (version == GTEE_SIM_QUOTE_TDX);
    const size_t body_len = tdx ? TD_BODY_LEN : SGX_BODY_LEN;
    const size_t qe_len = SGX_BODY_LEN + 64 + 2 + QE_AUTH_LEN + 6 + (sim ? sim->pck_chain_len : 0);
    const size_t sig_len = 64 + 64 + (tdx ? 6 : 0) + qe_len;
    uint8_t *q = NULL, *h, *s;
    size_t total = HEADER_LEN + body_len + 4 + sig_len;
    int rc = GTEE_EINVAL;

    ENSURE(quote && quote_len, err, GTEE_EINVAL, "sim: quote: missing output argument");
    *quote = NULL;
    *quote_len = 0;
    ENSURE(sim && id && report_data, err, GTEE_EINVAL, "sim: quote: missing argument");
    ENSURE(version == GTEE_SIM_QUOTE_SGX || tdx, err, GTEE_EUNSUPPORTED,
           "sim: quote version %d (want 3 for SGX or 4 for TDX)", version);
    q = calloc(1, total);
    ENSURE(q, err, GTEE_ENOMEM, "sim: out of memory for a %zu-byte quote", total);

    h = q; /* header: version, attestation key type, TEE type, QE/PCE SVN (v3), vendor, user data */
    put_u16le(h, (uint16_t)version);
    put_u16le(h + 2, ATT_KEY_TYPE_ECDSA_P256);
    put_u32le(h + 4, tdx ? TEE_TYPE_TDX : TEE_TYPE_SGX);
    if (!tdx) { /* v4 leaves these reserved (zero), as the TDX sample shows */
        put_u16le(h + 8, SIM_QE_SVN);
        put_u16le(h + 10, SIM_PCESVN);
    }
    memcpy(h + 12, QE_VENDOR_ID, 16);
    memcpy(h + 28, sim->qe_id, 16); /* user data: QE ID || 4 zero bytes */

    if (tdx) {
        TRY(td_report_body(q + HEADER_LEN, id, report_data));
    } else {
        struct report_fields f = { id->mrenclave, id->mrsigner, report_data,
                                   SIM_ATTR_FLAGS_INIT | SIM_ATTR_FLAGS_MODE64 |
                                       (id->debug ? SIM_ATTR_FLAGS_DEBUG : 0),
                                   id->isv_prod_id, id->isv_svn };
        sgx_report_body(q + HEADER_LEN, &f);
    }

    put_u32le(q + HEADER_LEN + body_len, (uint32_t)sig_len);
    s = q + HEADER_LEN + body_len + 4;
    TRY(sim_sign_raw(sim->qe_key, q, HEADER_LEN + body_len, s, err));
    memcpy(s + 64, sim->qe_pub, 64);
    if (tdx) { /* certification data type 6 wraps the QE report certification data */
        put_u16le(s + 128, CERT_TYPE_QE_REPORT);
        put_u32le(s + 130, (uint32_t)qe_len);
        TRY(qe_block(sim, version, s + 134, err));
    } else {
        TRY(qe_block(sim, version, s + 128, err));
    }
    *quote = q;
    *quote_len = total;
    q = NULL;
    rc = 0;
out:
    free(q);
    return rc;
}
