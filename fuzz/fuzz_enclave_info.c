/* libFuzzer target: the host's side of the enclave socket (src/host/launch.c, mux.c): the
 * bytes an enclave sends back, read by gtee_enclave_call (NOTICE and PROGRESS messages
 * first, then an ERROR or the answer) and by the mux's reader thread (answers and PROGRESS
 * matched to the waiting request by id, others dropped, an ERROR of id 0 or the stream's
 * end failing the request), and the INFO payload parsed by gtee_enclave_info_parse. The
 * host must treat the enclave's bytes as bytes from another process: bounded, checked,
 * never a crash.
 * Seeds: INFO answers of a real sim and tdx start, a NOTICE before an answer, an ERROR,
 * PROGRESS reports before an answer. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtee/enclave.h"
#include "gtee/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX (64u * 1024)

static void check_info(const struct gtee_enclave_info *i)
{
    if (i->kind < GTEE_TEE_KIND_SIM || i->kind > GTEE_TEE_KIND_SNP || i->measurement_len > GTEE_MEASUREMENT_MAX)
        abort();
}

/* The whole input as the enclave's stream, answering one INFO request. */
static void call(const uint8_t *data, size_t size)
{
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int sv[2], big = 4 * STREAM_MAX;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(sv[1], data + off, size - off);

        if (w <= 0)
            break; /* the rest does not fit: the stream is cut there, as by a dying enclave */
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    memset(&p, 0, sizeof(p));
    p.fd = sv[0];
    p.pid = -1;
    p.next_id = 1;
    memset(&err, 0, sizeof(err));
    if (gtee_enclave_call(&p, GTEE_MSG_INFO, NULL, 0, &reply, &reply_len, &err) == 0) {
        if (reply_len > size)
            abort();
        if (gtee_enclave_info_parse(reply, reply_len, &info, &err) == 0)
            check_info(&info);
    } else {
        for (size_t i = 0; err.msg[i]; i++) /* the enclave's ERROR text, escaped for a terminal */
            if ((unsigned char)err.msg[i] < 0x20 || (unsigned char)err.msg[i] > 0x7e)
                abort();
    }
    for (size_t i = 0; p.notice[i]; i++)
        if (p.notice[i] < 0x20 || p.notice[i] > 0x7e) /* the CLI prints it on a terminal */
            abort();
    free(reply);
    close(sv[0]);
    close(sv[1]);
}

struct feed {
    int fd;
    const uint8_t *data;
    size_t size;
};

/* The enclave's side for the mux: once the request came (so the caller waits for its id
 * before any answer is read), the whole input, then the end of the stream. */
static void *feed(void *arg)
{
    struct feed *f = arg;
    uint8_t head[GTEE_MSG_HEADER_LEN];
    size_t got = 0;

    while (got < sizeof(head)) {
        ssize_t r = read(f->fd, head + got, sizeof(head) - got);

        if (r <= 0)
            break;
        got += (size_t)r;
    }
    for (size_t off = 0; off < f->size;) {
        ssize_t w = write(f->fd, f->data + off, f->size - off);

        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

static void on_progress(void *arg, const struct gtee_enclave_progress *pr)
{
    (void)arg;
    if (pr->stage != 1 && pr->stage != 2)
        abort();
}

/* The whole input as the enclave's stream, answering one INFO request through the mux. */
static void mux_call(const uint8_t *data, size_t size)
{
    struct gtee_enclave_proc p;
    struct gtee_enclave_mux *m = NULL;
    struct gtee_enclave_info info;
    struct gtee_err err;
    struct feed f = { .data = data, .size = size };
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    pthread_t th;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    memset(&p, 0, sizeof(p));
    p.fd = sv[0];
    p.pid = -1;
    p.next_id = 1;
    p.timeout_ms = 5000; /* the stream always ends: a bound that is never reached */
    memset(&err, 0, sizeof(err));
    f.fd = sv[1];
    if (gtee_enclave_mux_start(&p, &m, &err) != 0 || pthread_create(&th, NULL, feed, &f) != 0)
        abort();
    if (gtee_enclave_mux_call(m, GTEE_MSG_INFO, NULL, 0, &reply, &reply_len, on_progress, NULL, &err) == 0) {
        if (reply_len > size)
            abort();
        if (gtee_enclave_info_parse(reply, reply_len, &info, &err) == 0)
            check_info(&info);
    } else {
        for (size_t i = 0; err.msg[i]; i++)
            if ((unsigned char)err.msg[i] < 0x20 || (unsigned char)err.msg[i] > 0x7e)
                abort();
    }
    pthread_join(th, NULL);
    gtee_enclave_mux_free(m);
    for (size_t i = 0; p.notice[i]; i++)
        if (p.notice[i] < 0x20 || p.notice[i] > 0x7e)
            abort();
    free(reply);
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_enclave_info info;
    struct gtee_err err;

    if (size > STREAM_MAX)
        return 0;
    if (gtee_enclave_info_parse(data, size, &info, &err) == 0)
        check_info(&info);
    call(data, size);
    mux_call(data, size);
    return 0;
}
