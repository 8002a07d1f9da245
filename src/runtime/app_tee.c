/* The SDK's TEE half: opening the backend with the application's own measurement (under
 * sim: the executable's hash and its configuration), the Enclave key, the channel key,
 * evidence (a composite bundle with the GPUs asked for), sealing, relay boxes, and the
 * Enclave key's signature (the work-proof slot). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "wire/measure.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"
#include "gtee/sdk.h"
#include "gtee/tee.h"
#include "gtee/tee_gpu.h"
#include "runtime/internal.h"

/* SHA-256 of the running executable. /proc/self/exe names the inode the kernel executed (a
 * launcher fexecve()s the descriptor it hashed), and the kernel refuses writes to a file
 * being executed (ETXTBSY), so these bytes are the ones that run. */
static int hash_self(uint8_t out[32], struct gtee_err *err)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "sdk: cannot open /proc/self/exe (%s)", strerror(errno));
    rc = gtee_enclave_hash_fd(fd, out, err);
    close(fd);
    return rc;
}

/* Under sim the "hardware" measures us: the file the kernel executes plus the configuration
 * (gtee_enclave_config_text), so other code or another configuration is another identity. */
static int sim_measure(const struct gtee_app_options *o, const uint8_t exe[32], struct gtee_tee_sim_identity *id,
                       struct gtee_err *err)
{
    static const char signer[] = "gtee simulated enclave signer v1"; /* published: docs/tee.md */
    const struct gtee_enclave_config c = { .tee = o->tee, .sim_quote_version = o->sim_quote_version,
                                           .config = o->config, .gramine = o->gramine, .allow = o->allow,
                                           .memory_limit = o->memory_limit };
    char text[4096];
    int n = gtee_enclave_config_text(&c, text, sizeof(text)), rc;

    ENSURE(n >= 0, err, GTEE_EINVAL, "sdk: configuration text over %zu bytes", sizeof(text) - 1);
    TRY(gtee_enclave_measurement(exe, text, (size_t)n, id->mrenclave, err));
    ENSURE(gtee_sha256(signer, sizeof(signer) - 1, id->mrsigner) == 0, err, GTEE_ECRYPTO, "sdk: hash failed");
    id->isv_prod_id = 1;
    id->isv_svn = 1;
out:
    return rc;
}

/* TDX's key root comes from a key-release service (docs/tee.md §4.3.2); with any other
 * backend the options would be silently ignored, so they are refused. */
static int key_release_setup(struct gtee_app *app, const struct gtee_app_options *o, struct gtee_tee_options *opt,
                             struct gtee_err *err)
{
    int rc = 0;

    ENSURE(!o->key_release == !o->key_release_pub, err, GTEE_EINVAL,
           "sdk: key_release and key_release_pub go together");
    if (o->key_release) {
        ENSURE(strcmp(o->tee, "tdx") == 0 || strcmp(o->tee, "auto") == 0, err, GTEE_EINVAL,
               "sdk: a key-release service is only for the tdx backend (or auto)");
        TRY(gtee_kr_tcp_init(&app->kr, o->key_release, o->key_release_pub, err));
        gtee_kr_tcp_transport(&app->kr, &app->kr_tr);
        opt->key_release = &app->kr_tr;
    }
out:
    return rc;
}

_Static_assert(GTEE_APP_GPUS_MAX == GTEE_BUNDLE_GPU_MAX, "a bundle holds every GPU an application may bind");

/* The GPUs to bind (docs/evidence-nvidia.md, "Composite evidence"): the library must load
 * and see as many as asked for, now rather than at the first verifier's request, and before
 * the hardening: the seccomp list allows no loading of code later, and the library is kept
 * loaded and initialised for the collections to come. */
static int gpu_open(struct gtee_app *app, const struct gtee_app_options *o, struct gtee_err *err)
{
    unsigned n = 0;
    int rc = 0;

    if (o->gpus == 0) {
        ENSURE(o->gpu_library == NULL, err, GTEE_EINVAL, "sdk: gpu_library given without gpus");
        goto out;
    }
    ENSURE(o->gpus <= GTEE_APP_GPUS_MAX, err, GTEE_EINVAL, "sdk: gpus %u, at most %d", o->gpus, GTEE_APP_GPUS_MAX);
    if ((rc = gtee_tee_gpu_open(o->gpu_library, &app->gpu, &n, err)) < 0) {
        gtee_err_wrap(err, "sdk: gpus %u: ", o->gpus);
        goto out;
    }
    ENSURE(n >= o->gpus, err, GTEE_ENOTFOUND, "sdk: gpus %u asked for, the NVIDIA management library sees %u",
           o->gpus, n);
    app->gpus = o->gpus;
out:
    return rc;
}

/* A composite bundle: the TEE's evidence over rd, then each GPU's report over the nonce it
 * commits to (gtee_bundle_gpu_nonce), which the collector checks the report is over. */
static int bundle_evidence(struct gtee_app *app, const uint8_t rd[64], uint8_t **ev, size_t *ev_len,
                           struct gtee_err *err)
{
    struct gtee_tee_gpu g[GTEE_BUNDLE_GPU_MAX];
    struct gtee_bundle b = {0};
    uint8_t *cvm = NULL, nonce[GTEE_GPU_NONCE_LEN];
    size_t cvm_len = 0;
    int rc;

    memset(g, 0, sizeof(g));
    TRY(gtee_tee_evidence(app->tee, rd, &cvm, &cvm_len, err));
    b.cvm = cvm;
    b.cvm_len = cvm_len;
    for (unsigned i = 0; i < app->gpus; i++) {
        gtee_bundle_gpu_nonce(rd, i, nonce);
        if ((rc = gtee_tee_gpu_collect_from(app->gpu, i, nonce, &g[i], err)) < 0) {
            gtee_err_wrap(err, "sdk: GPU %u of %u: ", i, app->gpus);
            goto out;
        }
        b.gpu[i] = g[i].report;
        b.gpu_len[i] = g[i].report_len;
    }
    b.n_gpu = app->gpus;
    TRY(gtee_bundle_write(&b, ev, ev_len, err));
out:
    free(cvm);
    for (unsigned i = 0; i < GTEE_BUNDLE_GPU_MAX; i++)
        gtee_tee_gpu_free(&g[i]);
    return rc;
}

int sdk_tee_open(struct gtee_app *app, const struct gtee_app_options *o, struct gtee_err *err)
{
    struct gtee_tee_options opt = {0};
    int rc;

    ENSURE(o->tee, err, GTEE_EINVAL, "sdk: no TEE backend named");
    ENSURE((o->allow & ~(GTEE_APP_ALLOW_NET | GTEE_APP_ALLOW_FILES | GTEE_APP_ALLOW_JIT)) == 0, err, GTEE_EINVAL,
           "sdk: unknown allow bits 0x%x", o->allow);
    app->memory_limit = o->memory_limit ? o->memory_limit : GTEE_APP_MEMORY_DEFAULT;
    TRY(key_release_setup(app, o, &opt, err));
    TRY(gpu_open(app, o, err));
    /* Before any secret exists: every application gets the enclave's hardening. */
    TRY(sdk_harden_process(o, app->note, sizeof(app->note), err));
    app->sec = gtee_app_secret_alloc(sizeof(*app->sec));
    ENSURE(app->sec, err, GTEE_ENOMEM, "sdk: cannot lock memory for secrets (RLIMIT_MEMLOCK)");
    TRY(hash_self(app->exe_sha256, err));
    opt.root = o->root;
    opt.sim_dir = o->sim_dir;
    opt.sim_quote_version = o->sim_quote_version;
    if (strcmp(o->tee, "sim") == 0)
        TRY(sim_measure(o, app->exe_sha256, &opt.sim_id, err));
    /* On TDX this is where the key release happens (one TCP connection, closed again):
     * before the seccomp list, which allows no new socket unless the application asks. */
    TRY(gtee_tee_open(o->tee, &opt, &app->tee, err));
    app->kind = gtee_tee_kind(app->tee);
    app->simulated = gtee_tee_is_simulated(app->tee);
    app->quote_is_tdx = app->kind == GTEE_TEE_KIND_TDX || (app->kind == GTEE_TEE_KIND_SIM && o->sim_quote_version == 4);
    TRY(gtee_tee_measurement(app->tee, app->meas, &app->meas_len, err));
    TRY(gtee_tee_enclave_key(app->tee, app->sec->enclave_priv, app->enclave_pub, app->enclave_addr, err));
    TRY(gtee_relay_keypair(app->sec->channel_priv, app->channel_pub, err)); /* fresh each start */
out:
    return rc;
}

void sdk_tee_close(struct gtee_app *app)
{
    gtee_tee_close(app->tee);
    app->tee = NULL;
    gtee_tee_gpu_close(app->gpu);
    app->gpu = NULL;
    if (app->sec)
        gtee_app_secret_free(app->sec, sizeof(*app->sec));
    app->sec = NULL;
}

/* Every piece of the application's evidence, over rd: the attested certificate's and its
 * FRESH answers (the channel's evidence source) as well as gtee_app_evidence's. With GPUs it
 * is one bundle, never the TEE's evidence alone. */
int sdk_evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *ev_len, struct gtee_err *err)
{
    struct gtee_app *app = arg;

    if (app->gpus)
        return bundle_evidence(app, rd, ev, ev_len, err);
    return gtee_tee_evidence(app->tee, rd, ev, ev_len, err);
}

int gtee_app_seal(struct gtee_app *app, const void *pt, size_t len, uint8_t **blob, size_t *blob_len,
                  struct gtee_err *err)
{
    return gtee_tee_seal(app->tee, GTEE_SEAL_MRENCLAVE, pt, len, blob, blob_len, err);
}

int gtee_app_seal_to(struct gtee_app *app, int policy, const void *pt, size_t len, uint8_t **blob, size_t *blob_len,
                     struct gtee_err *err)
{
    if (policy != GTEE_APP_SEAL_CODE && policy != GTEE_APP_SEAL_SIGNER)
        return GTEE_FAIL(err, GTEE_EINVAL, "sdk: sealing policy %d unknown", policy);
    return gtee_tee_seal(app->tee, (enum gtee_seal_policy)policy, pt, len, blob, blob_len, err);
}

int gtee_app_evidence(struct gtee_app *app, const uint8_t nonce[32], uint8_t report_data[64], uint8_t **ev,
                      size_t *ev_len, struct gtee_err *err)
{
    int rc = gtee_tee_report_data(app->enclave_pub, app->channel_pub, nonce, report_data);

    if (rc < 0)
        return GTEE_FAIL(err, rc, "sdk: report data failed");
    return sdk_evidence(app, report_data, ev, ev_len, err);
}

int gtee_app_relay_open(struct gtee_app *app, const uint8_t *box, size_t box_len, uint8_t resp_key[32], uint8_t **pt,
                        size_t *pt_len, struct gtee_err *err)
{
    return gtee_relay_open_request(app->sec->channel_priv, app->channel_pub, box, box_len, resp_key, pt, pt_len, err);
}

const char *gtee_app_hardening_note(const struct gtee_app *app)
{
    return app->note;
}

int gtee_app_unseal(struct gtee_app *app, const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
                    struct gtee_err *err)
{
    return gtee_tee_unseal(app->tee, blob, blob_len, pt, pt_len, err);
}

void gtee_app_free_secret(void *p, size_t len)
{
    gtee_tee_free_secret(p, len);
}

int gtee_app_sign(struct gtee_app *app, const uint8_t digest[32], uint8_t sig[GTEE_APP_SIG_LEN], struct gtee_err *err)
{
    if (gtee_secp256k1_sign(app->sec->enclave_priv, digest, sig) != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "sdk: Enclave key signature failed");
    return 0;
}

void gtee_app_identity(const struct gtee_app *app, struct gtee_app_identity *id)
{
    memset(id, 0, sizeof(*id));
    id->tee = gtee_tee_name(app->tee);
    id->kind = app->kind;
    id->simulated = app->simulated;
    memcpy(id->measurement, app->meas, app->meas_len);
    id->measurement_len = app->meas_len;
    memcpy(id->enclave_key, app->enclave_pub, 65);
    memcpy(id->enclave_id, app->enclave_addr, 20);
    memcpy(id->channel_key, app->channel_pub, 65);
    memcpy(id->exe_sha256, app->exe_sha256, 32);
}

_Static_assert(GTEE_MEASUREMENT_MAX == 48 && GTEE_APP_MEASUREMENT_MAX == 48, "measurement sizes agree");
_Static_assert(GTEE_APP_SEAL_CODE == GTEE_SEAL_MRENCLAVE && GTEE_APP_SEAL_SIGNER == GTEE_SEAL_MRSIGNER,
               "the SDK's sealing policies are the backends'");

int gtee_app_gpu_evidence_hash(const uint8_t *ev, size_t ev_len, uint8_t out[32], struct gtee_err *err)
{
    return gtee_bundle_gpu_hash(ev, ev_len, out, err);
}
