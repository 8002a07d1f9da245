/* NVIDIA GPU evidence verification: the report (exact parse, our nonce, the GPU chain to the
 * pinned Device Identity root, the FWID binding, the report signature), the two RIMs (XML
 * signature, chain to the pinned RIM root at the verification time, version equal to the
 * report's) and the golden values, and OCSP when responses are given. Every failure is a
 * reason with a stable code; verification goes on after a failure so that the verdict names
 * them all. docs/evidence-nvidia.md. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "evidence/nv_internal.h"
#include "gtee/crypto.h"

const char *gtee_nv_revocation_name(enum gtee_nv_revocation r)
{
    return r == GTEE_NV_REVOCATION_GOOD ? "good" : r == GTEE_NV_REVOCATION_FAILED ? "failed" : "not-checked";
}

const char *gtee_nv_rim_kind_name(enum gtee_nv_rim_kind k)
{
    return k == GTEE_NV_RIM_DRIVER ? "driver" : "vbios";
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

/* One RIM: read, signature, chain at `at`, version. Leaves *chain for OCSP. */
static bool check_rim(enum gtee_nv_rim_kind k, const uint8_t *xml, size_t len, const char *want_version, X509 *root,
                      int64_t at, struct gtee_nv_rim *rim, STACK_OF(X509) **chain, struct gtee_nv_result *res)
{
    const char *name = gtee_nv_rim_kind_name(k);
    char code[GTEE_NV_CODE_MAX], what[32];
    struct gtee_err e = {0};
    bool ok = true;

    snprintf(what, sizeof(what), "%s RIM chain", name);
    if (gtee_nv_rim_read(xml, len, rim, &e) < 0) {
        snprintf(code, sizeof(code), "gpu.rim.%s.malformed", name);
        nv_reason(res, code, "%s RIM: %s", name, e.msg);
        return false;
    }
    if (gtee_nv_rim_verify_signature(xml, len, rim->cert[0], rim->cert_len[0], &e) < 0) {
        snprintf(code, sizeof(code), "gpu.rim.%s.signature", name);
        nv_reason(res, code, "%s RIM: %s", name, e.msg);
        ok = false;
    }
    *chain = der_chain(rim);
    snprintf(code, sizeof(code), "gpu.rim.%s.chain", name);
    if (!nv_chain_verify(*chain, root, at, what, code, res))
        ok = false;
    res->version_ok[k] = strcasecmp(rim->version, want_version) == 0;
    if (!res->version_ok[k]) {
        snprintf(code, sizeof(code), "gpu.rim.%s.version", name);
        nv_reason(res, code, "%s RIM is for version %s, the report states %s", name, rim->version,
                  want_version[0] ? want_version : "(none)");
        ok = false;
    }
    return ok;
}

int gtee_nv_verify(const uint8_t *report, size_t len, const uint8_t nonce[GTEE_NV_NONCE_LEN],
                   const struct gtee_nv_collateral *col, int64_t at, struct gtee_nv_result *res, struct gtee_err *err)
{
    struct gtee_nv_report *r = &res->report;
    struct gtee_nv_rim *rims = NULL;
    STACK_OF(X509) *chains[3] = { NULL, NULL, NULL };
    X509 *dev_root = NULL, *rim_root = NULL;
    struct gtee_err e = {0};
    uint8_t fwid[GTEE_NV_DIGEST_LEN];
    int rc = GTEE_EINVAL;

    ENSURE(res != NULL, err, GTEE_EINVAL, "gpu verify: no result to fill");
    memset(res, 0, sizeof(*res));
    if (gtee_nv_report_parse(report, len, r, &e) < 0) {
        nv_reason(res, r->bad_code[0] ? r->bad_code : "gpu.report.malformed", "%s", e.msg);
        ENSURE(false, err, GTEE_EFORMAT, "%s", e.msg);
    }
    res->parsed = true;
    ENSURE(col && col->chain_pem && col->driver_rim && col->vbios_rim, err, GTEE_EINVAL,
           "gpu verify: the collateral needs cert_chain.pem and the driver and VBIOS RIMs");
    rims = calloc(2, sizeof(*rims));
    dev_root = nv_pinned(gtee_nv_device_root_pem);
    rim_root = nv_pinned(gtee_nv_rim_root_pem);
    ENSURE(rims && dev_root && rim_root, err, GTEE_ENOMEM, "gpu verify: out of memory");

    /* The nonce: the verifier's challenge, compared in constant time. */
    res->nonce_ok = nonce && gtee_ct_equal(nonce, r->nonce, GTEE_NV_NONCE_LEN);
    if (!res->nonce_ok)
        nv_reason(res, "gpu.nonce", nonce ? "the request nonce (offset 4) is not the expected nonce"
                                          : "no expected nonce given: a GPU report is only fresh over ours");

    /* The GPU chain, leaf first, ending at the pinned Device Identity root. */
    chains[0] = nv_pem_chain(col->chain_pem, col->chain_len);
    if (!chains[0]) {
        nv_reason(res, "gpu.chain.malformed", "cert_chain.pem is not a list of PEM certificates");
    } else if (sk_X509_num(chains[0]) != NV_GPU_CHAIN_LEN) {
        nv_reason(res, "gpu.chain.length", "cert_chain.pem has %d certificates; a Hopper chain has %d",
                  sk_X509_num(chains[0]), NV_GPU_CHAIN_LEN);
    } else {
        X509 *leaf = sk_X509_value(chains[0], 0);

        res->chain_ok = nv_chain_verify(chains[0], dev_root, at, "gpu chain", "gpu.chain", res);
        /* The FWID the device reports must be the one its leaf certificate was issued for. */
        if (!gtee_nv_opaque_has(&r->opaque, GTEE_NV_OP_FWID)) {
            nv_reason(res, "gpu.fwid.missing", "the opaque data carries no FWID to bind to the leaf certificate");
        } else if (nv_leaf_fwid(leaf, fwid, &e) < 0) {
            nv_reason(res, "gpu.fwid.certificate", "%s", e.msg);
        } else if (!(res->fwid_ok = memcmp(fwid, r->opaque.fwid, GTEE_NV_DIGEST_LEN) == 0)) {
            nv_reason(res, "gpu.fwid.mismatch",
                      "the opaque FWID (offset %zu) is not the FWID of the leaf's 2.23.133.5.4.1 extension",
                      r->opaque.fwid_off);
        }
        res->signature_ok = nv_p384_verify(X509_get0_pubkey(leaf), report, r->signed_len, r->sig) == 0;
        if (!res->signature_ok)
            nv_reason(res, "gpu.signature",
                      "the ECDSA P-384 signature (offset %zu) over bytes 0..%zu does not verify under the leaf key",
                      r->signed_len, r->signed_len - 1);
    }

    res->rim_ok[GTEE_NV_RIM_DRIVER] = check_rim(GTEE_NV_RIM_DRIVER, col->driver_rim, col->driver_rim_len,
                                                r->opaque.driver_version, rim_root, at, &rims[0], &chains[1], res);
    res->rim_ok[GTEE_NV_RIM_VBIOS] = check_rim(GTEE_NV_RIM_VBIOS, col->vbios_rim, col->vbios_rim_len,
                                               r->opaque.vbios_version, rim_root, at, &rims[1], &chains[2], res);
    if (rims[0].n_entries && rims[1].n_entries) {
        const struct gtee_nv_rim *pair[2] = { &rims[0], &rims[1] };
        nv_compare(pair, r, res);
    } else {
        nv_reason(res, "gpu.measurement.unchecked", "the golden values were not compared: a RIM did not read");
    }

    res->revocation = GTEE_NV_REVOCATION_NOT_CHECKED;
    if (col->n_ocsp) {
        X509 *roots[3] = { dev_root, rim_root, rim_root };
        nv_ocsp_check(col, chains, roots, at, res);
    }
    res->verified = res->parsed && res->nonce_ok && res->chain_ok && res->fwid_ok && res->signature_ok &&
                    res->rim_ok[0] && res->rim_ok[1] && res->measurements_ok &&
                    res->revocation != GTEE_NV_REVOCATION_FAILED && res->n_reasons == 0;
    rc = res->verified ? 0 : GTEE_EPOLICY;
    if (rc < 0)
        GTEE_FAIL(err, rc, "gpu verify: rejected (%s: %s)", res->reasons[0].code, res->reasons[0].msg);
out:
    for (int i = 0; i < 3; i++)
        sk_X509_pop_free(chains[i], X509_free);
    if (rims) {
        gtee_nv_rim_free(&rims[0]);
        gtee_nv_rim_free(&rims[1]);
    }
    free(rims);
    X509_free(dev_root);
    X509_free(rim_root);
    ERR_clear_error();
    return rc;
}
