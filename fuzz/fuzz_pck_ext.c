/* libFuzzer target: the SGX extensions of a PCK certificate. The input is the extension's
 * DER value, placed into a certificate so that the parser sees it as it would in a quote.
 * Seeds: the SGX extension values of the samples' PCK leaves. */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "evidence/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509 *x = X509_new();
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    struct pck_ext ext;
    struct gtee_err err;

    if (!x || !obj || !os || size > 1 << 16)
        goto out;
    if (!ASN1_OCTET_STRING_set(os, data, (int)size))
        goto out;
    e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    if (!e || !X509_add_ext(x, e, -1))
        goto out;
    (void)dcap_pck_ext_parse(x, &ext, &err);
out:
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    X509_free(x);
    return 0;
}
