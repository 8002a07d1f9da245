/* `gtee sim init DIR`: creates a simulated TEE device (root secret, simulated Intel PKI,
 * collateral) and says loudly that it is a simulation. docs/sim.md. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/sim.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char init_usage[] =
    "Usage: gtee sim init [--json] DIR\n"
    "\n"
    "Creates a SIMULATED TEE device in DIR (made with mode 0700; an existing DIR must be\n"
    "empty): a device root secret, a simulated Intel SGX PKI (root CA, PCK Platform CA,\n"
    "PCK certificate with the SGX extensions, TCB signing certificate, quoting enclave\n"
    "attestation key) and collateral for SGX (DIR/sgx) and TDX (DIR/tdx) quotes, valid\n"
    "for 10 years. The enclave runtime's `--tee sim` backend uses it for sealing keys and\n"
    "quotes in Intel's formats.\n"
    "\n"
    "THIS IS NOT SECURE: the host can read every file in DIR, so nothing sealed or\n"
    "attested with it is confidential from the host. Verifiers accept its quotes only\n"
    "when told to allow simulation, under the root DIR/sim_root_ca.der.\n"
    "\n"
    "Options:\n"
    "      --json   print what was created as one JSON object on stdout\n"
    "  -h, --help   show this help\n"
    "\n"
    "Example:\n"
    "  gtee sim init ~/.glacier/sim\n";

static const char warning[] =
    "WARNING: this is a SIMULATED TEE device. It is NOT SECURE: the host can read its\n"
    "WARNING: root secret and keys. Use it for development and CI only.\n";

/* Lists the regular files under dir and one level of subdirectories, sorted. */
static int list_files(const char *dir, const char *sub, json_t *files)
{
    char path[4096], rel[512], mode[8];
    struct dirent **ents = NULL;
    struct stat st;
    int n, rc = 0;

    snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    n = scandir(path, &ents, NULL, alphasort);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;

        if (name[0] != '.') {
            snprintf(rel, sizeof(rel), "%s%s%s", sub ? sub : "", sub ? "/" : "", name);
            snprintf(path, sizeof(path), "%s/%s", dir, rel);
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && !sub)
                rc |= list_files(dir, name, files);
            else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
                rc |= json_array_append_new(files, json_pack("{s:s,s:s}", "path", rel, "mode", mode));
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int root_fingerprint(const char *dir, char hex[2 * GTEE_SHA256_LEN + 1])
{
    char path[4096];
    uint8_t *buf = NULL, digest[GTEE_SHA256_LEN];
    size_t n = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, GTEE_SIM_ROOT_CA_FILE);
    rc = gtee_file_read(path, 8192, &buf, &n, NULL);
    if (rc == 0 && (n == 0 || gtee_sha256(buf, n, digest) < 0))
        rc = -1;
    free(buf);
    if (rc < 0)
        return -1;
    gtee_hex_encode(digest, sizeof(digest), hex);
    return 0;
}

static int sim_init(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    char fp[2 * GTEE_SHA256_LEN + 1];
    json_t *files;
    const char *dir;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(init_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (the device directory to create)");
    dir = argv[optind];
    rc = gtee_sim_init(dir, &err);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    fputs(warning, stderr);
    files = json_array();
    if (!files || list_files(dir, NULL, files) != 0 || root_fingerprint(dir, fp) != 0) {
        json_decref(files);
        return cli_fail(GTEE_EIO, "device created in %s, but listing it failed", dir);
    }
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:b,s:s,s:s,s:s,s:s,s:s,s:o}", "dir", dir, "simulated", 1, "warning",
                                       "SIMULATED TEE device, NOT SECURE: the host can read its root secret and keys",
                                       "root_ca", GTEE_SIM_ROOT_CA_FILE, "root_ca_sha256", fp, "collateral_sgx",
                                       GTEE_SIM_SGX_COLLATERAL_DIR, "collateral_tdx", GTEE_SIM_TDX_COLLATERAL_DIR,
                                       "files", files))
                   ? CLI_EXIT_IO
                   : 0;
    printf("created simulated TEE device %s\n", dir);
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *e = json_array_get(files, i);
        printf("  %s  %s\n", json_string_value(json_object_get(e, "mode")),
               json_string_value(json_object_get(e, "path")));
    }
    printf("simulated root CA %s (SHA-256 %s)\n", GTEE_SIM_ROOT_CA_FILE, fp);
    printf("collateral: %s/ (SGX quotes v3), %s/ (TDX quotes v4)\n", GTEE_SIM_SGX_COLLATERAL_DIR,
           GTEE_SIM_TDX_COLLATERAL_DIR);
    json_decref(files);
    return 0;
}

static const struct cli_cmd sim_commands[] = {
    { "init", "Create a SIMULATED TEE device directory (not secure; for development and CI)", sim_init },
};

int cmd_sim(int argc, char **argv)
{
    return cli_dispatch(sim_commands, GTEE_ARRAY_LEN(sim_commands), argc, argv);
}
