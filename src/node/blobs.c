/* The blob store on disk. An upload's bytes go to a staging file uploads/<session>, created
 * O_EXCL|O_NOFOLLOW, synced before its offset is recorded (so a resumed upload never
 * builds on bytes that a crash lost); once complete its SHA-256 is checked against the
 * declared content id and it is renamed into blobs/<id>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "node/blobs.h"
#include "node/node.h"

/* Writeback of an upload is started every this many bytes (gtee_node_upload_write). */
#define WRITEBACK_STEP (4u << 20)

int gtee_node_blobs_open(struct gtee_node_blobs *b, const char *dir, struct gtee_node_store *store,
                         uint64_t max_bytes, struct gtee_err *err)
{
    char p[GTEE_FILE_PATH_MAX];
    int rc = 0;

    b->blobs_fd = b->uploads_fd = -1;
    b->store = store;
    b->max_bytes = max_bytes;
    b->quota = 0;
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->quota_mu, NULL);
    pthread_mutex_init(&b->hash_mu, NULL);
    memset(b->hashes, 0, sizeof(b->hashes));
    b->hash_next = 0;
    b->locks = 1;
    snprintf(p, sizeof(p), "%s/%s", dir, GTEE_NODE_BLOBS);
    b->blobs_fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(b->blobs_fd >= 0, err, GTEE_EIO, "blob store %s: %s", p, strerror(errno));
    snprintf(p, sizeof(p), "%s/%s", dir, GTEE_NODE_UPLOADS);
    b->uploads_fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(b->uploads_fd >= 0, err, GTEE_EIO, "upload store %s: %s", p, strerror(errno));
out:
    if (rc < 0)
        gtee_node_blobs_close(b);
    return rc;
}

void gtee_node_blobs_close(struct gtee_node_blobs *b)
{
    if (b->blobs_fd >= 0)
        close(b->blobs_fd);
    if (b->uploads_fd >= 0)
        close(b->uploads_fd);
    b->blobs_fd = b->uploads_fd = -1;
    if (b->locks) {
        for (size_t i = 0; i < sizeof(b->hashes) / sizeof(b->hashes[0]); i++)
            gtee_sha256_free(b->hashes[i].h);
        memset(b->hashes, 0, sizeof(b->hashes));
        pthread_mutex_destroy(&b->mu);
        pthread_mutex_destroy(&b->quota_mu);
        pthread_mutex_destroy(&b->hash_mu);
        b->locks = 0;
    }
}

/* The hash a session's next PUT continues from: the one kept for its synced prefix, a fresh
 * one at offset 0, else NULL (its file is hashed once complete). */
static struct gtee_sha256_ctx *hash_take(struct gtee_node_blobs *b, const char *id, uint64_t at)
{
    struct gtee_sha256_ctx *h = NULL;

    pthread_mutex_lock(&b->hash_mu);
    for (size_t i = 0; i < sizeof(b->hashes) / sizeof(b->hashes[0]); i++) {
        struct gtee_node_upload_hash *e = &b->hashes[i];

        if (e->h && !strcmp(e->id, id)) {
            if (e->len == at)
                h = e->h;
            else
                gtee_sha256_free(e->h);
            memset(e, 0, sizeof(*e));
        }
    }
    pthread_mutex_unlock(&b->hash_mu);
    if (!h && at == 0 && gtee_sha256_new(&h) != 0)
        h = NULL;
    return h;
}

/* Keeps a session's hash for its next PUT (in a free place, else in place of another
 * session's, which will hash its file instead). */
static void hash_keep(struct gtee_node_blobs *b, const char *id, struct gtee_sha256_ctx *h, uint64_t len)
{
    struct gtee_node_upload_hash *e = NULL;
    size_t n = sizeof(b->hashes) / sizeof(b->hashes[0]);

    pthread_mutex_lock(&b->hash_mu);
    for (size_t i = 0; i < n && !e; i++)
        if (!b->hashes[i].h)
            e = &b->hashes[i];
    if (!e) {
        e = &b->hashes[b->hash_next++ % n];
        gtee_sha256_free(e->h);
    }
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->h = h;
    e->len = len;
    pthread_mutex_unlock(&b->hash_mu);
}

int gtee_node_upload_new(struct gtee_node_blobs *b, uint64_t size, const char *cid, struct gtee_node_upload *u,
                         struct gtee_err *err)
{
    uint8_t rnd[GTEE_NODE_UPLOAD_ID_HEX / 2];
    int fd = -1, rc;

    memset(u, 0, sizeof(*u));
    ENSURE(gtee_random(rnd, sizeof(rnd)) == 0, err, GTEE_ECRYPTO, "upload: no randomness for a session id");
    gtee_hex_encode(rnd, sizeof(rnd), u->id);
    memcpy(u->content_id, cid, GTEE_NODE_ID_HEX + 1);
    u->size = size;
    pthread_mutex_lock(&b->quota_mu);
    if (b->quota) {
        uint64_t held = 0;

        if ((rc = gtee_node_store_bytes_held(b->store, &held, err)) < 0)
            goto unlock;
        if (held > b->quota || size > b->quota - held) {
            rc = GTEE_FAIL(err, GTEE_ELIMIT,
                           "upload of %llu bytes refused: the blob store holds %llu of its %llu bytes "
                           "(blob_store_max_bytes), %llu free",
                           (unsigned long long)size, (unsigned long long)held, (unsigned long long)b->quota,
                           (unsigned long long)(held < b->quota ? b->quota - held : 0));
            goto unlock;
        }
    }
    fd = openat(b->uploads_fd, u->id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    ENSURE(fd >= 0, err, GTEE_EIO, "upload: cannot create the staging file: %s", strerror(errno));
    ENSURE(fsync(fd) == 0 && fsync(b->uploads_fd) == 0, err, GTEE_EIO, "upload: sync: %s", strerror(errno));
    rc = gtee_node_store_upload_add(b->store, u, err);
    if (rc < 0)
        (void)unlinkat(b->uploads_fd, u->id, 0);
out:
    if (fd >= 0)
        close(fd);
unlock:
    pthread_mutex_unlock(&b->quota_mu);
    return rc;
}

int gtee_node_upload_begin(struct gtee_node_blobs *b, const char *id, uint64_t offset, struct gtee_node_upload_put *p,
                           struct gtee_err *err)
{
    int rc;

    p->h = NULL;
    p->flushed = 0;
    p->fd = openat(b->uploads_fd, id, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(p->fd >= 0 || errno != ENOENT, err, GTEE_ENOTFOUND,
           "upload %s: no such session (finished, failed or never opened)", id);
    ENSURE(p->fd >= 0, err, GTEE_EIO, "upload %s: staging file: %s", id, strerror(errno));
    /* One writer per session: a second request while one is writing is refused, not mixed
     * in; the offset is read under the lock, so it is the last writer's. */
    ENSURE(flock(p->fd, LOCK_EX | LOCK_NB) == 0, err, GTEE_ESTATE,
           "upload %s: another request is writing this session; ask for its offset and resume after it", id);
    rc = gtee_node_store_upload_get(b->store, id, &p->u, err);
    if (rc < 0)
        goto out;
    ENSURE(rc == 1, err, GTEE_ENOTFOUND, "upload %s: no such session (finished, failed or never opened)", id);
    ENSURE(offset == p->u.received, err, GTEE_ESTATE,
           "upload %s: Upload-Offset %llu, but the node holds %llu bytes: resume from there", id,
           (unsigned long long)offset, (unsigned long long)p->u.received);
    /* Bytes past the recorded offset were never acknowledged (a crash between write and
     * record): they are dropped, so the client's resume is from a synced prefix. */
    ENSURE(ftruncate(p->fd, (off_t)p->u.received) == 0 && lseek(p->fd, (off_t)p->u.received, SEEK_SET) >= 0, err,
           GTEE_EIO, "upload %s: staging file: %s", id, strerror(errno));
    p->at = p->flushed = p->u.received;
    p->h = hash_take(b, id, p->at);
    rc = 0;
out:
    if (rc < 0 && p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    return rc;
}

int gtee_node_upload_write(struct gtee_node_upload_put *p, const void *buf, size_t len, struct gtee_err *err)
{
    const uint8_t *q = buf;

    if (len > p->u.size - p->at)
        return GTEE_FAIL(err, GTEE_EPOLICY, "upload %s: more bytes than the %llu declared", p->u.id,
                         (unsigned long long)p->u.size);
    while (len) {
        ssize_t n = write(p->fd, q, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return GTEE_FAIL(err, GTEE_EIO, "upload %s: write: %s", p->u.id, n < 0 ? strerror(errno) : "no progress");
        if (p->h && gtee_sha256_update(p->h, q, (size_t)n) != 0) {
            gtee_sha256_free(p->h); /* the file is hashed once complete */
            p->h = NULL;
        }
        q += n;
        len -= (size_t)n;
        p->at += (uint64_t)n;
    }
    /* Writeback starts as the bytes arrive, so that the sync at the request's end waits for
     * the last few MiB, not the whole request (it is what makes them durable). */
    if (p->at - p->flushed >= WRITEBACK_STEP) {
        (void)sync_file_range(p->fd, (off_t)p->flushed, (off_t)(p->at - p->flushed), SYNC_FILE_RANGE_WRITE);
        p->flushed = p->at;
    }
    return 0;
}

/* Hashes the staging file and, if the hash is the declared content id (or none was
 * declared: the hash then names it), renames it to blobs/<cid>. The staging file was made O_EXCL|O_NOFOLLOW on the same file system and its
 * bytes synced before their offset was acknowledged, so the rename publishes it whole, as
 * the safe file helper's own rename would; copying it through the helper cost a second
 * write and sync of every byte (docs/performance.md, "Confidential overhead"). */
static int promote(struct gtee_node_blobs *b, struct gtee_node_upload *u, struct gtee_sha256_ctx *h,
                   struct gtee_err *err)
{
    uint8_t buf[256 << 10], digest[32];
    char hex[65];
    uint64_t total = 0;
    int fd = -1, rc;

    if (h) { /* hashed as it was written (its length: the session's, checked by the caller) */
        total = u->size;
        goto hashed;
    }
    fd = openat(b->uploads_fd, u->id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(fd >= 0, err, GTEE_EIO, "upload %s: staging file: %s", u->id, strerror(errno));
    TRY(gtee_sha256_new(&h));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "upload %s: read: %s", u->id, strerror(errno));
        if (n == 0)
            break;
        total += (uint64_t)n;
        TRY(gtee_sha256_update(h, buf, (size_t)n));
    }
hashed:
    TRY(gtee_sha256_final(h, digest));
    gtee_hex_encode(digest, sizeof(digest), hex);
    ENSURE(total == u->size, err, GTEE_EIO, "upload %s: staging file holds %llu bytes, expected %llu", u->id,
           (unsigned long long)total, (unsigned long long)u->size);
    /* A session opened without a content id (a client that seals while it uploads) takes
     * the hash of what arrived; the client compares it with its own. */
    if (!u->content_id[0])
        memcpy(u->content_id, hex, sizeof(hex));
    ENSURE(!strcmp(hex, u->content_id), err, GTEE_EAUTH,
           "upload %s: the bytes received have content id %s, not the declared %s: discarded", u->id, hex,
           u->content_id);
    /* RENAME_NOREPLACE: a blob already there (the same content, by its id) is kept as it is */
    if (renameat2(b->uploads_fd, u->id, b->blobs_fd, u->content_id, RENAME_NOREPLACE) == 0) {
        ENSURE(fsync(b->blobs_fd) == 0, err, GTEE_EIO, "upload %s: sync of the blob store: %s", u->id,
               strerror(errno));
    } else {
        ENSURE(errno == EEXIST, err, GTEE_EIO, "upload %s: cannot move it into the blob store: %s", u->id,
               strerror(errno));
    }
    rc = 0;
out:
    if (fd >= 0) /* the hash made here; the caller frees its own */
        gtee_sha256_free(h);
    if (fd >= 0)
        close(fd);
    return rc;
}

int gtee_node_upload_end(struct gtee_node_blobs *b, struct gtee_node_upload_put *p, int *done, struct gtee_err *err)
{
    int rc = 0;

    *done = 0;
    if (p->fd < 0)
        return 0;
    ENSURE(fdatasync(p->fd) == 0, err, GTEE_EIO, "upload %s: sync: %s", p->u.id, strerror(errno));
    close(p->fd);
    p->fd = -1;
    if (p->at != p->u.received) {
        TRY(gtee_node_store_upload_set(b->store, p->u.id, p->at, err));
        p->u.received = p->at;
    }
    if (p->u.received < p->u.size) {
        if (p->h)
            hash_keep(b, p->u.id, p->h, p->u.received);
        p->h = NULL;
        goto out;
    }
    /* The file and its row appear together, never between a retention pass's check and
     * its delete. */
    pthread_mutex_lock(&b->mu);
    rc = promote(b, &p->u, p->h, err);
    /* Complete, good or bad: the session ends (a bad one cannot become good by resuming). */
    if (rc == 0)
        rc = gtee_node_store_upload_finish(b->store, &p->u, 1, err);
    else
        if (gtee_node_store_upload_finish(b->store, &p->u, 0, NULL) < 0) {
            /* the session row stays; its staging file is gone, so a resume finds none */
        }
    pthread_mutex_unlock(&b->mu);
    (void)unlinkat(b->uploads_fd, p->u.id, 0);
    TRY(rc);
    *done = 1;
out:
    gtee_sha256_free(p->h);
    p->h = NULL;
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    return rc;
}

int gtee_node_blob_open(struct gtee_node_blobs *b, const char *id, int *fd, uint64_t *size, struct gtee_err *err)
{
    struct stat st;
    uint64_t want = 0;
    int rc;

    *fd = -1;
    rc = gtee_node_store_blob_get(b->store, id, &want, err);
    if (rc < 0)
        return rc;
    ENSURE(rc == 1, err, GTEE_ENOTFOUND, "blob %s: not in this node's store", id);
    *fd = openat(b->blobs_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(*fd >= 0, err, GTEE_EIO, "blob %s: %s", id, strerror(errno));
    ENSURE(fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == want, err, GTEE_EIO,
           "blob %s: the stored file is not the %llu bytes recorded", id, (unsigned long long)want);
    *size = want;
    rc = 0;
out:
    if (rc < 0 && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int gtee_node_keep_host_part(struct gtee_node_blobs *b, const uint8_t *p, size_t n, char result[65],
                             struct gtee_err *err)
{
    uint8_t id[32];
    char hex[65];
    int rc;

    if (result)
        result[0] = '\0';
    if (n < 8 || memcmp(p, "GTEE-RES", 8))
        return gtee_node_store_sealed_add(b->store, p, n, err);
    if (gtee_sha256(p, n, id) != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "relay: cannot hash a result");
    gtee_hex_encode(id, sizeof(id), hex);
    pthread_mutex_lock(&b->mu);
    rc = gtee_file_writeat(b->blobs_fd, hex, p, n, 0600, 0, err);
    if (rc == GTEE_EEXIST)
        rc = 0; /* content-addressed: the same bytes are already there */
    if (rc == 0)
        rc = gtee_node_store_blob_add(b->store, hex, n, err);
    pthread_mutex_unlock(&b->mu);
    if (rc == 0 && result)
        memcpy(result, hex, sizeof(hex));
    return rc;
}
