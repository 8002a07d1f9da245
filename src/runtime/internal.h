/* Internal to the SDK, the one enclave runtime: the application context, shared by the TEE
 * half (app_tee.c, which includes gtee/tee.h), the hardening (app_harden.c), the memory
 * (app_memory.c) and the channel half (app_serve.c, which includes gtee/ratls.h). */
#ifndef GTEE_SDK_INTERNAL_H
#define GTEE_SDK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/keyrelease.h"
#include "gtee/sdk.h"
#include "gtee/tee.h"

struct gtee_tee;
struct gtee_ratls_ctx;
struct gtee_ratls_peer;
struct gtee_ratls_cred;
struct sdk_verifier;

struct sdk_secrets {               /* locked, dump-excluded */
    uint8_t enclave_priv[32];
    uint8_t channel_priv[32];
};

struct gtee_app {
    struct gtee_tee *tee;
    struct sdk_secrets *sec;
    enum gtee_tee_kind kind;
    int simulated;
    uint8_t exe_sha256[32];
    char note[256];                /* what the hardening skipped (gtee_app_hardening_note) */
    uint64_t memory_limit;
    _Atomic uint64_t memory_used;  /* gtee_app_reserve, from any thread */
    int quote_is_tdx;              /* the TEE's quotes are TDX quotes (else SGX) */
    uint8_t meas[48];
    size_t meas_len;
    uint8_t enclave_pub[65], enclave_addr[20], channel_pub[65];
    struct gtee_ratls_ctx *ctx;    /* the server context with the attested certificate (SGX and
                                    * TDX quotes; NULL under SEV-SNP, whose channel is to come) */
    struct sdk_verifier *peer_vfy; /* set: clients must be attested (mutual attestation) */
    /* gtee_app_serve's sessions run on threads of their own: this lock makes the handler
     * calls and FRESH answers (the TEE's evidence) one at a time (docs/sdk-tutorial.md). */
    pthread_mutex_t lock;
    unsigned max_sessions, session_seconds;
    /* The application's credential for its certificate (the channel key is a secret: wipe
     * it), reached through this pointer so that the client (src/client, in the host
     * library) presents an application (gtee_client_options.present_as) without linking
     * the enclave runtime: only a program that opened an application holds one. */
    void (*cred)(const struct gtee_app *app, struct gtee_ratls_cred *cred);
    unsigned gpus;                 /* GPUs bound into gtee_app_evidence's bundle (0: none) */
    struct gtee_tee_gpu_lib *gpu;  /* NVML, loaded at open: the seccomp list then loads no code */
    struct gtee_kr_tcp kr;         /* tdx: the key-release service (gtee_app_options.key_release) */
    struct gtee_key_release_transport kr_tr;
};

/* app_tee.c: the TEE half of gtee_app_open, and the evidence source of the certificate. */
int sdk_tee_open(struct gtee_app *app, const struct gtee_app_options *o, struct gtee_err *err) GTEE_MUST_USE;
void sdk_tee_close(struct gtee_app *app);
int sdk_evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *ev_len, struct gtee_err *err);

/* app_harden.c, alone in its object file: the process hardening before any secret exists
 * (writes what it skipped to note), and the seccomp list once start-up is over. In-tree
 * tests that host applications inside their own process link tests/unhardened.c in its
 * place; the installed libraries have only these (docs/tee.md §8). */
int sdk_harden_process(const struct gtee_app_options *o, char *note, size_t note_len,
                       struct gtee_err *err) GTEE_MUST_USE;
int sdk_harden_seccomp(const struct gtee_app_options *o, struct gtee_err *err) GTEE_MUST_USE;

/* app_memory.c: under Gramine, locking and dump-excluding pages are hints it may not give;
 * set by sdk_harden_process, never for sim, tdx or snp. */
extern int sdk_memory_lock_optional;

#endif
