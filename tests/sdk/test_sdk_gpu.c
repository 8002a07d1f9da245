/* Composite evidence from the SDK: an application on the simulated TEE opened with gpus = 1
 * and the fake NVIDIA management library the test suite builds (it serves the h100-1 sample
 * whatever the nonce) gives, for the sample's own nonce, one bundle whose CVM part is the
 * TEE's evidence over the report data (keys, then that nonce) and whose GPU part is the
 * sample; any other nonce, no GPU, CC mode off, fewer GPUs than asked and no library are each
 * a clear error, never a plain evidence; gpus = 0 gives plain evidence as before. The
 * attested channel's certificate carries the TEE's evidence alone, so a client whose policy
 * requires a GPU refuses it (policy.gpu.required) rather than believe one bound. */
#include "ratls/ratls_testlib.h"

#include "evidence/nv_test_util.h"
#include "gtee/bundle.h"
#include "gtee/report_data.h"
#include "gtee/sdk.h"
#include "gtee/sdk_client.h"

static char base[PATH_MAX], dev[PATH_MAX], fake[PATH_MAX];

static int setup(void **state)
{
    const char *bin = getenv("GTEE_BINARY_DIR");

    (void)state;
    unsetenv("FAKE_NVML_MODE");
    snprintf(fake, sizeof(fake), "%s/tests/libfake-nvidia-ml.so.1", bin ? bin : ".");
    t_tmpdir(base, sizeof(base), "sdkgpu");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    return gtee_sim_init(dev, NULL) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rmtree(base);
    return 0;
}

/* The application's evidence for nonce; rc, and the error's message in e. */
static int open_app(unsigned gpus, const char *lib, struct gtee_app **app, struct gtee_err *e)
{
    /* the application lives inside this test process: linked with tests/unhardened.c */
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = "gpu", .gpus = gpus, .gpu_library = lib };

    memset(e, 0, sizeof(*e));
    *app = NULL;
    return gtee_app_open(&o, app, e);
}

/* The CVM part verifies as the TEE's evidence, bound to the application's keys and nonce. */
static void verify_cvm(struct gtee_app *app, const uint8_t *cvm, size_t len, const uint8_t nonce[32])
{
    char dir[PATH_MAX], rootp[PATH_MAX];
    struct gtee_collateral col;
    struct gtee_app_identity id;
    struct gtee_anchors anchors = {0};
    struct gtee_policy policy;
    struct gtee_binding_expect x = { .has_keys = true, .has_nonce = true };
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    uint8_t *root;
    size_t root_len;

    snprintf(dir, sizeof(dir), "%.*s/sgx", PATH_MAX - 8, dev);
    snprintf(rootp, sizeof(rootp), "%.*s/sim_root_ca.der", PATH_MAX - 32, dev);
    assert_int_equal(gtee_collateral_load(dir, &col, NULL), 0);
    assert_int_equal(gtee_file_read(rootp, 1 << 16, &root, &root_len, NULL), 0);
    anchors.sim_root_der = root;
    anchors.sim_root_len = root_len;
    gtee_policy_default(&policy);
    policy.allow_simulation = true;
    gtee_app_identity(app, &id);
    memcpy(x.enclave_pub, id.enclave_key, sizeof(x.enclave_pub));
    memcpy(x.channel_pub, id.channel_key, sizeof(x.channel_pub));
    memcpy(x.nonce, nonce, 32);
    assert_int_equal(gtee_evidence_verify_bound(cvm, len, &col, &anchors, &policy, &x, (int64_t)time(NULL), v, NULL), 0);
    assert_true(v->claims.binding.bound);
    assert_true(v->claims.binding.nonce_checked);
    gtee_collateral_free(&col);
    free(root);
    free(v);
}

static void test_bundle_over_the_nonce(void **state)
{
    struct gtee_app *app;
    struct gtee_err e;
    struct gtee_bundle b;
    uint8_t rd[64], *ev = NULL, other[32];
    size_t ev_len = 0, len;
    uint8_t *sample = nv_vec("nvidia/h100-1/report.bin", &len);

    (void)state;
    if (open_app(1, fake, &app, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(gtee_app_evidence(app, nv_sample_nonce, rd, &ev, &ev_len, &e), 0);
    assert_true(gtee_bundle_detect(ev, ev_len));
    assert_int_equal(gtee_bundle_parse(ev, ev_len, &b, NULL), 0);
    assert_int_equal(b.n_gpu, 1);
    assert_int_equal(b.gpu_len[0], len);
    assert_memory_equal(b.gpu[0], sample, len);
    assert_memory_equal(rd + 32, nv_sample_nonce, 32);
    verify_cvm(app, b.cvm, b.cvm_len, nv_sample_nonce);
    free(ev);
    ev = NULL;

    /* Another nonce: the GPU's report is not over it, and the error says so. */
    memset(other, 0x5a, sizeof(other));
    assert_int_equal(gtee_app_evidence(app, other, rd, &ev, &ev_len, &e), GTEE_EAUTH);
    assert_null(ev);
    assert_non_null(strstr(e.msg, "GPU 0"));
    assert_non_null(strstr(e.msg, "over our nonce"));

    /* CC mode off: a clear error at evidence time. */
    setenv("FAKE_NVML_MODE", "ccoff", 1);
    assert_int_equal(gtee_app_evidence(app, nv_sample_nonce, rd, &ev, &ev_len, &e), GTEE_ESTATE);
    unsetenv("FAKE_NVML_MODE");
    assert_null(ev);
    print_message("ccoff: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "onfidential"));
    gtee_app_close(app);
    free(sample);
}

static void test_open_refuses(void **state)
{
    struct gtee_app *app;
    struct gtee_err e;
    char missing[PATH_MAX];

    (void)state;
    setenv("FAKE_NVML_MODE", "nogpu", 1);
    assert_int_equal(open_app(1, fake, &app, &e), GTEE_ENOTFOUND);
    unsetenv("FAKE_NVML_MODE");
    assert_null(app);
    print_message("nogpu: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "sees 0"));
    /* More GPUs than there are. */
    assert_int_equal(open_app(2, fake, &app, &e), GTEE_ENOTFOUND);
    assert_non_null(strstr(e.msg, "gpus 2 asked for"));
    /* No library. */
    snprintf(missing, sizeof(missing), "%.*s/no-such-nvml.so.1", PATH_MAX - 32, base);
    assert_int_equal(open_app(1, missing, &app, &e), GTEE_ENOTFOUND);
    print_message("no library: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "no-such-nvml"));
    /* A library without GPUs to bind is a mistake, not something to ignore. */
    assert_int_equal(open_app(0, fake, &app, &e), GTEE_EINVAL);
    assert_int_equal(open_app(GTEE_APP_GPUS_MAX + 1, fake, &app, &e), GTEE_EINVAL);
}

static void test_no_gpus_plain_evidence(void **state)
{
    struct gtee_app *app;
    struct gtee_err e;
    uint8_t rd[64], *ev = NULL;
    size_t ev_len = 0;

    (void)state;
    if (open_app(0, NULL, &app, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(gtee_app_evidence(app, nv_sample_nonce, rd, &ev, &ev_len, &e), 0);
    assert_false(gtee_bundle_detect(ev, ev_len));
    verify_cvm(app, ev, ev_len, nv_sample_nonce);
    free(ev);
    gtee_app_close(app);
}

static int echo(void *arg, struct gtee_app *app, uint16_t op, const uint8_t *req, size_t len, uint8_t **resp,
                size_t *resp_len, struct gtee_err *err)
{
    (void)arg, (void)app, (void)op, (void)req, (void)len, (void)err;
    *resp = NULL;
    *resp_len = 0;
    return 0;
}

struct serve {
    struct gtee_app *app;
    int fd, rc;
    pthread_t th;
};

static void *serve_main(void *arg)
{
    struct serve *s = arg;
    struct gtee_err err = {0};

    s->rc = gtee_app_serve_fd(s->app, s->fd, echo, NULL, &err);
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

/* Connects a client with policy_json to app over a socket pair: its return code. */
static int connect_with(struct gtee_app *app, const char *policy_json, struct gtee_err *err)
{
    char rootp[PATH_MAX];
    struct gtee_client_options o = { .policy_json = policy_json, .collateral_dir = dev, .sim_root_file = rootp };
    struct gtee_client *c = NULL;
    struct serve s = { .app = app };
    int sv[2], rc;

    snprintf(rootp, sizeof(rootp), "%.*s/sim_root_ca.der", PATH_MAX - 32, dev);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    rc = gtee_client_connect_fd(sv[1], &o, &c, err);
    gtee_client_close(c);
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static void test_channel_binds_no_gpu(void **state)
{
    struct gtee_app *app;
    struct gtee_err e;

    (void)state;
    if (open_app(1, fake, &app, &e) != 0)
        fail_msg("%s", e.msg);
    if (connect_with(app, "{\"allow_simulation\": true}", &e) != 0)
        fail_msg("%s", e.msg);
    memset(&e, 0, sizeof(e));
    assert_int_equal(connect_with(app, "{\"allow_simulation\": true, \"gpu\": {\"min_count\": 1}}", &e), GTEE_EPOLICY);
    print_message("channel: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "policy.gpu.required"));
    gtee_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_over_the_nonce),
        cmocka_unit_test(test_open_refuses),
        cmocka_unit_test(test_no_gpus_plain_evidence),
        cmocka_unit_test(test_channel_binds_no_gpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
