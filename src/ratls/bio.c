/* The OpenSSL BIO under every attested connection: a descriptor read and written with
 * recv/send(MSG_NOSIGNAL), so a peer that vanishes is an error the caller sees, never a
 * SIGPIPE that kills the whole process (OpenSSL's socket BIO uses write(2)). Descriptors
 * that are not sockets fall back to read/write. The descriptor stays the caller's. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

#include "ratls/internal.h"

static BIO_METHOD *method;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int fd_of(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *p, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    do {
        n = send(fd_of(b), p, (size_t)len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd_of(b), p, (size_t)len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *p, int len)
{
    ssize_t n;

    BIO_clear_retry_flags(b);
    do {
        n = recv(fd_of(b), p, (size_t)len, 0);
        if (n < 0 && errno == ENOTSOCK)
            n = read(fd_of(b), p, (size_t)len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)n;
}

static int bio_puts(BIO *b, const char *s)
{
    size_t n = 0;

    while (s[n] && n < INT32_MAX)
        n++;
    return bio_write(b, s, (int)n);
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "gtee fd");

    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) && BIO_meth_set_puts(m, bio_puts) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
        method = m;
    else
        BIO_meth_free(m);
}

BIO *ratls_fd_bio(int fd)
{
    BIO *b;

    if (fd < 0 || pthread_once(&once, make_method) != 0 || !method)
        return NULL;
    b = BIO_new(method);
    if (b)
        BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}
