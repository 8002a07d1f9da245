/* `gtee keyrelease init FILE`: creates the TDX key-release service's master secret
 * (docs/tee.md §4.3.1). The service itself runs as a library (gtee/keyrelease.h). */
#include <getopt.h>
#include <stdio.h>

#include "base/guard.h"
#include "gtee/keyrelease.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char init_usage[] =
    "Usage: gtee keyrelease init FILE\n"
    "\n"
    "Writes a fresh 32-byte master secret for the TDX key-release service to FILE (a new\n"
    "file, mode 0600; an existing FILE is never overwritten). Every TDX Enclave key the\n"
    "service releases is derived from it and the TD's measurement (docs/tee.md §4.3.1):\n"
    "whoever reads FILE can compute them all, and losing it loses every TDX Enclave ID.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

static int kr_init(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return cli_help(init_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (the master secret file to create)");
    rc = gtee_kr_secret_init(argv[optind], &err);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    printf("master secret written to %s (mode 0600)\n", argv[optind]);
    return 0;
}

static const struct cli_cmd kr_commands[] = {
    { "init", "Create the TDX key-release service's master secret file (mode 0600)", kr_init },
};

int cmd_keyrelease(int argc, char **argv)
{
    return cli_dispatch(kr_commands, GTEE_ARRAY_LEN(kr_commands), argc, argv);
}
