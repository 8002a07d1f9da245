/* A small test PKI built with OpenSSL, standing in for the simulated TEE: a root whose subject
 * says it is simulated, a PCK CA, a PCK leaf carrying the SGX extensions, a TCB signing
 * certificate, CRLs, an SGX v3 quote signed through the chain, and TCB info / QE identity
 * signed by the TCB signing key, written in the sample directory layout. Options make
 * revoked, expired, debug and mismatching variants. */
#ifndef GTEE_TESTS_SIM_PKI_H
#define GTEE_TESTS_SIM_PKI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/span.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"

#define SIM_T0 1750000000LL /* 2025-06-15T15:06:40Z */
#define SIM_DAY 86400LL

struct sim_opts {
    bool debug;              /* SGX ATTRIBUTES.DEBUG in the enclave report */
    bool revoke_leaf;        /* the PCK CRL lists the PCK leaf */
    bool revoke_tcb_signer;  /* the root CRL lists the TCB signing certificate */
    bool revoke_ca;          /* the root CRL lists the PCK CA */
    bool leaf_expired;       /* the PCK leaf's notAfter is before the verification time */
    bool qe_wrong_mrsigner;  /* the QE identity names another MRSIGNER */
    bool wrong_fmspc;        /* the TCB info is for another FMSPC */
    const char *tcb_status;  /* status of the matching TCB level; default "UpToDate" */
    bool tdx;                /* a TDX quote v4 (and TDX collateral) instead of SGX v3 */
    bool module_wrong_mrsigner; /* TDX: the module identity names another MRSIGNERSEAM */
    bool tdx_v5;             /* with tdx: quote version 5 (body descriptor, TD 1.0 body) */
    bool crl_wrong_signer;   /* the PCK CRL names the PCK CA but is signed by the root key */
    int tcb_eval, qe_eval;   /* tcbEvaluationDataNumber of the TCB info, of the QE identity:
                              * 0 gives 17, a negative value leaves the field out */
};

/* ,"tcbEvaluationDataNumber":N as o asks (empty when left out). */
static inline const char *sim_eval_field(char *buf, size_t n, int eval)
{
    if (eval < 0)
        buf[0] = '\0';
    else
        snprintf(buf, n, ",\"tcbEvaluationDataNumber\":%d", eval ? eval : 17);
    return buf;
}

struct sim_world {
    EVP_PKEY *root_key, *ca_key, *leaf_key, *tcb_key, *att_key;
    X509 *root, *ca, *leaf, *tcb;
    uint8_t *quote;
    size_t quote_len;
    uint8_t *root_der;
    size_t root_der_len;
    char dir[64];
    int64_t at;
};

static inline EVP_PKEY *sim_key(void)
{
    return EVP_EC_gen("P-256");
}

/* ---- a few DER writers for the SGX extension (test data only) ---- */
struct der {
    uint8_t b[1024];
    size_t n;
};

static inline void der_put(struct der *d, uint8_t tag, const uint8_t *p, size_t len)
{
    d->b[d->n++] = tag;
    if (len < 128) {
        d->b[d->n++] = (uint8_t)len;
    } else {
        d->b[d->n++] = 0x82;
        d->b[d->n++] = (uint8_t)(len >> 8);
        d->b[d->n++] = (uint8_t)len;
    }
    memcpy(d->b + d->n, p, len);
    d->n += len;
}

/* OID 1.2.840.113741.1.13.1[.a[.b]] */
static inline void der_sgx_oid(struct der *d, int a, int b)
{
    uint8_t o[16] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
    size_t n = 9;

    if (a > 0)
        o[n++] = (uint8_t)a;
    if (b > 0)
        o[n++] = (uint8_t)b;
    der_put(d, 0x06, o, n);
}

static inline void der_pair(struct der *out, int a, int b, uint8_t tag, const uint8_t *v, size_t len)
{
    struct der p = { .n = 0 };

    der_sgx_oid(&p, a, b);
    der_put(&p, tag, v, len);
    der_put(out, 0x30, p.b, p.n);
}

/* The SGX extension: PPID, TCB (16 components 2, PCESVN 11, CPUSVN), PCE-ID 0000, FMSPC. */
static inline void sim_sgx_ext(struct der *ext, const uint8_t fmspc[6])
{
    struct der seq = { .n = 0 }, tcb = { .n = 0 }, tcbpair = { .n = 0 };
    uint8_t ppid[16] = { 1 }, cpusvn[16], two = 2, pcesvn = 11, pceid[2] = { 0, 0 };

    memset(cpusvn, 2, sizeof(cpusvn));
    der_pair(&seq, 1, 0, 0x04, ppid, 16);
    for (int i = 1; i <= 16; i++)
        der_pair(&tcb, 2, i, 0x02, &two, 1);
    der_pair(&tcb, 2, 17, 0x02, &pcesvn, 1);
    der_pair(&tcb, 2, 18, 0x04, cpusvn, 16);
    der_sgx_oid(&tcbpair, 2, 0);
    der_put(&tcbpair, 0x30, tcb.b, tcb.n);
    der_put(&seq, 0x30, tcbpair.b, tcbpair.n);
    der_pair(&seq, 3, 0, 0x04, pceid, 2);
    der_pair(&seq, 4, 0, 0x04, fmspc, 6);
    ext->n = 0;
    der_put(ext, 0x30, seq.b, seq.n);
}

static inline void sim_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e || !X509_add_ext(x, e, -1))
        abort();
    X509_EXTENSION_free(e);
}

static inline X509 *sim_cert(EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn, bool ca,
                             long serial, int64_t nb, int64_t na, const struct der *sgx)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Glacier TEE Node test PKI", -1,
                               -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509_set_pubkey(x, key);
    sim_add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    sim_add_ext(x, issuer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    sim_add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (sgx) {
        ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e;

        ASN1_OCTET_STRING_set(os, sgx->b, (int)sgx->n);
        e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(obj);
    }
    if (!X509_sign(x, issuer_key, EVP_sha256()))
        abort();
    return x;
}

static inline void sim_write_crl(const char *path, X509 *issuer, EVP_PKEY *key, X509 *revoked, X509 *revoked2)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    FILE *f;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME_set(t, (time_t)SIM_T0);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, (time_t)(SIM_T0 + 30 * SIM_DAY));
    X509_CRL_set1_nextUpdate(crl, t);
    for (int i = 0; i < 2; i++) {
        X509 *x = i ? revoked2 : revoked;
        X509_REVOKED *r;
        ASN1_TIME *rt;

        if (!x)
            continue;
        r = X509_REVOKED_new();
        rt = ASN1_TIME_new();
        ASN1_TIME_set(rt, (time_t)SIM_T0);
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(x));
        X509_REVOKED_set_revocationDate(r, rt);
        X509_CRL_add0_revoked(crl, r);
        ASN1_TIME_free(rt);
    }
    X509_CRL_sort(crl);
    if (!X509_CRL_sign(crl, key, EVP_sha256()))
        abort();
    f = fopen(path, "wb");
    i2d_X509_CRL_fp(f, crl);
    fclose(f);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
}

/* ECDSA P-256/SHA-256 with a raw r||s signature, as DCAP quotes carry them. */
static inline void sim_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    const unsigned char *q = der;
    size_t dlen = sizeof(der);
    ECDSA_SIG *s;

    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &dlen, msg, len) != 1)
        abort();
    s = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
}

static inline void sim_pub_xy(EVP_PKEY *key, uint8_t xy[64])
{
    uint8_t pub[65];
    size_t n = 0;

    if (EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pub, sizeof(pub), &n) != 1 || n != 65)
        abort();
    memcpy(xy, pub + 1, 64);
}

static inline void sim_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Writes {"<key>":<body>,"signature":"<hex>"} signed by the TCB signing key. */
static inline void sim_signed_json(struct sim_world *w, const char *name, const char *key, const char *body)
{
    uint8_t sig[64];
    char hex[129], *doc;
    size_t n = strlen(body) + strlen(key) + 200;

    sim_sign(w->tcb_key, (const uint8_t *)body, strlen(body), sig);
    gtee_hex_encode(sig, 64, hex);
    doc = malloc(n);
    snprintf(doc, n, "{\"%s\":%s,\"signature\":\"%s\"}", key, body, hex);
    sim_write(w->dir, name, doc, strlen(doc));
    free(doc);
}

static inline void sim_pem_chain(struct sim_world *w, const char *name, X509 *a, X509 *b, X509 *c)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", w->dir, name);
    f = fopen(path, "wb");
    PEM_write_X509(f, a);
    PEM_write_X509(f, b);
    if (c)
        PEM_write_X509(f, c);
    fclose(f);
}

#define SIM_QE_MRSIGNER "8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF"

static inline void sim_collateral(struct sim_world *w, const struct sim_opts *o)
{
    char tcb[2048], qe[1024], comps[512] = "", te[48], qe_e[48];
    const char *st = o->tcb_status ? o->tcb_status : "UpToDate";

    sim_eval_field(te, sizeof(te), o->tcb_eval);
    sim_eval_field(qe_e, sizeof(qe_e), o->qe_eval);

    for (int i = 0; i < 16; i++)
        snprintf(comps + strlen(comps), sizeof(comps) - strlen(comps), "%s{\"svn\":2}", i ? "," : "");
    if (o->tdx) {
        char tdx[512] = "";
        const char *zeros96 = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

        for (int i = 0; i < 16; i++)
            snprintf(tdx + strlen(tdx), sizeof(tdx) - strlen(tdx), "%s{\"svn\":%d}", i ? "," : "",
                     i == 0 ? 5 : i == 2 ? 2 : 0);
        snprintf(tcb, sizeof(tcb),
                 "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-06-15T15:06:40Z\",\"nextUpdate\":"
                 "\"2025-07-15T15:06:40Z\",\"fmspc\":\"00A067110000\",\"pceId\":\"0000\",\"tcbType\":0"
                 "%s,\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":"
                 "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},\"tdxModuleIdentities\":[{\"id\":"
                 "\"TDX_01\",\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\",\"attributesMask\":"
                 "\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2024-03-13T00:00:00Z\","
                 "\"tcbStatus\":\"UpToDate\"}]}],\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[%s],\"pcesvn\":11,"
                 "\"tdxtcbcomponents\":[%s]},\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"%s\"}]}",
                 te, zeros96, o->module_wrong_mrsigner ? "01" "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" : zeros96,
                 comps, tdx, st);
    } else {
    snprintf(tcb, sizeof(tcb),
             "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2025-06-15T15:06:40Z\",\"nextUpdate\":"
             "\"2025-07-15T15:06:40Z\",\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0"
             "%s,\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[%s],\"pcesvn\":11},"
             "\"tcbDate\":\"2025-01-01T00:00:00Z\",\"tcbStatus\":\"%s\",\"advisoryIDs\":[\"INTEL-SA-99999\"]}]}",
             o->wrong_fmspc ? "0A0B0C0D0E0F" : "00A067110000", te, comps, st);
    }
    sim_signed_json(w, "tcb_info.json", "tcbInfo", tcb);
    snprintf(qe, sizeof(qe),
             "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"2025-06-15T15:06:40Z\",\"nextUpdate\":"
             "\"2025-07-15T15:06:40Z\"%s,\"miscselect\":\"00000000\","
             "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
             "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\",\"isvprodid\":%d,"
             "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":"
             "\"UpToDate\"}]}",
             o->tdx ? "TD_QE" : "QE", qe_e,
             o->qe_wrong_mrsigner ? "004F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF" : SIM_QE_MRSIGNER,
             o->tdx ? 2 : 1);
    sim_signed_json(w, "qe_identity.json", "enclaveIdentity", qe);
    sim_pem_chain(w, "tcb_info_issuer_chain.pem", w->tcb, w->root, NULL);
    sim_pem_chain(w, "qe_identity_issuer_chain.pem", w->tcb, w->root, NULL);
    sim_pem_chain(w, "pck_crl_issuer_chain.pem", w->ca, w->root, NULL);
}

/* SGX quote v3 (SGX ECDSA Quote Library API A.4) or TDX quote v4 (TDX DCAP Quoting Library
 * API A.3) signed through the test chain. */
static inline void sim_quote(struct sim_world *w, const struct sim_opts *o)
{
    uint8_t q[8192], att[64], h[32], buf[64 + 32];
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long pem_len;
    size_t n = 0, sig_start, body_len = o->tdx ? 584 : 384, cd6 = 0;
    uint8_t *body, *qe;

    memset(q, 0, sizeof(q));
    put_u16le(q, o->tdx ? (o->tdx_v5 ? 5 : 4) : 3);
    put_u16le(q + 2, 2);
    if (o->tdx)
        put_u32le(q + 4, 0x81);
    put_u16le(q + 8, 8);  /* QE SVN */
    put_u16le(q + 10, 11); /* PCE SVN */
    memcpy(q + 12, "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07", 16);
    body = q + 48;
    if (o->tdx_v5) {                      /* TDX quote v5: body descriptor, type 2 (TD 1.0) */
        put_u16le(q + 48, 2);
        put_u32le(q + 50, 584);
        body += 6;
    }
    if (o->tdx) {
        body[0] = 6;                      /* TEE_TCB_SVN: module SVN 6, major version 1, ... */
        body[1] = 1;
        body[2] = 3;
        memset(body + 16, 0x5e, 48);      /* MRSEAM */
        body[120] = o->debug ? 0x01 : 0;  /* TDATTRIBUTES.DEBUG */
        body[123] = 0x10;                 /* SEPT_VE_DISABLE */
        memset(body + 136, 0x7d, 48);     /* MRTD */
        for (int i = 0; i < 4; i++)
            memset(body + 328 + 48 * i, 0xa0 + i, 48);
        memcpy(body + 520, "simulated report data", 21);
    } else {
        memset(body, 2, 16);              /* CPUSVN */
        body[48] = o->debug ? 0x07 : 0x05; /* ATTRIBUTES: INIT | MODE64BIT (| DEBUG) */
        memset(body + 64, 0xe1, 32);      /* MRENCLAVE */
        memset(body + 128, 0x51, 32);     /* MRSIGNER */
        put_u16le(body + 256, 3);         /* ISVPRODID */
        put_u16le(body + 258, 4);         /* ISVSVN */
        memcpy(body + 320, "simulated report data", 21);
    }
    n = (size_t)(body - q) + body_len + 4;
    sig_start = n;
    sim_pub_xy(w->att_key, att);
    sim_sign(w->att_key, q, n - 4, q + n);
    n += 64;
    memcpy(q + n, att, 64);
    n += 64;
    if (o->tdx) {
        cd6 = n;                          /* certification data type 6, size filled below */
        n += 6;
    }
    qe = q + n;                           /* the QE's report */
    qe[48] = 0x11;                        /* ATTRIBUTES as the QE identity expects */
    if (gtee_hex_decode(SIM_QE_MRSIGNER, qe + 128, 32) != 0)
        abort();
    put_u16le(qe + 256, o->tdx ? 2 : 1);
    put_u16le(qe + 258, 8);
    memcpy(buf, att, 64);
    memset(buf + 64, 0xa5, 32);           /* QE authentication data */
    if (gtee_sha256(buf, sizeof(buf), h) != 0)
        abort();
    memcpy(qe + 320, h, 32);
    n += 384;
    sim_sign(w->leaf_key, qe, 384, q + n);
    n += 64;
    put_u16le(q + n, 32);
    memset(q + n + 2, 0xa5, 32);
    n += 34;
    PEM_write_bio_X509(bio, w->leaf);
    PEM_write_bio_X509(bio, w->ca);
    PEM_write_bio_X509(bio, w->root);
    pem_len = BIO_get_mem_data(bio, &pem);
    put_u16le(q + n, 5);
    put_u32le(q + n + 2, (uint32_t)pem_len);
    n += 6;
    memcpy(q + n, pem, (size_t)pem_len);
    n += (size_t)pem_len;
    if (o->tdx) {
        put_u16le(q + cd6, 6);
        put_u32le(q + cd6 + 2, (uint32_t)(n - cd6 - 6));
    }
    put_u32le(q + sig_start - 4, (uint32_t)(n - sig_start));
    BIO_free(bio);
    w->quote = malloc(n);
    memcpy(w->quote, q, n);
    w->quote_len = n;
}

static inline void sim_world_make(struct sim_world *w, const struct sim_opts *o)
{
    struct der ext;
    static const uint8_t fmspc[6] = { 0x00, 0xa0, 0x67, 0x11, 0x00, 0x00 };
    unsigned char *der = NULL;
    int len;
    char path[128];

    memset(w, 0, sizeof(*w));
    w->at = SIM_T0 + 10 * SIM_DAY;
    w->root_key = sim_key();
    w->ca_key = sim_key();
    w->leaf_key = sim_key();
    w->tcb_key = sim_key();
    w->att_key = sim_key();
    w->root = sim_cert(w->root_key, w->root_key, NULL, "Glacier Simulated TEE Root CA (SIMULATED, NOT SECURE)",
                       true, 1, SIM_T0 - 365 * SIM_DAY, SIM_T0 + 3650 * SIM_DAY, NULL);
    w->ca = sim_cert(w->ca_key, w->root_key, w->root, "Simulated PCK Platform CA", true, 2, SIM_T0 - 365 * SIM_DAY,
                     SIM_T0 + 3650 * SIM_DAY, NULL);
    sim_sgx_ext(&ext, fmspc);
    w->leaf = sim_cert(w->leaf_key, w->ca_key, w->ca, "Simulated PCK Certificate", false, 3,
                       SIM_T0 - 365 * SIM_DAY, o->leaf_expired ? SIM_T0 + 5 * SIM_DAY : SIM_T0 + 365 * SIM_DAY, &ext);
    w->tcb = sim_cert(w->tcb_key, w->root_key, w->root, "Simulated TCB Signing", false, 4, SIM_T0 - 365 * SIM_DAY,
                      SIM_T0 + 3650 * SIM_DAY, NULL);
    len = i2d_X509(w->root, &der);
    w->root_der = der;
    w->root_der_len = (size_t)len;
    snprintf(w->dir, sizeof(w->dir), "/tmp/gtee-sim-pki-XXXXXX");
    if (!mkdtemp(w->dir))
        abort();
    sim_collateral(w, o);
    snprintf(path, sizeof(path), "%s/pck_crl.der", w->dir);
    sim_write_crl(path, w->ca, o->crl_wrong_signer ? w->root_key : w->ca_key, o->revoke_leaf ? w->leaf : NULL, NULL);
    snprintf(path, sizeof(path), "%s/root_ca_crl.der", w->dir);
    sim_write_crl(path, w->root, w->root_key, o->revoke_tcb_signer ? w->tcb : NULL, o->revoke_ca ? w->ca : NULL);
    sim_write(w->dir, "sim_root_ca.der", w->root_der, w->root_der_len);
    sim_quote(w, o);
}

static inline void sim_world_free(struct sim_world *w)
{
    static const char *const names[] = { "tcb_info.json", "qe_identity.json", "tcb_info_issuer_chain.pem",
                                         "qe_identity_issuer_chain.pem", "pck_crl_issuer_chain.pem", "pck_crl.der",
                                         "root_ca_crl.der", "sim_root_ca.der" };
    char path[256];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", w->dir, names[i]);
        unlink(path);
    }
    rmdir(w->dir);
    EVP_PKEY_free(w->root_key);
    EVP_PKEY_free(w->ca_key);
    EVP_PKEY_free(w->leaf_key);
    EVP_PKEY_free(w->tcb_key);
    EVP_PKEY_free(w->att_key);
    X509_free(w->root);
    X509_free(w->ca);
    X509_free(w->leaf);
    X509_free(w->tcb);
    OPENSSL_free(w->root_der);
    free(w->quote);
}

#endif
