/* TCB evaluation of a verified quote (Intel QVL, "TCB level matching"): the QE report against
 * the QE identity, the platform TCB level from the PCK certificate's SGX extensions (and for
 * TDX the TEE_TCB_SVN against tdxtcbcomponents), the TDX module identity, then the statuses
 * converged and the advisory IDs merged. */
#include <stdio.h>
#include <string.h>

#include "evidence/dcap.h"
#include "evidence/dcap_steps.h"

static void add_level_advisories(struct gtee_verdict *v, const struct tcb_level *l)
{
    for (size_t i = 0; i < l->n_adv; i++)
        verdict_add_advisory(v, l->adv[i]);
}

static bool all_ge(const uint8_t *have, const uint8_t *need, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        if (have[i] < need[i])
            return false;
    return true;
}

/* QE identity: MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES must match; the QE TCB
 * level is the first whose ISVSVN the QE meets. */
static const struct tcb_level *qe_level(struct dcap_ctx *c, const struct qe_identity *qi)
{
    const struct sgx_report *qe = &c->q->qe;
    size_t qoff = c->q->qe_report.off;
    bool match = true;

    if (memcmp(qe->mrsigner, qi->mrsigner, 32) != 0) {
        verdict_add(c->v, "qe_identity.mrsigner", "QE report MRSIGNER (offset %zu) differs from the QE identity",
                    qoff + 128);
        match = false;
    }
    if (qe->isv_prod_id != qi->isv_prod_id) {
        verdict_add(c->v, "qe_identity.isvprodid", "QE report ISVPRODID %u (offset %zu) differs from the QE "
                    "identity's %u", qe->isv_prod_id, qoff + 256, qi->isv_prod_id);
        match = false;
    }
    if ((qe->miscselect & qi->miscselect_mask) != (qi->miscselect & qi->miscselect_mask)) {
        verdict_add(c->v, "qe_identity.miscselect", "QE report MISCSELECT (offset %zu) differs under the mask",
                    qoff + 16);
        match = false;
    }
    for (int i = 0; i < 16; i++)
        if ((qe->attributes[i] & qi->attributes_mask[i]) != (qi->attributes[i] & qi->attributes_mask[i])) {
            verdict_add(c->v, "qe_identity.attributes", "QE report ATTRIBUTES byte %d (offset %zu) differs under "
                        "the mask", i, qoff + 48 + (size_t)i);
            match = false;
            break;
        }
    /* A mismatch rejects; the level is still found so that the status is reported. */
    for (size_t i = 0; i < qi->n_levels; i++)
        if (qe->isv_svn >= qi->levels[i].isv_svn) {
            if (match)
                dcap_pass(c, DCAP_CHECK_QE_IDENTITY_MATCH);
            return &qi->levels[i];
        }
    verdict_add(c->v, "qe_identity.tcb", "QE ISVSVN %u is below every QE identity TCB level", qe->isv_svn);
    return NULL;
}

/* TDX module identity (TCB info v3 "tdxModuleIdentities"): when TEE_TCB_SVN[1] (the module's
 * major version) is nonzero, "TDX_%02X" names the identity and TEE_TCB_SVN[0] is its ISVSVN;
 * MRSIGNERSEAM and SEAMATTRIBUTES must match under the mask. */
static const struct tcb_level *module_level(struct dcap_ctx *c, const struct tcb_info *ti)
{
    const struct td_report *td = &c->q->td;
    char name[16];

    snprintf(name, sizeof(name), "TDX_%02X", td->tee_tcb_svn[1]); /* two uppercase hex digits */
    for (size_t i = 0; i < ti->n_modules; i++) {
        const struct tdx_module_id *m = &ti->modules[i];

        if (strcmp(m->id, name) != 0)
            continue;
        if (memcmp(m->mrsigner, td->mrsignerseam, 48) != 0) {
            verdict_add(c->v, "tcb.tdx_module.mrsigner", "TD report MRSIGNERSEAM (body offset 64) differs from "
                        "TDX module identity %s", name);
            return NULL;
        }
        for (int k = 0; k < 8; k++)
            if ((td->seam_attributes[k] & m->attributes_mask[k]) != (m->attributes[k] & m->attributes_mask[k])) {
                verdict_add(c->v, "tcb.tdx_module.attributes", "TD report SEAMATTRIBUTES differ from TDX module "
                            "identity %s", name);
                return NULL;
            }
        for (size_t k = 0; k < m->n_levels; k++)
            if (td->tee_tcb_svn[0] >= m->levels[k].isv_svn)
                return &m->levels[k];
        verdict_add(c->v, "tcb.tdx_module.tcb", "TDX module SVN %u is below every level of %s", td->tee_tcb_svn[0],
                    name);
        return NULL;
    }
    verdict_add(c->v, "tcb.tdx_module.unknown", "TCB info has no TDX module identity %s", name);
    return NULL;
}

static const struct tcb_level *platform_level(struct dcap_ctx *c, const struct pck_ext *ext,
                                              const struct tcb_info *ti)
{
    bool tdx = c->q->tee == GTEE_TEE_TDX;
    /* With a module identity in use, TEE_TCB_SVN[0..1] are judged by it instead. */
    size_t tdx_from = tdx && c->q->td.tee_tcb_svn[1] > 0 && ti->n_modules > 0 ? 2 : 0;

    for (size_t i = 0; i < ti->n_levels; i++) {
        const struct tcb_level *l = &ti->levels[i];

        if (!all_ge(ext->comp_svn, l->sgx_svn, 0, 16) || ext->pce_svn < l->pce_svn)
            continue;
        if (tdx && !all_ge(c->q->td.tee_tcb_svn, l->tdx_svn, tdx_from, 16))
            continue;
        return l;
    }
    verdict_add(c->v, "tcb.no_level", "no TCB level of the TCB info matches the PCK certificate's TCB%s",
                tdx ? " and TEE_TCB_SVN" : "");
    return NULL;
}

/* TCB info v3 "tdxModule": with module major version 0 (no module identity judged), the
 * TD's MRSIGNERSEAM and SEAMATTRIBUTES must still match it (QVL TdxModuleCheck). */
static bool module_v0_matches(struct dcap_ctx *c, const struct tcb_info *ti)
{
    const struct td_report *td = &c->q->td;

    if (!ti->has_module)
        return true;
    if (memcmp(ti->module_mrsigner, td->mrsignerseam, 48) != 0) {
        verdict_add(c->v, "tcb.tdx_module.mrsigner", "TD report MRSIGNERSEAM (body offset 64) differs from the TCB "
                    "info's tdxModule");
        return false;
    }
    for (int k = 0; k < 8; k++)
        if ((td->seam_attributes[k] & ti->module_attributes_mask[k]) !=
            (ti->module_attributes[k] & ti->module_attributes_mask[k])) {
            verdict_add(c->v, "tcb.tdx_module.attributes", "TD report SEAMATTRIBUTES differ from the TCB info's "
                        "tdxModule");
            return false;
        }
    return true;
}

void dcap_eval_tcb(struct dcap_ctx *c, const struct pck_ext *ext, const struct tcb_info *ti,
                   const struct qe_identity *qi)
{
    const struct tcb_level *qe = qi ? qe_level(c, qi) : NULL;
    const struct tcb_level *plat = NULL, *mod = NULL;
    enum gtee_tcb_status st;

    if (!ti || !ext)
        return;
    if (memcmp(ext->fmspc, ti->fmspc, 6) != 0) {
        verdict_add(c->v, "collateral.tcb_info.fmspc", "TCB info FMSPC differs from the PCK certificate's");
        return;
    }
    if (memcmp(ext->pce_id, ti->pce_id, 2) != 0) {
        verdict_add(c->v, "collateral.tcb_info.pceid", "TCB info PCE-ID differs from the PCK certificate's");
        return;
    }
    plat = platform_level(c, ext, ti);
    if (c->q->tee == GTEE_TEE_TDX && c->q->td.tee_tcb_svn[1] > 0 && ti->n_modules > 0) {
        mod = module_level(c, ti);
        if (!mod)
            return;
    } else if (c->q->tee == GTEE_TEE_TDX && !module_v0_matches(c, ti)) {
        return;
    }
    if (!plat || !qe)
        return;
    st = plat->status;
    add_level_advisories(c->v, plat);
    if (mod) {
        st = tcb_status_merge(st, mod->status);
        add_level_advisories(c->v, mod);
    }
    st = tcb_status_merge(st, qe->status);
    add_level_advisories(c->v, qe);
    c->v->claims.tcb_status = st;
    /* The quote was judged by both documents, so it is only as current as the older
     * evaluation of the two: a ledger's minimum must not be met by a fresh TCB info while
     * the QE identity it was paired with comes from an earlier one (or the reverse). */
    c->v->claims.tcb_number = ti->eval_number < qi->eval_number ? ti->eval_number : qi->eval_number;
    if (st == GTEE_TCB_REVOKED)
        verdict_add(c->v, "tcb.revoked", "the platform's TCB level is Revoked");
    else if (st != GTEE_TCB_NONE)
        dcap_pass(c, DCAP_CHECK_TCB_STATUS);
}
