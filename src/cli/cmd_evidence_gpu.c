/* `gtee evidence gpu`: a confidential-computing GPU's evidence through NVML (docs/evidence-nvidia.md,
 * "Collecting GPU evidence"): its report over the caller's nonce and its certificate chain,
 * written through the output helper so that `gtee evidence verify` can check them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/tee_gpu.h"

static const char gpu_usage[] =
    "Usage: gtee evidence gpu --nonce HEX --out-report FILE --out-chain FILE [--index N]\n"
    "                         [--nvml LIB] [--json]\n"
    "\n"
    "Asks GPU N (default 0) through the NVIDIA management library for its confidential-\n"
    "computing attestation report over the 32-byte nonce HEX, and writes the report and the\n"
    "GPU's certificate chain (PEM, leaf first). Refuses a GPU whose confidential-computing\n"
    "mode is off, and a report that is not over the nonce. Prints the driver and VBIOS\n"
    "versions. Verify with `gtee evidence verify FILE --collateral DIR --nonce HEX`, DIR\n"
    "holding the chain as cert_chain.pem and the RIMs (docs/evidence-nvidia.md).\n"
    "\n"
    "Options:\n"
    "      --nonce HEX         32 bytes (64 hex digits), the verifier's nonce\n"
    "      --out-report FILE   where to write the report (refuses to overwrite)\n"
    "      --out-chain FILE    where to write the chain (refuses to overwrite)\n"
    "      --index N           which GPU (default 0)\n"
    "      --nvml LIB          the NVML library to load (default libnvidia-ml.so.1)\n"
    "      --json              print one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 written; 3 no NVIDIA library, no such GPU, or a file exists; 1 CC mode\n"
    "off or NVML failed; 4 a report not over the nonce; 5 a library without NVML's calls;\n"
    "2 usage.\n";

int cmd_evidence_gpu(int argc, char **argv)
{
    static const struct option opts[] = {
        { "nonce", required_argument, NULL, 'n' },     { "out-report", required_argument, NULL, 'r' },
        { "out-chain", required_argument, NULL, 'c' }, { "index", required_argument, NULL, 'i' },
        { "nvml", required_argument, NULL, 'l' },      { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
    };
    const char *nonce_hex = NULL, *out_report = NULL, *out_chain = NULL, *lib = NULL;
    unsigned long index = 0;
    uint8_t nonce[GTEE_GPU_NONCE_LEN];
    struct gtee_tee_gpu g;
    struct gtee_err err = {0};
    char *end;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': nonce_hex = optarg; break;
        case 'r': out_report = optarg; break;
        case 'c': out_chain = optarg; break;
        case 'l': lib = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'i':
            index = strtoul(optarg, &end, 10);
            if (!*optarg || *end || index > 255)
                return cli_usage_error("--index must be a GPU number 0..255");
            break;
        case 'h': fputs(gpu_usage, stdout); return 0;
        default: return cli_usage_error("see gtee evidence gpu --help");
        }
    }
    if (optind != argc || !nonce_hex || !out_report || !out_chain)
        return cli_usage_error("--nonce, --out-report and --out-chain are required (see --help)");
    if (strlen(nonce_hex) != 2 * GTEE_GPU_NONCE_LEN || gtee_hex_decode(nonce_hex, nonce, sizeof(nonce)) != 0)
        return cli_usage_error("--nonce must be 32 bytes (64 hex digits)");
    if ((rc = gtee_tee_gpu_collect(lib, (unsigned)index, nonce, &g, &err)) < 0)
        return cli_fail_err(rc, &err);
    /* Both files or neither: the chain is written first and removed if the report cannot be. */
    if ((rc = gtee_file_write(out_chain, g.cert_chain, g.cert_chain_len, 0644, 0, &err)) < 0 ||
        ((rc = gtee_file_write(out_report, g.report, g.report_len, 0644, 0, &err)) < 0 && (unlink(out_chain), 1))) {
        gtee_tee_gpu_free(&g);
        return cli_fail_err(rc, &err);
    }
    if (cli_json())
        rc = cli_json_emit(json_pack("{s:i,s:s,s:I,s:s,s:s,s:s}", "index", (int)index, "report", out_report, "bytes",
                                     (json_int_t)g.report_len, "chain", out_chain, "driver_version", g.driver_version,
                                     "vbios_version", g.vbios_version)) == 0
                 ? 0
                 : cli_fail(GTEE_EIO, "cannot write output");
    else
        printf("gpu:         %lu\nreport:      %s (%zu bytes)\nchain:       %s\ndriver:      %s\nvbios:       %s\n",
               index, out_report, g.report_len, out_chain, g.driver_version, g.vbios_version);
    gtee_tee_gpu_free(&g);
    return rc;
}
