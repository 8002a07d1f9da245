/* Glacier TEE Node: the simulated TEE device (`sim`). A directory holding a device root
 * secret and a simulated Intel PKI gives sealing keys and Intel DCAP quotes (SGX v3, TDX
 * v4) with real layouts, chaining to a SIMULATED root. The host can read everything in
 * the directory: nothing here is confidential from the host. See docs/sim.md. */
#ifndef GTEE_SIM_H
#define GTEE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_SIM_MEASUREMENT_LEN 32
#define GTEE_SIM_REPORT_DATA_LEN 64
#define GTEE_SIM_SEAL_KEY_LEN 32

/* Quote versions gtee_sim_quote can produce (the quote header's version field). */
#define GTEE_SIM_QUOTE_SGX 3 /* Intel SGX ECDSA quote v3 */
#define GTEE_SIM_QUOTE_TDX 4 /* Intel TDX quote v4 (TEE type 0x81) */

/* Files a device directory holds (names relative to DIR). Collateral for each quote
 * kind lies in DIR/sgx/ and DIR/tdx/ in the layout of the
 * project's real sample tests/vectors/sgx/sgx-1. */
#define GTEE_SIM_ROOT_CA_FILE "sim_root_ca.der"
#define GTEE_SIM_PCK_CHAIN_FILE "pck_chain.pem"
#define GTEE_SIM_SGX_COLLATERAL_DIR "sgx"
#define GTEE_SIM_TDX_COLLATERAL_DIR "tdx"

/* An opened simulated device: the root secret, the PCK and attestation keys, the PCK
 * chain. Opaque. */
struct gtee_sim;

/* Creates a fresh device in dir: creates dir (mode 0700) if missing, refuses
 * (GTEE_EEXIST) if it exists and is not empty. Writes device_secret, the simulated PKI
 * (keys 0600), the collateral and README.txt. On failure nothing half-made is left
 * behind in a directory this call created. */
int gtee_sim_init(const char *dir, struct gtee_err *err) GTEE_MUST_USE;

/* Opens a device made by gtee_sim_init. GTEE_EPERM if device_secret or a private key
 * may be read by group or others; GTEE_ENOTFOUND if dir holds no device. */
int gtee_sim_open(const char *dir, struct gtee_sim **out, struct gtee_err *err) GTEE_MUST_USE;

/* Wipes the secrets and frees; NULL ok. */
void gtee_sim_close(struct gtee_sim *sim);

/* The identity of the code a quote or a sealing key is for. For SGX these are the
 * report body's fields; for TDX see gtee_sim_quote for the mapping. */
struct gtee_sim_identity {
    uint8_t mrenclave[GTEE_SIM_MEASUREMENT_LEN]; /* measurement of the enclave code */
    uint8_t mrsigner[GTEE_SIM_MEASUREMENT_LEN];  /* hash of the signer's key */
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    int debug; /* nonzero: a debug enclave (the host could read its memory on hardware) */
};

/* Makes a quote over id and report_data, signed by the device's attestation key, with
 * the QE report signed by the PCK key and the PCK chain (leaf, platform CA, root) as
 * certification data. *quote is malloc'd; the caller frees it with free().
 *
 * version GTEE_SIM_QUOTE_SGX (3): SGX ECDSA quote; the report body carries mrenclave,
 *   mrsigner, isv_prod_id, isv_svn, report_data; debug sets ATTRIBUTES.FLAGS bit 1.
 * version GTEE_SIM_QUOTE_TDX (4): TDX quote; TD report body fields:
 *   MRTD          = mrenclave || 16 zero bytes
 *   MROWNER       = mrsigner || 16 zero bytes
 *   MROWNERCONFIG = isv_prod_id (LE16) || isv_svn (LE16) || 44 zero bytes
 *   MRCONFIGID    = zeros; RTMR0..2 = simulated firmware/kernel measurements, RTMR3 = zeros
 *   TDATTRIBUTES  = SEPT_VE_DISABLE (bit 28) | DEBUG (bit 0) if debug
 *   TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM (zeros, as Intel's module), SEAMATTRIBUTES as a
 *   simulated TDX module 1.x fills them (docs/sim.md). */
int gtee_sim_quote(struct gtee_sim *sim, int version, const struct gtee_sim_identity *id,
                   const uint8_t report_data[GTEE_SIM_REPORT_DATA_LEN], uint8_t **quote,
                   size_t *quote_len, struct gtee_err *err) GTEE_MUST_USE;

/* Sealing key policies, as SGX EGETKEY's KEYPOLICY. */
enum gtee_sim_seal_policy {
    GTEE_SIM_SEAL_MRENCLAVE = 1, /* bound to mrenclave: only the same code gets it */
    GTEE_SIM_SEAL_MRSIGNER = 2,  /* bound to mrsigner: any code of that signer and product */
};

/* Derives a 256-bit sealing key like EGETKEY: HKDF-SHA256 with the device root secret as
 * input key, info = "glacier-sim-seal-v1" || policy || bound measurement || isv_prod_id ||
 * isv_svn || debug (docs/sim.md). Same device and identity: same key; another device,
 * another bound measurement, product, SVN or debug setting: another key. */
int gtee_sim_sealing_key(struct gtee_sim *sim, enum gtee_sim_seal_policy p,
                         const struct gtee_sim_identity *id, uint8_t key[GTEE_SIM_SEAL_KEY_LEN],
                         struct gtee_err *err) GTEE_MUST_USE;

/* The device's directory as given to gtee_sim_open (owned by sim). */
const char *gtee_sim_dir(const struct gtee_sim *sim);

#endif
