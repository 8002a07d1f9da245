/* `gtee encrypt`: seals a file (or stdin) into a container with a key file's key. */
#include <getopt.h>

#include "cli/boxrun.h"
#include "cli/commands.h"

static const char usage[] =
    "Usage: gtee encrypt --key KEYFILE [options] IN OUT\n"
    "\n"
    "Seals IN into the container OUT (streaming, memory bounded by the chunk size).\n"
    "IN may be '-' for stdin and OUT '-' for stdout. OUT is written (mode 0600) to a\n"
    "temporary file and renamed into place only on success. An existing FIFO or device as\n"
    "OUT is refused unless --force, and then gets the container only once it is complete.\n"
    "Prints bytes in and out, chunks, key id and speed (on stderr when OUT is '-').\n"
    "\n"
    "Options:\n"
    "  -k, --key KEYFILE       key file made by 'gtee keygen' (must be mode 0600)\n"
    "  -a, --alg ALG           aes-256-gcm (default) or chacha20-poly1305\n"
    "  -c, --chunk-size N      plaintext bytes per chunk, N, NK or NM (1K..2M, default 64K)\n"
    "  -f, --force             replace OUT if it exists (a FIFO or device: write into it)\n"
    "      --json              print the result as one JSON object on stdout\n"
    "      --progress          always show a progress bar on stderr\n"
    "      --no-progress       never show one (default: on a terminal for inputs >= 64 MiB)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  gtee keygen model.key && gtee encrypt --key model.key model.onnx model.onnx.gtee\n";

int cmd_encrypt(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "alg", required_argument, NULL, 'a' },
        { "chunk-size", required_argument, NULL, 'c' },
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_box_job job = { .seal = 1, .progress = CLI_PROGRESS_AUTO };
    uint64_t chunk;
    int c;

    while ((c = getopt_long(argc, argv, "k:a:c:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': job.key_path = optarg; break;
        case 'a':
            job.alg = cli_parse_alg(optarg);
            if (!job.alg)
                return cli_usage_error("unknown algorithm '%s' (aes-256-gcm or chacha20-poly1305)", optarg);
            break;
        case 'c':
            if (cli_parse_size(optarg, &chunk) < 0 || chunk < GTEE_BOX_CHUNK_MIN || chunk > GTEE_BOX_CHUNK_MAX)
                return cli_usage_error("bad chunk size '%s' (from %uK to %uM, e.g. 64K)", optarg,
                                       GTEE_BOX_CHUNK_MIN >> 10, GTEE_BOX_CHUNK_MAX >> 20);
            job.chunk_size = (uint32_t)chunk;
            break;
        case 'f': job.force = 1; break;
        case 'j': cli_set_json(1); break;
        case 'p': job.progress = CLI_PROGRESS_ON; break;
        case 'P': job.progress = CLI_PROGRESS_OFF; break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (!job.key_path)
        return cli_usage_error("--key KEYFILE is required");
    if (argc - optind != 2)
        return cli_usage_error("expected two arguments IN OUT");
    job.in = argv[optind];
    job.out = argv[optind + 1];
    return cli_box_run(&job);
}
