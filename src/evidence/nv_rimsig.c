/* The enveloped XML signature of a RIM, verified with libxmlsec1 (OpenSSL back end) under the
 * key of the RIM's first certificate. Only NVIDIA's exact algorithms are enabled: C14N 1.1
 * for SignedInfo, ECDSA-SHA384, and one Reference URI="" with the enveloped-signature and
 * C14N 1.1 transforms and a SHA-384 digest (W3C XML Signature 1.1, sections 4.4 and 6). */
#include <pthread.h>
#include <string.h>

#include <libxml/parser.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>

#include "base/guard.h"
#include "evidence/nv_rim.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void init(void)
{
    xmlInitParser();
    /* No error text on stderr: failures come back as our messages. */
    xmlSecErrorsDefaultCallbackEnableOutput(0);
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecOpenSSLAppInit(NULL) < 0 || xmlSecOpenSSLInit() < 0)
        return;
    init_rc = 0;
}

int gtee_nv_rim_verify_signature(const uint8_t *xml, size_t len, const uint8_t *cert_der, size_t cert_len,
                                 struct gtee_err *err)
{
    xmlDoc *doc = NULL;
    xmlNode *sig;
    xmlSecKey *key = NULL;
    xmlSecDSigCtx *ctx = NULL;
    int rc;

    pthread_once(&once, init);
    ENSURE(init_rc == 0, err, GTEE_ECRYPTO, "rim signature: libxmlsec1 did not initialise");
    TRY(nv_xml_read(xml, len, &doc, err));
    sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
    ENSURE(sig != NULL, err, GTEE_EFORMAT, "rim signature: no ds:Signature element");
    ENSURE(cert_der && cert_len > 0 && cert_len < 65536, err, GTEE_EINVAL, "rim signature: no signing certificate");
    key = xmlSecOpenSSLAppKeyLoadMemory(cert_der, (xmlSecSize)cert_len, xmlSecKeyDataFormatCertDer, NULL, NULL, NULL);
    ENSURE(key != NULL, err, GTEE_EFORMAT, "rim signature: the first certificate's key could not be loaded");
    ctx = xmlSecDSigCtxCreate(NULL);
    ENSURE(ctx != NULL, err, GTEE_ENOMEM, "rim signature: out of memory");
    ctx->signKey = key;
    key = NULL;
    /* Nothing outside the document is ever fetched: the one reference is the whole document. */
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
    ENSURE(xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14N11Id) == 0 &&
               xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecOpenSSLTransformEcdsaSha384Id) == 0 &&
               xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) == 0 &&
               xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14N11Id) == 0 &&
               xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecOpenSSLTransformSha384Id) == 0,
           err, GTEE_ECRYPTO, "rim signature: could not restrict the algorithms");
    if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
        ENSURE(false, err, GTEE_EFORMAT,
               "rim signature: the signature could not be processed (an algorithm other than C14N 1.1, "
               "ECDSA-SHA384, SHA-384 with the enveloped transform, or a malformed SignedInfo)");
    }
    ENSURE(xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1, err, GTEE_EFORMAT,
           "rim signature: SignedInfo has %u references, not one",
           (unsigned)xmlSecPtrListGetSize(&ctx->signedInfoReferences));
    ENSURE(ctx->c14nMethod && ctx->c14nMethod->id == xmlSecTransformInclC14N11Id && ctx->signMethod &&
               ctx->signMethod->id == xmlSecOpenSSLTransformEcdsaSha384Id,
           err, GTEE_EFORMAT, "rim signature: SignedInfo does not use C14N 1.1 and ECDSA-SHA384");
    ENSURE(ctx->status == xmlSecDSigStatusSucceeded, err, GTEE_EAUTH,
           "rim signature: does not verify under the first certificate's key (digest or SignatureValue)");
    rc = 0;
out:
    xmlSecDSigCtxDestroy(ctx);
    xmlSecKeyDestroy(key);
    xmlFreeDoc(doc);
    return rc;
}
