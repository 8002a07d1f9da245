/* NVIDIA reference integrity manifests (RIMs): signed SWID tags (ISO/IEC 19770-2:2015 with
 * the TCG RIM information model) read strictly with libxml2: no DTD, no entities, no network;
 * one SoftwareIdentity root, its Meta version, every Payload Resource (index, active flag,
 * alternatives and their SHA-384 values) and the certificates of the signature's KeyInfo.
 * The signature itself is checked by nv_rimsig.c. docs/evidence-nvidia.md, "RIMs". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "evidence/nv_rim.h"

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define NS_SHA384 "http://www.w3.org/2001/04/xmlenc#sha384"
#define RIM_MAX (4 * 1024 * 1024) /* NVIDIA's RIMs are about 40 KB */
#define CERT_B64_MAX 16384

static bool is(const xmlNode *n, const char *name, const char *ns)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 && n->ns &&
           n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

/* The one child element of p named name in ns; *count gets how many there are. */
static xmlNode *child(const xmlNode *p, const char *name, const char *ns, int *count)
{
    xmlNode *found = NULL;

    *count = 0;
    for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
        if (is(c, name, ns)) {
            if (!found)
                found = c;
            (*count)++;
        }
    return found;
}

/* An attribute's value (no namespace when ns is NULL); NULL if absent. Free with xmlFree. */
static char *attr(xmlNode *n, const char *name, const char *ns)
{
    return (char *)(ns ? xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)ns)
                       : xmlGetNoNsProp(n, (const xmlChar *)name));
}

static bool small_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (!s || !*s || strlen(s) > 4 || (s[0] == '0' && s[1]))
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool hex48(const char *s, uint8_t out[GTEE_NV_DIGEST_LEN])
{
    if (!s || strlen(s) != 2 * GTEE_NV_DIGEST_LEN)
        return false;
    for (size_t i = 0; i < GTEE_NV_DIGEST_LEN; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return false;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return true;
}

/* Strict base64 (whitespace between groups allowed, as XML signatures wrap it). */
static uint8_t *b64(const char *s, size_t *out_len)
{
    size_t n = 0, cap = strlen(s), pad = 0;
    char *clean = malloc(cap + 1);
    uint8_t *out = NULL;
    int got;

    if (!clean || cap > CERT_B64_MAX)
        goto out;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
            clean[n++] = *p;
    clean[n] = '\0';
    if (n == 0 || n % 4 != 0)
        goto out;
    pad = clean[n - 1] == '=' ? (clean[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++)
        if (clean[i] == '=')
            goto out;
    out = malloc(n / 4 * 3);
    if (!out || (got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n)) < 0) {
        free(out);
        out = NULL;
        goto out;
    }
    *out_len = (size_t)got - pad;
out:
    free(clean);
    return out;
}

void gtee_nv_rim_free(struct gtee_nv_rim *rim)
{
    if (!rim)
        return;
    for (size_t i = 0; i < rim->n_certs; i++)
        free(rim->cert[i]);
    memset(rim, 0, sizeof(*rim));
}

int nv_xml_read(const uint8_t *xml, size_t len, xmlDoc **doc, struct gtee_err *err)
{
    xmlParserCtxt *ctx = NULL;
    int rc = GTEE_EFORMAT;

    *doc = NULL;
    ENSURE(xml && len > 0 && len <= RIM_MAX, err, GTEE_EFORMAT, "rim: %zu bytes, a RIM is 1 to %d bytes", len, RIM_MAX);
    /* No document type declaration at all: it is where entities and external subsets come
     * from. Refused before libxml2 sees the bytes, and checked again on the tree. */
    ENSURE(!memmem(xml, len, "<!DOCTYPE", 9) && !memmem(xml, len, "<!ENTITY", 8), err, GTEE_EFORMAT,
           "rim: a document type declaration or entity is not allowed");
    xmlInitParser();
    ctx = xmlNewParserCtxt();
    ENSURE(ctx != NULL, err, GTEE_ENOMEM, "rim: out of memory");
    *doc = xmlCtxtReadMemory(ctx, (const char *)xml, (int)len, "rim.xml", NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (!*doc) {
        const xmlError *e = xmlCtxtGetLastError(ctx);
        ENSURE(false, err, GTEE_EFORMAT, "rim: not well-formed XML (line %d: %s)", e ? e->line : 0,
               e && e->message ? e->message : "parse error");
    }
    ENSURE(!(*doc)->intSubset && !(*doc)->extSubset, err, GTEE_EFORMAT, "rim: a DTD is not allowed");
    rc = 0;
out:
    if (rc < 0 && *doc) {
        xmlFreeDoc(*doc);
        *doc = NULL;
    }
    xmlFreeParserCtxt(ctx);
    return rc;
}

static int read_resource(xmlNode *r, struct gtee_nv_rim *rim, struct gtee_err *err)
{
    char *type = attr(r, "type", NULL), *idx = attr(r, "index", NULL), *act = attr(r, "active", NULL);
    char *alts = attr(r, "alternatives", NULL), *size = attr(r, "size", NULL), *h = NULL;
    unsigned index = 0, n_alt = 0, sz = 0;
    struct gtee_nv_rim_entry *e;
    int line = (int)xmlGetLineNo(r), rc = GTEE_EFORMAT;

    ENSURE(type && strcmp(type, "Measurement") == 0, err, GTEE_EFORMAT,
           "rim: Resource (line %d) type is not \"Measurement\"", line);
    ENSURE(idx, err, GTEE_EFORMAT, "rim: Resource (line %d) has no index", line);
    ENSURE(small_uint(idx, GTEE_NV_RIM_INDEX_MAX - 1, &index), err, GTEE_EFORMAT,
           "rim: Resource (line %d) index \"%.16s\" is not 0..%d", line, idx, GTEE_NV_RIM_INDEX_MAX - 1);
    e = &rim->entry[index];
    ENSURE(!e->present, err, GTEE_EFORMAT, "rim: Resource (line %d) repeats index %u", line, index);
    ENSURE(act && (strcmp(act, "True") == 0 || strcmp(act, "False") == 0), err, GTEE_EFORMAT,
           "rim: Resource index %u (line %d) active is not True or False", index, line);
    ENSURE(alts, err, GTEE_EFORMAT, "rim: Resource index %u (line %d) has no alternatives", index, line);
    ENSURE(small_uint(alts, GTEE_NV_RIM_ALT_MAX, &n_alt) && n_alt >= 1, err, GTEE_EFORMAT,
           "rim: Resource index %u (line %d) alternatives \"%.16s\" is not 1..%d", index, line, alts,
           GTEE_NV_RIM_ALT_MAX);
    ENSURE(size, err, GTEE_EFORMAT, "rim: Resource index %u (line %d) has no size", index, line);
    ENSURE(small_uint(size, 1000, &sz) && sz == GTEE_NV_DIGEST_LEN, err, GTEE_EFORMAT,
           "rim: Resource index %u (line %d) size \"%.16s\" is not 48 (SHA-384)", index, line, size);
    for (unsigned k = 0; k < GTEE_NV_RIM_ALT_MAX + 1; k++) {
        char name[16];

        snprintf(name, sizeof(name), "Hash%u", k);
        h = attr(r, name, NS_SHA384);
        if (k >= n_alt) {
            ENSURE(!h, err, GTEE_EFORMAT, "rim: Resource index %u (line %d) has %s beyond its %u alternatives", index,
                   line, name, n_alt);
            continue;
        }
        ENSURE(h, err, GTEE_EFORMAT, "rim: Resource index %u (line %d) lacks %s in the SHA-384 namespace", index, line,
               name);
        ENSURE(hex48(h, e->alt[k]), err, GTEE_EFORMAT,
               "rim: Resource index %u (line %d) %s is not 96 hex digits", index, line, name);
        xmlFree(h);
        h = NULL;
    }
    e->present = true;
    e->active = strcmp(act, "True") == 0;
    e->n_alt = (uint8_t)n_alt;
    rim->n_entries++;
    rim->n_active += e->active;
    rc = 0;
out:
    xmlFree(type);
    xmlFree(idx);
    xmlFree(act);
    xmlFree(alts);
    xmlFree(size);
    xmlFree(h);
    return rc;
}

static int read_certs(xmlNode *sig, struct gtee_nv_rim *rim, struct gtee_err *err)
{
    int count, rc = GTEE_EFORMAT;
    xmlNode *ki = child(sig, "KeyInfo", NS_DSIG, &count), *xd;
    char *txt = NULL;

    ENSURE(ki && count == 1, err, GTEE_EFORMAT, "rim: the signature has %d KeyInfo elements, not one", count);
    xd = child(ki, "X509Data", NS_DSIG, &count);
    ENSURE(xd && count == 1, err, GTEE_EFORMAT, "rim: KeyInfo has %d X509Data elements, not one", count);
    for (xmlNode *c = xd->children; c; c = c->next) {
        const unsigned char *p;
        X509 *x;

        if (!is(c, "X509Certificate", NS_DSIG))
            continue;
        ENSURE(rim->n_certs < GTEE_NV_RIM_CERT_MAX, err, GTEE_EFORMAT, "rim: more than %d certificates",
               GTEE_NV_RIM_CERT_MAX);
        txt = (char *)xmlNodeGetContent(c);
        ENSURE(txt, err, GTEE_ENOMEM, "rim: out of memory");
        rim->cert[rim->n_certs] = b64(txt, &rim->cert_len[rim->n_certs]);
        ENSURE(rim->cert[rim->n_certs], err, GTEE_EFORMAT, "rim: X509Certificate %zu (line %d) is not base64",
               rim->n_certs, (int)xmlGetLineNo(c));
        p = rim->cert[rim->n_certs];
        x = d2i_X509(NULL, &p, (long)rim->cert_len[rim->n_certs]);
        X509_free(x);
        rim->n_certs++;
        ENSURE(x && p == rim->cert[rim->n_certs - 1] + rim->cert_len[rim->n_certs - 1], err, GTEE_EFORMAT,
               "rim: X509Certificate %zu (line %d) is not one DER certificate", rim->n_certs - 1,
               (int)xmlGetLineNo(c));
        xmlFree(txt);
        txt = NULL;
    }
    ENSURE(rim->n_certs >= 2, err, GTEE_EFORMAT,
           "rim: X509Data has %zu certificates; a signer and its chain to the root are needed", rim->n_certs);
    rc = 0;
out:
    xmlFree(txt);
    return rc;
}

int nv_rim_read_doc(xmlDoc *doc, struct gtee_nv_rim *rim, struct gtee_err *err)
{
    xmlNode *root = xmlDocGetRootElement(doc), *meta, *payload, *sig, *last = NULL;
    char *ver = NULL;
    int count, rc = GTEE_EFORMAT;

    ENSURE(is(root, "SoftwareIdentity", NS_SWID), err, GTEE_EFORMAT,
           "rim: the root element is not SoftwareIdentity in the ISO 19770-2 namespace");
    meta = child(root, "Meta", NS_SWID, &count);
    ENSURE(meta && count == 1, err, GTEE_EFORMAT, "rim: %d Meta elements, not one", count);
    ver = attr(meta, "colloquialVersion", NULL);
    ENSURE(ver && *ver, err, GTEE_EFORMAT, "rim: Meta (line %d) has no colloquialVersion", (int)xmlGetLineNo(meta));
    ENSURE(strlen(ver) < sizeof(rim->version), err, GTEE_EFORMAT, "rim: colloquialVersion is too long");
    snprintf(rim->version, sizeof(rim->version), "%s", ver);
    payload = child(root, "Payload", NS_SWID, &count);
    ENSURE(payload && count == 1, err, GTEE_EFORMAT, "rim: %d Payload elements, not one", count);
    for (xmlNode *c = payload->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        ENSURE(is(c, "Resource", NS_SWID), err, GTEE_EFORMAT, "rim: Payload holds a %s element (line %d)",
               (const char *)c->name, (int)xmlGetLineNo(c));
        TRY(read_resource(c, rim, err));
    }
    ENSURE(rim->n_entries > 0, err, GTEE_EFORMAT, "rim: Payload (line %d) has no measurements",
           (int)xmlGetLineNo(payload));
    sig = child(root, "Signature", NS_DSIG, &count);
    ENSURE(sig && count == 1, err, GTEE_EFORMAT, "rim: %d ds:Signature elements, not one", count);
    for (xmlNode *c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            last = c;
    ENSURE(last == sig, err, GTEE_EFORMAT, "rim: ds:Signature is not the last element of SoftwareIdentity");
    TRY(read_certs(sig, rim, err));
    rc = 0;
out:
    xmlFree(ver);
    return rc;
}

int gtee_nv_rim_read(const uint8_t *xml, size_t len, struct gtee_nv_rim *rim, struct gtee_err *err)
{
    xmlDoc *doc = NULL;
    int rc;

    memset(rim, 0, sizeof(*rim));
    rc = nv_xml_read(xml, len, &doc, err);
    if (rc == 0)
        rc = nv_rim_read_doc(doc, rim, err);
    xmlFreeDoc(doc);
    if (rc < 0)
        gtee_nv_rim_free(rim);
    return rc;
}
