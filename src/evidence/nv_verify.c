/* NVIDIA GPU evidence verification: the report (exact parse, our nonce, the GPU chain to the
 * pinned Device Identity root, the FWID binding, the report signature), the two RIMs (XML
 * signature, chain to the pinned RIM root at the verification time, version equal to the
 * report's) and the golden values, and OCSP when responses are given. Every failure is a
 * reason with a stable code; verification goes on after a failure so that the verdict names
 * them all.
 *
 * The work that does not depend on the report or the time (reading the chains and RIMs,
 * every signature of the chains and the RIMs, the FWID of the leaf) is done once by
 * gtee_nv_prepare and kept with its reasons; each verification then checks the validity
 * windows at its own time. gtee_nv_verify is prepare, verify, free: one code path, so a
 * prepared verification says exactly what a full one says. docs/evidence-nvidia.md. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "evidence/nv_internal.h"
#include "gtee/crypto.h"

#define STAGE_MAX 8

/* The reasons one time-independent step gave, replayed into every verification. */
struct stage {
    size_t n;
    struct { char code[GTEE_NV_CODE_MAX]; char msg[GTEE_NV_REASON_MSG_MAX]; } r[STAGE_MAX];
};

struct gtee_nv_prepared {
    const struct gtee_nv_collateral *col;
    X509 *dev_root, *rim_root;
    STACK_OF(X509) *chains[3];       /* the GPU chain, the driver RIM's, the VBIOS RIM's */
    bool gpu_chain_usable;           /* 5 certificates that parse */
    bool chain_ok[3];                /* every check but the windows */
    struct stage chain_st[3];
    int fwid_rc;                     /* 0: fwid holds the leaf's FWID */
    uint8_t fwid[GTEE_NV_DIGEST_LEN];
    char fwid_msg[GTEE_ERR_MSG_MAX];
    struct gtee_nv_rim rims[2];
    bool rim_read[2], rim_sig[2];
    struct stage rim_st[2];          /* read and signature reasons */
};

const char *gtee_nv_revocation_name(enum gtee_nv_revocation r)
{
    return r == GTEE_NV_REVOCATION_GOOD ? "good" : r == GTEE_NV_REVOCATION_FAILED ? "failed" : "not-checked";
}

const char *gtee_nv_rim_kind_name(enum gtee_nv_rim_kind k)
{
    return k == GTEE_NV_RIM_DRIVER ? "driver" : "vbios";
}

/* Moves the reasons a step left in scratch into st. */
static void keep(struct gtee_nv_result *scratch, struct stage *st)
{
    for (size_t i = 0; i < scratch->n_reasons && st->n < STAGE_MAX; i++, st->n++) {
        memcpy(st->r[st->n].code, scratch->reasons[i].code, GTEE_NV_CODE_MAX);
        memcpy(st->r[st->n].msg, scratch->reasons[i].msg, GTEE_NV_REASON_MSG_MAX);
    }
    scratch->n_reasons = 0;
}

static void replay(const struct stage *st, struct gtee_nv_result *res)
{
    for (size_t i = 0; i < st->n; i++)
        nv_reason(res, st->r[i].code, "%s", st->r[i].msg);
}

static STACK_OF(X509) *der_chain(const struct gtee_nv_rim *rim)
{
    STACK_OF(X509) *sk = sk_X509_new_null();

    for (size_t i = 0; sk && i < rim->n_certs; i++) {
        const unsigned char *p = rim->cert[i];
        X509 *x = d2i_X509(NULL, &p, (long)rim->cert_len[i]);

        if (!x || !sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    return sk;
}

void gtee_nv_prepared_free(struct gtee_nv_prepared *p)
{
    if (!p)
        return;
    for (int i = 0; i < 3; i++)
        sk_X509_pop_free(p->chains[i], X509_free);
    gtee_nv_rim_free(&p->rims[0]);
    gtee_nv_rim_free(&p->rims[1]);
    X509_free(p->dev_root);
    X509_free(p->rim_root);
    free(p);
}

static void prepare_rim(struct gtee_nv_prepared *p, enum gtee_nv_rim_kind k, const uint8_t *xml, size_t len,
                        struct gtee_nv_result *scratch)
{
    const char *name = gtee_nv_rim_kind_name(k);
    char code[GTEE_NV_CODE_MAX], what[32];
    struct gtee_err e = {0};

    if (gtee_nv_rim_read(xml, len, &p->rims[k], &e) < 0) {
        snprintf(code, sizeof(code), "gpu.rim.%s.malformed", name);
        nv_reason(scratch, code, "%s RIM: %s", name, e.msg);
        keep(scratch, &p->rim_st[k]);
        return;
    }
    p->rim_read[k] = true;
    p->rim_sig[k] = gtee_nv_rim_verify_signature(xml, len, p->rims[k].cert[0], p->rims[k].cert_len[0], &e) == 0;
    if (!p->rim_sig[k]) {
        snprintf(code, sizeof(code), "gpu.rim.%s.signature", name);
        nv_reason(scratch, code, "%s RIM: %s", name, e.msg);
    }
    keep(scratch, &p->rim_st[k]);
    p->chains[1 + k] = der_chain(&p->rims[k]);
    snprintf(what, sizeof(what), "%s RIM chain", name);
    snprintf(code, sizeof(code), "gpu.rim.%s.chain", name);
    p->chain_ok[1 + k] = nv_chain_verify(p->chains[1 + k], p->rim_root, -1, what, code, scratch);
    keep(scratch, &p->chain_st[1 + k]);
}

int gtee_nv_prepare(const struct gtee_nv_collateral *col, struct gtee_nv_prepared **out, struct gtee_err *err)
{
    struct gtee_nv_prepared *p = NULL;
    struct gtee_nv_result *scratch = NULL;
    struct gtee_err e = {0};
    int rc = GTEE_EINVAL;

    *out = NULL;
    ENSURE(col && col->chain_pem && col->driver_rim && col->vbios_rim, err, GTEE_EINVAL,
           "gpu verify: the collateral needs cert_chain.pem and the driver and VBIOS RIMs");
    p = calloc(1, sizeof(*p));
    scratch = calloc(1, sizeof(*scratch));
    ENSURE(p && scratch, err, GTEE_ENOMEM, "gpu verify: out of memory");
    p->col = col;
    p->dev_root = nv_pinned(gtee_nv_device_root_pem);
    p->rim_root = nv_pinned(gtee_nv_rim_root_pem);
    ENSURE(p->dev_root && p->rim_root, err, GTEE_ENOMEM, "gpu verify: the pinned roots did not load");

    /* The GPU chain, leaf first, ending at the pinned Device Identity root. */
    p->chains[0] = nv_pem_chain(col->chain_pem, col->chain_len);
    if (!p->chains[0]) {
        nv_reason(scratch, "gpu.chain.malformed", "cert_chain.pem is not a list of PEM certificates");
    } else if (sk_X509_num(p->chains[0]) != NV_GPU_CHAIN_LEN) {
        nv_reason(scratch, "gpu.chain.length", "cert_chain.pem has %d certificates; a Hopper chain has %d",
                  sk_X509_num(p->chains[0]), NV_GPU_CHAIN_LEN);
    } else {
        p->gpu_chain_usable = true;
        p->chain_ok[0] = nv_chain_verify(p->chains[0], p->dev_root, -1, "gpu chain", "gpu.chain", scratch);
        p->fwid_rc = nv_leaf_fwid(sk_X509_value(p->chains[0], 0), p->fwid, &e);
        snprintf(p->fwid_msg, sizeof(p->fwid_msg), "%s", e.msg);
    }
    keep(scratch, &p->chain_st[0]);
    prepare_rim(p, GTEE_NV_RIM_DRIVER, col->driver_rim, col->driver_rim_len, scratch);
    prepare_rim(p, GTEE_NV_RIM_VBIOS, col->vbios_rim, col->vbios_rim_len, scratch);
    *out = p;
    p = NULL;
    rc = 0;
out:
    gtee_nv_prepared_free(p);
    free(scratch);
    ERR_clear_error();
    return rc;
}

/* One RIM at verification time: its kept reasons, its windows at `at`, its version. */
static bool check_rim(const struct gtee_nv_prepared *p, enum gtee_nv_rim_kind k, const char *want_version, int64_t at,
                      struct gtee_nv_result *res)
{
    const char *name = gtee_nv_rim_kind_name(k);
    char code[GTEE_NV_CODE_MAX], what[32];
    bool ok = p->rim_read[k] && p->rim_sig[k] && p->chain_ok[1 + k];

    replay(&p->rim_st[k], res);
    if (!p->rim_read[k])
        return false;
    replay(&p->chain_st[1 + k], res);
    snprintf(what, sizeof(what), "%s RIM chain", name);
    snprintf(code, sizeof(code), "gpu.rim.%s.chain", name);
    if (!nv_chain_windows(p->chains[1 + k], at, what, code, res))
        ok = false;
    res->version_ok[k] = strcasecmp(p->rims[k].version, want_version) == 0;
    if (!res->version_ok[k]) {
        snprintf(code, sizeof(code), "gpu.rim.%s.version", name);
        nv_reason(res, code, "%s RIM is for version %s, the report states %s", name, p->rims[k].version,
                  want_version[0] ? want_version : "(none)");
        ok = false;
    }
    return ok;
}

int gtee_nv_verify_prepared(const struct gtee_nv_prepared *p, const uint8_t *report, size_t len,
                            const uint8_t nonce[GTEE_NV_NONCE_LEN], int64_t at, struct gtee_nv_result *res,
                            struct gtee_err *err)
{
    struct gtee_nv_report *r = &res->report;
    struct gtee_err e = {0};
    int rc = GTEE_EINVAL;

    ENSURE(res != NULL && p != NULL, err, GTEE_EINVAL, "gpu verify: no prepared collateral or result");
    memset(res, 0, sizeof(*res));
    if (gtee_nv_report_parse(report, len, r, &e) < 0) {
        nv_reason(res, r->bad_code[0] ? r->bad_code : "gpu.report.malformed", "%s", e.msg);
        ENSURE(false, err, GTEE_EFORMAT, "%s", e.msg);
    }
    res->parsed = true;

    /* The nonce: the verifier's challenge, compared in constant time. */
    res->nonce_ok = nonce && gtee_ct_equal(nonce, r->nonce, GTEE_NV_NONCE_LEN);
    if (!res->nonce_ok)
        nv_reason(res, "gpu.nonce", nonce ? "the request nonce (offset 4) is not the expected nonce"
                                          : "no expected nonce given: a GPU report is only fresh over ours");

    replay(&p->chain_st[0], res);
    if (p->gpu_chain_usable) {
        X509 *leaf = sk_X509_value(p->chains[0], 0);

        res->chain_ok = nv_chain_windows(p->chains[0], at, "gpu chain", "gpu.chain", res) && p->chain_ok[0];
        /* The FWID the device reports must be the one its leaf certificate was issued for. */
        if (!gtee_nv_opaque_has(&r->opaque, GTEE_NV_OP_FWID))
            nv_reason(res, "gpu.fwid.missing", "the opaque data carries no FWID to bind to the leaf certificate");
        else if (p->fwid_rc < 0)
            nv_reason(res, "gpu.fwid.certificate", "%s", p->fwid_msg);
        else if (!(res->fwid_ok = memcmp(p->fwid, r->opaque.fwid, GTEE_NV_DIGEST_LEN) == 0))
            nv_reason(res, "gpu.fwid.mismatch",
                      "the opaque FWID (offset %zu) is not the FWID of the leaf's 2.23.133.5.4.1 extension",
                      r->opaque.fwid_off);
        res->signature_ok = nv_p384_verify(X509_get0_pubkey(leaf), report, r->signed_len, r->sig) == 0;
        if (!res->signature_ok)
            nv_reason(res, "gpu.signature",
                      "the ECDSA P-384 signature (offset %zu) over bytes 0..%zu does not verify under the leaf key",
                      r->signed_len, r->signed_len - 1);
    }

    res->rim_ok[GTEE_NV_RIM_DRIVER] = check_rim(p, GTEE_NV_RIM_DRIVER, r->opaque.driver_version, at, res);
    res->rim_ok[GTEE_NV_RIM_VBIOS] = check_rim(p, GTEE_NV_RIM_VBIOS, r->opaque.vbios_version, at, res);
    if (p->rim_read[0] && p->rim_read[1]) {
        const struct gtee_nv_rim *pair[2] = { &p->rims[0], &p->rims[1] };
        nv_compare(pair, r, res);
    } else {
        nv_reason(res, "gpu.measurement.unchecked", "the golden values were not compared: a RIM did not read");
    }

    res->revocation = GTEE_NV_REVOCATION_NOT_CHECKED;
    if (p->col->n_ocsp) {
        STACK_OF(X509) *chains[3] = { p->chains[0], p->chains[1], p->chains[2] };
        X509 *roots[3] = { p->dev_root, p->rim_root, p->rim_root };

        nv_ocsp_check(p->col, chains, roots, at, res);
    }
    res->verified = res->parsed && res->nonce_ok && res->chain_ok && res->fwid_ok && res->signature_ok &&
                    res->rim_ok[0] && res->rim_ok[1] && res->measurements_ok &&
                    res->revocation != GTEE_NV_REVOCATION_FAILED && res->n_reasons == 0;
    rc = res->verified ? 0 : GTEE_EPOLICY;
    if (rc < 0)
        GTEE_FAIL(err, rc, "gpu verify: rejected (%s: %s)", res->reasons[0].code, res->reasons[0].msg);
out:
    ERR_clear_error();
    return rc;
}

int gtee_nv_verify(const uint8_t *report, size_t len, const uint8_t nonce[GTEE_NV_NONCE_LEN],
                   const struct gtee_nv_collateral *col, int64_t at, struct gtee_nv_result *res, struct gtee_err *err)
{
    struct gtee_nv_prepared *p = NULL;
    int rc;

    if (res) {
        struct gtee_err e = {0};

        memset(res, 0, sizeof(*res));
        /* A malformed report is named first, whatever the collateral. */
        if (gtee_nv_report_parse(report, len, &res->report, &e) < 0) {
            nv_reason(res, res->report.bad_code[0] ? res->report.bad_code : "gpu.report.malformed", "%s", e.msg);
            return GTEE_FAIL(err, GTEE_EFORMAT, "%s", e.msg);
        }
    }
    rc = gtee_nv_prepare(col, &p, err);
    if (rc == 0)
        rc = gtee_nv_verify_prepared(p, report, len, nonce, at, res, err);
    gtee_nv_prepared_free(p);
    return rc;
}
