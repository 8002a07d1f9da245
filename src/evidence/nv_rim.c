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
#include "gtee/crypto.h"

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

static bool hex48(const char *s, uint8_t out[GTEE_NV_DIGEST_LEN])
{
    if (!s || strlen(s) != 2 * GTEE_NV_DIGEST_LEN)
        return false;
    for (size_t i = 0; i < GTEE_NV_DIGEST_LEN; i++) {
        int h = gtee_hex_digit(s[2 * i]), l = gtee_hex_digit(s[2 * i + 1]);
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

/* The problems of one RIM, all of them: each section (the Payload's indices, each
 * Resource's attributes, Meta, the signature's certificates, the root) is checked on its
 * own, so that the message names what is wrong even where several things are. */
struct notes {
    char msg[GTEE_ERR_MSG_MAX];
    size_t used;
    bool any;
};

static void note(struct notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct notes *n, const char *fmt, ...)
{
    va_list ap;
    int w;

    n->any = true;
    if (n->used + 3 >= sizeof(n->msg))
        return;
    if (n->used) {
        memcpy(n->msg + n->used, "; ", 3);
        n->used += 2;
    }
    va_start(ap, fmt);
    w = vsnprintf(n->msg + n->used, sizeof(n->msg) - n->used, fmt, ap);
    va_end(ap);
    n->used = w < 0 ? n->used : n->used + (size_t)w >= sizeof(n->msg) ? sizeof(n->msg) - 1 : n->used + (size_t)w;
}

/* By local name: a misplaced namespace is reported once, on its own, by check_ns. */
static bool named(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child_named(const xmlNode *p, const char *name, int *count)
{
    xmlNode *found = NULL;

    *count = 0;
    for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
        if (named(c, name)) {
            if (!found)
                found = c;
            (*count)++;
        }
    return found;
}

static void check_ns(xmlNode *n, const char *ns, bool *bad)
{
    if (n && !is(n, (const char *)n->name, ns))
        *bad = true;
}

/* First pass over the Payload: every index present, a number, and unique. */
static void read_indices(xmlNode *payload, struct gtee_nv_rim *rim, struct notes *nt)
{
    bool seen[GTEE_NV_RIM_INDEX_MAX] = { false };

    for (xmlNode *c = payload->children; c; c = c->next) {
        char *idx;
        unsigned index;
        int line = (int)xmlGetLineNo(c);

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!named(c, "Resource")) {
            note(nt, "Payload holds a %s element (line %d)", (const char *)c->name, line);
            continue;
        }
        idx = attr(c, "index", NULL);
        if (!idx)
            note(nt, "Resource (line %d) has no index", line);
        else if (!small_uint(idx, GTEE_NV_RIM_INDEX_MAX - 1, &index))
            note(nt, "Resource (line %d) index \"%.16s\" is not 0..%d", line, idx, GTEE_NV_RIM_INDEX_MAX - 1);
        else if (seen[index])
            note(nt, "Resource (line %d) repeats index %u", line, index);
        else
            seen[index] = true;
        xmlFree(idx);
    }
    (void)rim;
}

static void read_resource(xmlNode *r, struct gtee_nv_rim *rim, struct notes *nt)
{
    char *type = attr(r, "type", NULL), *idx = attr(r, "index", NULL), *act = attr(r, "active", NULL);
    char *alts = attr(r, "alternatives", NULL), *size = attr(r, "size", NULL);
    unsigned index = 0, n_alt = 0, sz = 0;
    struct gtee_nv_rim_entry e;
    int line = (int)xmlGetLineNo(r);
    bool ok = small_uint(idx, GTEE_NV_RIM_INDEX_MAX - 1, &index) && !rim->entry[index].present;

    memset(&e, 0, sizeof(e));
    if (!type || strcmp(type, "Measurement") != 0) {
        note(nt, "Resource (line %d) type is not \"Measurement\"", line);
        ok = false;
    }
    if (!act || (strcmp(act, "True") != 0 && strcmp(act, "False") != 0)) {
        note(nt, "Resource (line %d) active is not True or False", line);
        ok = false;
    }
    if (!alts) {
        note(nt, "Resource (line %d) has no alternatives", line);
        ok = false;
    } else if (!small_uint(alts, GTEE_NV_RIM_ALT_MAX, &n_alt) || n_alt < 1) {
        note(nt, "Resource (line %d) alternatives \"%.16s\" is not 1..%d", line, alts, GTEE_NV_RIM_ALT_MAX);
        ok = false;
    }
    if (!size) {
        note(nt, "Resource (line %d) has no size", line);
        ok = false;
    } else if (!small_uint(size, 1000, &sz) || sz != GTEE_NV_DIGEST_LEN) {
        note(nt, "Resource (line %d) size \"%.16s\" is not 48 (SHA-384)", line, size);
        ok = false;
    }
    for (unsigned k = 0; k <= GTEE_NV_RIM_ALT_MAX; k++) {
        char name[16];
        char *h;

        snprintf(name, sizeof(name), "Hash%u", k);
        h = attr(r, name, NS_SHA384);
        if (k >= (n_alt ? n_alt : 1)) {
            if (h) {
                note(nt, "Resource (line %d) has %s beyond its alternatives", line, name);
                ok = false;
            }
        } else if (!h) {
            note(nt, "Resource (line %d) lacks %s in the SHA-384 namespace", line, name);
            ok = false;
        } else if (!hex48(h, e.alt[k])) {
            note(nt, "Resource (line %d) %s is not 96 hex digits", line, name);
            ok = false;
        }
        xmlFree(h);
    }
    if (ok) {
        e.present = true;
        e.active = strcmp(act, "True") == 0;
        e.n_alt = (uint8_t)n_alt;
        rim->entry[index] = e;
        rim->n_entries++;
        rim->n_active += e.active;
    }
    xmlFree(type);
    xmlFree(idx);
    xmlFree(act);
    xmlFree(alts);
    xmlFree(size);
}

static void read_certs(xmlNode *sig, struct gtee_nv_rim *rim, struct notes *nt, bool *bad_ns)
{
    int count;
    xmlNode *ki = child_named(sig, "KeyInfo", &count), *xd;
    size_t n = 0;

    if (!ki || count != 1) {
        note(nt, "the signature has %d KeyInfo elements, not one", count);
        return;
    }
    check_ns(ki, NS_DSIG, bad_ns);
    xd = child_named(ki, "X509Data", &count);
    if (!xd || count != 1) {
        note(nt, "KeyInfo has %d X509Data elements, not one", count);
        return;
    }
    check_ns(xd, NS_DSIG, bad_ns);
    for (xmlNode *c = xd->children; c; c = c->next) {
        const unsigned char *p;
        char *txt;
        uint8_t *der;
        size_t len = 0;
        X509 *x = NULL;

        if (!named(c, "X509Certificate"))
            continue;
        check_ns(c, NS_DSIG, bad_ns);
        if (n++ >= GTEE_NV_RIM_CERT_MAX) {
            note(nt, "more than %d certificates", GTEE_NV_RIM_CERT_MAX);
            return;
        }
        txt = (char *)xmlNodeGetContent(c);
        der = txt ? b64(txt, &len) : NULL;
        xmlFree(txt);
        if (!der) {
            note(nt, "X509Certificate %zu (line %d) is not base64", n - 1, (int)xmlGetLineNo(c));
            continue;
        }
        p = der;
        x = d2i_X509(NULL, &p, (long)len);
        X509_free(x);
        if (!x || p != der + len) {
            note(nt, "X509Certificate %zu (line %d) is not one DER certificate", n - 1, (int)xmlGetLineNo(c));
            free(der);
            continue;
        }
        rim->cert[rim->n_certs] = der;
        rim->cert_len[rim->n_certs++] = len;
    }
    if (n < 2)
        note(nt, "X509Data has %zu certificates; a signer and its chain to the root are needed", n);
}

int nv_rim_read_doc(xmlDoc *doc, struct gtee_nv_rim *rim, struct gtee_err *err)
{
    xmlNode *root = xmlDocGetRootElement(doc), *meta, *payload, *sig, *last = NULL;
    struct notes nt = { .used = 0, .any = false };
    bool bad_ns = false;
    char *ver = NULL;
    int count;

    nt.msg[0] = '\0';
    payload = child_named(root, "Payload", &count);
    if (!payload || count != 1) {
        note(&nt, "%d Payload elements, not one", count);
    } else {
        check_ns(payload, NS_SWID, &bad_ns);
        read_indices(payload, rim, &nt);
        for (xmlNode *c = payload->children; c; c = c->next)
            if (named(c, "Resource")) {
                check_ns(c, NS_SWID, &bad_ns);
                read_resource(c, rim, &nt);
            }
        if (!nt.any && rim->n_entries == 0)
            note(&nt, "Payload (line %d) has no measurements", (int)xmlGetLineNo(payload));
    }
    meta = child_named(root, "Meta", &count);
    if (!meta || count != 1) {
        note(&nt, "%d Meta elements, not one", count);
    } else {
        check_ns(meta, NS_SWID, &bad_ns);
        ver = attr(meta, "colloquialVersion", NULL);
        if (!ver || !*ver)
            note(&nt, "Meta (line %d) has no colloquialVersion", (int)xmlGetLineNo(meta));
        else if (strlen(ver) >= sizeof(rim->version))
            note(&nt, "Meta colloquialVersion is too long");
        else
            snprintf(rim->version, sizeof(rim->version), "%s", ver);
    }
    sig = child_named(root, "Signature", &count);
    if (!sig || count != 1) {
        note(&nt, "%d ds:Signature elements, not one", count);
    } else {
        check_ns(sig, NS_DSIG, &bad_ns);
        for (xmlNode *c = root->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                last = c;
        if (last != sig)
            note(&nt, "ds:Signature is not the last element of SoftwareIdentity");
        read_certs(sig, rim, &nt, &bad_ns);
    }
    if (!is(root, "SoftwareIdentity", NS_SWID))
        note(&nt, "the root element is %s, not SoftwareIdentity in the ISO 19770-2 namespace",
             root ? (const char *)root->name : "absent");
    if (bad_ns)
        note(&nt, "an element is outside its namespace (ISO 19770-2 or XML-DSig)");
    xmlFree(ver);
    if (nt.any)
        return GTEE_FAIL(err, GTEE_EFORMAT, "rim: %s", nt.msg);
    return 0;
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
