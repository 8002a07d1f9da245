/* The host's side of the enclave boundary: start the enclave process from a measured
 * executable, talk to it over one socket (gtee/msg.h), stop it. Nothing here ever holds a
 * key or plaintext of the enclave. */
#ifndef GTEE_ENCLAVE_H
#define GTEE_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gtee/err.h"
#include "gtee/report_data.h"
#include "gtee/tee_kind.h"

struct gtee_enclave_launch {
    const char *binary;      /* the gtee-enclave executable */
    const char *tee;         /* sim, sgx, tdx, snp, auto */
    const char *root;        /* NULL: "/" */
    const char *sim_dir;     /* sim only */
    const char *config;      /* operator configuration text, measured; NULL: "" */
    int sim_quote_version;   /* sim only: 3 or 4; 0: default */
    int stderr_fd;           /* where the enclave's stderr goes; 0 or -1: inherit */
    /* sgx: start through Gramine (docs/tee.md §10). gramine_dir holds the signed manifest
     * gtee-enclave.manifest.sgx and gtee-enclave.sig; gramine_sgx is the loader (a name
     * looked up on PATH, or a path; NULL: "gramine-sgx"). */
    const char *gramine_dir;
    const char *gramine_sgx;
    /* tdx (or auto): the key-release service, "A.B.C.D:PORT" or "[IPv6]:PORT", passed to the
     * enclave as --key-release (docs/tee.md §4.3.1); NULL: none (a TD then has no key).
     * key_release_pub: the service key the enclave pins (130 hex digits, as `gtee keyrelease
     * init` prints it; on a TD it belongs in the measured boot chain); required with it. */
    const char *key_release;
    const char *key_release_pub;
    /* What the enclave's seccomp list adds for the ML engine: executable memory for
     * oneDNN's JIT, which convolutions and pooling need (docs/tee.md §8 says what it
     * costs); passed as --allow-jit and measured. */
    int allow_jit;
    /* The enclave's memory limit for models, datasets and results, in bytes (0: the
     * runtime's default, GTEE_APP_MEMORY_DEFAULT); passed as --memory-limit and measured. */
    uint64_t memory_limit;
    /* Confidential GPUs bound into the enclave's evidence (gtee_app_options.gpus, docs/node.md
     * "GPUs"), and the NVIDIA management library to load (NULL: the driver's); passed as
     * --gpus and --gpu-library. Not measured: the evidence itself shows the GPUs it binds. */
    unsigned gpus;
    const char *gpu_library;
    /* The bound on every wait for the enclave (each request's send and answer, its exit
     * after the socket closes): then it is killed and reaped. 0: GTEE_ENCLAVE_TIMEOUT_MS. */
    unsigned timeout_ms;
};

#define GTEE_ENCLAVE_TIMEOUT_MS 60000u  /* a TDX start waits for its key release (15 s) */

/* A GTEE_MSG_PROGRESS report (gtee/msg.h), parsed. */
struct gtee_enclave_progress {
    unsigned stage;                /* 1 training, 2 inference */
    uint32_t epoch, epochs, batch, batches;
    float loss;
};

struct gtee_enclave_proc {
    pid_t pid;
    int fd;                        /* the one socket */
    uint64_t next_id;
    uint8_t binary_sha256[32];     /* what the host hashed and then executed; under Gramine
                                    * informational only (MRENCLAVE is the measurement) */
    int gramine;                   /* started through gramine-sgx */
    char notice[256];              /* the enclave's last NOTICE text, escaped ("" if none) */
    /* Progress the enclave reports during a request (GTEE_MSG_PROGRESS): given to
     * on_progress when set; each report also restarts the request's timeout, so a job that
     * keeps reporting is not cut, and one that falls silent is. */
    void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr);
    void *progress_arg;
    /* What the host knows of what it started, against which INFO is checked
     * (gtee_enclave_info): the backend's kind (0 for auto: any but sim), whether it is
     * the simulation, and for sim the measurement computed from the executable it hashed
     * and the configuration it passed. */
    enum gtee_tee_kind kind;
    int simulated;
    int check_exe;                 /* sim: exe_sha256 must be binary_sha256 */
    int check_measurement;
    uint8_t measurement[32];
    unsigned timeout_ms;
};

struct gtee_enclave_info {
    enum gtee_tee_kind kind;
    int simulated;
    uint8_t measurement[GTEE_MEASUREMENT_MAX];
    size_t measurement_len;
    uint8_t exe_sha256[32];        /* the enclave's own hash of its executable */
    uint8_t enclave_pub[GTEE_ENCLAVE_PUB_LEN];
    uint8_t enclave_addr[GTEE_ENCLAVE_ADDR_LEN];
    uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN];
};

/* Opens the binary, hashes that descriptor and fexecve()s the same descriptor in a child,
 * so the file hashed is the file executed (docs/tee.md, "Measurement"). The enclave gets
 * the socket as fd 3, stdio, and an empty environment.
 * With gramine_dir (sgx only): runs `gramine-sgx gtee-enclave` in that directory with the
 * socket as stdin and stdout, PATH as the only environment; the manifest fixes the
 * enclave's arguments. sgx without gramine_dir is refused unless root names a fake
 * device (tests): on hardware the enclave must run inside SGX.
 * The child gets SIGKILL when the calling thread ends (PR_SET_PDEATHSIG), so an enclave
 * never outlives a host that was killed: start it from a thread that lives as long as the
 * enclave, and stop it (gtee_enclave_stop) before that thread returns. */
int gtee_enclave_start(const struct gtee_enclave_launch *l, struct gtee_enclave_proc *p,
                       struct gtee_err *err) GTEE_MUST_USE;
/* One request and its answer. An ERROR answer becomes its code and message in err, the
 * enclave's text escaped (gtee_err_escape). Bounded by the launch's timeout_ms: an enclave
 * that does not answer in time is killed and reaped (GTEE_EIO). */
int gtee_enclave_call(struct gtee_enclave_proc *p, uint16_t type, const void *payload, size_t len,
                      uint8_t **reply, size_t *reply_len, struct gtee_err *err) GTEE_MUST_USE;
/* INFO, checked against what the host knows (docs/tee.md §3): the TEE kind is the one it
 * launched, "simulated" is the host's own knowledge, under sim the executable hash is the
 * one it computed and the measurement the one it computes, and the Enclave ID is the
 * address of the Enclave public key. A contradiction is GTEE_EPOLICY. */
int gtee_enclave_info(struct gtee_enclave_proc *p, struct gtee_enclave_info *info,
                      struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_info_parse(const uint8_t *payload, size_t len, struct gtee_enclave_info *info,
                            struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_progress_parse(const uint8_t *payload, size_t len, struct gtee_enclave_progress *pr,
                                struct gtee_err *err) GTEE_MUST_USE;
/* Requests that overlap (docs/tee.md §2, "Requests that overlap"): a reader thread owns the
 * socket's reading from mux_start on, and hands each answer and PROGRESS to the caller
 * waiting for its request id; callers on any thread. gtee_enclave_call must not be used on
 * p meanwhile. Each request is bounded by p's timeout_ms, restarted by each of its PROGRESS
 * reports (given to on_progress, NULL: none, on the reader thread: keep it short); a request
 * whose bound passes kills the enclave (SIGKILL; not reaped: gtee_enclave_stop does that)
 * and fails with GTEE_EIO. When the stream ends (the enclave died, or sent an ERROR with
 * request id 0), every waiting request fails at once with why, and every later one too. */
struct gtee_enclave_mux;
int gtee_enclave_mux_start(struct gtee_enclave_proc *p, struct gtee_enclave_mux **m,
                           struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_mux_call(struct gtee_enclave_mux *m, uint16_t type, const void *payload, size_t len,
                          uint8_t **reply, size_t *reply_len,
                          void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr), void *arg,
                          struct gtee_err *err) GTEE_MUST_USE;
/* The same in two halves, so that one caller keeps several requests in flight (the
 * enclave answers them in the order it read them: a container's pieces): send makes the
 * request and sends it (*req, or an error before anything was sent); wait takes its
 * answer, bounded as above, and frees *req whatever happens. Every sent request must be
 * waited for. */
struct gtee_enclave_mux_req;
int gtee_enclave_mux_send(struct gtee_enclave_mux *m, uint16_t type, const void *payload, size_t len,
                          void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr), void *arg,
                          struct gtee_enclave_mux_req **req, struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_mux_wait(struct gtee_enclave_mux *m, struct gtee_enclave_mux_req *req, uint8_t **reply,
                          size_t *reply_len, struct gtee_err *err) GTEE_MUST_USE;
/* 1 once a request's bound passed and it killed the enclave. */
int gtee_enclave_mux_timed_out(struct gtee_enclave_mux *m);
/* Ends the stream from the host's side: waiting requests fail with why (GTEE_EIO), and the
 * socket is shut down (a working enclave then exits). */
void gtee_enclave_mux_shutdown(struct gtee_enclave_mux *m, const char *why);
/* Shuts down (as above), joins the reader and frees m; no call may be in progress or come
 * after. Then gtee_enclave_stop reaps the enclave. */
void gtee_enclave_mux_free(struct gtee_enclave_mux *m);

/* Closes the socket and reaps the process, killing it if it has not exited within the
 * timeout; *status as from waitpid (may be NULL). */
int gtee_enclave_stop(struct gtee_enclave_proc *p, int *status);

#endif
