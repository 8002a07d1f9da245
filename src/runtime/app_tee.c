/* The SDK's TEE half: opening the backend with the application's own measurement (under
 * sim: the executable's hash and its configuration, as gtee-enclave does), the Enclave key,
 * the channel key, sealing, and the Enclave key's signature (the work-proof slot). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "runtime/enclave.h"
#include "wire/measure.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"
#include "gtee/sdk.h"
#include "gtee/tee.h"
#include "runtime/internal.h"

/* Under sim the "hardware" measures us: the file the kernel executes plus the
 * configuration text, so other code or another configuration is another identity. */
static int sim_measure(const char *tee, int qv, const char *config, struct gtee_tee_sim_identity *id,
                       struct gtee_err *err)
{
    static const char signer[] = "gtee simulated enclave signer v1"; /* as gtee-enclave's */
    uint8_t exe[32];
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), rc;
    char text[4096];
    int n;

    if (fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "sdk: cannot open /proc/self/exe (%s)", strerror(errno));
    rc = gtee_enclave_hash_fd(fd, exe, err);
    close(fd);
    if (rc < 0)
        return rc;
    n = snprintf(text, sizeof(text), "tee=%s\nsim_quote_version=%d\nconfig=%s\n", tee, qv, config ? config : "");
    if (n < 0 || (size_t)n >= sizeof(text))
        return GTEE_FAIL(err, GTEE_EINVAL, "sdk: configuration text over %zu bytes", sizeof(text) - 64);
    TRY(gtee_enclave_measurement(exe, text, (size_t)n, id->mrenclave, err));
    ENSURE(gtee_sha256(signer, sizeof(signer) - 1, id->mrsigner) == 0, err, GTEE_ECRYPTO, "sdk: hash failed");
    id->isv_prod_id = 1;
    id->isv_svn = 1;
out:
    return rc;
}

int sdk_tee_open(struct gtee_app *app, const struct gtee_app_options *o, struct gtee_err *err)
{
    const char *tee = o->tee, *sim_dir = o->sim_dir, *config = o->config;
    int sim_quote_version = o->sim_quote_version;
    struct gtee_tee_options opt = {0};
    int rc;

    ENSURE(tee, err, GTEE_EINVAL, "sdk: no TEE backend named");
    /* TDX's key root comes from a key-release service (docs/tee.md §4.3.2); with any other
     * backend the options would be silently ignored, so they are refused. */
    ENSURE(!o->key_release == !o->key_release_pub, err, GTEE_EINVAL,
           "sdk: key_release and key_release_pub go together");
    if (o->key_release) {
        ENSURE(strcmp(tee, "tdx") == 0 || strcmp(tee, "auto") == 0, err, GTEE_EINVAL,
               "sdk: a key-release service is only for the tdx backend (or auto)");
        TRY(gtee_kr_tcp_init(&app->kr, o->key_release, o->key_release_pub, err));
        gtee_kr_tcp_transport(&app->kr, &app->kr_tr);
        opt.key_release = &app->kr_tr;
    }
    /* Before any secret exists: the application gets the enclave's hardening without
     * asking (gtee/sdk.h, unhardened). */
    if (!o->unhardened)
        TRY(gtee_tee_harden(err));
    app->sec = gtee_enclave_secret_alloc(sizeof(*app->sec));
    ENSURE(app->sec, err, GTEE_ENOMEM, "sdk: cannot lock memory for secrets (RLIMIT_MEMLOCK)");
    opt.sim_dir = sim_dir;
    opt.sim_quote_version = sim_quote_version;
    if (strcmp(tee, "sim") == 0)
        TRY(sim_measure(tee, sim_quote_version, config, &opt.sim_id, err));
    TRY(gtee_tee_open(tee, &opt, &app->tee, err));
    ENSURE(gtee_tee_kind(app->tee) != GTEE_TEE_KIND_SNP, err, GTEE_EUNSUPPORTED,
           "sdk: the attested channel carries SGX and TDX quotes; SEV-SNP is not wired yet");
    app->simulated = gtee_tee_is_simulated(app->tee);
    app->quote_is_tdx = gtee_tee_kind(app->tee) == GTEE_TEE_KIND_TDX ||
                        (gtee_tee_kind(app->tee) == GTEE_TEE_KIND_SIM && sim_quote_version == 4);
    TRY(gtee_tee_measurement(app->tee, app->meas, &app->meas_len, err));
    TRY(gtee_tee_enclave_key(app->tee, app->sec->enclave_priv, app->enclave_pub, app->enclave_addr, err));
    TRY(gtee_relay_keypair(app->sec->channel_priv, app->channel_pub, err)); /* fresh each start */
out:
    return rc;
}

/* After start-up (keys, evidence, certificate made; on TDX the key release done): the
 * application's allow-list, loaded before it starts any serving thread, which inherit it. */
int sdk_tee_seccomp(const struct gtee_app_options *o, struct gtee_err *err)
{
    return o->unhardened ? 0 : gtee_tee_seccomp(GTEE_HARDEN_APP, err);
}

void sdk_tee_close(struct gtee_app *app)
{
    gtee_tee_close(app->tee);
    app->tee = NULL;
    if (app->sec)
        gtee_enclave_secret_free(app->sec, sizeof(*app->sec));
    app->sec = NULL;
}

int sdk_evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *ev_len, struct gtee_err *err)
{
    struct gtee_app *app = arg;

    return gtee_tee_evidence(app->tee, rd, ev, ev_len, err);
}

int gtee_app_seal(struct gtee_app *app, const void *pt, size_t len, uint8_t **blob, size_t *blob_len,
                  struct gtee_err *err)
{
    return gtee_tee_seal(app->tee, GTEE_SEAL_MRENCLAVE, pt, len, blob, blob_len, err);
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
    id->simulated = app->simulated;
    memcpy(id->measurement, app->meas, app->meas_len);
    id->measurement_len = app->meas_len;
    memcpy(id->enclave_key, app->enclave_pub, 65);
    memcpy(id->enclave_id, app->enclave_addr, 20);
    memcpy(id->channel_key, app->channel_pub, 65);
}

_Static_assert(GTEE_MEASUREMENT_MAX == 48 && GTEE_APP_MEASUREMENT_MAX == 48, "measurement sizes agree");
