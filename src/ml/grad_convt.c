/* Backward pass of ConvTranspose (ops_convt.c; docs/ml-training.md): with the forward pass
 * y[n, co, o] += x[n, ci, i] W[ci, co, t] for every tap (o = i s - pb + t d inside the
 * output), dx[n, ci, i] += dy[n, co, o] W[ci, co, t], dW[ci, co, t] += x[n, ci, i] dy[n, co, o]
 * over the same taps, and dB[co] = sum dy. */
#include "ml/grad.h"

int ml_grad_convt(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    struct ml_convt g;
    const float *X = k->in[0]->data, *Wt = k->in[1]->data, *dy = dout[0]->data;
    float *dX = din[0] ? din[0]->data : NULL, *dW = din[1] ? din[1]->data : NULL;
    float *dB = k->n_in > 2 && din[2] ? din[2]->data : NULL;
    int rc = ml_convt_setup(k, &g);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "shape unknown at run time");
    int64_t N = k->in[0]->dim[0], H = g.nsp == 2 ? g.in[0] : 1, Wd = g.in[g.nsp - 1];
    int64_t OH = g.nsp == 2 ? g.out[0] : 1, OW = g.out[g.nsp - 1], KH = g.nsp == 2 ? g.k[0] : 1;
    int64_t KW = g.k[g.nsp - 1], cpg = g.cin / g.group, opg = g.cout / g.group;
    int64_t s0 = g.nsp == 2 ? g.stride[0] : 1, s1 = g.stride[g.nsp - 1], d0 = g.nsp == 2 ? g.dil[0] : 1;
    int64_t d1 = g.dil[g.nsp - 1], p0 = g.nsp == 2 ? g.pads[0] : 0, p1 = g.pads[g.nsp - 1];

    if (dB)
        for (int64_t n = 0; n < N; n++)
            for (int64_t co = 0; co < g.cout; co++) {
                double s = 0;
                for (int64_t p = 0; p < OH * OW; p++)
                    s += dy[(n * g.cout + co) * OH * OW + p];
                dB[co] += (float)s;
            }
    if (!dX && !dW)
        return 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ci = 0; ci < g.cin; ci++) {
            int64_t gr = ci / cpg;
            for (int64_t iy = 0; iy < H; iy++)
                for (int64_t ix = 0; ix < Wd; ix++) {
                    int64_t xo = ((n * g.cin + ci) * H + iy) * Wd + ix;
                    double acc = 0;
                    for (int64_t cog = 0; cog < opg; cog++) {
                        int64_t co = gr * opg + cog;
                        for (int64_t ki = 0; ki < KH; ki++) {
                            int64_t oy = iy * s0 - p0 + ki * d0;
                            if (oy < 0 || oy >= OH)
                                continue;
                            for (int64_t kj = 0; kj < KW; kj++) {
                                int64_t ox = ix * s1 - p1 + kj * d1;
                                if (ox < 0 || ox >= OW)
                                    continue;
                                int64_t wo = ((ci * opg + cog) * KH + ki) * KW + kj;
                                float g_ = dy[((n * g.cout + co) * OH + oy) * OW + ox];
                                acc += (double)g_ * Wt[wo];
                                if (dW)
                                    dW[wo] += X[xo] * g_;
                            }
                        }
                    }
                    if (dX)
                        dX[xo] += (float)acc;
                }
        }
    return 0;
}
