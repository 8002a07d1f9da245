/* `gtee push`: seals a file into a container and uploads it to a node's blob store, in
 * chunks that the node acknowledges one by one, each streamed as it is sealed, resuming
 * after an interruption from the offset the node holds; prints the blob id
 * (docs/node-api.md, "Blobs"). This executable
 * seals but never opens a container (the never-rule). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/provider.h"
#include "gtee/file.h"

static const char usage[] =
    "Usage: gtee push FILE --node URL --key KEY [options]\n"
    "\n"
    "Seals FILE into a container with the container key in key file KEY (as gtee encrypt\n"
    "does), uploads the container to the node at URL and prints its blob id: the content\n"
    "id, the SHA-256 of the container, which the node checks. The node receives only the\n"
    "container. The upload goes in chunks the node acknowledges; after an interruption\n"
    "(a dropped connection, a node restart) push asks the node how much it holds and\n"
    "resumes from there. A container the node already holds is not sent again.\n"
    "\n"
    "Options:\n"
    "      --node URL         the node's API, e.g. http://127.0.0.1:8470 (required)\n"
    "  -k, --key KEY          the container key file (gtee keygen; required)\n"
    "      --chunk SIZE       bytes per acknowledged request (N, NK, NM; default 8M)\n"
    "      --retries N        resume attempts after failures, 0-100 (default 5)\n"
    "      --timeout S        the longest one request may take, seconds (default 600)\n"
    "      --progress         a progress bar on stderr even when it is not a terminal\n"
    "      --no-progress      no progress output (default: a bar on a terminal, else one\n"
    "                         line per acknowledged chunk)\n"
    "      --json             print {\"blob\":...,\"size\":...,\"node\":...} on stdout\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 stored; 3 the node could not be reached or FILE read; 4 the node\n"
    "received other bytes than were sent; 7 the node refused (over its size limit).\n";

int cmd_push(int argc, char **argv)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },    { "key", required_argument, NULL, 'k' },
        { "chunk", required_argument, NULL, 'c' },   { "retries", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' }, { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },   { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    struct cli_push p = CLI_PUSH_DEFAULTS;
    struct gtee_box_key key;
    const char *key_path = NULL;
    struct gtee_err err = { 0 };
    uint8_t id[GTEE_BOX_CONTENT_ID_LEN];
    char cid[2 * GTEE_BOX_CONTENT_ID_LEN + 1];
    uint64_t size = 0, v;
    int c, rc;
    char *end;

    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': p.node = optarg; break;
        case 'k': key_path = optarg; break;
        case 'c':
            if (cli_parse_size(optarg, &v) < 0 || v < 1 || v > (1ull << 32))
                return cli_usage_error("--chunk: '%s' is not a size from 1 to 4G", optarg);
            p.chunk = v;
            break;
        case 'r':
            errno = 0;
            p.retries = (int)strtol(optarg, &end, 10);
            if (errno || *end || p.retries < 0 || p.retries > 100)
                return cli_usage_error("--retries: '%s' is not 0 to 100", optarg);
            break;
        case 't':
            errno = 0;
            p.timeout = strtol(optarg, &end, 10);
            if (errno || *end || p.timeout < 1 || p.timeout > 86400)
                return cli_usage_error("--timeout: '%s' is not 1 to 86400 seconds", optarg);
            break;
        case 'p': p.progress = CLI_PROGRESS_ON; break;
        case 'P': p.progress = CLI_PROGRESS_OFF; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (the file to seal and upload)");
    if (!p.node || !key_path)
        return cli_usage_error("--node URL and --key KEY are required");
    if (strncmp(p.node, "http://", 7) && strncmp(p.node, "https://", 8))
        return cli_usage_error("--node: '%s' is not an http:// or https:// URL", p.node);
    memset(&key, 0, sizeof(key));
    rc = cli_keyfile_read(key_path, &key, &err);
    /* Sealed and uploaded at once; a bar on a terminal whatever the size, elsewhere plain
     * lines per chunk. */
    if (rc == 0)
        rc = cli_push_file(&p, &key, argv[optind], 0,
                           p.progress == CLI_PROGRESS_AUTO ? (isatty(STDERR_FILENO) && !cli_json())
                                                           : p.progress == CLI_PROGRESS_ON,
                           "upload", id, &size, &err);
    gtee_box_key_wipe(&key);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    gtee_hex_encode(id, sizeof(id), cid);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:I,s:s}", "blob", cid, "size", (json_int_t)size, "node", p.node))
                   ? CLI_EXIT_IO
                   : 0;
    printf("%s\n", cid);
    return 0;
}
