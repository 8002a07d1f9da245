/* `gtee inspect`: a container's header fields, size, chunk count and content id, read
 * without a key (so nothing shown here is authenticated). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char usage[] =
    "Usage: gtee inspect [--json] FILE\n"
    "\n"
    "Shows the header of the container FILE (format version, algorithm, chunk size,\n"
    "key id), its size, its number of chunks and plaintext length (computed from the\n"
    "size and the chunk size), and its content id: the SHA-256 of the container's bytes,\n"
    "by which storage addresses it. Needs no key, so none of this is authenticated;\n"
    "'gtee decrypt' checks everything.\n"
    "\n"
    "Options:\n"
    "      --json   print the fields as one JSON object on stdout\n"
    "  -h, --help   show this help\n"
    "\n"
    "Example:\n"
    "  gtee inspect --json model.onnx.gtee\n";

static int read_header(int fd, uint8_t *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = read(fd, buf + *got, len - *got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

static int show(const char *path, const struct gtee_box_header *hdr, uint64_t size, uint64_t chunks,
                uint64_t plain, const uint8_t *cid)
{
    char kid[2 * GTEE_BOX_KEY_ID_LEN + 1], cid_hex[2 * GTEE_BOX_CONTENT_ID_LEN + 1];
    const char *alg = cli_alg_name(hdr->alg);

    gtee_hex_encode(hdr->key_id, GTEE_BOX_KEY_ID_LEN, kid);
    gtee_hex_encode(cid, GTEE_BOX_CONTENT_ID_LEN, cid_hex);
    if (!alg)
        alg = "unknown";
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:i,s:s,s:I,s:s,s:I,s:I,s:I,s:s}", "file", path, "version",
                                       (int)hdr->version, "algorithm", alg, "chunk_size", (json_int_t)hdr->chunk_size,
                                       "key_id", kid, "size", (json_int_t)size, "chunks", (json_int_t)chunks,
                                       "plaintext_bytes", (json_int_t)plain, "content_id", cid_hex))
                   ? CLI_EXIT_IO
                   : 0;
    printf("file        %s\nversion     %u\nalgorithm   %s\nchunk size  %u\nkey id      %s\n"
           "size        %llu bytes\nchunks      %llu\nplaintext   %llu bytes\ncontent id  %s\n",
           path, (unsigned)hdr->version, alg, (unsigned)hdr->chunk_size, kid, (unsigned long long)size,
           (unsigned long long)chunks, (unsigned long long)plain, cid_hex);
    return 0;
}

static int inspect(const char *path)
{
    struct gtee_err err = { 0 };
    struct gtee_box_header hdr;
    uint8_t buf[GTEE_BOX_HEADER_LEN], cid[GTEE_BOX_CONTENT_ID_LEN];
    uint64_t size = 0, chunks = 0, plain = 0;
    size_t got;
    int fd, rc, code;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_fail(GTEE_EIO, "cannot open %s: %s", path, strerror(errno));
    if (read_header(fd, buf, sizeof(buf), &got) < 0) {
        code = cli_fail(GTEE_EIO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (got < sizeof(buf)) {
        code = cli_fail(GTEE_EFORMAT, "%s is not a gtee container: %zu bytes, shorter than a header (%d bytes)",
                        path, got, GTEE_BOX_HEADER_LEN);
        goto out;
    }
    rc = gtee_box_header_parse(buf, sizeof(buf), &hdr, &err);
    if (rc < 0) {
        const char *why = err.msg[0] ? err.msg : gtee_strerror(rc);

        if (rc == GTEE_EUNSUPPORTED)
            code = cli_fail(rc, "%s: unsupported container: %s", path, why);
        else if (!strncmp(why, "not a ", 6))
            code = cli_fail(rc, "%s: %s", path, why);
        else
            code = cli_fail(rc, "%s is not a gtee container: %s", path, why);
        goto out;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        code = cli_fail(GTEE_EIO, "cannot seek in %s: %s", path, strerror(errno));
        goto out;
    }
    rc = gtee_box_content_id(fd, cid, &size, &err);
    if (rc < 0) {
        code = cli_fail_err(rc, &err);
        goto out;
    }
    rc = cli_box_layout(size, hdr.chunk_size, &chunks, &plain);
    if (rc < 0) {
        code = cli_fail(rc, "%s: a container of %llu bytes cannot have chunk size %u (truncated or extended)",
                        path, (unsigned long long)size, (unsigned)hdr.chunk_size);
        goto out;
    }
    code = show(path, &hdr, size, chunks, plain, cid);
out:
    close(fd);
    return code;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE");
    return inspect(argv[optind]);
}
