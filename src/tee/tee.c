/* Backend selection and the calls every caller uses: a name picks an ops table, "auto"
 * picks the hardware that is present and never the simulation. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

/* The order "auto" tries: Gramine first (an SGX enclave may also sit in a TD or SNP guest,
 * and then the enclave, not the VM, is the TEE that runs us). */
static const struct gtee_tee_ops *const hardware[] = {
    &gtee_tee_sgx_ops,
    &gtee_tee_tdx_ops,
    &gtee_tee_snp_ops,
};

static const struct gtee_tee_ops *by_name(const char *name)
{
    if (strcmp(name, gtee_tee_sim_ops.name) == 0)
        return &gtee_tee_sim_ops;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(hardware); i++)
        if (strcmp(name, hardware[i]->name) == 0)
            return hardware[i];
    return NULL;
}

static const char *root_of(const struct gtee_tee_options *opt)
{
    return (opt && opt->root && opt->root[0]) ? opt->root : "/";
}

const char *gtee_tee_detect(const struct gtee_tee_options *opt)
{
    struct gtee_tee_options dflt = {0};

    if (!opt)
        opt = &dflt;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(hardware); i++)
        if (hardware[i]->detect(root_of(opt), opt) == 1)
            return hardware[i]->name;
    return NULL;
}

int gtee_tee_open(const char *name, const struct gtee_tee_options *opt, struct gtee_tee **out,
                  struct gtee_err *err)
{
    const struct gtee_tee_ops *ops;
    struct gtee_tee *t = NULL;
    size_t rl;
    int rc = GTEE_EINVAL;

    *out = NULL;
    ENSURE(name, err, GTEE_EINVAL, "tee: no backend named (use sim, sgx, tdx, snp or auto)");
    if (strcmp(name, "auto") == 0) {
        const char *found = gtee_tee_detect(opt);

        ENSURE(found, err, GTEE_ENOTFOUND,
               "tee: no TEE hardware found under %s (looked for Gramine's dev/attestation/attestation_type "
               "and a configfs-tsm report provider tdx_guest or sev_guest); the simulated TEE is used "
               "only when asked for by name (--tee sim)", root_of(opt));
        name = found;
    }
    ops = by_name(name);
    ENSURE(ops, err, GTEE_EINVAL, "tee: unknown backend '%s' (use sim, sgx, tdx, snp or auto)", name);
    rl = strlen(root_of(opt));
    ENSURE(rl < PATH_MAX, err, GTEE_EINVAL, "tee: root path too long");
    t = calloc(1, sizeof(*t));
    ENSURE(t, err, GTEE_ENOMEM, "tee: out of memory");
    if (opt)
        t->opt = *opt;
    memcpy(t->root, root_of(opt), rl + 1);
    t->opt.root = t->root;
    t->ops = ops;
    TRY(ops->open(t, err));
    *out = t;
    t = NULL;
    rc = 0;
out:
    free(t);
    return rc;
}

void gtee_tee_close(struct gtee_tee *t)
{
    if (!t)
        return;
    if (t->ops->close)
        t->ops->close(t);
    gtee_wipe(t, sizeof(*t));
    free(t);
}

const char *gtee_tee_name(const struct gtee_tee *t)
{
    return t->ops->name;
}

enum gtee_tee_kind gtee_tee_kind(const struct gtee_tee *t)
{
    return t->ops->kind;
}

int gtee_tee_is_simulated(const struct gtee_tee *t)
{
    return t->ops->kind == GTEE_TEE_KIND_SIM;
}

int gtee_tee_evidence(struct gtee_tee *t, const uint8_t report_data[GTEE_REPORT_DATA_LEN],
                      uint8_t **evidence, size_t *evidence_len, struct gtee_err *err)
{
    *evidence = NULL;
    *evidence_len = 0;
    return t->ops->get_evidence(t, report_data, evidence, evidence_len, err);
}

int gtee_tee_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                         struct gtee_err *err)
{
    if (policy != GTEE_SEAL_MRENCLAVE && policy != GTEE_SEAL_MRSIGNER)
        return GTEE_FAIL(err, GTEE_EINVAL, "tee: unknown sealing policy %d", (int)policy);
    return t->ops->sealing_key(t, policy, key, err);
}

int gtee_tee_measurement(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len,
                         struct gtee_err *err)
{
    *m_len = 0;
    return t->ops->measurement(t, m, m_len, err);
}
