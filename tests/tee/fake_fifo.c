/* Test helper: the write-then-read behaviour of a kernel attribute pair, with real files.
 * `in` and `out` are FIFOs; a thread reads what the code under test writes to `in`, calls a
 * hook (which may bump a generation file), then answers on `out` with a fixed reply. A read
 * of `out` can therefore only finish after a write to `in`, as with configfs-tsm and Gramine.
 * Included by the tests (the build compiles each test as one file). */
#ifndef FAKE_FIFO_C
#define FAKE_FIFO_C

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vectors.h"

#define FAKE_API __attribute__((unused)) static

struct fifo_server {
    char in[PATH_MAX], out[PATH_MAX];
    const uint8_t *reply;
    size_t reply_len;
    uint8_t seen[256];        /* the last request's bytes */
    size_t seen_len;
    atomic_int requests;      /* requests answered */
    void (*on_request)(struct fifo_server *s, void *arg);
    void *arg;
    atomic_int stop, done;
    pthread_t thr;
};

static void fake_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void *fifo_serve(void *p)
{
    struct fifo_server *s = p;
    sigset_t pipe_set;

    /* An early close by the reader must be an EPIPE here, not a SIGPIPE for the test. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    while (!atomic_load(&s->stop)) {
        uint8_t buf[256];
        size_t n = 0;
        ssize_t got;
        int fd = open(s->in, O_RDONLY);

        if (fd < 0)
            break;
        while ((got = read(fd, buf + n, sizeof(buf) - n)) > 0 && n < sizeof(buf))
            n += (size_t)got;
        close(fd);
        if (atomic_load(&s->stop))
            break;
        memcpy(s->seen, buf, n);
        s->seen_len = n;
        if (s->on_request)
            s->on_request(s, s->arg);
        s->requests++; /* before the reply: the reader returns as soon as it has it */
        fd = open(s->out, O_WRONLY);
        if (fd < 0)
            break;
        for (size_t off = 0; off < s->reply_len;) {
            ssize_t w = write(fd, s->reply + off, s->reply_len - off);

            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(fd);
    }
    atomic_store(&s->done, 1);
    return NULL;
}

FAKE_API int fifo_server_start(struct fifo_server *s)
{
    atomic_store(&s->stop, 0);
    atomic_store(&s->done, 0);
    if (mkfifo(s->in, 0600) != 0 || mkfifo(s->out, 0600) != 0)
        return -1;
    return pthread_create(&s->thr, NULL, fifo_serve, s) == 0 ? 0 : -1;
}

/* Wakes the thread wherever it blocks (open of `in` as reader, open of `out` as writer) and
 * joins it. */
FAKE_API void fifo_server_stop(struct fifo_server *s)
{
    atomic_store(&s->stop, 1);
    while (!atomic_load(&s->done)) {
        int fd = open(s->in, O_WRONLY | O_NONBLOCK);

        if (fd >= 0)
            close(fd);
        fd = open(s->out, O_RDONLY | O_NONBLOCK);
        if (fd >= 0) {
            uint8_t sink[4096];

            fake_sleep_ms(1);
            while (read(fd, sink, sizeof(sink)) > 0)
                ;
            close(fd);
        }
        fake_sleep_ms(1);
    }
    pthread_join(s->thr, NULL);
    unlink(s->in);
    unlink(s->out);
}

FAKE_API uint8_t *fake_load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        b = malloc((size_t)n);
        if (b && fread(b, 1, (size_t)n, f) == (size_t)n)
            *len = (size_t)n;
    }
    fclose(f);
    return b;
}

FAKE_API int fake_write(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(p, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* mkdir -p */
FAKE_API int fake_mkdirs(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

/* A fresh directory under TMPDIR for one fake root. */
FAKE_API int fake_tmpdir(char *out, size_t len, const char *tag)
{
    const char *base = getenv("TMPDIR");

    snprintf(out, len, "%s/gtee-%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    return mkdtemp(out) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* rm -rf of a directory this test made. */
FAKE_API void fake_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
