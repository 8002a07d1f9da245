/* VCEK / VLEK certificate parser: the AMD extensions that carry the TCB the key was
 * derived for, the chip's hardware ID and the product name (AMD "Versioned Chip
 * Endorsement Key (VCEK) Certificate and KDS Interface Specification", document 57230,
 * "VCEK Certificate Extensions"), decoded with OpenSSL's ASN.1 decoders. */
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "evidence/snp_internal.h"
#include "gtee/crypto.h"

_Static_assert(GTEE_SNP_VCEK_PUB_LEN == GTEE_P384_PUB_LEN, "VCEK key is a P-384 point");

#define VCEK_DER_MAX 16384 /* a VCEK is about 1.4 KB; bounds d2i's work on hostile input */

/* Which field of the result an extension fills (document 57230, Table "VCEK Certificate
 * Extensions"). */
enum ext_kind { EXT_SPL, EXT_PRODUCT, EXT_HWID };

struct amd_ext {
    const char *oid;
    const char *name;
    enum ext_kind kind;
    int tcb_byte; /* EXT_SPL: byte of TCB_VERSION it fills (Milan/Genoa layout) */
    bool required;
};

static const struct amd_ext amd_exts[] = {
    { "1.3.6.1.4.1.3704.1.2", "productName", EXT_PRODUCT, -1, false },
    { "1.3.6.1.4.1.3704.1.3.1", "blSPL", EXT_SPL, 0, true },
    { "1.3.6.1.4.1.3704.1.3.2", "teeSPL", EXT_SPL, 1, true },
    { "1.3.6.1.4.1.3704.1.3.4", "spl_4", EXT_SPL, 2, false },
    { "1.3.6.1.4.1.3704.1.3.5", "spl_5", EXT_SPL, 3, false },
    { "1.3.6.1.4.1.3704.1.3.6", "spl_6", EXT_SPL, 4, false },
    { "1.3.6.1.4.1.3704.1.3.7", "spl_7", EXT_SPL, 5, false },
    { "1.3.6.1.4.1.3704.1.3.3", "snpSPL", EXT_SPL, 6, true },
    { "1.3.6.1.4.1.3704.1.3.8", "ucodeSPL", EXT_SPL, 7, true },
    { "1.3.6.1.4.1.3704.1.4", "hwID", EXT_HWID, -1, false },
};

/* An SPL is a DER INTEGER in 0..255 filling all of the extension value. */
static int decode_spl(const ASN1_OCTET_STRING *v, const char *name, uint8_t *out,
                      struct gtee_err *err)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    long n = ASN1_STRING_length(v);
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, n);
    int64_t val = -1;
    int rc = GTEE_EFORMAT;

    ENSURE(ai && p == ASN1_STRING_get0_data(v) + n, err, GTEE_EFORMAT,
           "snp vcek: extension %s is not a DER INTEGER", name);
    ENSURE(ASN1_INTEGER_get_int64(&val, ai) == 1 && val >= 0 && val <= 255, err, GTEE_EFORMAT,
           "snp vcek: extension %s is outside 0..255", name);
    *out = (uint8_t)val;
    rc = 0;
out:
    ASN1_INTEGER_free(ai);
    return rc;
}

/* productName is an IA5String of printable characters, e.g. "Milan-B0". */
static int decode_product(const ASN1_OCTET_STRING *v, char out[GTEE_SNP_PRODUCT_NAME_MAX],
                          struct gtee_err *err)
{
    const unsigned char *p = ASN1_STRING_get0_data(v);
    long n = ASN1_STRING_length(v);
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, n);
    const unsigned char *c;
    int len, rc = GTEE_EFORMAT;

    ENSURE(s && p == ASN1_STRING_get0_data(v) + n, err, GTEE_EFORMAT,
           "snp vcek: extension productName is not a DER IA5String");
    len = ASN1_STRING_length(s);
    c = ASN1_STRING_get0_data(s);
    ENSURE(len > 0 && len < GTEE_SNP_PRODUCT_NAME_MAX, err, GTEE_EFORMAT,
           "snp vcek: extension productName has length %d", len);
    for (int i = 0; i < len; i++)
        ENSURE(c[i] >= 0x21 && c[i] <= 0x7e, err, GTEE_EFORMAT,
               "snp vcek: extension productName has a non-printable byte at %d", i);
    memcpy(out, c, (size_t)len);
    out[len] = '\0';
    rc = 0;
out:
    ASN1_IA5STRING_free(s);
    return rc;
}

static int decode_ext(const struct amd_ext *e, const ASN1_OCTET_STRING *v,
                      struct gtee_snp_vcek *out, struct gtee_err *err)
{
    uint8_t spl = 0;
    int rc = GTEE_EFORMAT;

    switch (e->kind) {
    case EXT_SPL:
        TRY(decode_spl(v, e->name, &spl, err));
        out->tcb.raw |= (uint64_t)spl << (8 * e->tcb_byte);
        break;
    case EXT_PRODUCT:
        TRY(decode_product(v, out->product_name, err));
        break;
    case EXT_HWID: /* the extension value is the raw 64-byte chip ID */
        ENSURE(ASN1_STRING_length(v) == GTEE_SNP_CHIP_ID_LEN, err, GTEE_EFORMAT,
               "snp vcek: extension hwID is %d bytes, expected %d", ASN1_STRING_length(v),
               GTEE_SNP_CHIP_ID_LEN);
        memcpy(out->hwid, ASN1_STRING_get0_data(v), GTEE_SNP_CHIP_ID_LEN);
        out->has_hwid = true;
        break;
    }
    rc = 0;
out:
    return rc;
}

static int decode_exts(const X509 *x, struct gtee_snp_vcek *out, struct gtee_err *err)
{
    bool seen[GTEE_ARRAY_LEN(amd_exts)] = { false };
    int n = X509_get_ext_count(x);
    int rc = GTEE_EFORMAT;

    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        char oid[64];
        int olen = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);

        ENSURE(olen > 0 && (size_t)olen < sizeof(oid), err, GTEE_EFORMAT,
               "snp vcek: extension %d has an unreadable OID", i);
        for (size_t k = 0; k < GTEE_ARRAY_LEN(amd_exts); k++) {
            if (strcmp(oid, amd_exts[k].oid) != 0)
                continue;
            ENSURE(!seen[k], err, GTEE_EFORMAT, "snp vcek: extension %s (%s) appears twice",
                   amd_exts[k].name, oid);
            seen[k] = true;
            TRY(decode_ext(&amd_exts[k], X509_EXTENSION_get_data(ext), out, err));
        }
    }
    for (size_t k = 0; k < GTEE_ARRAY_LEN(amd_exts); k++)
        ENSURE(seen[k] || !amd_exts[k].required, err, GTEE_EFORMAT,
               "snp vcek: extension %s (%s) is missing", amd_exts[k].name, amd_exts[k].oid);
    gtee_snp_tcb_decode(out->tcb.raw, &out->tcb);
    rc = 0;
out:
    return rc;
}

/* The CN of a name, compared as bytes; NULL-safe. */
static bool cn_equals(const X509_NAME *name, const char *want)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    const ASN1_STRING *s;

    if (idx < 0)
        return false;
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    return s && ASN1_STRING_length(s) == (int)strlen(want) &&
           memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0;
}

/* Document 57230: the VCEK is issued by "SEV-<product>", the VLEK by "SEV-VLEK-<product>". */
static enum gtee_snp_product product_of_issuer(const X509_NAME *issuer, bool vlek)
{
    if (cn_equals(issuer, vlek ? "SEV-VLEK-Milan" : "SEV-Milan"))
        return GTEE_SNP_PRODUCT_MILAN;
    if (cn_equals(issuer, vlek ? "SEV-VLEK-Genoa" : "SEV-Genoa"))
        return GTEE_SNP_PRODUCT_GENOA;
    return GTEE_SNP_PRODUCT_UNKNOWN;
}

/* The key as uncompressed SEC1 (0x04 || x || y), whatever point format the cert used. */
static int decode_key(const X509 *x, uint8_t pub[GTEE_SNP_VCEK_PUB_LEN], struct gtee_err *err)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    BIGNUM *bx = NULL, *by = NULL;
    char group[32];
    int rc = GTEE_EKEY;

    ENSURE(pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC, err, GTEE_EKEY,
           "snp vcek: subject key is not an EC key");
    ENSURE(EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) == 1 &&
           strcmp(group, "secp384r1") == 0, err, GTEE_EKEY,
           "snp vcek: subject key is not on P-384");
    ENSURE(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
           EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1, err, GTEE_EKEY,
           "snp vcek: subject key has no affine coordinates");
    pub[0] = 0x04;
    ENSURE(BN_bn2binpad(bx, pub + 1, 48) == 48 && BN_bn2binpad(by, pub + 49, 48) == 48, err,
           GTEE_EKEY, "snp vcek: subject key coordinates exceed 48 bytes");
    rc = 0;
out:
    BN_free(bx);
    BN_free(by);
    return rc;
}

static int decode_time(const ASN1_TIME *t, time_t *out, const char *which, struct gtee_err *err)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return GTEE_FAIL(err, GTEE_EFORMAT, "snp vcek: %s is not a valid time", which);
    *out = timegm(&tm);
    return 0;
}

int snp_vcek_from_x509(const X509 *x, struct gtee_snp_vcek *out, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;

    memset(out, 0, sizeof(*out));
    if (cn_equals(X509_get_subject_name(x), "SEV-VLEK"))
        out->is_vlek = true;
    else
        ENSURE(cn_equals(X509_get_subject_name(x), "SEV-VCEK"), err, GTEE_EFORMAT,
               "snp vcek: subject CN is neither SEV-VCEK nor SEV-VLEK");
    out->product = product_of_issuer(X509_get_issuer_name(x), out->is_vlek);
    TRY(decode_exts(x, out, err));
    ENSURE(out->is_vlek || out->has_hwid, err, GTEE_EFORMAT,
           "snp vcek: extension hwID (1.3.6.1.4.1.3704.1.4) is missing from a VCEK");
    TRY(decode_key(x, out->pub, err));
    TRY(decode_time(X509_get0_notBefore(x), &out->not_before, "notBefore", err));
    TRY(decode_time(X509_get0_notAfter(x), &out->not_after, "notAfter", err));
    rc = 0;
out:
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int snp_x509_from_der(const uint8_t *der, size_t len, X509 **out, struct gtee_err *err)
{
    const unsigned char *p = der;

    *out = NULL;
    if (!der || len == 0 || len > VCEK_DER_MAX)
        return GTEE_FAIL(err, GTEE_EFORMAT, "snp vcek: certificate length %zu out of range", len);
    *out = d2i_X509(NULL, &p, (long)len);
    if (!*out || p != der + len) {
        X509_free(*out);
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EFORMAT, "snp vcek: not one DER certificate of %zu bytes", len);
    }
    return 0;
}

int gtee_snp_vcek_parse(const uint8_t *der, size_t len, struct gtee_snp_vcek *out,
                        struct gtee_err *err)
{
    X509 *x = NULL;
    int rc = GTEE_EINVAL;

    ENSURE(out, err, GTEE_EINVAL, "snp vcek: no output");
    memset(out, 0, sizeof(*out));
    TRY(snp_x509_from_der(der, len, &x, err));
    TRY(snp_vcek_from_x509(x, out, err));
out:
    X509_free(x);
    ERR_clear_error(); /* failures are reported through err, not OpenSSL's queue */
    return rc;
}
