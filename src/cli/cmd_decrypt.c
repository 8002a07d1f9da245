/* `gtee decrypt`: opens a container with a key file's key; nothing is left on failure. */
#include <getopt.h>

#include "cli/boxrun.h"
#include "cli/commands.h"

static const char usage[] =
    "Usage: gtee decrypt --key KEYFILE [options] IN OUT\n"
    "\n"
    "Opens the container IN and writes its plaintext to OUT. Every chunk is\n"
    "authenticated before its plaintext is written; on any failure (wrong key,\n"
    "tampered, reordered or truncated container) the message names the chunk and the\n"
    "check, and no OUT file remains (OUT is written mode 0600). An existing FIFO or device\n"
    "as OUT is refused unless --force, and then gets the plaintext only once every chunk\n"
    "verified. IN may be '-' for stdin and OUT '-' for stdout (with stdout, bytes of\n"
    "chunks that verified before a failure have been written).\n"
    "\n"
    "Options:\n"
    "  -k, --key KEYFILE   key file made by 'gtee keygen' (must be mode 0600)\n"
    "  -f, --force         replace OUT if it exists (a FIFO or device: write into it)\n"
    "      --json          print the result as one JSON object on stdout\n"
    "      --progress      always show a progress bar on stderr\n"
    "      --no-progress   never show one (default: on a terminal for inputs >= 64 MiB)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  gtee decrypt --key model.key model.onnx.gtee model.onnx\n";

int cmd_decrypt(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_box_job job = { .seal = 0, .progress = CLI_PROGRESS_AUTO };
    int c;

    while ((c = getopt_long(argc, argv, "k:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': job.key_path = optarg; break;
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
