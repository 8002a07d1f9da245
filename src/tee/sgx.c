/* SGX under Gramine: evidence and sealing keys through Gramine's /dev/attestation pseudo-files
 * (Gramine docs, "Attestation and Secret Provisioning": attestation_type, user_report_data,
 * quote, keys/_sgx_mrenclave, keys/_sgx_mrsigner). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

#define ATT_TYPE "dev/attestation/attestation_type"
#define USER_REPORT_DATA "dev/attestation/user_report_data"
#define QUOTE "dev/attestation/quote"
#define KEY_MRENCLAVE "dev/attestation/keys/_sgx_mrenclave"
#define KEY_MRSIGNER "dev/attestation/keys/_sgx_mrsigner"

#define SGX_KEY_LEN 16           /* EGETKEY returns a 128-bit key */
#define QUOTE_HEADER_LEN 48      /* Intel DCAP quote v3: header, then the 384-byte report body */
#define REPORT_MRENCLAVE_OFF 64  /* cpu_svn 16, misc_select 4, reserved 28, attributes 16 */

static int sgx_detect(const char *root, const struct gtee_tee_options *opt)
{
    char p[PATH_MAX];

    return tee_path(p, sizeof(p), root, ATT_TYPE, NULL) == 0 && tee_file_exists(p);
}

static int sgx_open(struct gtee_tee *t, struct gtee_err *err)
{
    char p[PATH_MAX], type[32];
    int rc;

    TRY(tee_path(p, sizeof(p), t->root, ATT_TYPE, err));
    rc = tee_read_text(p, type, sizeof(type), err);
    if (rc == GTEE_ENOTFOUND)
        return GTEE_FAIL(err, rc, "tee sgx: %s not found: not running under Gramine with SGX "
                         "(set sgx.remote_attestation = \"dcap\" in the manifest)", p);
    TRY(rc);
    /* Only DCAP quotes are verifiable by our verifier; "epid" is retired, "none" means the
     * manifest did not enable remote attestation. */
    ENSURE(strcmp(type, "dcap") == 0, err, GTEE_EUNSUPPORTED,
           "tee sgx: attestation_type is '%s', expected 'dcap' (set sgx.remote_attestation = \"dcap\")", type);
out:
    return rc;
}

static int sgx_evidence(struct gtee_tee *t, const uint8_t rd[GTEE_REPORT_DATA_LEN], uint8_t **ev,
                        size_t *ev_len, struct gtee_err *err)
{
    char p[PATH_MAX];
    int rc;

    /* Gramine builds the quote when `quote` is read, over the last user_report_data written. */
    TRY(tee_path(p, sizeof(p), t->root, USER_REPORT_DATA, err));
    TRY(tee_write_file(p, rd, GTEE_REPORT_DATA_LEN, err));
    TRY(tee_path(p, sizeof(p), t->root, QUOTE, err));
    TRY(tee_read_file(p, GTEE_EVIDENCE_MAX, ev, ev_len, err));
    ENSURE(*ev_len >= QUOTE_HEADER_LEN + 384, err, GTEE_EFORMAT,
           "tee sgx: quote is %zu bytes, shorter than a header and report body", *ev_len);
out:
    if (rc < 0) {
        free(*ev);
        *ev = NULL;
        *ev_len = 0;
    }
    return rc;
}

/* Gramine hands out the raw 128-bit EGETKEY seal key. Our AEAD keys are 256 bits and the
 * same hardware key serves several uses, so HKDF-SHA256 expands it with an info string per
 * policy: the result keeps the key's 128-bit strength, is bound to the policy, and a key
 * derived for one purpose reveals nothing about another. */
static int sgx_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                           struct gtee_err *err)
{
    static const char info_enclave[] = "gtee sgx seal key v1: mrenclave";
    static const char info_signer[] = "gtee sgx seal key v1: mrsigner";
    const char *info = policy == GTEE_SEAL_MRENCLAVE ? info_enclave : info_signer;
    char p[PATH_MAX];
    uint8_t *raw = NULL;
    size_t n = 0;
    int rc;

    TRY(tee_path(p, sizeof(p), t->root, policy == GTEE_SEAL_MRENCLAVE ? KEY_MRENCLAVE : KEY_MRSIGNER, err));
    TRY(tee_read_file(p, SGX_KEY_LEN, &raw, &n, err));
    ENSURE(n == SGX_KEY_LEN, err, GTEE_EFORMAT, "tee sgx: %s holds %zu bytes, expected %d", p, n, SGX_KEY_LEN);
    ENSURE(gtee_hkdf_sha256(key, GTEE_SEAL_KEY_LEN, raw, n, NULL, 0, (const uint8_t *)info, strlen(info)) == 0,
           err, GTEE_ECRYPTO, "tee sgx: sealing key derivation failed");
out:
    if (raw)
        gtee_wipe(raw, n);
    free(raw);
    return rc;
}

/* MRENCLAVE as the hardware reports it: from the report body of a quote over zero data. */
static int sgx_measurement(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len,
                           struct gtee_err *err)
{
    static const uint8_t zero[GTEE_REPORT_DATA_LEN];
    uint8_t *q = NULL;
    size_t qlen = 0;
    struct span s;
    int rc;

    TRY(sgx_evidence(t, zero, &q, &qlen, err));
    s = span_init(q, qlen);
    ENSURE(span_u16le(&s) == 3, err, GTEE_EFORMAT, "tee sgx: quote version is not 3 (offset 0)");
    span_take(&s, QUOTE_HEADER_LEN - 2 + REPORT_MRENCLAVE_OFF);
    ENSURE(span_copy(&s, m, 32), err, GTEE_EFORMAT, "tee sgx: quote too short for MRENCLAVE (offset 112)");
    *m_len = 32;
out:
    free(q);
    return rc;
}

const struct gtee_tee_ops gtee_tee_sgx_ops = {
    .name = "sgx",
    .kind = GTEE_TEE_KIND_SGX,
    .detect = sgx_detect,
    .open = sgx_open,
    .close = NULL,
    .get_evidence = sgx_evidence,
    .sealing_key = sgx_sealing_key,
    .measurement = sgx_measurement,
};
