/* The enclave's TDX start with `--key-release HOST:PORT`: the enclave's own start-up
 * (what the runtime's open runs before its seccomp filter) over the faithful
 * configfs-tsm fake whose outblob is a simulated TDX quote over exactly the inblob written,
 * talking TCP (gtee_kr_tcp_*) to a real `gtee keyrelease serve` process on 127.0.0.1 with an
 * ephemeral port. A recording proxy in between stands for the host's network: the canary
 * check scans what it relayed and the service's logs for every secret of the release. */
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>

#include "tee/kr_world.c"
#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "gtee/tee.h"

/* ---- the host's network: a proxy that relays one connection and records every byte ---- */
struct proxy {
    int lfd, port, target;
    uint8_t seen[1 << 16];
    size_t seen_len;
    pthread_t thr;
};

static int listen_any(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void *proxy_run(void *arg)
{
    struct proxy *x = arg;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)x->target) };
    int a = accept(x->lfd, NULL, NULL), b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

    if (a < 0 || b < 0 || connect(b, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    while (poll(p, 2, 10000) > 0) {
        for (int i = 0; i < 2; i++) {
            uint8_t buf[4096];
            ssize_t n;

            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0)
                goto out;
            if (x->seen_len + (size_t)n <= sizeof(x->seen)) {
                memcpy(x->seen + x->seen_len, buf, (size_t)n);
                x->seen_len += (size_t)n;
            }
            if (write(p[1 - i].fd, buf, (size_t)n) != n)
                goto out;
        }
    }
out:
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    return NULL;
}

static void proxy_start(struct proxy *x, int target)
{
    memset(x, 0, sizeof(*x));
    x->target = target;
    x->lfd = listen_any(&x->port);
    assert_int_equal(pthread_create(&x->thr, NULL, proxy_run, x), 0);
}

static void proxy_stop(struct proxy *x)
{
    pthread_join(x->thr, NULL);
    close(x->lfd);
}

/* ---- one TD start ---- */
struct td {
    struct fake_tsm f;
    char root[PATH_MAX];
    struct gtee_kr_tcp kr;
    struct gtee_key_release_transport tr;
    struct gtee_tee_options opt;
};

static void td_make(struct world *w, struct td *d, const char *addr, const char *pin)
{
    char sample[PATH_MAX];

    memset(d, 0, sizeof(*d));
    assert_int_equal(fake_tmpdir(d->root, sizeof(d->root), "krtd"), 0);
    vector_path(sample, sizeof(sample), "tdx/tdx-1/quote.bin");
    assert_int_equal(fake_tsm_create(&d->f, d->root, "tdx_guest", sample), 0);
    d->f.answer = quote_over_inblob;
    d->f.answer_arg = w;
    d->opt.root = d->f.root;
    d->opt.tsm_dirops = &d->f.ops;
    if (addr) {
        assert_int_equal(gtee_kr_tcp_init(&d->kr, addr, pin, NULL), 0);
        gtee_kr_tcp_transport(&d->kr, &d->tr);
        d->opt.key_release = &d->tr;
    }
}

static void td_free(struct td *d)
{
    fake_tsm_destroy(&d->f);
    fake_rmtree(d->root);
}

/* What the runtime does at start (gtee_app_open: the backend opened, its key released by the
 * service over TCP, the Enclave key derived), then the Enclave ID it would report. */
static int enclave_start(struct world *w, const char *tee, const char *addr, const char *pin, uint8_t id[20],
                         struct gtee_err *err)
{
    struct gtee_tee *t = NULL;
    uint8_t priv[32], pub[65];
    struct td d;
    int rc;

    td_make(w, &d, addr, pin);
    rc = gtee_tee_open(tee, &d.opt, &t, err);
    if (rc == 0) {
        assert_int_equal(gtee_tee_kind(t), GTEE_TEE_KIND_TDX);
        rc = gtee_tee_enclave_key(t, priv, pub, id, err);
        gtee_wipe(priv, sizeof(priv));
    }
    gtee_tee_close(t);
    td_free(&d);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_enclave_with_key_release_reports_the_same_id_after_restarts(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t a[20], b[20], c[20];
    char pin[131];

    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", "allow.json");
    if (enclave_start(&w, "tdx", w.addr, pin, a, &err) != 0)
        fail_msg("enclave: %s", err.msg);
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, b, &err), 0);
    assert_memory_equal(a, b, 20);
    /* the service restarts (same master secret, another port) */
    service_stop(&w);
    service_start(&w, "master", "allow.json");
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, c, &err), 0);
    assert_memory_equal(a, c, 20);
    /* auto picks the TDX present and uses the key release the same way */
    assert_int_equal(enclave_start(&w, "auto", w.addr, pin, c, &err), 0);
    assert_memory_equal(a, c, 20);
    world_free(&w);
}

static void test_other_master_secret_or_other_measurement_gives_another_id(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t a[20], b[20], c[20];
    char pin[131];

    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", "allow.json");
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, a, &err), 0);
    memset(w.id.mrenclave, 0x22, sizeof(w.id.mrenclave)); /* another TD image: another MRTD */
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, b, &err), 0);
    assert_memory_not_equal(a, b, 20);
    memset(w.id.mrenclave, 0x11, sizeof(w.id.mrenclave));
    service_stop(&w);
    service_start(&w, "other-master", "allow.json");
    pin_of(&w, "other-master", pin); /* a TD configured for that other service */
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, c, &err), 0);
    assert_memory_not_equal(a, c, 20);
    assert_memory_not_equal(b, c, 20);
    world_free(&w);
}

/* The host runs a service of its own (its own master secret) and points the TD at it: the
 * answer opens under the TD's ephemeral key, but is not sealed by the pinned service key. */
static void test_a_service_the_enclave_does_not_pin_gets_no_say(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t id[20];
    char pin[131];

    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "other-master", "allow.json");
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "pinned service key"));
    /* and a malformed pin is refused before anything is asked */
    assert_int_equal(gtee_kr_tcp_init(&(struct gtee_kr_tcp){0}, w.addr, "04abcd", &err), GTEE_EINVAL);
    assert_int_equal(gtee_kr_tcp_init(&(struct gtee_kr_tcp){0}, w.addr, NULL, &err), GTEE_EINVAL);
    world_free(&w);
}

static void test_refusal_fails_the_start_with_the_services_reason_and_address(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t id[20];
    uint8_t *log;
    size_t n;
    char pin[131];

    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", NULL); /* the strict default refuses simulated evidence */
    assert_int_equal(enclave_start(&w, "tdx", w.addr, pin, id, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, w.addr));
    assert_non_null(strstr(err.msg, "refused"));
    assert_non_null(strstr(err.msg, "policy.simulation"));
    /* the reason fits the enclave's ERROR message (256 bytes) with the address in it */
    assert_true(strlen(err.msg) < 256);
    service_log_wait(&w, "policy.simulation");
    service_stop(&w);
    log = fake_load(w.log, &n);
    assert_non_null(log);
    assert_non_null(strstr((char *)log, "refused"));
    assert_non_null(strstr((char *)log, "policy.simulation"));
    free(log);
    world_free(&w);
}

static void test_unreachable_service_fails_fast_naming_the_address(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t id[20];
    char addr[64], pin[131];
    double t0;
    int port, fd;

    world_make(&w);
    pin_of(&w, "master", pin);
    /* a port nobody listens on: take one, then close it */
    fd = listen_any(&port);
    close(fd);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    t0 = now_s();
    assert_int_equal(enclave_start(&w, "tdx", addr, pin, id, &err), GTEE_EIO);
    assert_true(now_s() - t0 < 3.0);
    assert_non_null(strstr(err.msg, addr));
    assert_non_null(strstr(err.msg, "cannot connect"));
    world_free(&w);
}

static void test_service_that_never_answers_times_out(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    struct gtee_tee *t = NULL;
    uint8_t priv[32], pub[65], addr20[20];
    char addr[64], pin[131];
    struct td d;
    double t0;
    int port, fd;

    world_make(&w);
    pin_of(&w, "master", pin);
    /* the kernel completes the handshake on a listening socket; nobody ever answers */
    fd = listen_any(&port);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    td_make(&w, &d, addr, pin);
    d.kr.io_ms = 300;
    assert_int_equal(gtee_tee_open("tdx", &d.opt, &t, &err), 0);
    t0 = now_s();
    assert_int_equal(gtee_tee_enclave_key(t, priv, pub, addr20, &err), GTEE_EIO);
    assert_true(now_s() - t0 < 3.0);
    assert_non_null(strstr(err.msg, addr));
    assert_non_null(strstr(err.msg, "timed out"));
    gtee_tee_close(t);
    td_free(&d);
    close(fd);
    world_free(&w);
}

static void test_auto_with_tdx_and_no_key_release_says_the_option_is_needed(void **state)
{
    struct world w;
    struct gtee_err err = {0};
    uint8_t id[20];

    world_make(&w);
    assert_int_equal(enclave_start(&w, "auto", NULL, NULL, id, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "--key-release HOST:PORT"));
    world_free(&w);
}

static void test_malformed_addresses_are_refused_before_any_connection(void **state)
{
    static const char *const bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                                       "127.0.0.1:80x", "localhost:7000", "[::1:7000", "::1:7000",
                                       "[127.0.0.1]:7000", ":7000" };
    struct gtee_kr_tcp c;
    struct gtee_err err = {0};
    uint8_t priv[32], pub[65];
    char pin[131];

    assert_int_equal(gtee_relay_keypair(priv, pub, NULL), 0);
    gtee_hex_encode(pub, sizeof(pub), pin);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gtee_kr_tcp_init(&c, bad[i], pin, &err) != GTEE_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(gtee_kr_tcp_init(&c, "10.1.2.3:7000", pin, &err), 0);
    assert_memory_equal(c.service_pub, pub, 65);
    assert_int_equal(gtee_kr_tcp_init(&c, "[::1]:7000", pin, &err), 0);
}

static void test_host_holds_no_secret_of_the_release(void **state)
{
    static const char info[] = "gtee tdx seal key v1: measurement";
    struct world w;
    struct proxy x;
    struct td d;
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    uint8_t master[32], k[32], seal[32], seal2[32], priv[32], pub[65], id[20], *log;
    char addr[64], p[PATH_MAX + 16], pin[131];
    size_t n;

    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", "allow.json");
    proxy_start(&x, w.port);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", x.port);
    td_make(&w, &d, addr, pin);
    assert_int_equal(gtee_tee_open("tdx", &d.opt, &t, &err), 0);
    if (gtee_tee_enclave_key(t, priv, pub, id, &err) != 0)
        fail_msg("td: %s", err.msg);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, seal, &err), 0);
    gtee_tee_close(t);
    td_free(&d);
    proxy_stop(&x);
    service_log_wait(&w, "key released");
    service_stop(&w);
    /* The proxy really carried the release, and K is the one the service's formula gives. */
    snprintf(p, sizeof(p), "%s/master", w.dir);
    assert_int_equal(gtee_kr_secret_load(p, master, NULL), 0);
    assert_true(x.seen_len > 4 + GTEE_KR_REQUEST_HDR);
    root_from_quote(x.seen + 4 + GTEE_KR_REQUEST_HDR, x.seen_len - 4 - GTEE_KR_REQUEST_HDR, master, k);
    assert_int_equal(gtee_hkdf_sha256(seal2, 32, k, 32, NULL, 0, (const uint8_t *)info, sizeof(info) - 1), 0);
    assert_memory_equal(seal, seal2, 32);
    assert_true(x.seen_len > 4 + GTEE_KR_REQUEST_HDR + 5 + GTEE_KR_RESPONSE_LEN);
    /* None of the secrets in the traffic the host relayed, nor in the service's log. */
    log = fake_load(w.log, &n);
    assert_non_null(log);
    assert_non_null(strstr((char *)log, "key released"));
    {
        const uint8_t *secrets[] = { master, k, seal, priv };

        for (size_t i = 0; i < 4; i++) {
            assert_false(contains(x.seen, x.seen_len, secrets[i], 32));
            assert_false(contains(log, n, secrets[i], 32));
        }
    }
    free(log);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enclave_with_key_release_reports_the_same_id_after_restarts),
        cmocka_unit_test(test_other_master_secret_or_other_measurement_gives_another_id),
        cmocka_unit_test(test_a_service_the_enclave_does_not_pin_gets_no_say),
        cmocka_unit_test(test_refusal_fails_the_start_with_the_services_reason_and_address),
        cmocka_unit_test(test_unreachable_service_fails_fast_naming_the_address),
        cmocka_unit_test(test_service_that_never_answers_times_out),
        cmocka_unit_test(test_auto_with_tdx_and_no_key_release_says_the_option_is_needed),
        cmocka_unit_test(test_malformed_addresses_are_refused_before_any_connection),
        cmocka_unit_test(test_host_holds_no_secret_of_the_release),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
