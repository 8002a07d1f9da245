/* Composite evidence bundles: the exact parser and writer of the format, and verification of
 * every part and of the binding (each GPU report over the nonce the CVM evidence's report
 * data commits to). docs/evidence-nvidia.md, "Composite evidence". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "evidence/dcap.h"
#include "evidence/evidence_gpu.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/nvidia.h"

#define HEADER_LEN 12 /* magic, version, GPU count, reserved u16 */

bool gtee_bundle_detect(const uint8_t *buf, size_t len)
{
    return buf && len >= GTEE_BUNDLE_MAGIC_LEN && memcmp(buf, GTEE_BUNDLE_MAGIC, GTEE_BUNDLE_MAGIC_LEN) == 0;
}

static uint32_t be32(struct span *s)
{
    const uint8_t *p = span_take(s, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

int gtee_bundle_parse(const uint8_t *buf, size_t len, struct gtee_bundle *b, struct gtee_err *err)
{
    struct span s = span_init(buf, buf ? len : 0);
    const uint8_t *magic = span_take(&s, GTEE_BUNDLE_MAGIC_LEN);
    uint8_t version = span_u8(&s), n = span_u8(&s);
    uint16_t reserved = span_u16le(&s);
    uint32_t l;
    int rc = GTEE_EFORMAT;

    memset(b, 0, sizeof(*b));
    ENSURE(!s.bad, err, GTEE_EFORMAT, "bundle: %zu bytes, shorter than the %d-byte header", len, HEADER_LEN);
    ENSURE(memcmp(magic, GTEE_BUNDLE_MAGIC, GTEE_BUNDLE_MAGIC_LEN) == 0, err, GTEE_EFORMAT,
           "bundle: no \"" GTEE_BUNDLE_MAGIC "\" magic at offset 0");
    ENSURE(version == GTEE_BUNDLE_VERSION, err, GTEE_EFORMAT, "bundle: version %u (offset 8), only %d is defined",
           version, GTEE_BUNDLE_VERSION);
    ENSURE(n <= GTEE_BUNDLE_GPU_MAX, err, GTEE_EFORMAT, "bundle: %u GPUs (offset 9), at most %d", n,
           GTEE_BUNDLE_GPU_MAX);
    ENSURE(reserved == 0, err, GTEE_EFORMAT, "bundle: reserved bytes (offset 10) are not zero");
    l = be32(&s);
    ENSURE(!s.bad && l >= 1 && l <= GTEE_BUNDLE_CVM_MAX, err, GTEE_EFORMAT,
           "bundle: CVM evidence length (offset 12) is %u, must be 1..%u", l, GTEE_BUNDLE_CVM_MAX);
    b->cvm = span_take(&s, l);
    ENSURE(b->cvm != NULL, err, GTEE_EFORMAT, "bundle: CVM evidence (offset 16, %u bytes) runs past the end", l);
    b->cvm_len = l;
    for (unsigned i = 0; i < n; i++) {
        size_t at = s.off;

        l = be32(&s);
        ENSURE(!s.bad && l >= 1 && l <= GTEE_BUNDLE_GPU_LEN_MAX, err, GTEE_EFORMAT,
               "bundle: GPU %u report length (offset %zu) is %u, must be 1..%u", i, at, l, GTEE_BUNDLE_GPU_LEN_MAX);
        b->gpu[i] = span_take(&s, l);
        ENSURE(b->gpu[i] != NULL, err, GTEE_EFORMAT, "bundle: GPU %u report (offset %zu, %u bytes) runs past the end",
               i, at + 4, l);
        b->gpu_len[i] = l;
    }
    b->n_gpu = n;
    ENSURE(s.len == 0, err, GTEE_EFORMAT, "bundle: %zu bytes after the last part (offset %zu)", s.len, s.off);
    rc = 0;
out:
    if (rc < 0)
        memset(b, 0, sizeof(*b));
    return rc;
}

static void put32(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int gtee_bundle_gpu_hash(const uint8_t *evidence, size_t len, uint8_t out[32], struct gtee_err *err)
{
    struct gtee_bundle b;
    uint8_t *msg = NULL;
    size_t n = 0, off = 0;
    int rc = 0;

    memset(out, 0, 32);
    if (!gtee_bundle_detect(evidence, len))
        return 0;
    TRY(gtee_bundle_parse(evidence, len, &b, err));
    if (!b.n_gpu)
        return 0;
    for (size_t i = 0; i < b.n_gpu; i++)
        n += 4 + b.gpu_len[i];
    msg = malloc(n);
    ENSURE(msg, err, GTEE_ENOMEM, "bundle: out of memory");
    for (size_t i = 0; i < b.n_gpu; i++) {
        for (int k = 0; k < 4; k++)
            msg[off++] = (uint8_t)(b.gpu_len[i] >> (24 - 8 * k));
        memcpy(msg + off, b.gpu[i], b.gpu_len[i]);
        off += b.gpu_len[i];
    }
    gtee_keccak256(msg, n, out);
out:
    free(msg);
    return rc;
}

int gtee_bundle_write(const struct gtee_bundle *b, uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    size_t n = HEADER_LEN + 4 + (b ? b->cvm_len : 0), off;
    uint8_t *p = NULL;
    int rc = GTEE_EINVAL;

    *out = NULL;
    ENSURE(b && b->cvm && b->cvm_len >= 1 && b->cvm_len <= GTEE_BUNDLE_CVM_MAX && b->n_gpu <= GTEE_BUNDLE_GPU_MAX,
           err, GTEE_EINVAL, "bundle: a CVM evidence of 1..%u bytes and at most %d GPUs", GTEE_BUNDLE_CVM_MAX,
           GTEE_BUNDLE_GPU_MAX);
    for (size_t i = 0; i < b->n_gpu; i++) {
        ENSURE(b->gpu[i] && b->gpu_len[i] >= 1 && b->gpu_len[i] <= GTEE_BUNDLE_GPU_LEN_MAX, err, GTEE_EINVAL,
               "bundle: GPU %zu report must be 1..%u bytes", i, GTEE_BUNDLE_GPU_LEN_MAX);
        n += 4 + b->gpu_len[i];
    }
    p = malloc(n);
    ENSURE(p != NULL, err, GTEE_ENOMEM, "bundle: out of memory");
    memcpy(p, GTEE_BUNDLE_MAGIC, GTEE_BUNDLE_MAGIC_LEN);
    p[8] = GTEE_BUNDLE_VERSION;
    p[9] = (uint8_t)b->n_gpu;
    p[10] = p[11] = 0;
    put32(p + 12, b->cvm_len);
    memcpy(p + 16, b->cvm, b->cvm_len);
    off = 16 + b->cvm_len;
    for (size_t i = 0; i < b->n_gpu; i++) {
        put32(p + off, b->gpu_len[i]);
        memcpy(p + off + 4, b->gpu[i], b->gpu_len[i]);
        off += 4 + b->gpu_len[i];
    }
    *out = p;
    *out_len = n;
    rc = 0;
out:
    return rc;
}

void gtee_bundle_gpu_nonce(const uint8_t report_data[GTEE_REPORT_DATA_LEN], unsigned index, uint8_t nonce[32])
{
    (void)index; /* one fresh nonce for the whole bundle: docs/evidence-nvidia.md, "The binding" */
    memcpy(nonce, report_data + 32, 32);
}

/* One GPU part: verified over the bound nonce; its reasons join v, named by GPU. True if
 * it verified, bound, under the policy. */
static bool verify_gpu(unsigned i, const uint8_t *rep, size_t len, const struct gtee_collateral *col,
                       const struct gtee_anchors *anchors, const struct gtee_policy *policy, const uint8_t nonce[32],
                       int64_t at, struct gtee_verdict *v, bool *malformed)
{
    struct gtee_verdict *g = calloc(1, sizeof(*g));
    struct gtee_err e = {0};
    bool ok = false;
    int rc;

    if (!g) {
        verdict_add(v, "evidence.internal", "out of memory");
        return false;
    }
    if (!gtee_nv_report_detect(rep, len)) {
        verdict_add(v, "bundle.gpu.kind", "GPU %u: the part is not an NVIDIA GPU report", i);
        *malformed = true;
        goto out;
    }
    rc = evidence_verify_nonce(rep, len, col, anchors, policy, nonce, at, g, &e);
    if (rc == GTEE_EFORMAT)
        *malformed = true;
    for (size_t k = 0; k < g->n_reasons; k++) {
        /* The report is sound but over another nonce than the CVM evidence commits to. */
        if (strcmp(g->reasons[k].code, "gpu.nonce") == 0)
            verdict_add(v, "bundle.gpu.binding", "GPU %u: the report's nonce is not the one the CVM evidence's "
                        "report data commits to (bytes 32..63): not bound to this CVM", i);
        else
            verdict_add(v, g->reasons[k].code, "GPU %u: %s", i, g->reasons[k].msg);
    }
    if (g->reasons_truncated)
        v->reasons_truncated = true;
    ok = rc == 0 && g->accepted;
out:
    free(g);
    return ok;
}

int gtee_bundle_verify(const uint8_t *bundle, size_t len, const struct gtee_collateral *cvm_col,
                       const struct gtee_collateral *const *gpu_cols, size_t n_cols, const struct gtee_anchors *anchors,
                       const struct gtee_policy *policy, const struct gtee_binding_expect *expect, int64_t at,
                       struct gtee_verdict *v, struct gtee_err *err)
{
    struct gtee_bundle b;
    struct gtee_policy def, cvm_policy;
    uint8_t nonce[32];
    unsigned bound = 0;
    bool gpus_ok = true, malformed = false;
    int rc;

    ENSURE(v != NULL, err, GTEE_EINVAL, "bundle: no verdict to fill");
    verdict_reset(v);
    if (gtee_bundle_parse(bundle, len, &b, err) < 0) {
        verdict_add(v, "bundle.malformed", "%s", err ? err->msg : "bundle malformed");
        return GTEE_EFORMAT;
    }
    if (!policy) {
        gtee_policy_default(&def);
        policy = &def;
    }
    /* The CVM part under the policy, less the GPU count, which only the bundle can meet. */
    cvm_policy = *policy;
    cvm_policy.gpu.min_count = 0;
    rc = evidence_verify_bound_plain(b.cvm, b.cvm_len, cvm_col, anchors, &cvm_policy, expect, at, v, err);
    if (rc != 0 && rc != GTEE_EPOLICY && rc != GTEE_EFORMAT)
        return rc;
    if (rc == GTEE_EFORMAT)
        malformed = true;
    if (v->claims.tee == GTEE_TEE_GPU) {
        verdict_add(v, "bundle.cvm.kind", "the CVM part of the bundle is a GPU report");
        gpus_ok = false;
    }
    ENSURE(n_cols >= b.n_gpu, err, GTEE_EINVAL, "bundle: %zu GPU reports but collateral for %zu", b.n_gpu, n_cols);
    for (size_t i = 0; i < b.n_gpu; i++) {
        gtee_bundle_gpu_nonce(v->claims.report_data, (unsigned)i, nonce);
        /* the same report twice is one GPU, not two */
        for (size_t j = 0; j < i; j++)
            if (b.gpu_len[j] == b.gpu_len[i] && memcmp(b.gpu[j], b.gpu[i], b.gpu_len[i]) == 0) {
                verdict_add(v, "bundle.gpu.duplicate", "GPU %zu: the same report as GPU %zu", i, j);
                gpus_ok = false;
            }
        /* each part under the policy less the count, which no single part can meet */
        if (verify_gpu((unsigned)i, b.gpu[i], b.gpu_len[i], gpu_cols[i], anchors, &cvm_policy, nonce, at, v,
                       &malformed))
            bound++;
        else
            gpus_ok = false;
    }
    v->claims.gpus_bound = gpus_ok ? bound : 0;
    if (v->claims.gpus_bound < policy->gpu.min_count)
        verdict_add(v, "policy.gpu.required", "the policy requires %u bound GPUs, the bundle has %u", policy->gpu.min_count,
                    v->claims.gpus_bound);
    v->verified = v->verified && gpus_ok;
    v->accepted = v->verified && v->n_reasons == 0 && !v->reasons_truncated;
    rc = malformed ? GTEE_EFORMAT : v->accepted ? 0 : GTEE_EPOLICY;
    if (rc < 0 && v->n_reasons)
        GTEE_FAIL(err, rc, "bundle: rejected (%s: %s)", v->reasons[0].code, v->reasons[0].msg);
out:
    return rc;
}

int evidence_verify_bundle(const uint8_t *bundle, size_t len, const struct gtee_collateral *col,
                           const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                           const struct gtee_binding_expect *expect, int64_t at, struct gtee_verdict *v,
                           struct gtee_err *err)
{
    const struct gtee_collateral *cols[GTEE_BUNDLE_GPU_MAX] = {0};

    /* A GPU without its gpuN/ folder gets no collateral: "gpu.collateral.missing" names it. */
    for (size_t i = 0; col && i < col->n_gpus && i < GTEE_BUNDLE_GPU_MAX; i++)
        cols[i] = &col->gpus[i];
    return gtee_bundle_verify(bundle, len, col && col->cvm ? col->cvm : col, cols, GTEE_BUNDLE_GPU_MAX, anchors,
                              policy, expect, at, v, err);
}

void gtee_bundle_cvm(const uint8_t *evidence, size_t len, const uint8_t **cvm, size_t *cvm_len)
{
    struct gtee_bundle b;

    *cvm = evidence;
    *cvm_len = len;
    if (gtee_bundle_detect(evidence, len) && gtee_bundle_parse(evidence, len, &b, NULL) == 0) {
        *cvm = b.cvm;
        *cvm_len = b.cvm_len;
    }
}
