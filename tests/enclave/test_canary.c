/* The canary check (docs/tee.md §9): a client gives the enclave a known canary secret
 * through the host, the enclave seals it, restarts, unseals it and runs jobs with it; then
 * everything the host holds is scanned — its own readable memory, the files it wrote, its
 * log, every relayed byte, the enclave's stderr — and the canary is in none of it, while
 * the job results (checked by the client) show the enclave did use it.
 *
 * The test process is the host. The canary exists only in the client (a forked child) and
 * the enclave: this file holds it as two masks whose XOR it is (scan.h), so the host never
 * builds the canary in its own memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "wire/measure.h"
#include "gtee/crypto.h"
#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "gtee/sim.h"
#include "tee/fake_fifo.c"
#include "enclave/scan.h"

#define CANARY_LEN 32
/* canary = m1 XOR m2 ("canary:7f3c9e21-model-key-SECRET"); volatile so that no compiler
 * folds the XOR into a constant. */
static const volatile uint8_t m1[CANARY_LEN] = {
    0x9f, 0x57, 0xf9, 0x65, 0x2d, 0x50, 0xe2, 0x47, 0xc0, 0x6d, 0xd6, 0xbc, 0x39, 0x77, 0xa0, 0xa9,
    0xb7, 0x39, 0xc7, 0x5f, 0xef, 0x30, 0x98, 0x7e, 0xef, 0xc2, 0x28, 0x2c, 0x54, 0xf4, 0xb9, 0x55,
};
static const volatile uint8_t m2[CANARY_LEN] = {
    0xfc, 0x36, 0x97, 0x04, 0x5f, 0x29, 0xd8, 0x70, 0xa6, 0x5e, 0xb5, 0x85, 0x5c, 0x45, 0x91, 0x84,
    0xda, 0x56, 0xa3, 0x3a, 0x83, 0x1d, 0xf3, 0x1b, 0x96, 0xef, 0x7b, 0x69, 0x17, 0xa6, 0xfc, 0x01,
};

static const char job_input[] = "batch 17: rows 0..63";

/* Children end with exit_group(2) directly: a sanitizer's _exit hook would run a leak scan
 * over memory copied from the parent and change the status. */
static void child_exit(int code)
{
    syscall(SYS_exit_group, code);
    abort();
}

/* ---- the scanner (scan.h) ---- */
static const struct needle the_canary = { m1, m2, CANARY_LEN };

static size_t scan_file(const char *path)
{
    return needle_scan_file(&the_canary, path);
}

static size_t scan_own_memory(size_t *scanned)
{
    return needle_scan_memory(&the_canary, scanned);
}

/* ---- the client: a separate process that knows the canary ---- */
static void client_exchange(int net, const uint8_t *req, size_t req_len, const uint8_t resp_key[32], uint8_t **pt,
                            size_t *pt_len)
{
    uint8_t *msg = NULL, *in = NULL;
    size_t msg_len = 0, in_len = 0;

    if (gtee_msg_encode(GTEE_MSG_RELAY, 1, req, req_len, &msg, &msg_len, NULL) != 0 ||
        gtee_msg_send(net, msg, msg_len, NULL) != 0 || gtee_msg_recv(net, &in, &in_len, NULL) != 0 ||
        gtee_relay_open_response(resp_key, in + GTEE_MSG_HEADER_LEN, in_len - GTEE_MSG_HEADER_LEN, pt, pt_len,
                                 NULL) != 0)
        child_exit(30);
    free(msg);
    free(in);
}

/* mode 1: give the secret, then run a job; mode 2: run a job only (after a restart).
 * Exits 0 when every answer is what the secret implies. */
static void client(int net, const uint8_t channel_pub[65], int mode)
{
    uint8_t canary[CANARY_LEN], req[1 + CANARY_LEN], resp_key[32], want[32], *box = NULL, *pt = NULL;
    size_t box_len = 0, pt_len = 0;

    for (size_t i = 0; i < CANARY_LEN; i++)
        canary[i] = (uint8_t)(m1[i] ^ m2[i]);
    if (mode == 1) {
        req[0] = GTEE_RELAY_PUT_SECRET;
        memcpy(req + 1, canary, CANARY_LEN);
        if (gtee_relay_seal_request(channel_pub, req, sizeof(req), resp_key, &box, &box_len, NULL) != 0)
            child_exit(20);
        client_exchange(net, box, box_len, resp_key, &pt, &pt_len);
        if (pt_len != 4 || pt[3] != CANARY_LEN)
            child_exit(21);
        free(box);
        free(pt);
    }
    {
        uint8_t job[1 + sizeof(job_input)];

        job[0] = GTEE_RELAY_JOB;
        memcpy(job + 1, job_input, sizeof(job_input));
        if (gtee_relay_seal_request(channel_pub, job, sizeof(job), resp_key, &box, &box_len, NULL) != 0)
            child_exit(22);
    }
    client_exchange(net, box, box_len, resp_key, &pt, &pt_len);
    if (gtee_hmac_sha256(canary, CANARY_LEN, job_input, sizeof(job_input), want) != 0 || pt_len != 32 ||
        memcmp(pt, want, 32) != 0)
        child_exit(23);
    child_exit(0);
}

/* ---- the host ---- */
struct host {
    char dir[PATH_MAX], dev[PATH_MAX + 8], log[PATH_MAX + 16], traffic[PATH_MAX + 16], blob[PATH_MAX + 16],
        err[PATH_MAX + 16];
    FILE *logf, *trafficf;
    int errfd;
};

static void host_start(struct host *h, struct gtee_enclave_proc *p, struct gtee_enclave_info *info)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_err err = {0};
    const char *bin = getenv("GTEE_ENCLAVE");
    char hex[41];

    l.binary = bin ? bin : "gtee-enclave";
    l.tee = "sim";
    l.sim_dir = h->dev;
    l.config = "workload=canary-job";
    l.stderr_fd = h->errfd;
    if (gtee_enclave_start(&l, p, &err) != 0 || gtee_enclave_info(p, info, &err) != 0)
        fail_msg("%s", err.msg);
    gtee_hex_encode(info->enclave_addr, 20, hex);
    fprintf(h->logf, "event=enclave_start pid=%d enclave_id=0x%s\n", (int)p->pid, hex);
}

/* Relays one client message to the enclave and the client's part of the answer back;
 * stores a host part (a sealed blob); records all bytes and logs one line. */
static void host_relay(struct host *h, struct gtee_enclave_proc *p, int net)
{
    uint8_t *in = NULL, *r = NULL, *out = NULL, dig[32];
    size_t in_len = 0, r_len = 0, out_len = 0;
    struct gtee_err err = {0};
    uint32_t host_len;
    char hex[65];

    assert_int_equal(gtee_msg_recv(net, &in, &in_len, &err), 0);
    fwrite(in, 1, in_len, h->trafficf);
    if (gtee_enclave_call(p, GTEE_MSG_RELAY, in + GTEE_MSG_HEADER_LEN, in_len - GTEE_MSG_HEADER_LEN, &r, &r_len,
                          &err) != 0)
        fail_msg("%s", err.msg);
    fwrite(r, 1, r_len, h->trafficf);
    assert_true(r_len >= 4);
    host_len = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    assert_true(host_len <= r_len - 4);
    if (host_len)
        assert_int_equal(fake_write(h->blob, r + 4, host_len), 0);
    assert_int_equal(gtee_msg_encode(GTEE_MSG_RELAY | GTEE_MSG_REPLY, 1, r + 4 + host_len, r_len - 4 - host_len,
                                     &out, &out_len, &err), 0);
    assert_int_equal(gtee_msg_send(net, out, out_len, &err), 0);
    assert_int_equal(gtee_sha256(in, in_len, dig), 0);
    gtee_hex_encode(dig, 32, hex);
    fprintf(h->logf, "event=relay request_bytes=%zu request_sha256=%s reply_bytes=%zu stored_blob_bytes=%u\n", in_len,
            hex, r_len, host_len);
    free(in);
    free(r);
    free(out);
}

/* One client session: fork the client, relay `rounds` messages, reap it. */
static void session(struct host *h, struct gtee_enclave_proc *p, const struct gtee_enclave_info *info, int mode)
{
    int sv[2], st = 0;
    pid_t c;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(sv[0]);
        close(p->fd);
        client(sv[1], info->channel_pub, mode);
    }
    close(sv[1]);
    for (int i = 0; i < (mode == 1 ? 2 : 1); i++)
        host_relay(h, p, sv[0]);
    close(sv[0]);
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* the client got HMAC(canary, input): the job used it */
}

static void test_canary_never_reaches_the_host(void **state)
{
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info, info2;
    struct gtee_err err = {0};
    struct host h;
    uint8_t *blob = NULL, *r = NULL;
    size_t blob_len = 0, r_len = 0, scanned = 0;
    int st = 0;

    assert_int_equal(fake_tmpdir(h.dir, sizeof(h.dir), "canary"), 0);
    snprintf(h.dev, sizeof(h.dev), "%s/dev", h.dir);
    snprintf(h.log, sizeof(h.log), "%s/host.log", h.dir);
    snprintf(h.traffic, sizeof(h.traffic), "%s/relay.bin", h.dir);
    snprintf(h.blob, sizeof(h.blob), "%s/secret.sealed", h.dir);
    snprintf(h.err, sizeof(h.err), "%s/enclave.stderr", h.dir);
    assert_int_equal(gtee_sim_init(h.dev, NULL), 0);
    h.logf = fopen(h.log, "w");
    h.trafficf = fopen(h.traffic, "wb");
    h.errfd = open(h.err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_non_null(h.logf);
    assert_non_null(h.trafficf);
    assert_true(h.errfd >= 0);

    /* 1. the client hands over the canary, the enclave seals it, a job runs */
    host_start(&h, &p, &info);
    session(&h, &p, &info, 1);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* 2. restart: the host gives back the stored blob, a job runs on the unsealed secret */
    host_start(&h, &p, &info2);
    assert_memory_equal(info.enclave_addr, info2.enclave_addr, 20);
    blob = fake_load(h.blob, &blob_len);
    assert_non_null(blob);
    if (gtee_enclave_call(&p, GTEE_MSG_UNSEAL, blob, blob_len, &r, &r_len, &err) != 0)
        fail_msg("%s", err.msg);
    fwrite(blob, 1, blob_len, h.trafficf);
    fwrite(r, 1, r_len, h.trafficf);
    fprintf(h.logf, "event=unseal blob_bytes=%zu\n", blob_len);
    free(blob);
    free(r);
    session(&h, &p, &info2, 2);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fclose(h.logf);
    fclose(h.trafficf);
    close(h.errfd);

    /* 3. everything the host holds */
    assert_int_equal(scan_file(h.blob), 0);
    assert_int_equal(scan_file(h.log), 0);
    assert_int_equal(scan_file(h.traffic), 0);
    assert_int_equal(scan_file(h.err), 0);
    assert_int_equal(scan_own_memory(&scanned), 0);
    assert_true(scanned > (1u << 20)); /* the scan read real memory, not nothing */
    fake_rmtree(h.dir);
}

/* Controls: the same scanners do find the canary where it is. */
static void test_the_scanners_find_a_canary_that_is_there(void **state)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    pid_t c;
    int st = 0;

    /* in a file */
    assert_int_equal(fake_tmpdir(dir, sizeof(dir), "canctl"), 0);
    snprintf(path, sizeof(path), "%s/leak", dir);
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        uint8_t b[CANARY_LEN + 8] = "prefix:";

        for (size_t i = 0; i < CANARY_LEN; i++)
            b[7 + i] = (uint8_t)(m1[i] ^ m2[i]);
        child_exit(fake_write(path, b, sizeof(b)) == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_int_equal(scan_file(path), 1);
    fake_rmtree(dir);

    /* in memory: a process that holds it finds it in its own memory */
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        volatile uint8_t *held = malloc(CANARY_LEN);
        size_t scanned = 0;

        for (size_t i = 0; i < CANARY_LEN; i++)
            held[i] = (uint8_t)(m1[i] ^ m2[i]);
        child_exit(scan_own_memory(&scanned) >= 1 ? 0 : 1);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_scanners_find_a_canary_that_is_there),
        cmocka_unit_test(test_canary_never_reaches_the_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
