/* `gtee enclave info`: starts the enclave through a TEE backend and shows what it says
 * about itself: TEE type, measurement, Enclave ID, public keys (docs/tee.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/enclave_cli.h"
#include "gtee/crypto.h"

static const char info_usage[] =
    "Usage: gtee enclave info --tee T [--sim-dir DIR] [options] [--json]\n"
    "\n"
    "Starts the enclave (gtee-enclave) through TEE backend T, asks it for its identity and\n"
    "prints: the TEE type, the measurement, the hash of the executable that runs, the\n"
    "Enclave ID (the Ethereum address of the Enclave key), the Enclave public key and the\n"
    "channel public key (fresh at every start). Then stops it.\n"
    "\n"
    "Options:\n" CLI_ENCLAVE_OPTS_HELP
    "      --json             print one JSON object\n"
    "  -h, --help             show this help\n"
    "\n"
    "With --tee sim the output says SIMULATED: the simulated TEE is not secure.\n"
    "\n"
    "Example:\n"
    "  gtee sim init ./dev && gtee enclave info --tee sim --sim-dir ./dev --json\n";

static const char sim_warning[] =
    "WARNING: SIMULATED TEE. NOT SECURE: the host can read the simulated device's secrets;\n"
    "WARNING: this identity and its evidence prove nothing about confidentiality.\n";

static int print_info(const struct gtee_enclave_info *i)
{
    char meas[2 * GTEE_MEASUREMENT_MAX + 1], exe[65], epub[131], cpub[131], addr[GTEE_ETH_ADDR_HEX_LEN + 1];

    gtee_hex_encode(i->measurement, i->measurement_len, meas);
    gtee_hex_encode(i->exe_sha256, 32, exe);
    gtee_hex_encode(i->enclave_pub, sizeof(i->enclave_pub), epub);
    gtee_hex_encode(i->channel_pub, sizeof(i->channel_pub), cpub);
    gtee_eth_address_hex(i->enclave_addr, addr);
    if (cli_json()) {
        json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:s,s:s}", "tee", gtee_tee_kind_name(i->kind), "simulated", i->simulated,
                              "measurement", meas, "executable_sha256", exe, "enclave_id", addr, "enclave_public_key",
                              epub, "channel_public_key", cpub);

        if (o && i->simulated)
            json_object_set_new(o, "warning", json_string("SIMULATED TEE: not secure"));
        return cli_json_emit(o) == 0 ? 0 : cli_fail(GTEE_EIO, "cannot write output");
    }
    if (i->simulated)
        fputs(sim_warning, stderr);
    printf("tee:                %s%s\n", gtee_tee_kind_name(i->kind), i->simulated ? " (SIMULATED - NOT SECURE)" : "");
    printf("measurement:        %s\n", meas);
    printf("executable sha256:  %s\n", exe);
    printf("enclave id:         %s\n", addr);
    printf("enclave public key: %s\n", epub);
    printf("channel public key: %s\n", cpub);
    return 0;
}

static int cmd_enclave_info(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_ENCLAVE_LONGOPTS,
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_enclave_launch l = {0};
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    char bin[4096];
    int c, code;

    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_enclave_opt(c, optarg, &l, bin, sizeof(bin));

        if (r < 0)
            return cli_usage_error("bad value '%s'", optarg);
        if (r > 0)
            continue;
        if (c == 'j')
            cli_set_json(1);
        else if (c == 'h')
            return cli_help(info_usage);
        else
            return cli_bad_option(argc, argv);
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if ((code = cli_enclave_start(&l, bin, sizeof(bin), &p)) != 0)
        return code;
    if (gtee_enclave_info(&p, &info, &err) != 0) {
        code = cli_fail_err(err.code, &err);
        (void)gtee_enclave_stop(&p, NULL);
        return code;
    }
    if ((code = cli_enclave_stop(&p)) != 0)
        return code;
    return print_info(&info);
}

int cmd_enclave(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "info", "Start the enclave and show its TEE, measurement, Enclave ID and keys", cmd_enclave_info },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
