/* The SDK's verification settings: policy, collateral (files, or a simulated device's
 * sgx/ and tdx/ directories) and trust anchors, loaded from the files a caller names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "runtime/verifier.h"

static int read_root(const char *path, uint8_t **out, size_t *len, struct gtee_err *err)
{
    int rc = gtee_file_read(path, 65536, out, len, err);

    if (rc < 0)
        return gtee_err_wrap(err, "sdk: simulated root: ");
    if (*len == 0) {
        free(*out);
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EFORMAT, "sdk: simulated root %s is empty", path);
    }
    return 0;
}

/* dir itself, or dir/sgx and dir/tdx of a simulated device. */
static int load_collateral(struct sdk_verifier *c, const char *dir, struct gtee_err *err)
{
    char path[4096];
    struct stat st;
    int rc;

    snprintf(path, sizeof(path), "%s/sgx", dir);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        TRY(gtee_collateral_load(dir, &c->sgx, err));
        TRY(gtee_collateral_load(dir, &c->tdx, err));
        return 0;
    }
    TRY(gtee_collateral_load(path, &c->sgx, err));
    snprintf(path, sizeof(path), "%s/tdx", dir);
    TRY(gtee_collateral_load(path, &c->tdx, err));
out:
    return rc;
}

int sdk_verifier_load(struct sdk_verifier *c, const struct gtee_client_options *opt, struct gtee_err *err)
{
    size_t root_len = 0;
    int rc = 0;

    memset(c, 0, sizeof(*c));
    gtee_policy_default(&c->policy);
    if (opt && opt->policy_file)
        TRY(gtee_policy_load(opt->policy_file, &c->policy, err));
    else if (opt && opt->policy_json)
        TRY(gtee_policy_parse(opt->policy_json, strlen(opt->policy_json), &c->policy, err));
    if (opt && opt->collateral_dir)
        TRY(load_collateral(c, opt->collateral_dir, err));
    if (opt && opt->sim_root_file) {
        TRY(read_root(opt->sim_root_file, &c->root, &root_len, err));
        c->anchors.sim_root_der = c->root;
        c->anchors.sim_root_len = root_len;
    }
    /* Many handshakes against the same collateral: its chains and documents checked once,
     * and each peer platform's PCK chain verified once (docs/evidence.md, "PCK chain cache");
     * every handshake still checks the windows, its quote's signatures, the TCB and policy. */
    if (c->sgx.tcb_info.p || c->sgx.cvm)
        TRY(gtee_collateral_prepare(&c->sgx, &c->anchors, err));
    if (c->tdx.tcb_info.p || c->tdx.cvm)
        TRY(gtee_collateral_prepare(&c->tdx, &c->anchors, err));
    c->vfy.policy = &c->policy;
    /* An Intel directory, or a composite bundle's (cvm/, gpuN/: docs/evidence-nvidia.md). */
    c->vfy.sgx_col = c->sgx.tcb_info.p || c->sgx.cvm ? &c->sgx : NULL;
    c->vfy.tdx_col = c->tdx.tcb_info.p || c->tdx.cvm ? &c->tdx : NULL;
    c->vfy.anchors = &c->anchors;
    c->vfy.at = opt ? opt->at : 0;
out:
    if (rc < 0)
        sdk_verifier_free(c);
    return rc;
}

void sdk_verifier_free(struct sdk_verifier *c)
{
    if (!c)
        return;
    gtee_collateral_free(&c->sgx);
    gtee_collateral_free(&c->tdx);
    free(c->root);
    memset(c, 0, sizeof(*c));
}
