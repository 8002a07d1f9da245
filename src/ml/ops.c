/* The operator table: every family's entries, looked up by name (domain ai.onnx). */
#include <string.h>

#include "ml/ml.h"

struct family {
    const struct ml_op *ops;
    const size_t *n;
};

static const struct family families[] = {
    { ml_ops_elementwise, &ml_ops_elementwise_n }, { ml_ops_matmul, &ml_ops_matmul_n },
    { ml_ops_conv, &ml_ops_conv_n },               { ml_ops_shape, &ml_ops_shape_n },
    { ml_ops_layout, &ml_ops_layout_n },           { ml_ops_reduce, &ml_ops_reduce_n },
    { ml_ops_pool, &ml_ops_pool_n },               { ml_ops_pad, &ml_ops_pad_n },
    { ml_ops_act, &ml_ops_act_n },                 { ml_ops_compare, &ml_ops_compare_n },
    { ml_ops_reduce_ext, &ml_ops_reduce_ext_n },   { ml_ops_split, &ml_ops_split_n },
    { ml_ops_seq, &ml_ops_seq_n },                 { ml_ops_resize, &ml_ops_resize_n },
    { ml_ops_einsum, &ml_ops_einsum_n },           { ml_ops_convt, &ml_ops_convt_n },
};

const struct ml_op *ml_op_find(const char *name)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (size_t i = 0; i < *families[f].n; i++)
            if (!strcmp(families[f].ops[i].name, name))
                return &families[f].ops[i];
    return NULL;
}

static const struct ml_op *op_at(size_t i)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        if (i < *families[f].n)
            return &families[f].ops[i];
        i -= *families[f].n;
    }
    return NULL;
}

size_t gtee_ml_ops_count(void)
{
    size_t n = 0;

    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        n += *families[f].n;
    return n;
}

void gtee_ml_ops_get(size_t i, struct gtee_ml_op_info *info)
{
    const struct ml_op *op = op_at(i);

    memset(info, 0, sizeof(*info));
    if (!op)
        return;
    info->name = op->name;
    info->min_opset = op->min_opset < ML_MIN_OPSET ? ML_MIN_OPSET : op->min_opset;
    info->max_opset = op->max_opset;
    info->differentiable = op->backward != NULL;
}
