/* `gtee evidence get`: starts the enclave and has it produce evidence whose report data
 * commits to its keys and to the caller's 32 bytes (docs/tee.md, "Report data"). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/enclave_cli.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/msg.h"

static const char get_usage[] =
    "Usage: gtee evidence get --tee T --report-data HEX --out FILE [options] [--json]\n"
    "\n"
    "Starts the enclave through TEE backend T and writes its evidence (an Intel DCAP quote\n"
    "for sgx, tdx and sim; an SEV-SNP report for snp) to FILE. The 64 bytes of report data\n"
    "are SHA-256 over the enclave's two public keys, then the 32 bytes HEX given here (a\n"
    "verifier's nonce): the enclave never signs report data chosen wholly by its caller.\n"
    "Prints the full report data and the Enclave ID.\n"
    "\n"
    "Options:\n"
    "      --report-data HEX  32 bytes (64 hex digits): the caller's half of the report data\n"
    "      --out FILE         where to write the evidence (refuses to overwrite)\n" CLI_ENCLAVE_OPTS_HELP
    "      --json             print one JSON object\n"
    "  -h, --help             show this help\n"
    "\n"
    "Example:\n"
    "  gtee evidence get --tee sim --sim-dir ./dev --report-data $(openssl rand -hex 32) --out q.bin\n";

/* Through the output helper, never replacing an existing file; mode 0600. */
static int write_new(const char *path, const uint8_t *p, size_t n)
{
    struct gtee_err err = {0};
    int rc = gtee_file_write(path, p, n, 0600, 0, &err);

    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

int cmd_evidence_get(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_ENCLAVE_LONGOPTS,
        { "report-data", required_argument, NULL, 'r' },
        { "out", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_enclave_launch l = {0};
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    const char *rd_hex = NULL, *out = NULL;
    uint8_t nonce[GTEE_MSG_NONCE_LEN], *r = NULL;
    size_t n = 0;
    char bin[4096], rd[129], addr[GTEE_ETH_ADDR_HEX_LEN + 1];
    char epub[2 * GTEE_ENCLAVE_PUB_LEN + 1], cpub[2 * GTEE_CHANNEL_PUB_LEN + 1];
    int c, code;

    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int v = cli_enclave_opt(c, optarg, &l, bin, sizeof(bin));

        if (v < 0)
            return cli_usage_error("bad value '%s'", optarg);
        if (v > 0)
            continue;
        switch (c) {
        case 'r': rd_hex = optarg; break;
        case 'o': out = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(get_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!rd_hex || !out)
        return cli_usage_error("--report-data and --out are required");
    if (strlen(rd_hex) != 2 * sizeof(nonce) + ((rd_hex[0] == '0' && (rd_hex[1] == 'x' || rd_hex[1] == 'X')) ? 2 : 0) ||
        gtee_hex_decode(rd_hex, nonce, sizeof(nonce)) != 0)
        return cli_usage_error("--report-data must be 32 bytes as 64 hex digits (the first 32 bytes of the report "
                               "data are the enclave's key commitment)");
    if ((code = cli_enclave_start(&l, bin, sizeof(bin), &p)) != 0)
        return code;
    if (gtee_enclave_info(&p, &info, &err) != 0 ||
        gtee_enclave_call(&p, GTEE_MSG_EVIDENCE, nonce, sizeof(nonce), &r, &n, &err) != 0) {
        code = cli_fail_err(err.code, &err);
        (void)gtee_enclave_stop(&p, NULL);
        return code;
    }
    if ((code = cli_enclave_stop(&p)) != 0 || (code = write_new(out, r + 64, n - 64)) != 0) {
        free(r);
        return code;
    }
    gtee_hex_encode(r, 64, rd);
    /* The keys of this very start (the channel key is fresh at each), for the verifier's
     * --enclave-info (docs/evidence.md, "Report data binding"). */
    gtee_hex_encode(info.enclave_pub, sizeof(info.enclave_pub), epub);
    gtee_hex_encode(info.channel_pub, sizeof(info.channel_pub), cpub);
    gtee_eth_address_hex(info.enclave_addr, addr);
    free(r);
    if (info.simulated)
        fputs("WARNING: SIMULATED TEE evidence: it chains to a simulated root and proves nothing.\n", stderr);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:b}", "out", out, "bytes", (json_int_t)(n - 64),
                                       "report_data", rd, "enclave_id", addr, "enclave_public_key", epub,
                                       "channel_public_key", cpub, "simulated", info.simulated)) == 0
                   ? 0
                   : cli_fail(GTEE_EIO, "cannot write output");
    printf("evidence:    %s (%zu bytes)%s\nreport data: %s\nenclave id:  %s\n", out, n - 64,
           info.simulated ? " SIMULATED" : "", rd, addr);
    return 0;
}
