/* The simulated TEE's internals: the fixed simulated platform (TCB, FMSPC, quoting
 * enclaves, TDX module), the opened device, and the helpers its files share. Internal. */
#ifndef GTEE_TEE_SIM_INTERNAL_H
#define GTEE_TEE_SIM_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gtee/sim.h"

#define SIM_SECRET_LEN 32

/* ---- the simulated platform (docs/sim.md, "The simulated platform") ---- */
/* FMSPC: "GLAC" || 00 00. No Intel platform uses a family model stepping like this. */
static const uint8_t SIM_FMSPC[6] = { 0x47, 0x4c, 0x41, 0x43, 0x00, 0x00 };
static const uint8_t SIM_PCEID[2] = { 0x00, 0x00 };
/* The platform's CPUSVN; the PCK certificate's 16 TCB components are these bytes. */
static const uint8_t SIM_CPUSVN[16] = { 3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0 };
#define SIM_PCESVN 11
#define SIM_SGX_TYPE 1 /* Scalable, as on the TDX-capable platforms (PCK Platform CA) */

/* The simulated quoting enclaves. Their MRSIGNER is SHA-256 of the label below, so it
 * can never equal Intel's; qe_identity.json names the same value. */
#define SIM_QE_SIGNER_LABEL "Glacier SIMULATED SGX QE signer (NOT SECURE)"
#define SIM_QE_ENCLAVE_LABEL "Glacier SIMULATED SGX QE (NOT SECURE)"
#define SIM_QE_PROD_ID 1
#define SIM_QE_SVN 8
#define SIM_TDQE_SIGNER_LABEL "Glacier SIMULATED TD QE signer (NOT SECURE)"
#define SIM_TDQE_ENCLAVE_LABEL "Glacier SIMULATED TD QE (NOT SECURE)"
#define SIM_TDQE_PROD_ID 2
#define SIM_TDQE_SVN 4
#define SIM_QE_ATTR_FLAGS 0x15ull /* INIT | MODE64BIT | PROVISIONKEY, as real QEs */
#define SIM_ATTR_XFRM 0xe7ull     /* x87, SSE, AVX, AVX-512 state */
#define SIM_ATTR_FLAGS_INIT 0x01ull
#define SIM_ATTR_FLAGS_DEBUG 0x02ull
#define SIM_ATTR_FLAGS_MODE64 0x04ull

/* The simulated TDX module 1.x: TEE_TCB_SVN = (module SVN, major version, late microcode
 * SVN, 0...). Major version 1 makes a verifier look up tdxModuleIdentities "TDX_01". */
static const uint8_t SIM_TEE_TCB_SVN[16] = { 6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
#define SIM_TDX_MODULE_LABEL "Glacier SIMULATED TDX module (NOT SECURE)"
#define SIM_TD_ATTR_SEPT_VE_DISABLE 0x10000000ull
#define SIM_TD_ATTR_DEBUG 0x1ull
#define SIM_TD_XFAM 0x602e7ull

#define SIM_VALIDITY_YEARS 10

/* ---- files in a device directory ---- */
#define SIM_README_FILE "README.txt"
#define SIM_SECRET_FILE "device_secret"
#define SIM_ROOT_KEY_FILE "root_ca.key.pem"
#define SIM_PCA_KEY_FILE "platform_ca.key.pem"
#define SIM_PCK_KEY_FILE "pck.key.pem"
#define SIM_TCB_KEY_FILE "tcb_signing.key.pem"
#define SIM_QE_KEY_FILE "qe_attest.key.pem"

struct gtee_sim {
    char *dir;
    uint8_t secret[SIM_SECRET_LEN];
    EVP_PKEY *pck_key;
    EVP_PKEY *qe_key;
    uint8_t qe_pub[64];   /* attestation public key x || y */
    uint8_t qe_id[16];    /* the QE ID in the quote header's user data */
    char *pck_chain;      /* PEM leaf, platform CA, root, NUL-terminated */
    size_t pck_chain_len; /* including the NUL, as real QEs put it in the quote */
};

/* The simulated PKI: keys, certificates, CRLs (sim_pki.c). */
struct sim_pki {
    EVP_PKEY *root_key, *pca_key, *pck_key, *tcb_key, *qe_key;
    X509 *root, *pca, *pck, *tcb;
    X509_CRL *root_crl, *pck_crl;
};
int sim_pki_create(struct sim_pki *pki, const uint8_t secret[SIM_SECRET_LEN], time_t now,
                   struct gtee_err *err) GTEE_MUST_USE;
void sim_pki_free(struct sim_pki *pki);

/* The SGX extension (OID 1.2.840.113741.1.13.1) of the PCK leaf, DER (sim_sgxext.c). */
int sim_sgxext_der(const uint8_t ppid[16], const uint8_t platform_instance_id[16],
                   uint8_t **der, int *der_len, struct gtee_err *err) GTEE_MUST_USE;

/* ECDSA P-256 over SHA-256(msg), raw r || s as DCAP puts it (sim_sign.c). */
int sim_sign_raw(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64],
                 struct gtee_err *err) GTEE_MUST_USE;
/* The uncompressed public point without its 0x04 prefix. */
int sim_pub_raw(EVP_PKEY *key, uint8_t pub[64], struct gtee_err *err) GTEE_MUST_USE;
/* out = first n bytes of HMAC-SHA256(secret, label): per-device identifiers. */
int sim_derive_id(const uint8_t secret[SIM_SECRET_LEN], const char *label, uint8_t *out, size_t n,
                  struct gtee_err *err) GTEE_MUST_USE;

/* A collateral file's contents (sim_collateral.c). */
struct sim_blob {
    char name[40];
    uint8_t *data;
    size_t len;
};
/* tcb_info.json and qe_identity.json for version 3 (SGX) or 4 (TDX), signed with the
 * TCB signing key. */
int sim_collateral_json(const struct sim_pki *pki, int version, time_t now, struct sim_blob *tcb_info,
                        struct sim_blob *qe_identity, struct gtee_err *err) GTEE_MUST_USE;
/* The quoting enclave measurements for version 3 (SGX QE) or 4 (TD QE). */
int sim_qe_measurements(int version, uint8_t mrenclave[32], uint8_t mrsigner[32], uint16_t *prod_id,
                        uint16_t *svn) GTEE_MUST_USE;

/* PEM of certs (in order) or of a CRL; malloc'd, NUL-terminated, *len without the NUL. */
int sim_pem_certs(X509 *const *certs, int n, char **pem, size_t *len, struct gtee_err *err) GTEE_MUST_USE;
int sim_der_cert(X509 *cert, uint8_t **der, size_t *len, struct gtee_err *err) GTEE_MUST_USE;
int sim_der_crl(X509_CRL *crl, uint8_t **der, size_t *len, struct gtee_err *err) GTEE_MUST_USE;
int sim_pem_key(EVP_PKEY *key, char **pem, size_t *len, struct gtee_err *err) GTEE_MUST_USE;

#endif
