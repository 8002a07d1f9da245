/* The Glacier TEE SDK, enclave side: what a TEE application links to. Open the TEE, read
 * the enclave's identity, seal and unseal state, serve requests over the attested channel
 * (RA-TLS, docs/ratls.md) with a handler of your own, and sign with the Enclave key (the
 * slot Work Proofs are signed through: gtee_proof_sign). Nothing here needs gtee/tee.h or gtee/evidence.h.
 * docs/sdk-tutorial.md walks through a complete application (examples/kvstore). */
#ifndef GTEE_SDK_H
#define GTEE_SDK_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/tee_kind.h"

#define GTEE_APP_MEASUREMENT_MAX 48
#define GTEE_APP_KEY_LEN 65            /* public keys, uncompressed SEC1 */
#define GTEE_APP_ID_LEN 20             /* the Enclave ID: an Ethereum address */
#define GTEE_APP_SIG_LEN 65            /* secp256k1 r || s || v */
#define GTEE_APP_OP_MAX 0xffefu        /* application operation numbers 0..GTEE_APP_OP_MAX */

struct gtee_app;

struct gtee_app_options {
    const char *tee;            /* "sim", "sgx", "tdx", "auto" (never picks sim) */
    const char *sim_dir;        /* sim only: a device made by `gtee sim init` */
    int sim_quote_version;      /* sim only: 3 (SGX-style quote, default) or 4 (TDX-style) */
    const char *config;         /* the application's configuration text; measured under sim */
    /* tdx (or auto): the key-release service that gives a TD its key root, and its service
     * key to pin (docs/tee.md §4.3.2): "A.B.C.D:PORT" or "[IPv6]:PORT", 130 hex digits.
     * Both or neither; refused with other backends. A TD without them has no Enclave key. */
    const char *key_release;
    const char *key_release_pub;
    /* sgx, tdx, snp: where the backend's interface files live (NULL: "/"); a test points
     * it at a faithful fake of them. */
    const char *root;
    /* Running under Gramine on SGX (set by the signed manifest's arguments, so measured):
     * accepted only with the sgx backend when Gramine's attestation files exist under root.
     * Gramine implements no seccomp, core dumps or capabilities of the host's kind, and the
     * SGX CPU keeps the host out: those steps are skipped and named in
     * gtee_app_hardening_note (docs/tee.md §8, §10). */
    int gramine;
    /* gtee_app_open always hardens the process (docs/tee.md §8): not dumpable, no core
     * files, no capabilities, the environment wiped and cleared (copy what you need from it
     * first), secrets in locked memory, then a seccomp allow-list for the rest of the
     * process's life. The list's base is I/O on descriptors the application holds, reading
     * files, memory, time, randomness and threads; `allow` adds, bit by bit, what this
     * application needs, and a call outside the list ends the process (SIGSYS). It is
     * part of what is measured under sim. */
    unsigned allow;
    /* The bytes the application may hold for models, datasets and other large plaintexts:
     * gtee_app_reserve refuses past it, before anything is allocated. 0:
     * GTEE_APP_MEMORY_DEFAULT. Measured under sim when set. */
    uint64_t memory_limit;
    /* gtee_app_serve: clients served at once (0: GTEE_APP_MAX_SESSIONS), and each session's
     * total time from accept to close, handshake included, however busy (0:
     * GTEE_APP_SESSION_SECONDS). */
    unsigned max_sessions;
    unsigned session_seconds;
    /* Composite evidence (docs/evidence-nvidia.md, "Composite evidence"): how many
     * confidential GPUs to bind (0, the default: none; at most GTEE_APP_GPUS_MAX). With N,
     * gtee_app_evidence gives one bundle: the TEE's evidence over the report data, and GPU
     * 0..N-1's reports, each over the nonce that evidence commits to (gtee/bundle.h). No
     * library, fewer GPUs than N: gtee_app_open fails; CC mode off or a report not over our
     * nonce: gtee_app_evidence fails. Never a plain evidence instead. gpu_library: the NVIDIA
     * management library to load (NULL: the driver's libnvidia-ml.so.1; tests pass a fake);
     * refused without gpus. */
    unsigned gpus;
    const char *gpu_library;
};
#define GTEE_APP_MAX_SESSIONS 16
#define GTEE_APP_GPUS_MAX 8
/* gtee_app_options.allow: GTEE_APP_ALLOW_NET, _FILES, _JIT (gtee/tee_kind.h). */
#define GTEE_APP_MEMORY_DEFAULT (1ull << 30)
#define GTEE_APP_MAX_SESSIONS_LIMIT 1024
#define GTEE_APP_SESSION_SECONDS 30
#define GTEE_APP_SESSION_SECONDS_LIMIT 86400

struct gtee_app_identity {
    const char *tee;                           /* backend name */
    enum gtee_tee_kind kind;
    int simulated;                             /* 1 under the simulated TEE: never secure */
    uint8_t measurement[GTEE_APP_MEASUREMENT_MAX];
    size_t measurement_len;
    uint8_t enclave_key[GTEE_APP_KEY_LEN];     /* secp256k1: same code, same device, same key */
    uint8_t enclave_id[GTEE_APP_ID_LEN];
    uint8_t channel_key[GTEE_APP_KEY_LEN];     /* P-256, fresh each start: the TLS key */
    uint8_t exe_sha256[32];                    /* SHA-256 of the running executable file */
};

/* Opens the TEE, derives the Enclave key from the sealing key, makes a fresh channel key,
 * obtains evidence over both and builds the attested certificate. */
int gtee_app_open(const struct gtee_app_options *opt, struct gtee_app **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_app_close(struct gtee_app *app); /* wipes the keys; NULL ok */
void gtee_app_identity(const struct gtee_app *app, struct gtee_app_identity *id);
/* What the hardening skipped and why ("" when nothing was: everywhere but under Gramine). */
const char *gtee_app_hardening_note(const struct gtee_app *app);

/* Evidence for a verifier who sent nonce: the report data (gtee/report_data.h) commits to
 * the Enclave key and the channel key first, so nobody can obtain evidence for a key of
 * their choosing, then the nonce. With gtee_app_options.gpus, a composite bundle of that
 * evidence and the GPUs' reports over the nonce. *ev is malloc'd. */
int gtee_app_evidence(struct gtee_app *app, const uint8_t nonce[32], uint8_t report_data[64], uint8_t **ev,
                      size_t *ev_len, struct gtee_err *err) GTEE_MUST_USE;
/* The hash of the GPU part of evidence from gtee_app_evidence, for a Work Proof's
 * gpuEvidenceHash (docs/proofs.md): all zero without GPUs (gtee_bundle_gpu_hash). */
int gtee_app_gpu_evidence_hash(const uint8_t *ev, size_t ev_len, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;
/* Opens a relay box a client sealed to the channel key (gtee/msg.h, "relay boxes"): *pt
 * is secret (gtee_app_free_secret), and resp_key, the key to seal the answer under with
 * gtee_relay_seal_response, too (wipe it). */
int gtee_app_relay_open(struct gtee_app *app, const uint8_t *box, size_t box_len, uint8_t resp_key[32], uint8_t **pt,
                        size_t *pt_len, struct gtee_err *err) GTEE_MUST_USE;

/* Locked, dump-excluded, zeroed memory for secrets; free wipes it first. NULL on failure. */
void *gtee_app_secret_alloc(size_t len);
void gtee_app_secret_free(void *p, size_t len);

/* The memory budget (gtee_app_options.memory_limit): reserve what a plaintext will take
 * before allocating it; GTEE_ELIMIT with a message naming what and both sizes when it does
 * not fit. Release what was reserved when it is freed. Safe from several threads. */
int gtee_app_reserve(struct gtee_app *app, uint64_t bytes, const char *what, struct gtee_err *err) GTEE_MUST_USE;
void gtee_app_release(struct gtee_app *app, uint64_t bytes);
uint64_t gtee_app_memory_free(const struct gtee_app *app);

/* Sealed state: only this code (same measurement) on this device can open it. *blob is
 * malloc'd; *pt is secret: release it with gtee_app_free_secret. */
int gtee_app_seal(struct gtee_app *app, const void *pt, size_t len, uint8_t **blob, size_t *blob_len,
                  struct gtee_err *err) GTEE_MUST_USE;
/* The same, sealed either to the measurement (GTEE_APP_SEAL_CODE, as gtee_app_seal) or to
 * the signer (GTEE_APP_SEAL_SIGNER: later versions by the same signer open it too). */
#define GTEE_APP_SEAL_CODE 1
#define GTEE_APP_SEAL_SIGNER 2
int gtee_app_seal_to(struct gtee_app *app, int policy, const void *pt, size_t len, uint8_t **blob, size_t *blob_len,
                     struct gtee_err *err) GTEE_MUST_USE;
int gtee_app_unseal(struct gtee_app *app, const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
                    struct gtee_err *err) GTEE_MUST_USE;
void gtee_app_free_secret(void *p, size_t len);

/* A request handler: op and body from the client; the reply body is malloc'd into *resp
 * (may be empty). A negative return sends the client an error with err's message, which
 * must not hold secrets; the session goes on.
 * Concurrency: gtee_app_serve serves clients on threads of their own, so the handler is
 * called from several threads, but never two calls at once: the SDK holds one lock per
 * gtee_app around each call (and around its own FRESH answers), taken only once the whole
 * request has arrived. State that only the handler touches needs no lock of its own; state
 * that other threads of the application touch does. A handler that takes long delays the
 * other sessions' requests (not their handshakes). */
typedef int (*gtee_app_handler_fn)(void *arg, struct gtee_app *app, uint16_t op, const uint8_t *req, size_t req_len,
                                   uint8_t **resp, size_t *resp_len, struct gtee_err *err);

/* Serves one client on a connected stream fd: the TLS 1.3 handshake with the attested
 * certificate, then requests (and fresh-evidence requests, answered by the SDK) until the
 * client closes. Returns 0 on a clean close. Sets no timeout: bound the fd's I/O yourself,
 * or use gtee_app_serve. May run on several threads at once for one app. */
int gtee_app_serve_fd(struct gtee_app *app, int fd, gtee_app_handler_fn handler, void *arg,
                      struct gtee_err *err) GTEE_MUST_USE;
/* Listens on HOST:PORT (PORT 0: any; *port gets the one bound), e.g. "127.0.0.1:0". */
int gtee_app_listen(const char *hostport, int *fd, uint16_t *port, struct gtee_err *err) GTEE_MUST_USE;
/* Accepts clients and serves up to max_sessions of them at once, each on a thread of its own
 * (gtee_app_options); while all are busy, new clients wait in the listen backlog. Each
 * session ends at session_seconds after its accept at the latest, however the client paces
 * its bytes. A client whose session fails does not stop the loop. Returns after max_clients
 * sessions (0: no limit) have ended. Call gtee_app_require_attested_clients before, not
 * during, serving. */
int gtee_app_serve(struct gtee_app *app, int listen_fd, unsigned max_clients, gtee_app_handler_fn handler, void *arg,
                   struct gtee_err *err) GTEE_MUST_USE;

/* What a side accepts of its peer's evidence, for gtee_app_require_attested_clients and the
 * client (gtee/sdk_client.h, gtee_client_connect) alike. */
struct gtee_client_options {
    const char *policy_file;     /* policy JSON file (docs/policy.md) */
    const char *policy_json;     /* or the JSON text itself; neither: the strict default */
    const char *collateral_dir;  /* collateral files, or a `gtee sim init` directory */
    const char *sim_root_file;   /* a simulated root to trust (DER); NULL: none */
    int64_t at;                  /* verification time; 0: now */
    /* Mutual attestation (enclave-to-enclave links): present this application's attested
     * certificate to a server that requires one (gtee_app_require_attested_clients). */
    struct gtee_app *present_as;
};

/* Mutual attestation, for enclave-to-enclave links: from now on every client must present
 * an attested certificate (gtee_client_options.present_as) that verifies with these settings
 * (same fields as a client's: policy, collateral, simulated root), or its handshake fails.
 * During a handler call, gtee_app_peer_claims gives the client's verified claims (NULL when
 * clients are not attested): those of the session whose request the handler serves. */
struct gtee_claims;
int gtee_app_require_attested_clients(struct gtee_app *app, const struct gtee_client_options *accept,
                                      struct gtee_err *err) GTEE_MUST_USE;
const struct gtee_claims *gtee_app_peer_claims(const struct gtee_app *app);
/* The attested client's Enclave ID (20 bytes); 0, or GTEE_ESTATE when clients are not attested. */
int gtee_app_peer_enclave_id(const struct gtee_app *app, uint8_t id[GTEE_APP_ID_LEN]) GTEE_MUST_USE;

/* The Work Proof slot: a recoverable secp256k1 signature by the Enclave key over a 32-byte
 * digest (a Work Proof's is its EIP-712 hash, gtee_proof_hash; the signer is the Enclave
 * ID). */
int gtee_app_sign(struct gtee_app *app, const uint8_t digest[32], uint8_t sig[GTEE_APP_SIG_LEN],
                  struct gtee_err *err) GTEE_MUST_USE;

#endif
