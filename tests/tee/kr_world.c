/* Test helper for the TDX key release over TCP: a simulated device whose TDX quotes the
 * configfs-tsm fake hands out, the service's secret files, and a real `gtee keyrelease serve`
 * process on 127.0.0.1 with an ephemeral port (its log kept for the canary scans). */
#ifndef KR_WORLD_C
#define KR_WORLD_C

#include <signal.h>
#include <sys/wait.h>

#include "reap.h"
#include "tee/sim_testlib.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"
#include "tee/fake_tsm.c"

static const char allow_sim[] = "{\"allow_simulation\": true}";

struct world {
    char dir[PATH_MAX];          /* scratch: secrets, policy, logs */
    char *dev;                   /* the simulated device: TDX quotes and the service's collateral */
    struct gtee_sim *sim;
    struct gtee_sim_identity id; /* what the fake TDX module measures (MRTD) */
    pid_t svc_pid;
    int port;
    char addr[64];
    char pin[131];               /* the running service's key, as `serve` prints it */
    char log[PATH_MAX + 16];
};

__attribute__((unused)) static int quote_over_inblob(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, void *arg)
{
    struct world *w = arg;

    if (n != GTEE_SIM_REPORT_DATA_LEN)
        return -1;
    return gtee_sim_quote(w->sim, GTEE_SIM_QUOTE_TDX, &w->id, in, out, out_len, NULL);
}

__attribute__((unused)) static void world_make(struct world *w)
{
    struct gtee_err err = {0};
    char p[PATH_MAX + 16];

    memset(w, 0, sizeof(*w));
    w->svc_pid = -1;
    assert_int_equal(fake_tmpdir(w->dir, sizeof(w->dir), "krtcp"), 0);
    w->dev = make_device();
    assert_int_equal(gtee_sim_open(w->dev, &w->sim, &err), 0);
    memset(w->id.mrenclave, 0x11, sizeof(w->id.mrenclave));
    memset(w->id.mrsigner, 0x5a, sizeof(w->id.mrsigner));
    w->id.isv_prod_id = 1;
    w->id.isv_svn = 1;
    snprintf(p, sizeof(p), "%s/master", w->dir);
    assert_int_equal(gtee_kr_secret_init(p, NULL), 0);
    snprintf(p, sizeof(p), "%s/other-master", w->dir);
    assert_int_equal(gtee_kr_secret_init(p, NULL), 0);
    snprintf(p, sizeof(p), "%s/allow.json", w->dir);
    assert_int_equal(fake_write(p, allow_sim, strlen(allow_sim)), 0);
}

/* The service key (hex) of the service holding the secret file dir/name. */
__attribute__((unused)) static void pin_of(struct world *w, const char *name, char hex[131])
{
    char p[PATH_MAX + 16];
    uint8_t master[32], priv[32], pub[65];

    snprintf(p, sizeof(p), "%s/%s", w->dir, name);
    assert_int_equal(gtee_kr_secret_load(p, master, NULL), 0);
    assert_int_equal(gtee_kr_service_key(master, priv, pub, NULL), 0);
    gtee_hex_encode(pub, sizeof(pub), hex);
}

/* `gtee keyrelease serve` as the operator runs it; its stderr (the refusal log) goes to
 * w->log. secret: "master" or "other-master"; policy: NULL for the strict default. */
__attribute__((unused)) static void service_start(struct world *w, const char *secret, const char *policy)
{
    char sec[PATH_MAX + 16], col[PATH_MAX], root[PATH_MAX], pol[PATH_MAX + 16], line[256];
    const char *cli = getenv("GTEE_CLI");
    int out[2];
    pid_t parent;
    FILE *f;

    assert_non_null(cli);
    snprintf(sec, sizeof(sec), "%s/%s", w->dir, secret);
    snprintf(pol, sizeof(pol), "%s/%s", w->dir, policy ? policy : "");
    snprintf(w->log, sizeof(w->log), "%s/serve.log", w->dir);
    path_join(col, sizeof(col), w->dev, GTEE_SIM_TDX_COLLATERAL_DIR);
    path_join(root, sizeof(root), w->dev, GTEE_SIM_ROOT_CA_FILE);
    assert_int_equal(pipe(out), 0);
    parent = getpid();
    w->svc_pid = fork();
    assert_true(w->svc_pid >= 0);
    if (w->svc_pid == 0) {
        int lf;

        reap_child_init(parent); /* a failed assertion or a crash of the test must not leave it running */
        lf = open(w->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf < 0 || dup2(out[1], 1) < 0 || dup2(lf, 2) < 0)
            _exit(126);
        if (policy)
            execl(cli, "gtee", "keyrelease", "serve", "--secret", sec, "--collateral", col, "--sim-root", root,
                  "--policy", pol, "--listen", "127.0.0.1:0", (char *)NULL);
        else
            execl(cli, "gtee", "keyrelease", "serve", "--secret", sec, "--collateral", col, "--sim-root", root,
                  "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    reap_track(w->svc_pid);
    close(out[1]);
    f = fdopen(out[0], "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(sscanf(line, "listening on 127.0.0.1:%d", &w->port), 1);
    snprintf(w->addr, sizeof(w->addr), "127.0.0.1:%d", w->port);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(sscanf(line, "service key: %130s", w->pin), 1);
    fclose(f);
    {
        /* what it prints is the key derived from its secret file */
        char hex[131];

        pin_of(w, secret, hex);
        assert_string_equal(hex, w->pin);
    }
}

/* The service logs after it has answered, so a caller that got the answer waits for the
 * line before stopping the service (up to 10 s: the machine may be loaded). */
__attribute__((unused)) static void service_log_wait(struct world *w, const char *text)
{
    for (int i = 0; i < 1000; i++) {
        size_t n = 0;
        uint8_t *b = fake_load(w->log, &n);
        int found = 0;

        if (b) {
            char *t = realloc(b, n + 1);

            assert_non_null(t);
            t[n] = '\0';
            found = strstr(t, text) != NULL;
            free(t);
        }
        if (found)
            return;
        fake_sleep_ms(10);
    }
    fail_msg("the service never logged '%s'", text);
}

__attribute__((unused)) static void service_stop(struct world *w)
{
    if (w->svc_pid > 0) {
        kill(w->svc_pid, SIGTERM);
        waitpid(w->svc_pid, NULL, 0);
        reap_forget(w->svc_pid);
    }
    w->svc_pid = -1;
}

__attribute__((unused)) static void world_free(struct world *w)
{
    service_stop(w);
    gtee_sim_close(w->sim);
    rm_device(w->dev);
    fake_rmtree(w->dir);
}

__attribute__((unused)) static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* K as docs/tee.md §4.3.1 derives it from a TDX quote v4 (TD report body after the 48-byte
 * header: TD_ATTRIBUTES at 120, MRTD at 136, RTMR0..2 at 328, 376, 424). */
__attribute__((unused)) static void root_from_quote(const uint8_t *q, size_t n, const uint8_t master[32], uint8_t k[32])
{
    static const char tag[] = "gtee tdx enclave key v1";
    uint8_t info[sizeof(tag) - 1 + 4 * 48 + 8];
    size_t off = sizeof(tag) - 1;

    assert_true(n > 48 + 584);
    memcpy(info, tag, off);
    memcpy(info + off, q + 48 + 136, 48);
    memcpy(info + off + 48, q + 48 + 328, 3 * 48);
    memcpy(info + off + 4 * 48, q + 48 + 120, 8);
    assert_int_equal(gtee_hkdf_sha256(k, 32, master, 32, NULL, 0, info, sizeof(info)), 0);
}

#endif
