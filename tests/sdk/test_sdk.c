/* The SDK in one process on the simulated TEE: an application serves over a socket pair and
 * a client connects with a policy. The client's verified claims match the application's own
 * identity; requests reach the handler and its errors come back with their code; fresh
 * evidence verifies; sealed state opens only unaltered; the Enclave-key signature recovers
 * to the Enclave ID. */
#include "ratls/ratls_testlib.h"

#include "gtee/sdk.h"
#include "gtee/sdk_client.h"

static char base[PATH_MAX], dev[PATH_MAX], root[PATH_MAX], policy[PATH_MAX];

static int setup(void **state)
{
    FILE *f;

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    t_tmpdir(base, sizeof(base), "sdk");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    snprintf(root, sizeof(root), "%.*s/dev/sim_root_ca.der", PATH_MAX - 32, base);
    snprintf(policy, sizeof(policy), "%.*s/policy.json", PATH_MAX - 16, base);
    if (gtee_sim_init(dev, NULL) != 0 || !(f = fopen(policy, "w")))
        return -1;
    fputs("{\"allow_simulation\":true}", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rmtree(base);
    return 0;
}

/* op 0: echo; op 1: fails with GTEE_ENOTFOUND; op 2: the attested client's MRENCLAVE and
 * Enclave ID (mutual attestation) */
static int handler(void *arg, struct gtee_app *app, uint16_t op, const uint8_t *req, size_t len, uint8_t **resp,
                   size_t *resp_len, struct gtee_err *err)
{
    int *calls = arg;

    (*calls)++;
    if (op == 1)
        return GTEE_FAIL(err, GTEE_ENOTFOUND, "app: no such thing");
    if (op == 2) {
        const struct gtee_claims *peer = gtee_app_peer_claims(app);

        if (!peer)
            return GTEE_FAIL(err, GTEE_ESTATE, "app: client not attested");
        *resp = malloc(52);
        if (!*resp || gtee_app_peer_enclave_id(app, *resp + 32) != 0)
            return GTEE_FAIL(err, GTEE_ESTATE, "app: no peer Enclave ID");
        memcpy(*resp, peer->sgx.mrenclave, 32);
        *resp_len = 52;
        return 0;
    }
    *resp = malloc(len ? len : 1);
    if (!*resp)
        return GTEE_ENOMEM;
    memcpy(*resp, req, len);
    *resp_len = len;
    return 0;
}

struct serve {
    struct gtee_app *app;
    int fd, rc, calls;
    pthread_t th;
};

static void *serve_main(void *arg)
{
    struct serve *s = arg;
    struct gtee_err err = {0};

    s->rc = gtee_app_serve_fd(s->app, s->fd, handler, &s->calls, &err);
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

static struct gtee_app *open_app(const char *config)
{
    /* the applications live inside this test process: linked with tests/unhardened.c */
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = config };
    struct gtee_app *app = NULL;
    struct gtee_err err = {0};

    if (gtee_app_open(&o, &app, &err) != 0)
        fail_msg("%s", err.msg);
    return app;
}

static void test_sdk_client_sees_the_app_identity_and_calls_it(void **state)
{
    struct gtee_app *app = open_app("test v1");
    struct gtee_app_identity id;
    struct gtee_client_options o = { .policy_file = policy, .collateral_dir = dev, .sim_root_file = root };
    struct gtee_client *c = NULL;
    struct gtee_err err = {0};
    struct serve s = { .app = app };
    uint8_t *resp = NULL, eid[20];
    size_t n = 0;
    int sv[2];

    (void)state;
    gtee_app_identity(app, &id);
    assert_true(id.simulated);
    assert_string_equal(id.tee, "sim");
    assert_int_equal(id.measurement_len, 32);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    if (gtee_client_connect_fd(sv[1], &o, &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(gtee_client_claims(c)->simulated);
    assert_int_equal(gtee_client_claims(c)->tee, GTEE_TEE_SGX);
    assert_memory_equal(gtee_client_claims(c)->sgx.mrenclave, id.measurement, 32);
    gtee_client_enclave_id(c, eid);
    assert_memory_equal(eid, id.enclave_id, 20);

    assert_int_equal(gtee_client_call(c, 0, "ping", 4, &resp, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(resp, "ping", 4);
    free(resp);
    assert_int_equal(gtee_client_call(c, 1, "x", 1, &resp, &n, &err), GTEE_ENOTFOUND);
    assert_null(resp);
    assert_non_null(strstr(err.msg, "app: no such thing"));
    assert_int_equal(gtee_client_refresh(c, &err), 0);       /* fresh evidence, same session */
    assert_int_equal(gtee_client_call(c, 0, "", 0, &resp, &n, &err), 0); /* the session goes on */
    assert_int_equal(n, 0);
    free(resp);

    gtee_client_close(c);
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.calls, 3);
    close(sv[0]);
    close(sv[1]);
    gtee_app_close(app);
}

static void test_sdk_client_rejects_under_strict_policy_before_any_request(void **state)
{
    struct gtee_app *app = open_app("test v1");
    struct gtee_client_options o = { .policy_json = "{}", .collateral_dir = dev, .sim_root_file = root };
    struct gtee_client *c = NULL;
    struct gtee_err err = {0};
    struct serve s = { .app = app };
    int sv[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    assert_int_equal(gtee_client_connect_fd(sv[1], &o, &c, &err), GTEE_EPOLICY);
    assert_null(c);
    assert_non_null(strstr(err.msg, "policy.simulation"));
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    assert_int_not_equal(s.rc, 0);
    assert_int_equal(s.calls, 0);
    close(sv[0]);
    close(sv[1]);
    gtee_app_close(app);
}

static void test_sdk_sealed_state_opens_only_unaltered_and_for_the_same_app(void **state)
{
    struct gtee_app *app = open_app("test v1"), *other = open_app("test v2");
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;

    (void)state;
    assert_int_equal(gtee_app_seal(app, "state", 5, &blob, &blob_len, &err), 0);
    assert_null(memmem(blob, blob_len, "state", 5));
    assert_int_equal(gtee_app_unseal(app, blob, blob_len, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, 5);
    assert_memory_equal(pt, "state", 5);
    gtee_app_free_secret(pt, pt_len);
    pt = NULL;
    /* another configuration is another measurement: its sealing key differs */
    assert_int_not_equal(gtee_app_unseal(other, blob, blob_len, &pt, &pt_len, &err), 0);
    blob[blob_len - 1] ^= 1;
    assert_int_equal(gtee_app_unseal(app, blob, blob_len, &pt, &pt_len, &err), GTEE_EAUTH);
    free(blob);
    gtee_app_close(other);
    gtee_app_close(app);
}

static void test_sdk_signature_recovers_to_the_enclave_id(void **state)
{
    struct gtee_app *app = open_app("test v1");
    struct gtee_app_identity id;
    struct gtee_err err = {0};
    uint8_t digest[32], sig[GTEE_APP_SIG_LEN], pub[65], addr[20];

    (void)state;
    gtee_app_identity(app, &id);
    memset(digest, 0x42, sizeof(digest));
    assert_int_equal(gtee_app_sign(app, digest, sig, &err), 0);
    assert_int_equal(gtee_secp256k1_recover(digest, sig, pub), 0);
    assert_memory_equal(pub, id.enclave_key, 65);
    assert_int_equal(gtee_eth_address(pub, addr), 0);
    assert_memory_equal(addr, id.enclave_id, 20);
    gtee_app_close(app);
}

static void test_sdk_mutual_attestation_between_two_apps(void **state)
{
    struct gtee_app *server = open_app("verifier v1"), *client_app = open_app("node v1");
    struct gtee_app_identity cid;
    struct gtee_client_options accept = { .policy_file = policy, .collateral_dir = dev, .sim_root_file = root };
    struct gtee_client_options o = accept;
    struct gtee_client *c = NULL;
    struct gtee_err err = {0};
    struct serve s = { .app = server };
    uint8_t *resp = NULL;
    size_t n = 0;
    int sv[2];

    (void)state;
    gtee_app_identity(client_app, &cid);
    assert_int_equal(gtee_app_require_attested_clients(server, &accept, &err), 0);

    /* an enclave application as the client: both sides verified, the handler sees who */
    o.present_as = client_app;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    if (gtee_client_connect_fd(sv[1], &o, &c, &err) != 0)
        fail_msg("%s", err.msg);
    if (gtee_client_call(c, 2, "", 0, &resp, &n, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 52);
    assert_memory_equal(resp, cid.measurement, 32);
    assert_memory_equal(resp + 32, cid.enclave_id, 20);
    free(resp);
    gtee_client_close(c);
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    assert_int_equal(s.rc, 0);
    close(sv[0]);
    close(sv[1]);

    /* a client without an attested certificate gets no answer */
    s.calls = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    assert_int_equal(pthread_create(&s.th, NULL, serve_main, &s), 0);
    if (gtee_client_connect_fd(sv[1], &accept, &c, &err) == 0) {
        /* TLS 1.3: the client may finish before the server has judged its certificate */
        assert_int_not_equal(gtee_client_call(c, 0, "x", 1, &resp, &n, &err), 0);
        gtee_client_close(c);
    }
    shutdown(sv[1], SHUT_RDWR);
    assert_int_equal(pthread_join(s.th, NULL), 0);
    assert_int_not_equal(s.rc, 0);
    assert_int_equal(s.calls, 0);
    close(sv[0]);
    close(sv[1]);
    gtee_app_close(client_app);
    gtee_app_close(server);
}

/* The TDX key-release options (docs/tee.md §4.3.2) are refused wherever they would be
 * ignored or incomplete: with sim, one without the other, or malformed. */
static void test_sdk_key_release_options_are_never_silently_ignored(void **state)
{
    static const char pin[] = "04"
                              "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                              "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .key_release = "127.0.0.1:7000",
                                  .key_release_pub = pin };
    struct gtee_app *app = NULL;
    struct gtee_err err = {0};

    (void)state;
    assert_int_equal(gtee_app_open(&o, &app, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "only for the tdx backend"));
    o.tee = "tdx";
    o.key_release_pub = NULL;
    assert_int_equal(gtee_app_open(&o, &app, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "go together"));
    o.key_release_pub = pin;
    o.key_release = "localhost:7000";
    assert_int_equal(gtee_app_open(&o, &app, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "numeric"));
    assert_null(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_client_sees_the_app_identity_and_calls_it),
        cmocka_unit_test(test_sdk_client_rejects_under_strict_policy_before_any_request),
        cmocka_unit_test(test_sdk_sealed_state_opens_only_unaltered_and_for_the_same_app),
        cmocka_unit_test(test_sdk_signature_recovers_to_the_enclave_id),
        cmocka_unit_test(test_sdk_mutual_attestation_between_two_apps),
        cmocka_unit_test(test_sdk_key_release_options_are_never_silently_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
