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
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/nvidia.h"

#include <jansson.h>

#define EVIDENCE_FILE_MAX (1u << 20)

static const char verify_usage[] =
    "Usage: gtee evidence verify FILE --collateral DIR [--policy POLICY] [--sim-root DER]\n"
    "                            [--enclave-info JSON | --enclave-key HEX --channel-key HEX]\n"
    "                            [--nonce HEX] [--at TIME] [--json]\n"
    "\n"
    "Verifies the evidence in FILE (an Intel SGX quote v3, TDX quote v4/v5, AMD SEV-SNP\n"
    "report, or NVIDIA GPU report) with the collateral in DIR at TIME, then applies POLICY.\n"
    "The kind is recognised from the bytes. Intel: tcb_info.json,\n"
    "qe_identity.json, their issuer chains, and the CRLs pck_crl.der and root_ca_crl.der\n"
    "(each applied when present; the default policy requires both). SEV-SNP: vcek.der (and\n"
    "ask_ark.pem, else the pinned ASK/ARK), and AMD's ARK CRL ark_crl.der (applied when\n"
    "present; the default policy requires it). NVIDIA GPU: cert_chain.pem, the driver and\n"
    "VBIOS RIMs (*driver*.xml, *vbios*.xml or .swidtag) and OCSP responses ocsp/NAME.der\n"
    "(without them revocation is not checked, which the default policy refuses); --nonce is\n"
    "the GPU report's nonce. A composite bundle (CVM evidence and GPU reports): DIR/cvm is the\n"
    "CVM's collateral, DIR/gpu0, DIR/gpu1, ... each GPU's (a GPU without its folder is\n"
    "rejected, gpu.collateral.missing); --nonce is the CVM's, which every GPU report must be\n"
    "over. Prints the verdict, every reason for a rejection,\n"
    "and the verified claims, revocation_checked among them. Every kind of evidence needs\n"
    "its collateral, so --collateral is required.\n"
    "\n"
    "Options:\n"
    "      --collateral DIR  the collateral directory of this evidence (required)\n"
    "      --policy POLICY   policy JSON (docs/policy.md); default: strict (UpToDate only,\n"
    "                        no debug, no simulation, revocation checked for SGX, TDX\n"
    "                        and SEV-SNP)\n"
    "      --sim-root DER    also trust this simulated root; evidence under it is reported\n"
    "                        as simulated and accepted only if the policy allows simulation\n"
    "      --enclave-info JSON  the enclave's keys as `gtee evidence get --json` or\n"
    "                        `gtee enclave info --json` print them (same enclave start)\n"
    "      --enclave-key HEX --channel-key HEX  the same keys as 130 hex digits each\n"
    "                        report data bytes 0..31 must commit to these keys; the\n"
    "                        claims then carry them and the Enclave ID\n"
    "      --nonce HEX       report data bytes 32..63 must equal these 32 bytes (a GPU\n"
    "                        report: its requester nonce must)\n"
    "      --at TIME         verify at TIME: RFC 3339 (2025-07-19T10:01:17Z) or unix seconds,\n"
    "                        up to 9999-12-31T23:59:59Z; default now\n"
    "      --json            print the verdict as one JSON object\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 accepted, 7 rejected, 5 malformed evidence or policy, 3 unreadable file,\n"
    "2 usage.\n"
    "\n"
    "Example:\n"
    "  gtee evidence verify quote.bin --collateral sgx-1 --at 2025-07-19T10:01:17Z --json\n";


/* Inputs through the bounded input helper: a FIFO or device is refused at once. */
static int read_small(const char *path, const char *what, uint8_t **out, size_t *len)
{
    struct gtee_err err = {0};
    int rc = gtee_file_read(path, EVIDENCE_FILE_MAX, out, len, &err);

    if (rc < 0) {
        gtee_err_wrap(&err, "%s: ", what);
        return cli_fail_err(rc, &err);
    }
    return 0;
}

static void hex_line(const char *label, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];

    gtee_hex_encode(p, n, buf);
    printf("%-13s %s\n", label, buf);
}

/* "revocation_checked yes|no (CRLs applied: ...)" */
static void print_revocation(const struct gtee_claims *c)
{
    static const unsigned bits[] = { GTEE_CRL_PCK, GTEE_CRL_ROOT_CA, GTEE_CRL_SNP_ARK };

    printf("%-13s %s (CRLs applied:", "revocation_checked", c->revocation_checked ? "yes" : "no");
    for (size_t i = 0; i < GTEE_ARRAY_LEN(bits); i++)
        if (c->crls_applied & bits[i])
            printf(" %s", gtee_crl_name(bits[i]));
    printf("%s)\n", c->crls_applied ? "" : " none");
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
        hex_line("xfam", c->tdx.xfam, 8);
        hex_line("mrconfigid", c->tdx.mrconfigid, 48);
        hex_line("mrowner", c->tdx.mrowner, 48);
    } else if (c->tee == GTEE_TEE_SNP) {
        hex_line("measurement", c->snp.measurement, 48);
        hex_line("host_data", c->snp.host_data, 32);
        printf("%-13s 0x%016llx\n", "guest_policy", (unsigned long long)c->snp.guest_policy);
    } else if (c->tee == GTEE_TEE_GPU) {
        printf("%-13s %s\n%-13s %s\n", "driver", c->gpu.driver_version[0] ? c->gpu.driver_version : "-", "vbios",
               c->gpu.vbios_version[0] ? c->gpu.vbios_version : "-");
        printf("%-13s %u of %u compared golden values match (%u golden values; NVDEC0 %s)\n", "measurements",
               c->gpu.matched, c->gpu.compared, c->gpu.golden,
               c->gpu.nvdec0 == GTEE_NV_NVDEC0_DISABLED  ? "disabled, index 35 not compared"
               : c->gpu.nvdec0 == GTEE_NV_NVDEC0_ENABLED ? "enabled"
                                                         : "absent");
        hex_line("gpu_nonce", c->gpu.nonce, GTEE_NV_NONCE_LEN);
        if (c->binding.nonce_checked)
            printf("%-13s %s\n", "nonce_check", "matches the given nonce");
        printf("%-13s %s\n", "revocation",
               c->gpu.revocation == GTEE_NV_REVOCATION_GOOD     ? "good (OCSP responses cover every certificate)"
               : c->gpu.revocation == GTEE_NV_REVOCATION_FAILED ? "failed (see the reasons)"
                                                                : "not checked (no OCSP responses cover the chains)");
        return;
    }
    hex_line("report_data", c->report_data, 64);
    hex_line("nonce", c->report_data + 32, GTEE_BOUND_NONCE_LEN);
    if (c->binding.nonce_checked)
        printf("%-13s %s\n", "nonce_check", "matches the given nonce");
    if (c->binding.bound) {
        char id[GTEE_ETH_ADDR_HEX_LEN + 1], key[2 * GTEE_BOUND_PUB_LEN + 1];

        gtee_eth_address_hex(c->binding.enclave_id, id);
        printf("%-13s %s\n", "enclave_id", id);
        gtee_hex_encode(c->binding.enclave_pub, GTEE_BOUND_PUB_LEN, key);
        printf("%-13s %s\n", "enclave_key", key);
        gtee_hex_encode(c->binding.channel_pub, GTEE_BOUND_PUB_LEN, key);
        printf("%-13s %s\n", "channel_key", key);
    }
    if (c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX) {
        printf("%-13s %s\n", "tcb_status", c->tcb_status ? gtee_tcb_status_name(c->tcb_status) : "-");
        printf("%-13s", "advisories");
        for (size_t i = 0; i < c->n_advisories; i++)
            printf(" %s", c->advisory_ids[i]);
        printf("%s\n", c->n_advisories ? "" : " none");
        hex_line("fmspc", c->fmspc, GTEE_FMSPC_LEN);
        printf("%-13s %u (tcbEvaluationDataNumber; docs/chain.md, \"The TCB rule\")\n", "tcb_number", c->tcb_number);
    } else if (c->tee == GTEE_TEE_SNP) {
        printf("%-13s 0x%08x (REPORTED_TCB bootloader %u, tee %u, snp %u, microcode %u)\n", "tcb_number",
               c->tcb_number, c->tcb_number >> 24, c->tcb_number >> 16 & 0xffu, c->tcb_number >> 8 & 0xffu,
               c->tcb_number & 0xffu);
    }
    print_revocation(c);
}

struct verify_args {
    const char *file, *collateral, *policy, *sim_root, *at;
    const char *enclave_info, *enclave_key, *channel_key, *nonce;
};

/* Exact-length hex ("0x" allowed): 0, or -1. */
static int hex_exact(const char *s, uint8_t *out, size_t n)
{
    size_t skip = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 2 : 0;

    return strlen(s) == 2 * n + skip && gtee_hex_decode(s, out, n) == 0 ? 0 : -1;
}

/* The keys of `gtee evidence get --json` / `gtee enclave info --json`: enclave_public_key,
 * channel_public_key, and enclave_id (checked against the key) when present. */
static int read_enclave_info(const char *path, struct gtee_binding_expect *x)
{
    json_error_t je;
    uint8_t *text = NULL;
    size_t len = 0;
    json_t *o;
    const char *ek, *ck, *id;
    int code = read_small(path, "--enclave-info", &text, &len);

    if (code != 0)
        return code;
    o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    ek = json_string_value(json_object_get(o, "enclave_public_key"));
    ck = json_string_value(json_object_get(o, "channel_public_key"));
    id = json_string_value(json_object_get(o, "enclave_id"));
    if (!o)
        code = cli_fail(GTEE_EFORMAT, "--enclave-info %s: not valid JSON: %s (line %d)", path, je.text, je.line);
    else if (!ek || !ck || hex_exact(ek, x->enclave_pub, GTEE_BOUND_PUB_LEN) != 0 ||
             hex_exact(ck, x->channel_pub, GTEE_BOUND_PUB_LEN) != 0)
        code = cli_fail(GTEE_EFORMAT, "--enclave-info %s: needs \"enclave_public_key\" and "
                        "\"channel_public_key\", 130 hex digits each", path);
    else if (id && hex_exact(id, x->enclave_id, GTEE_BOUND_ID_LEN) != 0)
        code = cli_fail(GTEE_EFORMAT, "--enclave-info %s: \"enclave_id\" is not a 20-byte address", path);
    x->has_keys = code == 0;
    x->has_enclave_id = code == 0 && id != NULL;
    json_decref(o);
    return code;
}

/* The binding options; 0, a usage error (2) or a failure code. */
static int binding_args(const struct verify_args *a, struct gtee_binding_expect *x, bool *any)
{
    memset(x, 0, sizeof(*x));
    *any = a->enclave_info || a->enclave_key || a->channel_key || a->nonce;
    if (a->enclave_info && (a->enclave_key || a->channel_key))
        return cli_usage_error("--enclave-info and --enclave-key/--channel-key are alternatives");
    if (!a->enclave_key != !a->channel_key)
        return cli_usage_error("--enclave-key and --channel-key go together (the report data commits to both)");
    if (a->enclave_key) {
        if (hex_exact(a->enclave_key, x->enclave_pub, GTEE_BOUND_PUB_LEN) != 0 ||
            hex_exact(a->channel_key, x->channel_pub, GTEE_BOUND_PUB_LEN) != 0)
            return cli_usage_error("--enclave-key and --channel-key must be 65 bytes (130 hex digits) each");
        x->has_keys = true;
    }
    if (a->nonce) {
        if (hex_exact(a->nonce, x->nonce, GTEE_BOUND_NONCE_LEN) != 0)
            return cli_usage_error("--nonce must be 32 bytes (64 hex digits)");
        x->has_nonce = true;
    }
    return a->enclave_info ? read_enclave_info(a->enclave_info, x) : 0;
}

static int run_verify(const struct verify_args *a)
{
    struct gtee_collateral col = {0};
    struct gtee_policy policy;
    struct gtee_anchors anchors = {0};
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_binding_expect bx;
    bool bound = false;
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
    if ((code = binding_args(a, &bx, &bound)) != 0) {
        free(v);
        return code;
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
    /* One loader and one entry for every kind, a composite bundle's DIR/cvm + DIR/gpuN too. */
    if ((rc = gtee_collateral_load(a->collateral, &col, &err)) < 0) {
        code = cli_fail_err(rc == GTEE_ENOTFOUND ? GTEE_EIO : rc, &err);
        goto out;
    }
    rc = gtee_evidence_verify_bound(ev, ev_len, &col, &anchors, &policy, bound ? &bx : NULL, at, v, &err);
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
        if (gtee_bundle_detect(ev, ev_len))
            printf("%-13s %u\n", "gpus_bound", v->claims.gpus_bound);
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
        { "enclave-info", required_argument, NULL, 'i' },
        { "enclave-key", required_argument, NULL, 'e' },
        { "channel-key", required_argument, NULL, 'k' },
        { "nonce", required_argument, NULL, 'n' },
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
        case 'i': a.enclave_info = optarg; break;
        case 'e': a.enclave_key = optarg; break;
        case 'k': a.channel_key = optarg; break;
        case 'n': a.nonce = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(verify_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE");
    a.file = argv[optind];
    /* Every kind needs collateral: SGX/TDX quotes (simulated ones too) TCB info and QE
     * identity, SEV-SNP reports the VCEK certificate (docs/evidence.md, "Inputs"). */
    if (!a.collateral)
        return cli_usage_error("--collateral DIR is required: SGX and TDX quotes need TCB info and QE identity, "
                               "SEV-SNP reports the VCEK certificate");
    return run_verify(&a);
}

int cmd_evidence(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "verify", "Verify TEE evidence against collateral and a policy", cmd_evidence_verify },
        { "get", "Have the enclave produce evidence over its keys and a nonce", cmd_evidence_get },
        { "gpu", "Collect a confidential GPU's report over a nonce and its chain (NVML)", cmd_evidence_gpu },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
