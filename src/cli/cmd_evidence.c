/* `gtee evidence verify`: verifies TEE evidence (Intel SGX/TDX quotes) against collateral
 * files, trust anchors and a policy at a given time, and prints the verdict: every reason
 * and the verified claims (docs/evidence.md). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"

#define EVIDENCE_FILE_MAX (1u << 20)

static const char verify_usage[] =
    "Usage: gtee evidence verify FILE --collateral DIR [--policy POLICY] [--sim-root DER]\n"
    "                            [--at TIME] [--json]\n"
    "\n"
    "Verifies the evidence in FILE (an Intel SGX quote v3, TDX quote v4/v5, or AMD SEV-SNP\n"
    "report) with the collateral in DIR at TIME, then applies POLICY. Intel: tcb_info.json,\n"
    "qe_identity.json, their issuer chains, and the CRLs pck_crl.der and root_ca_crl.der when\n"
    "present. SEV-SNP: vcek.der (and ask_ark.pem, else the pinned ASK/ARK). Prints the\n"
    "verdict, every reason for a rejection, and the verified claims.\n"
    "\n"
    "Options:\n"
    "      --collateral DIR  the collateral directory of this evidence\n"
    "      --policy POLICY   policy JSON (docs/policy.md); default: strict (UpToDate only,\n"
    "                        no debug, no simulation)\n"
    "      --sim-root DER    also trust this simulated root; evidence under it is reported\n"
    "                        as simulated and accepted only if the policy allows simulation\n"
    "      --at TIME         verify at TIME: RFC 3339 (2025-07-19T10:01:17Z) or unix seconds;\n"
    "                        default now\n"
    "      --json            print the verdict as one JSON object\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 accepted, 7 rejected, 5 malformed evidence or policy, 3 unreadable file.\n"
    "\n"
    "Example:\n"
    "  gtee evidence verify quote.bin --collateral sgx-1 --at 2025-07-19T10:01:17Z --json\n";


static int read_small(const char *path, const char *what, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t n = 0;

    if (!f)
        return cli_fail(GTEE_EIO, "cannot open %s %s: %s", what, path, strerror(errno));
    p = malloc(EVIDENCE_FILE_MAX + 1);
    if (p)
        n = fread(p, 1, EVIDENCE_FILE_MAX + 1, f);
    if (!p || ferror(f)) {
        fclose(f);
        free(p);
        return cli_fail(GTEE_EIO, "cannot read %s %s", what, path);
    }
    fclose(f);
    if (n > EVIDENCE_FILE_MAX) {
        free(p);
        return cli_fail(GTEE_EFORMAT, "%s %s is larger than %u bytes", what, path, EVIDENCE_FILE_MAX);
    }
    *out = p;
    *len = n;
    return 0;
}

static void hex_line(const char *label, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];

    gtee_hex_encode(p, n, buf);
    printf("%-13s %s\n", label, buf);
}

static void print_text(const struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;

    printf("%-13s %s\n", "verdict", v->accepted ? "accepted" : "rejected");
    for (size_t i = 0; i < v->n_reasons; i++)
        printf("%-13s %s: %s\n", "reason", v->reasons[i].code, v->reasons[i].msg);
    if (v->reasons_truncated)
        printf("%-13s (more reasons not shown)\n", "reason");
    printf("%-13s %s", "tee", gtee_tee_type_name(c->tee));
    if (c->quote_version)
        printf(" (%s version %u)", c->tee == GTEE_TEE_SNP ? "report" : "quote", c->quote_version);
    printf("\n%-13s %s\n%-13s %s\n", "simulated", c->simulated ? "YES (not a hardware TEE)" : "no", "debug",
           c->debug ? "yes" : "no");
    if (c->tee == GTEE_TEE_SGX) {
        hex_line("mrenclave", c->sgx.mrenclave, 32);
        hex_line("mrsigner", c->sgx.mrsigner, 32);
        printf("%-13s %u\n%-13s %u\n", "isv_prod_id", c->sgx.isv_prod_id, "isv_svn", c->sgx.isv_svn);
    } else if (c->tee == GTEE_TEE_TDX) {
        hex_line("mrtd", c->tdx.mrtd, 48);
        hex_line("rtmr0", c->tdx.rtmr[0], 48);
        hex_line("rtmr1", c->tdx.rtmr[1], 48);
        hex_line("rtmr2", c->tdx.rtmr[2], 48);
        hex_line("rtmr3", c->tdx.rtmr[3], 48);
        hex_line("td_attributes", c->tdx.td_attributes, 8);
    } else if (c->tee == GTEE_TEE_SNP) {
        hex_line("measurement", c->snp.measurement, 48);
        hex_line("host_data", c->snp.host_data, 32);
        printf("%-13s 0x%016llx\n", "guest_policy", (unsigned long long)c->snp.guest_policy);
    }
    hex_line("report_data", c->report_data, 64);
    if (c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX) {
        printf("%-13s %s\n", "tcb_status", c->tcb_status ? gtee_tcb_status_name(c->tcb_status) : "-");
        printf("%-13s", "advisories");
        for (size_t i = 0; i < c->n_advisories; i++)
            printf(" %s", c->advisory_ids[i]);
        printf("%s\n", c->n_advisories ? "" : " none");
        hex_line("fmspc", c->fmspc, GTEE_FMSPC_LEN);
    }
}

struct verify_args {
    const char *file, *collateral, *policy, *sim_root, *at;
};

static int run_verify(const struct verify_args *a)
{
    struct gtee_collateral col = {0};
    struct gtee_policy policy;
    struct gtee_anchors anchors = {0};
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_err err = {0};
    uint8_t *ev = NULL, *sim = NULL;
    size_t ev_len = 0, sim_len = 0;
    int64_t at = (int64_t)time(NULL);
    int rc, code;
    char *json = NULL;

    if (!v)
        return cli_fail(GTEE_ENOMEM, "out of memory");
    if (a->at && gtee_time_parse(a->at, &at, &err) < 0) {
        free(v);
        return cli_usage_error("--at: %s", err.msg);
    }
    gtee_policy_default(&policy);
    if (a->policy && (rc = gtee_policy_load(a->policy, &policy, &err)) < 0) {
        code = cli_fail_err(rc, &err);
        goto out;
    }
    if ((code = read_small(a->file, "evidence", &ev, &ev_len)) != 0)
        goto out;
    if (a->sim_root) {
        if ((code = read_small(a->sim_root, "simulated root", &sim, &sim_len)) != 0)
            goto out;
        anchors.sim_root_der = sim;
        anchors.sim_root_len = sim_len;
    }
    if (a->collateral && (rc = gtee_collateral_load(a->collateral, &col, &err)) < 0) {
        code = cli_fail_err(rc == GTEE_ENOTFOUND ? GTEE_EIO : rc, &err);
        goto out;
    }
    rc = gtee_evidence_verify(ev, ev_len, a->collateral ? &col : NULL, &anchors, &policy, at, v, &err);
    if (rc < 0 && rc != GTEE_EPOLICY && rc != GTEE_EFORMAT) {
        code = cli_fail_err(rc, &err);
        goto out;
    }
    if (cli_json()) {
        if (gtee_verdict_to_json(v, &json, &err) < 0) {
            code = cli_fail_err(GTEE_ENOMEM, &err);
            goto out;
        }
        printf("%s\n", json);
    } else {
        print_text(v);
    }
    code = cli_exit_code(rc);
out:
    free(json);
    free(ev);
    free(sim);
    free(v);
    gtee_collateral_free(&col);
    return code;
}

static int cmd_evidence_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "collateral", required_argument, NULL, 'c' },
        { "policy", required_argument, NULL, 'p' },
        { "sim-root", required_argument, NULL, 's' },
        { "at", required_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct verify_args a = {0};
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a.collateral = optarg; break;
        case 'p': a.policy = optarg; break;
        case 's': a.sim_root = optarg; break;
        case 'a': a.at = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(verify_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE");
    a.file = argv[optind];
    return run_verify(&a);
}

int cmd_evidence(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "verify", "Verify TEE evidence against collateral and a policy", cmd_evidence_verify },
        { "get", "Have the enclave produce evidence over its keys and a nonce", cmd_evidence_get },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
