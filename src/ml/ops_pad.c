/* Pad (ONNX operator spec, ai.onnx; opset 2..10 with attributes, 11+ with inputs):
 * constant, edge and reflect modes; negative pads crop. */
#include <string.h>

#include "ml/ml.h"

#define ANY (ML_T(GTEE_ML_FLOAT) | ML_T(GTEE_ML_INT64) | ML_T(GTEE_ML_BOOL))

struct pad {
    int64_t pb[GTEE_ML_MAX_RANK], pe[GTEE_ML_MAX_RANK];
    int mode; /* 0 constant, 1 edge, 2 reflect */
    bool known;
};

static int pad_params(struct ml_kernel *k, struct pad *p)
{
    static const char *const attrs[] = { "mode", "pads", "value", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *pads = NULL;
    const char *mode;
    size_t n = 0;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 ||
        (rc = ml_attr_string(k, "mode", "constant", &mode)) < 0)
        return rc;
    p->mode = !strcmp(mode, "constant") ? 0 : !strcmp(mode, "edge") ? 1 : !strcmp(mode, "reflect") ? 2 : -1;
    if (p->mode < 0)
        return ml_fail(k, GTEE_EUNSUPPORTED, "mode %s", mode);
    if (k->model->opset < 11) {
        if ((rc = ml_attr_ints(k, "pads", &pads, &n)) < 0)
            return rc;
    } else {
        if ((rc = ml_need(k, 1, ML_T(GTEE_ML_INT64))) < 0)
            return rc;
        if (k->in[1]->rank != 1)
            return ml_fail(k, GTEE_EFORMAT, "pads must be 1-D");
        pads = k->in[1]->data;
        n = k->in[1]->dim[0] < 0 ? 0 : (size_t)k->in[1]->dim[0];
        if (ml_in(k, 2) && ((rc = ml_need(k, 2, ML_T(x->dtype))) < 0))
            return rc;
    }
    p->known = pads != NULL;
    if (pads && n != 2 * (size_t)x->rank)
        return ml_fail(k, GTEE_EFORMAT, "pads has %zu values for rank %d", n, x->rank);
    for (int d = 0; d < x->rank; d++) {
        p->pb[d] = pads ? pads[d] : 0;
        p->pe[d] = pads ? pads[d + x->rank] : 0;
        if (p->pb[d] < -(1ll << 40) || p->pb[d] > (1ll << 40) || p->pe[d] < -(1ll << 40) || p->pe[d] > (1ll << 40))
            return ml_fail(k, GTEE_EFORMAT, "pads out of range");
    }
    return 0;
}

static int infer_pad(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct pad p;
    int rc = pad_params(k, &p);

    if (rc < 0)
        return rc;
    ml_set_like(k->out[0], x, x->dtype);
    for (int d = 0; d < x->rank; d++) {
        int64_t v = x->dim[d] + p.pb[d] + p.pe[d];
        if (!p.known || x->dim[d] < 0) {
            k->out[0]->dim[d] = -1;
            continue;
        }
        if (v < 0)
            return ml_fail(k, GTEE_EFORMAT, "dimension %d would be negative", d);
        if (p.mode && x->dim[d] == 0 && v > 0)
            return ml_fail(k, GTEE_EFORMAT, "cannot pad an empty dimension in edge/reflect mode");
        if (p.mode == 2 && (p.pb[d] >= x->dim[d] || p.pe[d] >= x->dim[d]))
            return ml_fail(k, GTEE_EUNSUPPORTED, "reflect pads must be smaller than the dimension");
        k->out[0]->dim[d] = v;
    }
    return 0;
}

/* Maps an output index to the input along one dim; -1 for the constant. */
static int64_t src_index(int64_t o, int64_t pb, int64_t n, int mode)
{
    int64_t i = o - pb;

    if (i >= 0 && i < n)
        return i;
    if (mode == 0)
        return -1;
    if (mode == 1)
        return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

static int fwd_pad(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0], *cv = ml_in(k, 2);
    struct gtee_ml_tensor *y = k->out[0];
    size_t esz = gtee_ml_dtype_size(x->dtype), n = (size_t)ml_elems(y), idx[GTEE_ML_MAX_RANK] = { 0 };
    int64_t xs[GTEE_ML_MAX_RANK], acc = 1;
    uint8_t fill[8] = { 0 };
    struct pad p;
    int r = x->rank;

    if (pad_params(k, &p) < 0)
        return GTEE_EFORMAT;
    if (k->model->opset < 11) {
        float v;
        if (ml_attr_float(k, "value", 0.0f, &v) < 0)
            return GTEE_EFORMAT;
        memcpy(fill, &v, 4);
    } else if (cv && ml_elems(cv) >= 1) {
        memcpy(fill, cv->data, esz);
    }
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = acc;
        acc *= x->dim[d];
    }
    if (r == 0) {
        memcpy(y->data, x->data, esz);
        return 0;
    }
    int64_t w = y->dim[r - 1], xw = x->dim[r - 1], pb = p.pb[r - 1];
    for (size_t o = 0; o < n; o += (size_t)w) {
        uint8_t *yrow = (uint8_t *)y->data + o * esz;
        int64_t off = 0;
        bool con = false;
        for (int d = 0; d < r - 1 && !con; d++) {
            int64_t sidx = src_index((int64_t)idx[d], p.pb[d], x->dim[d], p.mode);
            con = sidx < 0;
            off += sidx * xs[d];
        }
        if (p.mode == 0) { /* constant: fill, then copy the row's overlap with the input */
            int64_t lo = pb < 0 ? 0 : pb, hi = pb + xw < w ? pb + xw : w;
            for (int64_t i = 0; i < w; i++)
                if (con || i < lo || i >= hi)
                    memcpy(yrow + (size_t)i * esz, fill, esz);
            if (!con && hi > lo)
                memcpy(yrow + (size_t)lo * esz, (const uint8_t *)x->data + (size_t)(off + lo - pb) * esz,
                       (size_t)(hi - lo) * esz);
        } else { /* edge, reflect: the overlap in one copy, the borders element by element */
            int64_t lo = pb < 0 ? 0 : pb, hi = pb + xw < w ? pb + xw : w;
            for (int64_t i = 0; i < w; i++)
                if (i < lo || i >= hi)
                    memcpy(yrow + (size_t)i * esz,
                           (const uint8_t *)x->data + (size_t)(off + src_index(i, pb, xw, p.mode)) * esz, esz);
            if (hi > lo)
                memcpy(yrow + (size_t)lo * esz, (const uint8_t *)x->data + (size_t)(off + lo - pb) * esz,
                       (size_t)(hi - lo) * esz);
        }
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < (size_t)y->dim[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

const struct ml_op ml_ops_pad[] = {
    { "Pad", 2, ML_MAX_OPSET, 1, 3, 1, 1, infer_pad, fwd_pad, NULL, NULL, false },
};
const size_t ml_ops_pad_n = sizeof(ml_ops_pad) / sizeof(ml_ops_pad[0]);
