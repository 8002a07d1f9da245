/* Collateral files (a directory per quote) and the exact byte ranges of Intel's signed JSON
 * documents: {"tcbInfo":{...},"signature":"HEX"} where the signature covers the bytes of the
 * "tcbInfo" value exactly as they appear (Intel PCS API v4, "TCB Info" and "QE Identity"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "evidence/dcap.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/nvidia.h"

#define COLLATERAL_FILE_MAX (4u << 20)

/* One collateral file through the bounded input helper (a regular file only: a FIFO or
 * device named as collateral fails at once instead of blocking). An absent optional file
 * leaves b empty; the verdict then says what its absence means (a missing CRL: "Revocation"
 * in docs/evidence.md). */
static int read_file(const char *dir, const char *name, bool required, struct gtee_blob *b, struct gtee_err *err)
{
    char path[4096];
    int rc = GTEE_EIO;

    ENSURE(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path), err, GTEE_EINVAL,
           "collateral: path too long (%s)", name);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        ENSURE(!required, err, GTEE_ENOTFOUND, "collateral: %s is missing from %s", name, dir);
        rc = 0;
        goto out;
    }
    /* The buffer has a NUL after the bytes, so text files can be handed to parsers as strings. */
    rc = gtee_file_read(path, COLLATERAL_FILE_MAX, &b->p, &b->len, err);
    if (rc < 0)
        gtee_err_wrap(err, "collateral: ");
out:
    return rc;
}

/* One kind's directory: a GPU's, SEV-SNP's or Intel's (never a bundle's: parts do not nest). */
static int load_one(const char *dir, struct gtee_collateral *col, struct gtee_err *err)
{
    int rc = GTEE_EINVAL;

    memset(col, 0, sizeof(*col));
    bool intel;
    char gpu_chain[4096];

    ENSURE(dir != NULL, err, GTEE_EINVAL, "collateral: no directory");
    /* A GPU directory (docs/evidence-nvidia.md, "Collateral"): the GPU's chain and the RIMs. */
    ENSURE(snprintf(gpu_chain, sizeof(gpu_chain), "%s/cert_chain.pem", dir) < (int)sizeof(gpu_chain), err,
           GTEE_EINVAL, "collateral: path too long");
    if (access(gpu_chain, F_OK) == 0) {
        col->gpu = calloc(1, sizeof(*col->gpu));
        ENSURE(col->gpu != NULL, err, GTEE_ENOMEM, "collateral: out of memory");
        TRY(gtee_nv_collateral_load(dir, col->gpu, err));
        goto out;
    }
    TRY(read_file(dir, "vcek.der", false, &col->snp_vcek, err));
    TRY(read_file(dir, "ask_ark.pem", false, &col->snp_ask_ark, err));
    intel = col->snp_vcek.p == NULL; /* an SNP directory needs no Intel files */
    if (!intel) /* AMD's ARK CRL: read only beside a VCEK, where it means something */
        TRY(read_file(dir, "ark_crl.der", false, &col->snp_ark_crl, err));
    TRY(read_file(dir, "tcb_info.json", intel, &col->tcb_info, err));
    TRY(read_file(dir, "tcb_info_issuer_chain.pem", intel, &col->tcb_info_chain, err));
    TRY(read_file(dir, "qe_identity.json", intel, &col->qe_identity, err));
    TRY(read_file(dir, "qe_identity_issuer_chain.pem", intel, &col->qe_identity_chain, err));
    TRY(read_file(dir, "pck_crl.der", false, &col->pck_crl, err));
    TRY(read_file(dir, "root_ca_crl.der", false, &col->root_ca_crl, err));
    TRY(read_file(dir, "pck_crl_issuer_chain.pem", false, &col->pck_crl_chain, err));
    rc = 0;
out:
    if (rc < 0)
        gtee_collateral_free(col);
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A composite bundle's directory (docs/evidence-nvidia.md, "Composite evidence"): cvm/ is
 * required, then gpu0/, gpu1/, ... as long as they are there (the bundle says how many GPUs
 * it has; one without its folder is rejected at verification, "gpu.collateral.missing"). */
static int load_bundle(const char *dir, struct gtee_collateral *col, struct gtee_err *err)
{
    char path[4096];
    size_t n = 0;
    int rc = GTEE_ENOMEM;

    col->cvm = calloc(1, sizeof(*col->cvm));
    col->gpus = calloc(GTEE_BUNDLE_GPU_MAX, sizeof(*col->gpus));
    ENSURE(col->cvm && col->gpus, err, GTEE_ENOMEM, "collateral: out of memory");
    snprintf(path, sizeof(path), "%s/cvm", dir);
    if ((rc = load_one(path, col->cvm, err)) < 0)
        goto out;
    for (; n < GTEE_BUNDLE_GPU_MAX; n++) {
        ENSURE(snprintf(path, sizeof(path), "%s/gpu%zu", dir, n) < (int)sizeof(path), err, GTEE_EINVAL,
               "collateral: path too long");
        if (!is_dir(path))
            break;
        if ((rc = load_one(path, &col->gpus[n], err)) < 0)
            goto out;
        col->n_gpus = n + 1;
    }
    rc = 0;
out:
    return rc;
}

int gtee_collateral_load(const char *dir, struct gtee_collateral *col, struct gtee_err *err)
{
    char cvm[4096];
    int rc = GTEE_EINVAL;

    memset(col, 0, sizeof(*col));
    ENSURE(dir != NULL, err, GTEE_EINVAL, "collateral: no directory");
    ENSURE(snprintf(cvm, sizeof(cvm), "%s/cvm", dir) < (int)sizeof(cvm) - 8, err, GTEE_EINVAL,
           "collateral: path too long (%s)", dir);
    rc = is_dir(cvm) ? load_bundle(dir, col, err) : load_one(dir, col, err);
out:
    if (rc < 0)
        gtee_collateral_free(col);
    return rc;
}

void gtee_collateral_free(struct gtee_collateral *col)
{
    struct gtee_blob *all[10];

    if (!col)
        return;
    all[0] = &col->tcb_info;
    all[1] = &col->tcb_info_chain;
    all[2] = &col->qe_identity;
    all[3] = &col->qe_identity_chain;
    all[4] = &col->pck_crl;
    all[5] = &col->root_ca_crl;
    all[6] = &col->pck_crl_chain;
    all[7] = &col->snp_vcek;
    all[8] = &col->snp_ask_ark;
    all[9] = &col->snp_ark_crl;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(all); i++)
        free(all[i]->p);
    dcap_prepared_free(col->prepared);
    gtee_nv_collateral_free(col->gpu);
    free(col->gpu);
    gtee_collateral_free(col->cvm);
    free(col->cvm);
    for (size_t i = 0; col->gpus && i < GTEE_BUNDLE_GPU_MAX; i++)
        gtee_collateral_free(&col->gpus[i]);
    free(col->gpus);
    memset(col, 0, sizeof(*col));
}

/* ---- a small JSON scanner: enough to find where a value starts and ends ---- */

static void skip_ws(struct span *s)
{
    while (s->len && (s->p[0] == ' ' || s->p[0] == '\t' || s->p[0] == '\n' || s->p[0] == '\r'))
        span_take(s, 1);
}

static bool skip_string(struct span *s)
{
    if (!s->len || s->p[0] != '"')
        return false;
    span_take(s, 1);
    while (s->len) {
        uint8_t c = s->p[0];

        span_take(s, 1);
        if (c == '"')
            return true;
        if (c == '\\' && !span_take(s, 1))
            return false;
        if (c < 0x20)
            return false;
    }
    return false;
}

/* Skips one value; containers by bracket depth (strings skipped whole so brackets inside them
 * do not count). Strictness is left to jansson, which parses the value afterwards. */
static bool skip_value(struct span *s)
{
    int depth = 0;

    skip_ws(s);
    do {
        if (!s->len)
            return false;
        switch (s->p[0]) {
        case '"':
            if (!skip_string(s))
                return false;
            break;
        case '{':
        case '[':
            if (++depth > 64)
                return false;
            span_take(s, 1);
            break;
        case '}':
        case ']':
            if (depth == 0)
                return false;
            depth--;
            span_take(s, 1);
            break;
        default:
            if (depth == 0) {
                /* scalar: up to a delimiter */
                while (s->len && s->p[0] != ',' && s->p[0] != '}' && s->p[0] != ']' && s->p[0] != ' ' &&
                       s->p[0] != '\n' && s->p[0] != '\r' && s->p[0] != '\t')
                    span_take(s, 1);
                return true;
            }
            span_take(s, 1);
        }
    } while (depth > 0);
    return true;
}

int dcap_signed_json_split(const uint8_t *doc, size_t len, const char *key, size_t *val_off, size_t *val_len,
                           uint8_t sig[64], struct gtee_err *err)
{
    struct span s = span_init(doc, len);
    size_t klen = strlen(key);
    bool have_val = false, have_sig = false;
    int rc = GTEE_EFORMAT;

    skip_ws(&s);
    ENSURE(s.len && s.p[0] == '{', err, GTEE_EFORMAT, "collateral: %s document is not a JSON object", key);
    span_take(&s, 1);
    for (;;) {
        const uint8_t *kp;
        size_t kstart, kl;

        skip_ws(&s);
        kstart = s.off;
        kp = s.p;
        ENSURE(skip_string(&s), err, GTEE_EFORMAT, "collateral: %s document: bad key at byte %zu", key, kstart);
        kl = s.off - kstart;
        skip_ws(&s);
        ENSURE(s.len && s.p[0] == ':', err, GTEE_EFORMAT, "collateral: %s document: ':' expected at byte %zu", key,
               s.off);
        span_take(&s, 1);
        skip_ws(&s);
        if (kl == klen + 2 && memcmp(kp + 1, key, klen) == 0) {
            ENSURE(!have_val, err, GTEE_EFORMAT, "collateral: \"%s\" appears twice", key);
            *val_off = s.off;
            ENSURE(s.len && s.p[0] == '{' && skip_value(&s), err, GTEE_EFORMAT,
                   "collateral: \"%s\" value malformed at byte %zu", key, *val_off);
            *val_len = s.off - *val_off;
            have_val = true;
        } else if (kl == 11 && memcmp(kp, "\"signature\"", 11) == 0) {
            char hex[129];

            ENSURE(!have_sig, err, GTEE_EFORMAT, "collateral: %s document: \"signature\" appears twice", key);
            ENSURE(s.len >= 130 && s.p[0] == '"' && s.p[129] == '"', err, GTEE_EFORMAT,
                   "collateral: %s signature is not 128 hex digits (byte %zu)", key, s.off);
            memcpy(hex, s.p + 1, 128);
            hex[128] = 0;
            ENSURE(gtee_hex_decode(hex, sig, 64) == 0, err, GTEE_EFORMAT,
                   "collateral: %s signature is not hex (byte %zu)", key, s.off);
            span_take(&s, 130);
            have_sig = true;
        } else {
            ENSURE(skip_value(&s), err, GTEE_EFORMAT, "collateral: %s document: bad value at byte %zu", key, s.off);
        }
        skip_ws(&s);
        ENSURE(s.len, err, GTEE_EFORMAT, "collateral: %s document truncated", key);
        if (s.p[0] == '}')
            break;
        ENSURE(s.p[0] == ',', err, GTEE_EFORMAT, "collateral: %s document: ',' expected at byte %zu", key, s.off);
        span_take(&s, 1);
    }
    span_take(&s, 1);
    skip_ws(&s);
    ENSURE(s.len == 0, err, GTEE_EFORMAT, "collateral: %s document: trailing bytes at %zu", key, s.off);
    ENSURE(have_val && have_sig, err, GTEE_EFORMAT, "collateral: %s document lacks \"%s\" or \"signature\"", key,
           key);
    rc = 0;
out:
    return rc;
}
