/* `gtee keygen`: makes a fresh sealed-container key and writes it to a key file (0600). */
#include <getopt.h>
#include <string.h>

#include "gtee/crypto.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char usage[] =
    "Usage: gtee keygen [--force] [--json] OUT\n"
    "\n"
    "Generates a random 256-bit sealed-container key and writes it to the key file OUT\n"
    "(mode 0600, one line 'gtee-box-key-v1:<64 hex digits>'). Prints the key id, the\n"
    "public identifier a container's header carries; the key itself is never printed.\n"
    "\n"
    "Options:\n"
    "  -f, --force   replace OUT if it exists\n"
    "      --json    print {\"key_file\":...,\"key_id\":...} on stdout\n"
    "  -h, --help    show this help\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    struct gtee_box_key key;
    uint8_t id[GTEE_BOX_KEY_ID_LEN];
    char id_hex[2 * GTEE_BOX_KEY_ID_LEN + 1];
    int force = 0, c, rc;
    const char *out;

    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument OUT (the key file to write)");
    out = argv[optind];
    if (!strcmp(out, "-"))
        return cli_usage_error("a key is written to a file, not to stdout");

    rc = gtee_box_key_generate(&key);
    if (rc == 0)
        rc = gtee_box_key_id(&key, id);
    if (rc < 0) {
        gtee_box_key_wipe(&key);
        return cli_fail(rc, "cannot generate a key: %s", gtee_strerror(rc));
    }
    rc = cli_keyfile_write(out, &key, force, &err);
    gtee_box_key_wipe(&key);
    if (rc < 0)
        return cli_fail_err(rc, &err);

    gtee_hex_encode(id, sizeof(id), id_hex);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:s}", "key_file", out, "key_id", id_hex)) ? CLI_EXIT_IO : 0;
    printf("wrote key file %s\nkey id %s\n", out, id_hex);
    return 0;
}
