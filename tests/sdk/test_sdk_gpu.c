/* Composite evidence from the SDK: an application on the simulated TEE opened with gpus = 1
 * and the fake NVIDIA management library the test suite builds (it serves the h100-1 sample
 * over the caller's nonce, its signature the sample's) gives, for the sample's own nonce, one
 * bundle whose CVM part is the TEE's evidence over the report data (keys, then that nonce)
 * and whose GPU part is the sample; over another nonce, the GPU part is the sample with that
 * nonce. A library whose report is over another nonce than asked, no GPU, CC mode off, fewer
 * GPUs than asked and no library are each a clear error, never a plain evidence; gpus = 0
 * gives plain evidence as before. The attested channel's certificate carries the bundle too:
 * the client's check reaches the GPU part and refuses its signature (the sample's, over
 * another nonce), and an application whose GPU cannot answer does not open. */
#include "ratls/ratls_testlib.h"
#include "ratls/ratls_gpu_testlib.h"

#include "evidence/nv_test_util.h"
#include "gtee/bundle.h"
#include "gtee/report_data.h"
#include "gtee/sdk.h"

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

    /* Another nonce: the GPU answers over it (the fake library writes it into the sample). */
    memset(other, 0x5a, sizeof(other));
    assert_int_equal(gtee_app_evidence(app, other, rd, &ev, &ev_len, &e), 0);
    assert_int_equal(gtee_bundle_parse(ev, ev_len, &b, NULL), 0);
    assert_int_equal(b.n_gpu, 1);
    assert_memory_equal(b.gpu[0] + 4, other, 32);
    free(ev);
    ev = NULL;

    /* A report over another nonce than asked: refused, naming the GPU. */
    setenv("FAKE_NVML_MODE", "fixed", 1);
    assert_int_equal(gtee_app_evidence(app, other, rd, &ev, &ev_len, &e), GTEE_EAUTH);
    unsetenv("FAKE_NVML_MODE");
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

/* A client of the attested channel with vfy connects to app over a socket pair: its return
 * code, the peer as it judged it. */
static int connect_with(struct gtee_app *app, const struct gtee_ratls_verify *vfy, struct gtee_ratls_peer *peer,
                        struct gtee_err *err)
{
    struct gtee_ratls_ctx *ctx = NULL;
    struct gtee_ratls_conn *c = NULL;
    struct serve s = { .app = app };
    int sv[2], rc;

    assert_int_equal(gtee_ratls_client_new(vfy, NULL, &ctx, err), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    rc = gtee_ratls_connect(ctx, sv[1], &c, peer, err);
    gtee_ratls_conn_free(c);
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(ctx);
    return rc;
}

/* The certificate of an application with a GPU is a bundle: the CVM part bound to the
 * channel's keys, the GPU part over its zero nonce (the fake library's answer, whose signature
 * is the sample's). The client verifies every part: the signature is refused, named for GPU 0,
 * beside the sample RIMs' expired signing certificates, and no binding fault. */
static void test_channel_presents_the_bundle(void **state)
{
    char bdir[PATH_MAX];
    struct gtee_app *app;
    struct t_verifier v;
    struct gtee_ratls_peer *peer = calloc(1, sizeof(*peer));
    struct gtee_err e;
    size_t expired;

    (void)state;
    snprintf(bdir, sizeof(bdir), "%.*s/bundle", PATH_MAX - 16, base);
    t_bundle_collateral(dev, bdir);
    if (open_app(1, fake, &app, &e) != 0)
        fail_msg("%s", e.msg);
    t_verifier_bundle(&v, dev, bdir, T_GPU_POLICY);
    memset(&e, 0, sizeof(e));
    assert_int_equal(connect_with(app, &v.vfy, peer, &e), GTEE_EPOLICY);
    t_print_reasons(&peer->verdict);
    print_message("channel: %s\n", e.msg);
    assert_int_equal(peer->failure, GTEE_RATLS_FAIL_EVIDENCE);
    assert_int_equal(peer->verdict.claims.tee, GTEE_TEE_SGX);
    assert_int_equal(peer->verdict.claims.gpus_bound, 0);
    assert_int_equal(t_count(&peer->verdict, "report_data.", NULL), 0);
    assert_int_equal(t_count(&peer->verdict, "bundle.", NULL), 0);
    assert_int_equal(t_count(&peer->verdict, "gpu.signature", "GPU 0: "), 1);
    expired = t_expired_rims(&peer->verdict);
    assert_int_equal(peer->verdict.n_reasons, 1 + expired);
    assert_non_null(strstr(e.msg, "GPU 0: "));

    /* Requiring a GPU: the count too. */
    v.policy.gpu.min_count = 1;
    assert_int_equal(connect_with(app, &v.vfy, peer, &e), GTEE_EPOLICY);
    assert_int_equal(t_count(&peer->verdict, "gpu.signature", "GPU 0: "), 1);
    assert_int_equal(t_count(&peer->verdict, "policy.gpu.required", NULL), 1);
    t_verifier_close(&v);
    gtee_app_close(app);

    /* A GPU that cannot answer the certificate's nonce: the application does not open, rather
     * than present the TEE's evidence alone. */
    setenv("FAKE_NVML_MODE", "fixed", 1);
    assert_int_equal(open_app(1, fake, &app, &e), GTEE_EAUTH);
    unsetenv("FAKE_NVML_MODE");
    assert_null(app);
    print_message("fixed: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "GPU 0 of 1"));
    assert_non_null(strstr(e.msg, "over our nonce"));
    free(peer);
}

/* An application without GPUs, to a client whose policy requires one: refused by the policy. */
static void test_channel_without_gpu_refused_by_gpu_policy(void **state)
{
    struct gtee_app *app;
    struct t_verifier v;
    struct gtee_ratls_peer *peer = calloc(1, sizeof(*peer));
    struct gtee_err e;

    (void)state;
    if (open_app(0, NULL, &app, &e) != 0)
        fail_msg("%s", e.msg);
    t_verifier_open(&v, dev, T_GPU_POLICY);
    if (connect_with(app, &v.vfy, peer, &e) != 0)
        fail_msg("%s", e.msg);
    t_verifier_close(&v);
    t_verifier_open(&v, dev, T_GPU_POLICY_REQUIRED);
    assert_int_equal(connect_with(app, &v.vfy, peer, &e), GTEE_EPOLICY);
    print_message("channel: %s\n", e.msg);
    assert_int_equal(peer->failure, GTEE_RATLS_FAIL_POLICY);
    assert_non_null(strstr(e.msg, "policy.gpu.required"));
    t_verifier_close(&v);
    gtee_app_close(app);
    free(peer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_over_the_nonce),
        cmocka_unit_test(test_open_refuses),
        cmocka_unit_test(test_no_gpus_plain_evidence),
        cmocka_unit_test(test_channel_presents_the_bundle),
        cmocka_unit_test(test_channel_without_gpu_refused_by_gpu_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
