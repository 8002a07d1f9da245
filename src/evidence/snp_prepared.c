/* Prepared collateral's SEV-SNP part (docs/evidence-snp.md, "Prepared collateral"): the VCEK
 * (or VLEK) certificate of the collateral parsed once, and its chain to the pinned ARK (with
 * the caller's ASK/ARK bundle, if any) verified once without a time, keeping a copy of the
 * exact VCEK and bundle bytes and the windows of the built path. A verification uses it
 * only for identical bytes and only while every window is strictly open at its time; the
 * report, its signature, the TCB and chip ID comparisons and the policy always run. Only a
 * chain that passes is kept. Owned by the prepared collateral: no global state. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "evidence/snp_internal.h"

struct snp_prepared {
    uint8_t *vcek_der;
    size_t vcek_len;
    char *bundle; /* NULL: none */
    uint8_t *crl; /* NULL: none */
    size_t crl_len;
    struct gtee_snp_vcek vcek;
    struct snp_path path;
    uint64_t hits; /* atomically incremented by verifications */
};

void snp_prepared_free(struct snp_prepared *sp)
{
    if (!sp)
        return;
    free(sp->vcek_der);
    free(sp->bundle);
    free(sp->crl);
    free(sp);
}

struct snp_prepared *snp_prepared_new(const uint8_t *vcek_der, size_t vcek_len, const char *bundle_pem,
                                      const uint8_t *crl_der, size_t crl_len)
{
    struct snp_prepared *sp = calloc(1, sizeof(*sp));
    struct gtee_snp_result *scratch = calloc(1, sizeof(*scratch));
    struct gtee_err e = { 0 };
    X509 *leaf = NULL;
    bool ok = false;

    if (!sp || !scratch || !vcek_der || (sp->vcek_der = malloc(vcek_len ? vcek_len : 1)) == NULL ||
        (bundle_pem && (sp->bundle = strdup(bundle_pem)) == NULL) ||
        (crl_der && (sp->crl = malloc(crl_len ? crl_len : 1)) == NULL))
        goto out;
    memcpy(sp->vcek_der, vcek_der, vcek_len);
    if (crl_der)
        memcpy(sp->crl, crl_der, crl_len);
    sp->crl_len = crl_len;
    sp->vcek_len = vcek_len;
    if (snp_x509_from_der(vcek_der, vcek_len, &leaf, &e) < 0 || snp_vcek_from_x509(leaf, &sp->vcek, &e) < 0 ||
        sp->vcek.product == GTEE_SNP_PRODUCT_UNKNOWN)
        goto out;
    ok = snp_chain_verify_untimed(leaf, sp->vcek.product, sp->vcek.is_vlek, bundle_pem, crl_der, crl_len,
                                  &sp->path, scratch) == 0 &&
         scratch->n_reasons == 0 && sp->path.ok && sp->path.has_crl == (crl_der != NULL);
out:
    X509_free(leaf);
    free(scratch);
    ERR_clear_error();
    if (!ok) {
        snp_prepared_free(sp);
        return NULL;
    }
    return sp;
}

const struct snp_prepared *snp_prepared_match(const struct snp_prepared *sp, const uint8_t *vcek_der,
                                              size_t vcek_len, const char *bundle_pem, const uint8_t *crl_der,
                                              size_t crl_len)
{
    if (!sp || !vcek_der || sp->vcek_len != vcek_len || memcmp(sp->vcek_der, vcek_der, vcek_len) != 0)
        return NULL;
    if (!sp->crl != !crl_der || (crl_der && (sp->crl_len != crl_len || memcmp(sp->crl, crl_der, crl_len) != 0)))
        return NULL;
    if (!sp->bundle || !bundle_pem)
        return !sp->bundle && !bundle_pem ? sp : NULL;
    return strcmp(sp->bundle, bundle_pem) == 0 ? sp : NULL;
}

void snp_prepared_vcek(const struct snp_prepared *sp, struct gtee_snp_vcek *out)
{
    *out = sp->vcek;
}

const struct snp_path *snp_prepared_path(const struct snp_prepared *sp)
{
    return &sp->path;
}

void snp_prepared_hit(const struct snp_prepared *sp)
{
    /* sp is malloc'd and never const itself: only the hit counter changes, atomically */
    __atomic_add_fetch(&((struct snp_prepared *)sp)->hits, 1, __ATOMIC_RELAXED);
}

uint64_t snp_prepared_hits(const struct snp_prepared *sp)
{
    return sp ? __atomic_load_n(&sp->hits, __ATOMIC_RELAXED) : 0;
}
