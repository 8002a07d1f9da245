/* The arena of a plan. Every intermediate that is not folded gets a slice; its lifetime
 * runs from its producing node to its last reader (graph outputs: to the end). Operators
 * that may write their output over their first input (element-wise, reshapes) do so when
 * that input dies at the node and has the same size: the two values share one slice. Slices
 * are then placed greedily, largest first, at the lowest offset free for their lifetime. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/ml.h"

struct slot {
    size_t value, size, def, last, off;
};

/* Operators whose kernels read element i of input 0 before writing element i of output 0
 * (or copy whole tensors, skipping the copy when in and out coincide). */
static bool inplace_op(const char *op)
{
    static const char *const ops[] = { "Relu", "Sigmoid", "Tanh", "Sqrt", "Erf", "Exp", "Log", "Abs", "Neg",
                                       "Reciprocal", "Identity", "Dropout", "Reshape", "Flatten", "Squeeze",
                                       "Unsqueeze", "Add", "Sub", "Mul", "Div", "Pow" };

    for (size_t i = 0; i < GTEE_ARRAY_LEN(ops); i++)
        if (!strcmp(op, ops[i]))
            return true;
    return false;
}

/* Operators whose output may be the very bytes of their first input (same elements, same
 * order): a reshape of a graph input is a view of the caller's buffer, never written. */
static bool view_op(const char *op)
{
    static const char *const ops[] = { "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity" };

    for (size_t i = 0; i < GTEE_ARRAY_LEN(ops); i++)
        if (!strcmp(op, ops[i]))
            return true;
    return false;
}

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;

    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->value < y->value ? -1 : x->value > y->value;
}

static size_t root_of(const size_t *alias, size_t v)
{
    while (alias[v] != v)
        v = alias[v];
    return v;
}

static void place(struct slot *s, size_t ns, size_t *end)
{
    qsort(s, ns, sizeof(*s), cmp_slot);
    for (size_t i = 0; i < ns; i++) {
        size_t off = 0;
        bool moved = true;

        /* Raise off past every placed slot that overlaps in time and bytes, until stable. */
        while (moved) {
            moved = false;
            for (size_t j = 0; j < i; j++) {
                if (s[j].last < s[i].def || s[i].last < s[j].def)
                    continue;
                if (off < s[j].off + s[j].size && s[j].off < off + s[i].size) {
                    off = s[j].off + s[j].size;
                    moved = true;
                }
            }
        }
        s[i].off = off;
        if (off + s[i].size > *end)
            *end = off + s[i].size;
    }
}

int ml_plan_layout(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err)
{
    size_t nv = m->n_values, ns = 0, end = 0;
    size_t *size = calloc(nv + 1, sizeof(size_t)), *def = calloc(nv + 1, sizeof(size_t));
    size_t *last = calloc(nv + 1, sizeof(size_t)), *alias = calloc(nv + 1, sizeof(size_t));
    bool *out = calloc(nv + 1, sizeof(bool)), *arena = calloc(nv + 1, sizeof(bool));
    struct slot *s = calloc(nv + 1, sizeof(*s));
    int rc = 0;

    ENSURE(size && def && last && alias && out && arena && s, err, GTEE_ENOMEM, "ml: out of memory");
    for (size_t v = 0; v < nv; v++) {
        const struct ml_value *mv = &m->values[v];

        alias[v] = v;
        if (mv->kind != ML_VAL_NODE || p->known[v] || mv->producer < 0 ||
            (p->writer && p->writer[v] == ML_WRITER_NONE))
            continue;
        arena[v] = true;
        size[v] = (size_t)ml_elems(&p->vals[v]) * gtee_ml_dtype_size(p->vals[v].dtype);
        size[v] = ml_align_up(size[v]);
        p->unplanned_size += size[v];
        def[v] = last[v] = (size_t)(p->writer && p->writer[v] >= 0 ? p->writer[v] : mv->producer);
    }
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++) {
            int32_t v = m->nodes[i].in[j];
            if (v >= 0 && arena[v] && last[v] < i)
                last[v] = i;
        }
    for (size_t i = 0; i < m->n_outputs; i++) {
        out[m->outputs[i]] = true;
        last[m->outputs[i]] = m->n_nodes;
    }
    /* Views of graph inputs take no slice; not in the arena, nothing writes them in place. */
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        int32_t a = n->n_in ? n->in[0] : -1, b = n->out[0];

        if (a < 0 || b < 0 || !arena[b] || !view_op(n->op_type) || (p->skip && p->skip[i]))
            continue;
        if (m->values[a].kind == ML_VAL_INPUT && !p->known[a])
            p->view[b] = a;
        else if (p->view[a] >= 0)
            p->view[b] = p->view[a];
        else
            continue;
        arena[b] = false;
        p->unplanned_size -= size[b];
    }
    /* In-place: output 0 takes input 0's slice when input 0 dies here. */
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        int32_t a = n->n_in ? n->in[0] : -1, b = n->out[0];
        size_t r;

        if (a < 0 || b < 0 || !arena[a] || !arena[b] || out[a] || last[a] != i || size[a] != size[b] ||
            !inplace_op(n->op_type) || (p->skip && p->skip[i]))
            continue;
        for (size_t j = 1; j < n->n_in; j++) /* input 0 read twice: keep it */
            if (n->in[j] == a)
                a = -1;
        if (a < 0)
            continue;
        r = root_of(alias, (size_t)a);
        alias[b] = r;
        if (last[b] > last[r])
            last[r] = last[b];
    }
    for (size_t v = 0; v < nv; v++)
        if (arena[v] && alias[v] == v)
            s[ns++] = (struct slot){ v, size[v], def[v], last[v], 0 };
    place(s, ns, &end);
    p->arena_size = end + ml_align_up(p->work_size);
    p->unplanned_size += ml_align_up(p->work_size); /* both hold the scratch */
    p->over_limit = p->arena_size / 4 > m->lim.max_total_elems;
    ENSURE(!p->over_limit, err, GTEE_EFORMAT, "ml: a run would need %zu bytes, over the limit max_total_elems (%llu 4-byte elements)",
           p->arena_size, (unsigned long long)m->lim.max_total_elems);
    p->arena = aligned_alloc(ML_ALIGN, p->arena_size + ML_ALIGN);
    ENSURE(p->arena, err, GTEE_ENOMEM, "ml: out of memory for a %zu-byte arena", p->arena_size);
    for (size_t i = 0; i < ns; i++)
        p->offset[s[i].value] = s[i].off;
    for (size_t v = 0; v < nv; v++)
        if (arena[v]) {
            p->offset[v] = p->offset[root_of(alias, v)];
            p->vals[v].data = p->arena + p->offset[v];
        }
out:
    free(size);
    free(def);
    free(last);
    free(alias);
    free(out);
    free(arena);
    free(s);
    return rc;
}
