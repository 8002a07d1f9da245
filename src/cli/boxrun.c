/* One seal or open run for `gtee encrypt` / `gtee decrypt`: loads the key, sizes the
 * progress bar, calls the file-level box API, and reports bytes, chunks and speed. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "cli/boxrun.h"

/* Size of a regular file, 0 for stdin, pipes and anything unreadable. */
static uint64_t input_size(const char *path)
{
    struct stat st;

    if (!strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return (uint64_t)st.st_size;
}

/* For open: the container's header (for the report) and its plaintext length (for the
 * progress bar). Best effort; the library does the authoritative checks. */
static int peek_header(const char *path, struct gtee_box_header *hdr, uint64_t *plaintext)
{
    uint8_t buf[GTEE_BOX_HEADER_LEN];
    uint64_t chunks = 0, size = input_size(path);
    int fd, ok;

    *plaintext = 0;
    if (size < GTEE_BOX_HEADER_LEN)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ok = read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) && gtee_box_header_parse(buf, sizeof(buf), hdr, NULL) == 0;
    close(fd);
    if (ok && cli_box_layout(size, hdr->chunk_size, &chunks, plaintext) < 0)
        *plaintext = 0;
    return ok;
}

static int report(const struct cli_box_job *job, const struct gtee_box_stats *st, const char *key_id,
                  const struct gtee_box_header *hdr, double secs)
{
    double mbs = secs > 0 ? (double)st->plaintext_bytes / 1e6 / secs : 0.0;
    uint64_t in = job->seal ? st->plaintext_bytes : st->container_bytes;
    uint64_t out = job->seal ? st->container_bytes : st->plaintext_bytes;
    FILE *f = strcmp(job->out, "-") ? stdout : stderr; /* stdout may carry the data */
    const char *alg = hdr ? cli_alg_name(hdr->alg) : NULL;

    if (cli_json()) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:f,s:f}", "input", job->in, "output", job->out,
                              "bytes_in", (json_int_t)in, "bytes_out", (json_int_t)out, "chunks",
                              (json_int_t)st->chunks, "key_id", key_id, "seconds", secs, "mb_per_s", mbs);
        if (o && alg) {
            json_object_set_new(o, "algorithm", json_string(alg));
            json_object_set_new(o, "chunk_size", json_integer(hdr->chunk_size));
        }
        return cli_json_emit(o) ? CLI_EXIT_IO : 0;
    }
    fprintf(f, "%s %s -> %s\n", job->seal ? "sealed" : "opened", job->in, job->out);
    if (alg)
        fprintf(f, "  algorithm   %s\n  chunk size  %u\n", alg, (unsigned)hdr->chunk_size);
    fprintf(f, "  key id      %s\n  bytes in    %llu\n  bytes out   %llu\n  chunks      %llu\n  speed       %.1f MB/s\n",
            key_id, (unsigned long long)in, (unsigned long long)out, (unsigned long long)st->chunks, mbs);
    return 0;
}

int cli_box_run(const struct cli_box_job *job)
{
    struct gtee_err err = { 0 };
    struct gtee_box_key key;
    struct gtee_box_opts opts = { 0 };
    struct gtee_box_stats st = { 0 };
    struct gtee_box_header hdr;
    struct cli_progress prog;
    uint8_t id[GTEE_BOX_KEY_ID_LEN];
    char id_hex[2 * GTEE_BOX_KEY_ID_LEN + 1];
    uint64_t total;
    int have_hdr = 0, rc;
    double t0, secs;

    if (cli_json() && !strcmp(job->out, "-"))
        return cli_usage_error("--json prints its result on stdout; it cannot be used with output '-'");
    rc = cli_keyfile_read(job->key_path, &key, &err);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    rc = gtee_box_key_id(&key, id);
    if (rc < 0) {
        gtee_box_key_wipe(&key);
        return cli_fail(rc, "cannot derive the key id: %s", gtee_strerror(rc));
    }
    gtee_hex_encode(id, sizeof(id), id_hex);

    if (job->seal) {
        total = input_size(job->in);
        hdr.alg = job->alg ? job->alg : GTEE_AEAD_AES_256_GCM;
        hdr.chunk_size = job->chunk_size ? job->chunk_size : GTEE_BOX_CHUNK_DEFAULT;
        have_hdr = 1;
    } else {
        have_hdr = peek_header(job->in, &hdr, &total);
    }
    cli_progress_init(&prog, job->progress, total, job->seal ? "encrypt" : "decrypt");
    opts.alg = job->alg;
    opts.chunk_size = job->chunk_size;
    opts.progress = cli_progress_update;
    opts.progress_arg = &prog;

    t0 = cli_now();
    if (job->seal)
        rc = gtee_box_seal_file(&key, &opts, job->in, job->out, job->force, &st, &err);
    else
        rc = gtee_box_open_file(&key, &opts, job->in, job->out, job->force, &st, &err);
    secs = cli_now() - t0;
    gtee_box_key_wipe(&key);
    cli_progress_finish(&prog);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    return report(job, &st, id_hex, have_hdr ? &hdr : NULL, secs);
}
