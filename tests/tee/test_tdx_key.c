/* TDX key release end to end: a fake configfs-tsm TDX provider answers each inblob with a
 * TDX v4 quote made by the simulated device over exactly those report data, a key-release
 * service verifies it (sim root trusted, policy allowing simulation) and the tdx backend
 * turns the released key root into its sealing key and Enclave ID. The transport stands for
 * the host: it records every byte it relays. */
#include <sys/socket.h>
#include <sys/stat.h>

#include "tee/sim_testlib.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"
#include "gtee/msg.h"
#include "gtee/tee.h"
#include "tee/fake_tsm.c"

struct world {
    char *dev;
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
    struct gtee_kr_service *svc;
    uint8_t master[GTEE_KR_SECRET_LEN];
    uint8_t pin[GTEE_KR_PUB_LEN];  /* the service key the TD pins */
    uint8_t relayed[1 << 16];
    size_t relayed_len;
    uint8_t *last_req;
    size_t last_req_len;
    int swap_key;               /* the host swaps the ephemeral key for its own */
    struct gtee_err srv_err;
};

static int quote_over_inblob(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, void *arg)
{
    struct world *w = arg;

    if (n != GTEE_SIM_REPORT_DATA_LEN)
        return -1;
    return gtee_sim_quote(w->sim, GTEE_SIM_QUOTE_TDX, &w->id, in, out, out_len, NULL);
}

static void record(struct world *w, const uint8_t *p, size_t n)
{
    assert_true(w->relayed_len + n <= sizeof(w->relayed));
    memcpy(w->relayed + w->relayed_len, p, n);
    w->relayed_len += n;
}

/* The host: carries the request to the service and the answer back. */
static int host_relay(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                      struct gtee_err *err)
{
    struct world *w = arg;
    uint8_t *copy = malloc(req_len);

    assert_non_null(copy);
    memcpy(copy, req, req_len);
    if (w->swap_key) {
        uint8_t priv[32];

        assert_int_equal(gtee_relay_keypair(priv, copy + 4, NULL), 0);
    }
    record(w, copy, req_len);
    free(w->last_req);
    w->last_req = copy;
    w->last_req_len = req_len;
    memset(&w->srv_err, 0, sizeof(w->srv_err));
    if (gtee_kr_serve(w->svc, copy, req_len, resp, resp_len, NULL, &w->srv_err) != 0) {
        if (err)
            *err = w->srv_err;
        return w->srv_err.code;
    }
    record(w, *resp, *resp_len);
    return 0;
}

static void service_start(struct world *w, const char *policy)
{
    char col[600], root[600];
    struct gtee_kr_config cfg = { .master = w->master, .collateral_dir = col, .sim_root_file = root,
                                  .policy_json = policy };
    struct gtee_err err = {0};

    path_join(col, sizeof(col), w->dev, GTEE_SIM_TDX_COLLATERAL_DIR);
    path_join(root, sizeof(root), w->dev, GTEE_SIM_ROOT_CA_FILE);
    gtee_kr_service_free(w->svc);
    w->svc = NULL;
    if (gtee_kr_service_new(&cfg, &w->svc, &err) != 0)
        fail_msg("service: %s", err.msg);
}

static const char allow_sim[] = "{\"allow_simulation\": true}";

/* The TD pins the key of the service holding w->master. */
static void pin_service(struct world *w)
{
    uint8_t priv[32];

    assert_int_equal(gtee_kr_service_key(w->master, priv, w->pin, NULL), 0);
}

static void world_make(struct world *w, uint8_t mrtd_byte)
{
    struct gtee_err err = {0};

    memset(w, 0, sizeof(*w));
    w->dev = make_device();
    assert_int_equal(gtee_sim_open(w->dev, &w->sim, &err), 0);
    memset(w->id.mrenclave, mrtd_byte, sizeof(w->id.mrenclave));
    memset(w->id.mrsigner, 0x5a, sizeof(w->id.mrsigner));
    w->id.isv_prod_id = 1;
    w->id.isv_svn = 1;
    assert_int_equal(gtee_random(w->master, sizeof(w->master)), 0);
    pin_service(w);
    service_start(w, allow_sim);
}

static void world_free(struct world *w)
{
    gtee_kr_service_free(w->svc);
    gtee_sim_close(w->sim);
    rm_device(w->dev);
    free(w->last_req);
}

struct td {
    uint8_t seal[GTEE_SEAL_KEY_LEN], priv[32], pub[65], addr[20];
};

/* One TD start: fresh fake configfs-tsm, the tdx backend with the host relay, Enclave key. */
static int td_start(struct world *w, struct td *out, struct gtee_err *err)
{
    struct gtee_key_release_transport tr = { host_relay, w, w->pin };
    struct fake_tsm f;
    struct gtee_tee *t = NULL;
    char root[PATH_MAX], sample[PATH_MAX];
    int rc;

    assert_int_equal(fake_tmpdir(root, sizeof(root), "tdxkey"), 0);
    vector_path(sample, sizeof(sample), "tdx/tdx-1/quote.bin");
    assert_int_equal(fake_tsm_create(&f, root, "tdx_guest", sample), 0);
    f.answer = quote_over_inblob;
    f.answer_arg = w;
    {
        struct gtee_tee_options opt = { .root = f.root, .tsm_dirops = &f.ops, .key_release = &tr };

        assert_int_equal(gtee_tee_open("tdx", &opt, &t, err), 0);
    }
    rc = gtee_tee_enclave_key(t, out->priv, out->pub, out->addr, err);
    if (rc == 0)
        rc = gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, out->seal, err);
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
    fake_rmtree(root);
    return rc;
}

/* K as docs/tee.md §4.3 defines it, from the quote the host saw (TD report body after the
 * 48-byte header: TD_ATTRIBUTES at 120, MRTD at 136, RTMR0..2 at 328, 376, 424). */
static void expected_root(const struct world *w, uint8_t k[32])
{
    static const char tag[] = "gtee tdx enclave key v1";
    const uint8_t *q = w->last_req + GTEE_KR_REQUEST_HDR;
    uint8_t info[sizeof(tag) - 1 + 4 * 48 + 8];
    size_t off = sizeof(tag) - 1;

    assert_true(w->last_req_len > GTEE_KR_REQUEST_HDR + 48 + 584);
    memcpy(info, tag, off);
    memcpy(info + off, q + 48 + 136, 48);
    memcpy(info + off + 48, q + 48 + 328, 3 * 48);
    memcpy(info + off + 4 * 48, q + 48 + 120, 8);
    assert_int_equal(gtee_hkdf_sha256(k, 32, w->master, 32, NULL, 0, info, sizeof(info)), 0);
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static void test_same_td_measurement_gets_same_key_and_enclave_id_across_restarts(void **state)
{
    struct world w;
    struct td a, b;
    struct gtee_err err = {0};
    uint8_t k[32], seal[32];
    static const char info[] = "gtee tdx seal key v1: measurement";

    world_make(&w, 0x11);
    if (td_start(&w, &a, &err) != 0)
        fail_msg("td: %s / service: %s", err.msg, w.srv_err.msg);
    /* The sealing key is derived from the K the service's formula gives this quote. */
    expected_root(&w, k);
    assert_int_equal(gtee_hkdf_sha256(seal, 32, k, 32, NULL, 0, (const uint8_t *)info, sizeof(info) - 1), 0);
    assert_memory_equal(a.seal, seal, 32);
    /* Restart of the TD and of the service (same master secret). */
    service_start(&w, allow_sim);
    assert_int_equal(td_start(&w, &b, &err), 0);
    assert_memory_equal(a.seal, b.seal, 32);
    assert_memory_equal(a.addr, b.addr, 20);
    world_free(&w);
}

static void test_other_td_measurement_gets_other_enclave_id(void **state)
{
    struct world w;
    struct td a, b;
    struct gtee_err err = {0};

    world_make(&w, 0x11);
    assert_int_equal(td_start(&w, &a, &err), 0);
    memset(w.id.mrenclave, 0x22, sizeof(w.id.mrenclave));
    assert_int_equal(td_start(&w, &b, &err), 0);
    assert_memory_not_equal(a.seal, b.seal, 32);
    assert_memory_not_equal(a.addr, b.addr, 20);
    world_free(&w);
}

static void test_other_master_secret_gives_other_enclave_id(void **state)
{
    struct world w;
    struct td a, b;
    struct gtee_err err = {0};

    world_make(&w, 0x11);
    assert_int_equal(td_start(&w, &a, &err), 0);
    assert_int_equal(gtee_random(w.master, sizeof(w.master)), 0);
    pin_service(&w); /* a TD configured for the other service */
    service_start(&w, allow_sim);
    assert_int_equal(td_start(&w, &b, &err), 0);
    assert_memory_not_equal(a.addr, b.addr, 20);
    world_free(&w);
}

/* The host answers the TD itself, with a service (and master secret) of its own: the answer
 * opens under the TD's ephemeral key, but it is not sealed by the pinned service key. */
static void test_answer_from_a_service_the_td_does_not_pin_is_refused(void **state)
{
    struct world w;
    struct td a;
    struct gtee_err err = {0};

    world_make(&w, 0x11);
    assert_int_equal(gtee_random(w.master, sizeof(w.master)), 0);
    service_start(&w, allow_sim); /* the host's own service; the TD still pins the first one */
    assert_int_equal(td_start(&w, &a, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "pinned service key"));
    world_free(&w);
}

static void test_ephemeral_key_not_bound_by_the_quote_is_refused(void **state)
{
    struct world w;
    struct td a;
    struct gtee_err err = {0};

    world_make(&w, 0x11);
    w.swap_key = 1;
    assert_int_equal(td_start(&w, &a, &err), GTEE_EPOLICY);
    assert_int_equal(w.srv_err.code, GTEE_EPOLICY);
    assert_non_null(strstr(w.srv_err.msg, "ephemeral key is not bound"));
    world_free(&w);
}

static void test_evidence_refused_by_policy_gets_no_key(void **state)
{
    struct world w;
    struct td a;
    struct gtee_err err = {0};

    world_make(&w, 0x11);
    service_start(&w, NULL); /* the strict default: no simulation */
    assert_int_equal(td_start(&w, &a, &err), GTEE_EPOLICY);
    assert_non_null(strstr(w.srv_err.msg, "policy.simulation"));
    world_free(&w);
}

static void test_host_relaying_the_bytes_never_sees_the_key(void **state)
{
    struct world w;
    struct td a;
    struct gtee_err err = {0};
    uint8_t k[32];

    world_make(&w, 0x11);
    assert_int_equal(td_start(&w, &a, &err), 0);
    expected_root(&w, k);
    assert_true(w.relayed_len > GTEE_KR_RESPONSE_LEN);
    assert_false(contains(w.relayed, w.relayed_len, k, sizeof(k)));
    assert_false(contains(w.relayed, w.relayed_len, a.seal, sizeof(a.seal)));
    assert_false(contains(w.relayed, w.relayed_len, a.priv, sizeof(a.priv)));
    assert_false(contains(w.relayed, w.relayed_len, w.master, sizeof(w.master)));
    world_free(&w);
}

static void test_answer_to_another_request_is_refused(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t priv[32], pub[65], rd[64], *q = NULL, *req = NULL, *resp = NULL, k[32];
    size_t qn = 0, rn = 0, sn = 0;

    world_make(&w, 0x11);
    assert_int_equal(gtee_relay_keypair(priv, pub, NULL), 0);
    assert_int_equal(gtee_kr_report_data(pub, rd), 0);
    assert_int_equal(gtee_sim_quote(w.sim, GTEE_SIM_QUOTE_TDX, &w.id, rd, &q, &qn, NULL), 0);
    assert_int_equal(gtee_kr_request_build(pub, q, qn, &req, &rn, NULL), 0);
    assert_int_equal(gtee_kr_serve(w.svc, req, rn, &resp, &sn, NULL, &err), 0);
    assert_int_equal(gtee_kr_response_open(priv, pub, w.pin, req, rn, resp, sn, k, &err), 0);
    req[rn - 1] ^= 1; /* another request (its quote no longer verifies either) */
    assert_int_equal(gtee_kr_response_open(priv, pub, w.pin, req, rn, resp, sn, k, &err), GTEE_EAUTH);
    req[rn - 1] ^= 1;
    resp[sn - 1] ^= 1;
    assert_int_equal(gtee_kr_response_open(priv, pub, w.pin, req, rn, resp, sn, k, &err), GTEE_EAUTH);
    resp[sn - 1] ^= 1;
    /* the box's sender key swapped for another: not the pinned service */
    {
        uint8_t other_priv[32], other_pub[65];

        assert_int_equal(gtee_relay_keypair(other_priv, other_pub, NULL), 0);
        memcpy(resp + 4, other_pub, 65);
        assert_int_equal(gtee_kr_response_open(priv, pub, w.pin, req, rn, resp, sn, k, &err), GTEE_EAUTH);
    }
    /* truncated requests are malformed, not crashes */
    for (size_t n = 0; n < rn; n += 97) {
        uint8_t *none = NULL;
        size_t none_len = 0;

        assert_int_equal(gtee_kr_serve(w.svc, req, n, &none, &none_len, NULL, &err), GTEE_EFORMAT);
        assert_null(none);
    }
    free(q);
    free(req);
    free(resp);
    world_free(&w);
}

/* The same release over a byte stream (what `gtee keyrelease serve` speaks): the service
 * answers on its end of a socket pair in a thread. */
struct wire {
    struct world *w;
    int fd[2];
    int served;
    struct gtee_err err;
};

static void *wire_service(void *arg)
{
    struct wire *x = arg;

    x->served = gtee_kr_wire_serve_one(x->w->svc, x->fd[1], &x->err);
    return NULL;
}

static int wire_relay(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                      struct gtee_err *err)
{
    struct wire *x = arg;
    pthread_t thr;
    int rc;

    assert_int_equal(pthread_create(&thr, NULL, wire_service, x), 0);
    rc = gtee_kr_wire_exchange(x->fd[0], req, req_len, resp, resp_len, err);
    pthread_join(thr, NULL);
    return rc;
}

static void wire_start(struct world *w, struct td *out, int *rc_out, struct gtee_err *why)
{
    struct wire x = { .w = w };
    struct gtee_key_release_transport tr = { wire_relay, &x, w->pin };
    struct fake_tsm f;
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], sample[PATH_MAX];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, x.fd), 0);
    assert_int_equal(fake_tmpdir(root, sizeof(root), "tdxwire"), 0);
    vector_path(sample, sizeof(sample), "tdx/tdx-1/quote.bin");
    assert_int_equal(fake_tsm_create(&f, root, "tdx_guest", sample), 0);
    f.answer = quote_over_inblob;
    f.answer_arg = w;
    {
        struct gtee_tee_options opt = { .root = f.root, .tsm_dirops = &f.ops, .key_release = &tr };

        assert_int_equal(gtee_tee_open("tdx", &opt, &t, &err), 0);
    }
    *rc_out = gtee_tee_enclave_key(t, out->priv, out->pub, out->addr, &err);
    *why = err; /* what the TD reports: the service's reason, carried by the frame */
    gtee_tee_close(t);
    fake_tsm_destroy(&f);
    fake_rmtree(root);
    close(x.fd[0]);
    close(x.fd[1]);
}

static void test_release_over_a_stream_matches_and_refusals_carry_the_reason(void **state)
{
    struct world w;
    struct td a, b;
    struct gtee_err err = {0}, why;
    int rc;

    world_make(&w, 0x33);
    assert_int_equal(td_start(&w, &a, &err), 0);
    wire_start(&w, &b, &rc, &why);
    assert_int_equal(rc, 0);
    assert_memory_equal(a.addr, b.addr, 20);
    service_start(&w, NULL); /* strict default: simulation refused */
    wire_start(&w, &b, &rc, &why);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_non_null(strstr(why.msg, "policy.simulation"));
    world_free(&w);
}

static void test_master_secret_file_is_private(void **state)
{
    char dir[PATH_MAX], p[PATH_MAX + 16];
    uint8_t m[32];
    struct stat st;

    assert_int_equal(fake_tmpdir(dir, sizeof(dir), "krsecret"), 0);
    snprintf(p, sizeof(p), "%s/master", dir);
    assert_int_equal(gtee_kr_secret_init(p, NULL), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(gtee_kr_secret_init(p, NULL), GTEE_EEXIST);
    assert_int_equal(gtee_kr_secret_load(p, m, NULL), 0);
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(gtee_kr_secret_load(p, m, NULL), GTEE_EPERM);
    fake_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_td_measurement_gets_same_key_and_enclave_id_across_restarts),
        cmocka_unit_test(test_other_td_measurement_gets_other_enclave_id),
        cmocka_unit_test(test_other_master_secret_gives_other_enclave_id),
        cmocka_unit_test(test_answer_from_a_service_the_td_does_not_pin_is_refused),
        cmocka_unit_test(test_ephemeral_key_not_bound_by_the_quote_is_refused),
        cmocka_unit_test(test_evidence_refused_by_policy_gets_no_key),
        cmocka_unit_test(test_host_relaying_the_bytes_never_sees_the_key),
        cmocka_unit_test(test_answer_to_another_request_is_refused),
        cmocka_unit_test(test_release_over_a_stream_matches_and_refusals_carry_the_reason),
        cmocka_unit_test(test_master_secret_file_is_private),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
