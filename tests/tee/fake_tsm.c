/* Test helper: configfs-tsm under a fake root. mkdir of a report entry creates its
 * attributes as configfs does (provider, generation, inblob, outblob); a write to inblob
 * bumps generation and the following outblob read returns a real sample. `gen_step` 2
 * emulates a second writer on the same entry between our write and our read. */
#ifndef FAKE_TSM_C
#define FAKE_TSM_C

#include "gtee/tee.h"
#include "tee/fake_fifo.c"

#define FAKE_TSM_ENTRIES 8

struct fake_tsm_entry {
    char path[PATH_MAX];
    struct fifo_server srv;
    int used;
};

struct fake_tsm {
    char root[PATH_MAX];
    const char *provider;      /* NULL: entries have no provider attribute */
    uint8_t *sample;
    size_t sample_len;
    int gen_step;
    struct fake_tsm_entry e[FAKE_TSM_ENTRIES];
    uint8_t last_inblob[256];
    size_t last_inblob_len;
    int made, removed;
    struct gtee_tsm_dirops ops;
    /* Optional: makes the outblob from the inblob (as the TDX module does), instead of the
     * fixed sample. The reply is malloc'd; the fake frees it. */
    int (*answer)(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, void *arg);
    void *answer_arg;
    uint8_t *answered;
};

static void fake_tsm_bump(struct fifo_server *s, void *arg)
{
    struct fake_tsm *f = arg;
    char p[PATH_MAX + 16], num[32];
    size_t dl = strlen(s->in) - strlen("/inblob");
    unsigned long g = 0;
    uint8_t *old;
    size_t n;

    snprintf(p, sizeof(p), "%.*s/generation", (int)dl, s->in);
    old = fake_load(p, &n);
    if (old) {
        char tmp[32];

        snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < 31 ? n : 31), (const char *)old);
        g = strtoul(tmp, NULL, 10);
        free(old);
    }
    snprintf(num, sizeof(num), "%lu\n", g + (unsigned long)f->gen_step);
    fake_write(p, num, strlen(num));
    if (f->answer) {
        uint8_t *r = NULL;
        size_t rn = 0;

        free(f->answered);
        f->answered = NULL;
        s->reply_len = 0;
        if (f->answer(s->seen, s->seen_len, &r, &rn, f->answer_arg) == 0) {
            f->answered = r;
            s->reply = r;
            s->reply_len = rn;
        }
    }
}

static int fake_tsm_mkdir(const char *path, void *arg)
{
    struct fake_tsm *f = arg;
    struct fake_tsm_entry *e = NULL;
    char p[PATH_MAX + 16];

    for (int i = 0; i < FAKE_TSM_ENTRIES && !e; i++)
        if (!f->e[i].used)
            e = &f->e[i];
    if (!e)
        return -ENOSPC;
    if (mkdir(path, 0700) != 0)
        return -errno;
    memset(e, 0, sizeof(*e));
    e->used = 1;
    snprintf(e->path, sizeof(e->path), "%s", path);
    if (f->provider) {
        char line[64];

        snprintf(p, sizeof(p), "%s/provider", path);
        snprintf(line, sizeof(line), "%s\n", f->provider);
        fake_write(p, line, strlen(line));
    }
    snprintf(p, sizeof(p), "%s/generation", path);
    fake_write(p, "0\n", 2);
    snprintf(e->srv.in, sizeof(e->srv.in), "%s/inblob", path);
    snprintf(e->srv.out, sizeof(e->srv.out), "%s/outblob", path);
    e->srv.reply = f->sample;
    e->srv.reply_len = f->sample_len;
    e->srv.on_request = fake_tsm_bump;
    e->srv.arg = f;
    if (fifo_server_start(&e->srv) != 0)
        return -EIO;
    f->made++;
    return 0;
}

static int fake_tsm_rmdir(const char *path, void *arg)
{
    struct fake_tsm *f = arg;
    char p[PATH_MAX + 16];

    for (int i = 0; i < FAKE_TSM_ENTRIES; i++) {
        struct fake_tsm_entry *e = &f->e[i];

        if (!e->used || strcmp(e->path, path) != 0)
            continue;
        fifo_server_stop(&e->srv);
        if (e->srv.requests > 0) {
            memcpy(f->last_inblob, e->srv.seen, e->srv.seen_len);
            f->last_inblob_len = e->srv.seen_len;
        }
        snprintf(p, sizeof(p), "%s/provider", path);
        unlink(p);
        snprintf(p, sizeof(p), "%s/generation", path);
        unlink(p);
        e->used = 0;
        f->removed++;
        return rmdir(path) == 0 ? 0 : -errno;
    }
    return -ENOENT;
}

/* provider NULL: no provider attribute. sample_path: the outblob to hand back. */
FAKE_API int fake_tsm_create(struct fake_tsm *f, const char *root, const char *provider, const char *sample_path)
{
    char dir[PATH_MAX + 64];

    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "%s", root);
    f->provider = provider;
    f->gen_step = 1;
    snprintf(dir, sizeof(dir), "%s/sys/kernel/config/tsm/report", root);
    if (fake_mkdirs(dir) != 0)
        return -1;
    f->sample = fake_load(sample_path, &f->sample_len);
    if (!f->sample)
        return -1;
    f->ops.mkdir = fake_tsm_mkdir;
    f->ops.rmdir = fake_tsm_rmdir;
    f->ops.arg = f;
    return 0;
}

FAKE_API void fake_tsm_destroy(struct fake_tsm *f)
{
    char p[PATH_MAX + 64];
    static const char *const parts[] = { "/sys/kernel/config/tsm/report", "/sys/kernel/config/tsm",
                                         "/sys/kernel/config", "/sys/kernel", "/sys", "" };

    for (int i = 0; i < FAKE_TSM_ENTRIES; i++)
        if (f->e[i].used)
            fake_tsm_rmdir(f->e[i].path, f);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->root, parts[i]);
        rmdir(p);
    }
    free(f->sample);
    f->sample = NULL;
    free(f->answered);
    f->answered = NULL;
}

#endif
