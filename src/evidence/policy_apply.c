/* Applying a policy to verified claims: each rule that fails adds a "policy.*" reason, so
 * the verdict lists every one (docs/policy.md, "Rejection reasons"). */
#include <string.h>
#include <strings.h>

#include "evidence/dcap.h"
#include "gtee/snp.h"

static bool listed(const struct gtee_measurement_list *l, const uint8_t *m, size_t n)
{
    if (l->n == 0)
        return true; /* no list: any value (the claims report it) */
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i], m, n) == 0)
            return true;
    return false;
}

static void apply_sgx(const struct gtee_policy *p, struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;

    if (!listed(&p->sgx.mrenclave, c->sgx.mrenclave, 32))
        verdict_add(v, "policy.sgx.mrenclave", "MRENCLAVE (body offset 64) is not in the policy's list");
    if (!listed(&p->sgx.mrsigner, c->sgx.mrsigner, 32))
        verdict_add(v, "policy.sgx.mrsigner", "MRSIGNER (body offset 128) is not in the policy's list");
    if (p->sgx.has_isv_prod_id && c->sgx.isv_prod_id != p->sgx.isv_prod_id)
        verdict_add(v, "policy.sgx.isv_prod_id", "ISVPRODID %u, policy wants %u", c->sgx.isv_prod_id,
                    p->sgx.isv_prod_id);
    if (c->sgx.isv_svn < p->sgx.min_isv_svn)
        verdict_add(v, "policy.sgx.isv_svn", "ISVSVN %u is below the policy's minimum %u", c->sgx.isv_svn,
                    p->sgx.min_isv_svn);
}

static void apply_tdx(const struct gtee_policy *p, struct gtee_verdict *v)
{
    static const char *const codes[GTEE_RTMR_COUNT] = { "policy.tdx.rtmr0", "policy.tdx.rtmr1", "policy.tdx.rtmr2",
                                                        "policy.tdx.rtmr3" };
    const struct gtee_claims *c = &v->claims;

    if (!listed(&p->tdx.mrtd, c->tdx.mrtd, 48))
        verdict_add(v, "policy.tdx.mrtd", "MRTD (body offset 136) is not in the policy's list");
    for (int i = 0; i < GTEE_RTMR_COUNT; i++)
        if (!listed(&p->tdx.rtmr[i], c->tdx.rtmr[i], 48))
            verdict_add(v, codes[i], "RTMR%d (body offset %d) is not in the policy's list", i, 328 + 48 * i);
    /* Offsets: TD quote body, Intel TDX DCAP Quoting Library API A.3.2. */
    if (p->tdx.has_mrowner && memcmp(p->tdx.mrowner, c->tdx.mrowner, 48) != 0)
        verdict_add(v, "policy.tdx.mrowner", "MROWNER (body offset 232) differs from the policy's");
    if (p->tdx.has_mrconfigid && memcmp(p->tdx.mrconfigid, c->tdx.mrconfigid, 48) != 0)
        verdict_add(v, "policy.tdx.mrconfigid", "MRCONFIGID (body offset 184) differs from the policy's");
    if (p->tdx.has_td_attributes && memcmp(p->tdx.td_attributes, c->tdx.td_attributes, 8) != 0)
        verdict_add(v, "policy.tdx.td_attributes", "TDATTRIBUTES (body offset 120) differ from the policy's");
    if (p->tdx.has_xfam && memcmp(p->tdx.xfam, c->tdx.xfam, 8) != 0)
        verdict_add(v, "policy.tdx.xfam", "XFAM (body offset 128) differs from the policy's");
}

/* Only judged on verified evidence: a chain that failed already rejects, and its coverage
 * would say nothing more. The message names what was not applied. */
static void apply_revocation(struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;
    const char *tee = gtee_tee_type_name(c->tee);

    if (c->tee == GTEE_TEE_SNP) {
        verdict_add(v, "policy.revocation", "revocation not checked: ark_crl.der (AMD's ARK CRL, from KDS "
                    "/vcek/v1/<product>/crl) is absent from the collateral, and the policy requires revocation "
                    "for %s", tee);
    } else if ((c->crls_applied & (GTEE_CRL_PCK | GTEE_CRL_ROOT_CA)) != (GTEE_CRL_PCK | GTEE_CRL_ROOT_CA)) {
        bool no_pck = !(c->crls_applied & GTEE_CRL_PCK), no_root = !(c->crls_applied & GTEE_CRL_ROOT_CA);

        verdict_add(v, "policy.revocation", "revocation not fully checked: %s%s%s not applied (absent from the "
                    "collateral, or covering no certificate), and the policy requires revocation for %s",
                    no_pck ? "pck_crl.der" : "", no_pck && no_root ? " and " : "", no_root ? "root_ca_crl.der" : "",
                    tee);
    } else {
        verdict_add(v, "policy.revocation", "revocation not fully checked: a certificate of a chain has no CRL of "
                    "its issuer in the collateral, and the policy requires revocation for %s", tee);
    }
}

/* The guest policy (AMD SEV-SNP ABI, document 56860, "Guest Policy Structure") and the
 * reported TCB, both signed parts of the report. */
static void apply_snp_guest(const struct gtee_policy *p, struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;
    struct gtee_snp_policy gp;
    struct gtee_snp_tcb t;

    gtee_snp_policy_decode(c->snp.guest_policy, &gp);
    if (gp.smt_allowed && !p->snp.allow_smt)
        verdict_add(v, "policy.snp.smt", "guest policy allows SMT (bit 16) and the policy does not");
    if (gp.migrate_ma_allowed && !p->snp.allow_migration_agent)
        verdict_add(v, "policy.snp.migration_agent", "guest policy allows a migration agent (bit 18) and the "
                    "policy does not");
    if (gp.abi_major < p->snp.min_abi_major ||
        (gp.abi_major == p->snp.min_abi_major && gp.abi_minor < p->snp.min_abi_minor))
        verdict_add(v, "policy.snp.abi", "guest policy requires firmware ABI %u.%u, policy wants at least %u.%u",
                    gp.abi_major, gp.abi_minor, p->snp.min_abi_major, p->snp.min_abi_minor);
    if (!p->snp.has_min_tcb)
        return;
    gtee_snp_tcb_decode(c->snp.reported_tcb, &t);
    if (t.bootloader < p->snp.min_tcb.bootloader || t.tee < p->snp.min_tcb.tee || t.snp < p->snp.min_tcb.snp ||
        t.microcode < p->snp.min_tcb.microcode)
        verdict_add(v, "policy.snp.tcb", "REPORTED_TCB (offset 0x180) bootloader %u tee %u snp %u microcode %u is "
                    "below the policy's minimum %u %u %u %u", t.bootloader, t.tee, t.snp, t.microcode,
                    p->snp.min_tcb.bootloader, p->snp.min_tcb.tee, p->snp.min_tcb.snp, p->snp.min_tcb.microcode);
}

static void apply_snp(const struct gtee_policy *p, struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;

    if (!listed(&p->snp.measurement, c->snp.measurement, 48))
        verdict_add(v, "policy.snp.measurement", "MEASUREMENT is not in the policy's list");
    if (p->snp.has_host_data && memcmp(p->snp.host_data, c->snp.host_data, 32) != 0)
        verdict_add(v, "policy.snp.host_data", "HOST_DATA differs from the policy's");
    apply_snp_guest(p, v);
}

static bool version_listed(size_t n, const char *list, size_t width, const char *v)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list + i * width, v) == 0)
            return true;
    return false;
}

/* GPU evidence (docs/policy.md, "gpu"): the versions its RIMs were checked for, and
 * revocation, which is never assumed: unchecked is accepted only where the policy says so. */
static void apply_gpu(const struct gtee_policy *p, struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;

    if (!version_listed(p->gpu.n_driver, p->gpu.driver[0], sizeof(p->gpu.driver[0]), c->gpu.driver_version))
        verdict_add(v, "policy.gpu.driver_version", "GPU driver %s is not in the policy's list", c->gpu.driver_version);
    if (!version_listed(p->gpu.n_vbios, p->gpu.vbios[0], sizeof(p->gpu.vbios[0]), c->gpu.vbios_version))
        verdict_add(v, "policy.gpu.vbios_version", "GPU VBIOS %s is not in the policy's list", c->gpu.vbios_version);
    bool required = !p->gpu.allow_unchecked_revocation || (p->require_revocation & (1u << GTEE_TEE_GPU));

    if (v->verified && !c->revocation_checked && required)
        verdict_add(v, "policy.revocation", "GPU revocation not checked: no OCSP responses (ocsp/*.der) cover the "
                    "GPU and RIM chains, and the policy does not allow unchecked revocation (gpu.allow_unchecked_revocation)");
}

void gtee_policy_apply(const struct gtee_policy *p, int64_t at, struct gtee_verdict *v)
{
    const struct gtee_claims *c = &v->claims;

    if (!(p->tee_types & (1u << c->tee)))
        verdict_add(v, "policy.tee_type", "TEE type %s is not allowed by the policy", gtee_tee_type_name(c->tee));
    if (c->simulated && !p->allow_simulation)
        verdict_add(v, "policy.simulation", "evidence is simulated (chains to the simulated root) and the policy "
                    "does not allow simulation");
    if (c->debug && !p->allow_debug)
        verdict_add(v, "policy.debug", "the %s is in debug mode and the policy does not allow debug",
                    c->tee == GTEE_TEE_SGX ? "enclave" : c->tee == GTEE_TEE_TDX ? "TD" : "guest");
    /* A status never computed (or out of range) is no status a policy can accept, whatever
     * accepted_tcb says. Unverified evidence has its own reasons already. */
    if ((c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX) && v->verified &&
        (c->tcb_status == GTEE_TCB_NONE || (unsigned)c->tcb_status >= GTEE_TCB_STATUS_COUNT))
        verdict_add(v, "tcb.not_computed", "the %s TCB status was never computed: rejected under every policy",
                    gtee_tee_type_name(c->tee));
    else if ((c->tee == GTEE_TEE_SGX || c->tee == GTEE_TEE_TDX) && c->tcb_status != GTEE_TCB_NONE &&
             (unsigned)c->tcb_status < GTEE_TCB_STATUS_COUNT && !(p->accepted_tcb & (1u << c->tcb_status)))
        verdict_add(v, "policy.tcb_status", "TCB status %s is not accepted by the policy",
                    gtee_tcb_status_name(c->tcb_status));
    if (p->max_collateral_age_days && c->collateral_issued &&
        at - c->collateral_issued > (int64_t)p->max_collateral_age_days * 86400)
        verdict_add(v, "policy.collateral_age", "collateral issued %lld s before the verification time, policy "
                    "allows %u days", (long long)(at - c->collateral_issued), p->max_collateral_age_days);
    if ((p->require_revocation & (1u << c->tee)) && c->tee != GTEE_TEE_GPU && v->verified && !c->revocation_checked)
        apply_revocation(v);
    if (c->tee == GTEE_TEE_SGX)
        apply_sgx(p, v);
    else if (c->tee == GTEE_TEE_TDX)
        apply_tdx(p, v);
    else if (c->tee == GTEE_TEE_SNP)
        apply_snp(p, v);
    else if (c->tee == GTEE_TEE_GPU)
        apply_gpu(p, v);
    /* GPUs bind only through a bundle: any other evidence has none (gtee_bundle_verify checks
     * its own count after binding them). */
    if (p->gpu.min_count > c->gpus_bound)
        verdict_add(v, "policy.gpu.required", "the policy requires %u GPUs bound to the CVM evidence, %u are",
                    p->gpu.min_count, c->gpus_bound);
    if (p->has_report_data && memcmp(p->report_data, c->report_data, GTEE_REPORT_DATA_LEN) != 0)
        verdict_add(v, "policy.report_data", "report data differs from the expected value");
    v->accepted = v->verified && v->n_reasons == 0;
}
