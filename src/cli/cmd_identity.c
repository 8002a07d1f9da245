/* `gtee identity new FILE` and `gtee identity show FILE`: a requester's or an owner's X25519
 * identity, the key results are sealed to (docs/tee.md §7.2), in a 0600 file of one line
 * `gtee-identity-v1:<64 hex digits>`. Only the public key is ever printed. */
#include <getopt.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char usage_new[] =
    "Usage: gtee identity new [--force] [--json] FILE\n"
    "\n"
    "Makes a fresh X25519 identity and writes its private key to FILE (mode 0600, one line\n"
    "'gtee-identity-v1:<64 hex digits>'). Grants name identities (--to), jobs are submitted\n"
    "under one, and their results are sealed to it. Prints the public key (64 hex digits);\n"
    "the private key is never printed.\n"
    "\n"
    "Options:\n"
    "  -f, --force   replace FILE if it exists\n"
    "      --json    print {\"identity_file\":...,\"public_key\":...} on stdout\n"
    "  -h, --help    show this help\n";

static const char usage_show[] =
    "Usage: gtee identity show [--json] FILE\n"
    "\n"
    "Prints the public key (64 hex digits) of the identity in FILE, which must be mode 0600\n"
    "(exit 6 otherwise).\n"
    "\n"
    "Options:\n"
    "      --json    print {\"identity_file\":...,\"public_key\":...} on stdout\n"
    "  -h, --help    show this help\n";

static int print_public(const char *path, const uint8_t pub[32], const char *verb)
{
    char hex[65];

    gtee_hex_encode(pub, 32, hex);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:s}", "identity_file", path, "public_key", hex)) ? CLI_EXIT_IO : 0;
    if (verb)
        printf("%s identity file %s\n", verb, path);
    printf("public key %s\n", hex);
    return 0;
}

static int identity_new(int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    uint8_t priv[32], pub[32];
    int force = 0, c, rc;
    const char *out;

    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage_new);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (the identity file to write)");
    out = argv[optind];
    if (!strcmp(out, "-"))
        return cli_usage_error("an identity is written to a file, not to stdout");
    if ((rc = gtee_x25519_keypair(priv, pub)) < 0)
        return cli_fail(rc, "cannot generate an identity: %s", gtee_strerror(rc));
    rc = cli_secret_write(out, CLI_IDENTITY_PREFIX, priv, force, &err);
    gtee_wipe(priv, sizeof(priv));
    if (rc < 0)
        return cli_fail_err(rc, &err);
    return print_public(out, pub, "wrote");
}

static int identity_show(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    uint8_t priv[32], pub[32];
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage_show);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (an identity file)");
    rc = cli_secret_read(argv[optind], "identity", CLI_IDENTITY_PREFIX, priv, &err);
    if (rc == 0 && (rc = gtee_x25519_public(priv, pub)) < 0)
        (void)GTEE_FAIL(&err, rc, "identity file %s: not an X25519 key", argv[optind]);
    gtee_wipe(priv, sizeof(priv));
    if (rc < 0)
        return cli_fail_err(rc, &err);
    return print_public(argv[optind], pub, NULL);
}

int cmd_identity(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "new", "Make an X25519 identity file (0600) and print its public key", identity_new },
        { "show", "Print the public key of an identity file", identity_show },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
