/* TEE backends: evidence, sealing keys and measurement behind one ops table (sim, SGX under
 * Gramine, TDX and SEV-SNP through configfs-tsm), the Enclave identity and sealed blobs.
 * docs/tee.md describes each backend, what it protects against, and the byte layouts. */
#ifndef GTEE_TEE_H
#define GTEE_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/report_data.h"
#include "gtee/tee_kind.h"

#define GTEE_REPORT_DATA_LEN 64
#define GTEE_SEAL_KEY_LEN 32
#define GTEE_EVIDENCE_MAX (1u << 20)

/* Which identity a sealing key is bound to (SGX KEYPOLICY.MRENCLAVE / MRSIGNER). */
enum gtee_seal_policy {
    GTEE_SEAL_MRENCLAVE = 1,
    GTEE_SEAL_MRSIGNER = 2,
};

/* configfs creates an item's attribute files on mkdir(2) and removes them on rmdir(2).
 * Plain directories cannot do that, so these two calls (and only these) may be replaced
 * by a test that emulates configfs on an ordinary file system. NULL means the real calls. */
struct gtee_tsm_dirops {
    int (*mkdir)(const char *path, void *arg);   /* 0 or -errno */
    int (*rmdir)(const char *path, void *arg);
    void *arg;
};

/* SEV-SNP sealing keys come from an ioctl(2) on /dev/sev-guest (SNP_GET_DERIVED_KEY). No
 * file can answer an ioctl, so this one call (and only it) may be replaced by a test;
 * NULL means the real ioctl. Returns 0 or -errno. */
struct gtee_snp_ioctl_ops {
    int (*ioctl)(int fd, unsigned long request, void *arg, void *ctx);
    void *ctx;
};

/* TDX: how the TD reaches the key-release service (docs/tee.md §4.3), usually through the
 * host, which relays bytes it cannot read. exchange sends one request and returns the answer
 * (*resp malloc'd, the caller frees); 0 or a negative GTEE_E* code with err filled (a
 * refusal carries the service's reason). gtee_kr_tcp_transport (below) is the
 * TCP one that `gtee-enclave --key-release HOST:PORT` uses. */
struct gtee_key_release_transport {
    int (*exchange)(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                    struct gtee_err *err);
    void *arg;
    /* The service key the TD accepts answers from (65 bytes, P-256 uncompressed; required):
     * without a pin, whoever answers could hand the TD a key root of its own choosing. */
    const uint8_t *service_pub;
};

/* Fills tr with gtee_kr_tcp_exchange over c (gtee/keyrelease.h); c must outlive every use
 * of tr. */
struct gtee_kr_tcp;
void gtee_kr_tcp_transport(struct gtee_kr_tcp *c, struct gtee_key_release_transport *tr);

/* The identity the simulated TEE reports for the enclave (where SGX puts it). */
struct gtee_tee_sim_identity {
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    int debug;
};

struct gtee_tee_options {
    const char *root;        /* file system root of the TEE's interfaces; NULL means "/" */
    const char *sim_dir;     /* sim only: the directory made by `gtee sim init` */
    int sim_quote_version;   /* sim only: 3 (SGX-style, default) or 4 (TDX-style) */
    struct gtee_tee_sim_identity sim_id; /* sim only: what the simulated hardware measured */
    const struct gtee_tsm_dirops *tsm_dirops; /* tdx/snp: NULL outside tests */
    const struct gtee_snp_ioctl_ops *snp_ioctl; /* snp: NULL outside tests */
    const struct gtee_key_release_transport *key_release; /* tdx: NULL means no sealing key */
};

struct gtee_tee;

/* The ops table every backend fills (src/tee/<backend>.c). */
struct gtee_tee_ops {
    const char *name;
    enum gtee_tee_kind kind;
    /* 1 if the backend's interface is present under root, 0 if not. Never fails loudly. */
    int (*detect)(const char *root, const struct gtee_tee_options *opt);
    int (*open)(struct gtee_tee *t, struct gtee_err *err);
    void (*close)(struct gtee_tee *t);
    /* Evidence in the hardware's own format, committing to report_data. Caller frees. */
    int (*get_evidence)(struct gtee_tee *t, const uint8_t report_data[GTEE_REPORT_DATA_LEN],
                        uint8_t **evidence, size_t *evidence_len, struct gtee_err *err);
    int (*sealing_key)(struct gtee_tee *t, enum gtee_seal_policy policy,
                       uint8_t key[GTEE_SEAL_KEY_LEN], struct gtee_err *err);
    int (*measurement)(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len,
                       struct gtee_err *err);
};

/* Opens a backend by name: "sim", "sgx", "tdx", "snp" or "auto". "auto" picks the hardware
 * backend present under opt->root and fails (GTEE_ENOTFOUND) when none is: it never picks
 * "sim". opt may be NULL for defaults. */
int gtee_tee_open(const char *name, const struct gtee_tee_options *opt, struct gtee_tee **out,
                  struct gtee_err *err) GTEE_MUST_USE;
void gtee_tee_close(struct gtee_tee *t); /* NULL ok */

const char *gtee_tee_name(const struct gtee_tee *t);
enum gtee_tee_kind gtee_tee_kind(const struct gtee_tee *t);
int gtee_tee_is_simulated(const struct gtee_tee *t);

int gtee_tee_evidence(struct gtee_tee *t, const uint8_t report_data[GTEE_REPORT_DATA_LEN],
                      uint8_t **evidence, size_t *evidence_len, struct gtee_err *err) GTEE_MUST_USE;
int gtee_tee_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy,
                         uint8_t key[GTEE_SEAL_KEY_LEN], struct gtee_err *err) GTEE_MUST_USE;
int gtee_tee_measurement(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len,
                         struct gtee_err *err) GTEE_MUST_USE;

/* Which hardware backend "auto" would pick under root ("sgx", "tdx", "snp"), or NULL. */
const char *gtee_tee_detect(const struct gtee_tee_options *opt);

/* ---- Enclave identity (src/tee/identity.c); derivation and layout in docs/tee.md ---- */
#define GTEE_REPORT_NONCE_LEN 32

/* The Enclave key: secp256k1, derived with HKDF from the MRENCLAVE-policy sealing key, so
 * the same code on the same device always gets the same key. priv is a secret (32 bytes). */
int gtee_tee_enclave_key(struct gtee_tee *t, uint8_t priv[32], uint8_t pub[GTEE_ENCLAVE_PUB_LEN],
                         uint8_t addr[GTEE_ENCLAVE_ADDR_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* gtee_tee_report_data, the report data layout, and the identity's sizes: gtee/report_data.h,
 * a format shared with the verifiers (included above). */

/* ---- sealed blobs (src/tee/seal.c); layout in docs/tee.md ---- */
#define GTEE_SEAL_OVERHEAD 64   /* header + tag added to the plaintext */
#define GTEE_SEAL_MAX (1u << 20)

/* Seals pt to the enclave's measurement or signer. *blob is allocated; caller frees. */
int gtee_tee_seal(struct gtee_tee *t, enum gtee_seal_policy policy, const void *pt, size_t len,
                  uint8_t **blob, size_t *blob_len, struct gtee_err *err) GTEE_MUST_USE;
/* Opens a sealed blob. GTEE_EKEY if it was sealed to another identity, GTEE_EAUTH if it was
 * altered. *pt is allocated (caller wipes and frees with gtee_tee_free_secret). */
int gtee_tee_unseal(struct gtee_tee *t, const uint8_t *blob, size_t blob_len, uint8_t **pt,
                    size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;
void gtee_tee_free_secret(void *p, size_t len); /* wipes, then frees; NULL ok */

/* Process hardening (src/tee/harden.c; docs/tee.md §8), for every process that holds TEE
 * secrets: gtee-enclave, `gtee keyrelease serve`, SDK applications (gtee_app_open). Call
 * before any secret exists: not dumpable (no ptrace attach, no /proc/<pid>/mem for the
 * same user without CAP_SYS_PTRACE), no core files, every capability dropped, the
 * environment wiped and cleared, OpenSSL's secure heap (locked, excluded from dumps). */
int gtee_tee_harden(struct gtee_err *err) GTEE_MUST_USE;

/* The seccomp allow-list: a call outside it kills the process (SIGSYS). The base list is
 * what a process that holds TEE secrets needs once start-up is over: I/O on descriptors it
 * holds, reading files, memory (never executable), time, randomness, threads (clone only
 * with CLONE_THREAD) and exit. The bits below add to it; pass exactly what the process
 * needs. Load it after start-up, in the main thread before any other thread exists
 * (threads inherit it); it lasts for the process's life. */
enum gtee_harden_allow {
    GTEE_HARDEN_NET_SERVE = 1u << 0, /* accept and serve connections on sockets it holds */
    GTEE_HARDEN_NET_OPEN = 1u << 1,  /* make its own sockets: socket, bind, listen, connect */
    GTEE_HARDEN_FILES = 1u << 2,     /* create, replace, remove files (the safe output helper) */
    /* Executable memory for oneDNN's JIT: mprotect may add PROT_EXEC (oneDNN 2.6 maps its
     * code read-write-execute; docs/tee.md §8 says what that costs). Without this bit such a
     * call fails with EPERM instead of killing, so a JIT kernel is refused with an error. */
    GTEE_HARDEN_JIT = 1u << 3,
};
#define GTEE_HARDEN_ALL (GTEE_HARDEN_NET_SERVE | GTEE_HARDEN_NET_OPEN | GTEE_HARDEN_FILES | GTEE_HARDEN_JIT)
/* The key-release service (`gtee keyrelease serve`): serves TCP, writes its log files. */
#define GTEE_HARDEN_SERVICE (GTEE_HARDEN_NET_SERVE | GTEE_HARDEN_FILES)
int gtee_tee_seccomp(unsigned allow, struct gtee_err *err) GTEE_MUST_USE;

#endif
