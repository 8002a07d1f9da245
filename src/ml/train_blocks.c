/* Layouts of a trainer's plan: the activations of Conv -> Relu -> MaxPool 2x2 stay
 * channel-blocked (dnn.h), forward and backward, as an inference plan keeps them between
 * oneDNN's kernels (layout.c). oneDNN's direct convolutions write and read that layout;
 * kept NCHW, each step converted a CNN's largest activation both ways, once after the
 * forward convolution and once before the backward one (64 x 16 x 28 x 28 floats: 0.3 ms
 * each at batch 64, docs/performance.md, "Training"). Blocked, Relu runs element by
 * element as before, and MaxPool reads blocked and writes its four times smaller output
 * NCHW (pool_dnn.c forward, grad_pool.c backward). A chain is kept blocked when
 *   - the Conv takes the oneDNN path forward and backward (2-D, one group) and its output
 *     channels are a multiple of the block, so that the blocked tensor has the NCHW one's
 *     size;
 *   - its output's only reader is a Relu, and the Relu's only reader a MaxPool of 2x2
 *     windows at stride 2 without padding;
 *   - neither value is a graph output or folded.
 * The MaxPool's output is blocked too when its only reader is a Conv that takes the oneDNN
 * path with one group: the pool writes it blocked, the Conv reads it and writes its input
 * gradient so, and the pool's backward pass reads that gradient blocked.
 * A value and its gradient share the layout; the other values stay NCHW.
 *
 * The Relu of such a chain is applied by the Conv, as oneDNN's post-op, into the Conv's
 * output: that pass over the activation went (oneDNN writes a large output past the cache).
 * The Relu's output is then the same buffer, and its backward pass, dx = x > 0 ? dy : 0,
 * reads the Conv's output, positive exactly where the Conv's sum was. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/geom.h"

/* The single node reading value v (its input 0, and no other input), or -1. */
static int64_t only_reader(const struct gtee_ml_model *m, int64_t v)
{
    int64_t who = -1;

    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++) {
            if (m->nodes[i].in[j] != v)
                continue;
            if (who >= 0 || j != 0)
                return -1;
            who = (int64_t)i;
        }
    return who;
}

static bool plain_value(const struct gtee_ml_model *m, const struct ml_plan *p, int64_t v, int64_t bl)
{
    const struct gtee_ml_tensor *t = &p->vals[v];

    for (size_t i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] == v)
            return false;
    return m->values[v].kind == ML_VAL_NODE && !p->known[v] && t->dtype == GTEE_ML_FLOAT && t->rank == 4 &&
           ml_known(t) && t->dim[1] > 0 && t->dim[1] % bl == 0;
}

int ml_train_blocks(const struct gtee_ml_model *m, struct ml_plan *p, uint8_t *fuse, struct gtee_err *err)
{
    int64_t bl = ml_dnn_block();
    int rc = 0;

    ml_free(p->blocked);
    p->blocked = calloc(m->n_values + 1, 1);
    ENSURE(p->blocked, err, GTEE_ENOMEM, "train: out of memory");
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        struct ml_kernel k;
        int64_t v, w, r, q, o, c, group;

        if (strcmp(n->op_type, "Conv") || n->n_out != 1 || (v = n->out[0]) < 0 || !plain_value(m, p, v, bl))
            continue;
        ml_plan_kernel(m, p, i, &k);
        k.err = NULL;
        if (!ml_conv_blockable(&k) || ml_attr_int(&k, "group", 1, &group) < 0 || group != 1)
            continue;
        if ((r = only_reader(m, v)) < 0 || strcmp(m->nodes[r].op_type, "Relu") || (w = m->nodes[r].out[0]) < 0 ||
            !plain_value(m, p, w, bl))
            continue;
        if ((q = only_reader(m, w)) < 0 || strcmp(m->nodes[q].op_type, "MaxPool"))
            continue;
        ml_plan_kernel(m, p, (size_t)q, &k);
        k.err = NULL;
        if (!ml_pool_max2x2(&k))
            continue;
        p->blocked[v] = 1;
        p->blocked[w] = 1;
        fuse[i] = ML_TRAIN_RELU_INTO;
        fuse[r] = ML_TRAIN_RELU_DONE;
        /* the pool's output too, when a Conv of the same kind reads it alone */
        if ((o = m->nodes[q].out[0]) >= 0 && plain_value(m, p, o, bl) && (c = only_reader(m, o)) >= 0 &&
            !strcmp(m->nodes[c].op_type, "Conv")) {
            ml_plan_kernel(m, p, (size_t)c, &k);
            k.err = NULL;
            if (ml_conv_blockable(&k) && ml_attr_int(&k, "group", 1, &group) == 0 && group == 1)
                p->blocked[o] = 1;
        }
    }
out:
    return rc;
}
