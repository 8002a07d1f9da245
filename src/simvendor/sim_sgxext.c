/* The SGX extension of the simulated PCK certificate (OID 1.2.840.113741.1.13.1), per
 * Intel's "SGX PCK Certificate and Certificate Revocation List Profile Specification",
 * section "Intel SGX PCK Certificate": a SEQUENCE of {OID, value} pairs for PPID, TCB
 * (16 component SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX Type, and, for a Platform CA
 * issued leaf, PlatformInstanceID and Configuration. Built with OpenSSL's ASN.1 types
 * (SEQUENCE OF ANY), no DER written by hand. */
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <stdint.h>
#include <stdio.h>

#include "base/guard.h"
#include "simvendor/sim_internal.h"

#define SGX_OID "1.2.840.113741.1.13.1"

/* A SEQUENCE OF ANY being built; one failure poisons it (checked once at the end). */
struct seq {
    STACK_OF(ASN1_TYPE) *items;
    int bad;
};

static void seq_push(struct seq *s, ASN1_TYPE *t)
{
    if (!t || !s->items || !sk_ASN1_TYPE_push(s->items, t)) {
        ASN1_TYPE_free(t);
        s->bad = 1;
    }
}

static ASN1_TYPE *type_of(int type, void *value)
{
    ASN1_TYPE *t = ASN1_TYPE_new();

    if (!t || !value) {
        ASN1_TYPE_free(t);
        return NULL;
    }
    ASN1_TYPE_set(t, type, value);
    return t;
}

static ASN1_TYPE *oid_type(const char *suffix)
{
    char txt[64];

    snprintf(txt, sizeof(txt), SGX_OID "%s", suffix);
    return type_of(V_ASN1_OBJECT, OBJ_txt2obj(txt, 1));
}

static ASN1_TYPE *int_type(int type, long v)
{
    ASN1_STRING *i = ASN1_STRING_type_new(type);
    int ok;

    if (!i)
        return NULL;
    ok = (type == V_ASN1_ENUMERATED) ? ASN1_ENUMERATED_set(i, v) : ASN1_INTEGER_set(i, v);
    if (!ok) {
        ASN1_STRING_free(i);
        return NULL;
    }
    return type_of(type, i);
}

static ASN1_TYPE *octets_type(const uint8_t *p, int n)
{
    ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

    if (!o || !ASN1_OCTET_STRING_set(o, p, n)) {
        ASN1_OCTET_STRING_free(o);
        return NULL;
    }
    return type_of(V_ASN1_OCTET_STRING, o);
}

static ASN1_TYPE *bool_type(int v)
{
    ASN1_TYPE *t = ASN1_TYPE_new();

    if (t)
        ASN1_TYPE_set(t, V_ASN1_BOOLEAN, v ? (void *)t : NULL);
    return t;
}

/* Encodes a finished sequence as an ANY of type SEQUENCE; frees the items. */
static ASN1_TYPE *seq_close(struct seq *s)
{
    unsigned char *der = NULL;
    int n = -1;
    ASN1_STRING *str = NULL;
    ASN1_TYPE *t = NULL;

    if (!s->bad && s->items)
        n = i2d_ASN1_SEQUENCE_ANY(s->items, &der);
    sk_ASN1_TYPE_pop_free(s->items, ASN1_TYPE_free);
    s->items = NULL;
    if (n <= 0)
        return NULL;
    str = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    if (str)
        ASN1_STRING_set0(str, der, n);
    else
        OPENSSL_free(der);
    t = type_of(V_ASN1_SEQUENCE, str);
    if (!t)
        ASN1_STRING_free(str);
    return t;
}

static struct seq seq_open(void)
{
    struct seq s = { sk_ASN1_TYPE_new_null(), 0 };

    s.bad = (s.items == NULL);
    return s;
}

/* SEQUENCE { OID SGX_OID || suffix, value } */
static ASN1_TYPE *pair(const char *suffix, ASN1_TYPE *value)
{
    struct seq s = seq_open();

    seq_push(&s, oid_type(suffix));
    seq_push(&s, value);
    return seq_close(&s);
}

static ASN1_TYPE *tcb_seq(void)
{
    struct seq s = seq_open();
    char suffix[16];

    for (int i = 0; i < 16; i++) {
        snprintf(suffix, sizeof(suffix), ".2.%d", i + 1);
        seq_push(&s, pair(suffix, int_type(V_ASN1_INTEGER, SIM_CPUSVN[i])));
    }
    seq_push(&s, pair(".2.17", int_type(V_ASN1_INTEGER, SIM_PCESVN)));
    seq_push(&s, pair(".2.18", octets_type(SIM_CPUSVN, sizeof(SIM_CPUSVN))));
    return seq_close(&s);
}

static ASN1_TYPE *configuration_seq(void)
{
    struct seq s = seq_open();

    seq_push(&s, pair(".7.1", bool_type(1))); /* dynamicPlatform */
    seq_push(&s, pair(".7.2", bool_type(1))); /* cachedKeys */
    seq_push(&s, pair(".7.3", bool_type(1))); /* SMTEnabled */
    return seq_close(&s);
}

int sim_sgxext_der(const uint8_t ppid[16], const uint8_t platform_instance_id[16], uint8_t **der,
                   int *der_len, struct gtee_err *err)
{
    struct seq s = seq_open();
    unsigned char *out = NULL;
    int n = -1;

    seq_push(&s, pair(".1", octets_type(ppid, 16)));
    seq_push(&s, pair(".2", tcb_seq()));
    seq_push(&s, pair(".3", octets_type(SIM_PCEID, sizeof(SIM_PCEID))));
    seq_push(&s, pair(".4", octets_type(SIM_FMSPC, sizeof(SIM_FMSPC))));
    seq_push(&s, pair(".5", int_type(V_ASN1_ENUMERATED, SIM_SGX_TYPE)));
    seq_push(&s, pair(".6", octets_type(platform_instance_id, 16)));
    seq_push(&s, pair(".7", configuration_seq()));
    if (!s.bad)
        n = i2d_ASN1_SEQUENCE_ANY(s.items, &out);
    sk_ASN1_TYPE_pop_free(s.items, ASN1_TYPE_free);
    if (n <= 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "sim: encoding the SGX extension failed");
    *der = out;
    *der_len = n;
    return 0;
}
