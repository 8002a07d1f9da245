/* The Intel SGX extensions of a PCK certificate (Intel "SGX PCK Certificate and CRL
 * Profile", section 1.5): OID 1.2.840.113741.1.13.1, a SEQUENCE of (OID, value) pairs giving
 * PPID, TCB (16 component SVNs, PCESVN, CPUSVN), PCE-ID and FMSPC. Decoded with OpenSSL's
 * ASN.1 decoders. */
#include <stdint.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "base/guard.h"
#include "evidence/dcap.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

enum { GOT_PPID = 1, GOT_TCB = 2, GOT_PCEID = 4, GOT_FMSPC = 8, GOT_PCESVN = 16, GOT_CPUSVN = 32 };

/* Content octets of the SGX extensions OID 1.2.840.113741.1.13.1 (X.690 8.19). */
static const uint8_t sgx_oid_der[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

/* The one or two arcs after the SGX extensions OID, or -1: "1.2.840.113741.1.13.1.2.17" ->
 * (2, 17), *second -1 when there is one. Read from the OID's content octets (base-128 arcs,
 * X.690 8.19.2) rather than from its dotted text: this runs for every element of the
 * extension of every new PCK certificate. Any other OID, or more than two arcs: -1. */
static int sub_arc(const ASN1_OBJECT *o, int *second)
{
    const unsigned char *d = OBJ_get0_data(o);
    size_t n = OBJ_length(o), i = sizeof(sgx_oid_der);
    int arcs[2] = { -1, -1 }, k = 0;

    if (!d || n <= sizeof(sgx_oid_der) || memcmp(d, sgx_oid_der, sizeof(sgx_oid_der)) != 0)
        return -1;
    while (i < n) {
        uint32_t v = 0;
        uint8_t byte;

        if (k == 2)
            return -1;
        do {
            if (i >= n || v > 0xffffu)
                return -1; /* truncated, or far beyond any SGX arc */
            byte = d[i++];
            v = v << 7 | (byte & 0x7f);
        } while (byte & 0x80);
        arcs[k++] = (int)v;
    }
    *second = arcs[1];
    return arcs[0];
}

/* A SEQUENCE element holding (OID, value): returns the decoded pair (free with sk pop_free). */
static STACK_OF(ASN1_TYPE) *pair_of(const ASN1_TYPE *t)
{
    const unsigned char *q;
    STACK_OF(ASN1_TYPE) *pair;

    if (!t || t->type != V_ASN1_SEQUENCE)
        return NULL;
    q = t->value.sequence->data;
    pair = d2i_ASN1_SEQUENCE_ANY(NULL, &q, t->value.sequence->length);
    if (pair && (sk_ASN1_TYPE_num(pair) != 2 || sk_ASN1_TYPE_value(pair, 0)->type != V_ASN1_OBJECT)) {
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        return NULL;
    }
    return pair;
}

static bool octets(const ASN1_TYPE *v, uint8_t *out, size_t n)
{
    if (v->type != V_ASN1_OCTET_STRING || (size_t)v->value.octet_string->length != n)
        return false;
    memcpy(out, v->value.octet_string->data, n);
    return true;
}

static bool small_int(const ASN1_TYPE *v, int64_t max, int64_t *out)
{
    int64_t x;

    if (v->type != V_ASN1_INTEGER || ASN1_INTEGER_get_int64(&x, v->value.integer) != 1 || x < 0 ||
        x > max)
        return false;
    *out = x;
    return true;
}

/* The TCB SEQUENCE: components 1..16 (INTEGER 0..255), 17 PCESVN (0..65535), 18 CPUSVN. */
static int parse_tcb(const ASN1_TYPE *t, struct pck_ext *ext, unsigned *got, struct gtee_err *err)
{
    STACK_OF(ASN1_TYPE) *seq = NULL;
    const unsigned char *q;
    unsigned comps = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(t->type == V_ASN1_SEQUENCE, err, GTEE_EFORMAT, "pck: SGX TCB extension is not a SEQUENCE");
    q = t->value.sequence->data;
    seq = d2i_ASN1_SEQUENCE_ANY(NULL, &q, t->value.sequence->length);
    ENSURE(seq != NULL, err, GTEE_EFORMAT, "pck: SGX TCB extension undecodable");
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        STACK_OF(ASN1_TYPE) *pair = pair_of(sk_ASN1_TYPE_value(seq, i));
        const ASN1_TYPE *val;
        int arc2 = -1, arc = -1;
        int64_t x = 0;
        bool ok = false;

        if (pair) {
            arc = sub_arc(sk_ASN1_TYPE_value(pair, 0)->value.object, &arc2);
            val = sk_ASN1_TYPE_value(pair, 1);
            if (arc == 2 && arc2 >= 1 && arc2 <= 16 && small_int(val, 255, &x)) {
                ext->comp_svn[arc2 - 1] = (uint8_t)x;
                comps |= 1u << (arc2 - 1);
                ok = true;
            } else if (arc == 2 && arc2 == 17 && small_int(val, 65535, &x)) {
                ext->pce_svn = (uint16_t)x;
                *got |= GOT_PCESVN;
                ok = true;
            } else if (arc == 2 && arc2 == 18 && octets(val, ext->cpu_svn, 16)) {
                *got |= GOT_CPUSVN;
                ok = true;
            }
            sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        }
        ENSURE(ok, err, GTEE_EFORMAT, "pck: SGX TCB extension element %d malformed", i);
    }
    ENSURE(comps == 0xffffu, err, GTEE_EFORMAT, "pck: SGX TCB extension lacks component SVNs");
    *got |= GOT_TCB;
    rc = 0;
out:
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

int dcap_pck_ext_parse(X509 *pck, struct pck_ext *ext, struct gtee_err *err)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID, 1);
    STACK_OF(ASN1_TYPE) *seq = NULL;
    const ASN1_OCTET_STRING *data;
    const unsigned char *q;
    unsigned got = 0;
    int idx, rc = GTEE_EFORMAT;

    memset(ext, 0, sizeof(*ext));
    ENSURE(oid != NULL, err, GTEE_ECRYPTO, "pck: cannot make the SGX extensions OID");
    idx = X509_get_ext_by_OBJ(pck, oid, -1);
    ENSURE(idx >= 0, err, GTEE_EFORMAT, "pck: leaf certificate has no SGX extensions (OID %s)", SGX_EXT_OID);
    ENSURE(X509_get_ext_by_OBJ(pck, oid, idx) < 0, err, GTEE_EFORMAT, "pck: SGX extensions appear twice");
    data = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
    q = data->data;
    seq = d2i_ASN1_SEQUENCE_ANY(NULL, &q, data->length);
    ENSURE(seq != NULL && q == data->data + data->length, err, GTEE_EFORMAT,
           "pck: SGX extensions are not one DER SEQUENCE");
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        STACK_OF(ASN1_TYPE) *pair = pair_of(sk_ASN1_TYPE_value(seq, i));
        int arc2 = -1, arc;
        const ASN1_TYPE *val;

        ENSURE(pair != NULL, err, GTEE_EFORMAT, "pck: SGX extensions element %d is not (OID, value)", i);
        arc = sub_arc(sk_ASN1_TYPE_value(pair, 0)->value.object, &arc2);
        val = sk_ASN1_TYPE_value(pair, 1);
        if (arc == 2 && arc2 == -1) {
            rc = parse_tcb(val, ext, &got, err);
            sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
            if (rc < 0)
                goto out;
            continue;
        }
        bool ok = arc2 == -1 && (arc == 1   ? octets(val, ext->ppid, 16) && (got |= GOT_PPID)
                                 : arc == 3 ? octets(val, ext->pce_id, 2) && (got |= GOT_PCEID)
                                 : arc == 4 ? octets(val, ext->fmspc, 6) && (got |= GOT_FMSPC)
                                            : arc > 0); /* other SGX elements (type, platform): not used */
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        ENSURE(ok, err, GTEE_EFORMAT, "pck: SGX extensions element %d malformed", i);
    }
    rc = GTEE_EFORMAT;
    ENSURE((got & (GOT_TCB | GOT_PCESVN | GOT_CPUSVN | GOT_FMSPC | GOT_PCEID)) ==
               (GOT_TCB | GOT_PCESVN | GOT_CPUSVN | GOT_FMSPC | GOT_PCEID),
           err, GTEE_EFORMAT, "pck: SGX extensions lack TCB, PCE-ID or FMSPC");
    rc = 0;
out:
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    ASN1_OBJECT_free(oid);
    return rc;
}
