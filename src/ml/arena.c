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

/* The placed slots by lifetime, so that finding those whose lifetime meets a new slot's
 * costs O((k + 1) log T) for the k found instead of a pass over every placed slot (a
 * chain of 100k nodes took seconds). A bottom-up segment tree over node positions: a slot
 * is listed in the O(log T) tree nodes that cover its lifetime together (a walk from the
 * root to leaf t meets every slot alive at t once), and counted in the tree nodes whose
 * range holds its first position (to find those born inside an interval). */
struct lifetimes {
    size_t t;                      /* leaves: a power of two above the last position */
    size_t *cover, *born, *leaf;   /* per tree node: first cover entry, slots born below; per leaf: first slot born */
    size_t *next_born;             /* per slot: the next slot born at the same leaf */
    struct {
        size_t slot, next;
    } *e;                          /* cover entries, linked per tree node */
    size_t ne, cap;
    size_t *found, nfound;         /* a query's result */
};

static int lt_init(struct lifetimes *L, size_t positions, size_t ns)
{
    memset(L, 0, sizeof(*L));
    L->t = 1;
    while (L->t < positions)
        L->t *= 2;
    L->cover = malloc(2 * L->t * sizeof(size_t));
    L->born = calloc(2 * L->t, sizeof(size_t));
    L->leaf = malloc(L->t * sizeof(size_t));
    L->next_born = malloc((ns + 1) * sizeof(size_t));
    L->found = malloc((ns + 1) * sizeof(size_t));
    if (!L->cover || !L->born || !L->leaf || !L->next_born || !L->found)
        return GTEE_ENOMEM;
    memset(L->cover, 0xff, 2 * L->t * sizeof(size_t));
    memset(L->leaf, 0xff, L->t * sizeof(size_t));
    return 0;
}

static void lt_free(struct lifetimes *L)
{
    ml_free(L->cover);
    ml_free(L->born);
    ml_free(L->leaf);
    ml_free(L->next_born);
    ml_free(L->found);
    ml_free(L->e);
}

static int lt_cover(struct lifetimes *L, size_t node, size_t slot)
{
    if (L->ne == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 1024;
        void *e = realloc(L->e, cap * sizeof(*L->e));
        if (!e)
            return GTEE_ENOMEM;
        L->e = e;
        L->cap = cap;
    }
    L->e[L->ne].slot = slot;
    L->e[L->ne].next = L->cover[node];
    L->cover[node] = L->ne++;
    return 0;
}

static int lt_add(struct lifetimes *L, const struct slot *s, size_t i)
{
    size_t lo = s[i].def + L->t, hi = s[i].last + L->t + 1;

    for (; lo < hi; lo /= 2, hi /= 2) {
        if ((lo & 1) && lt_cover(L, lo++, i) < 0)
            return GTEE_ENOMEM;
        if ((hi & 1) && lt_cover(L, --hi, i) < 0)
            return GTEE_ENOMEM;
    }
    L->next_born[i] = L->leaf[s[i].def];
    L->leaf[s[i].def] = i;
    for (size_t n = s[i].def + L->t; n; n /= 2)
        L->born[n]++;
    return 0;
}

/* Slots born in [a, b] below tree node n, whose leaves are [lo, hi]. */
static void lt_born(struct lifetimes *L, size_t n, size_t lo, size_t hi, size_t a, size_t b)
{
    if (!L->born[n] || hi < a || b < lo)
        return;
    if (lo == hi) {
        for (size_t j = L->leaf[lo]; j != SIZE_MAX; j = L->next_born[j])
            L->found[L->nfound++] = j;
        return;
    }
    lt_born(L, 2 * n, lo, lo + (hi - lo) / 2, a, b);
    lt_born(L, 2 * n + 1, lo + (hi - lo) / 2 + 1, hi, a, b);
}

/* The placed slots alive at some position of [a, b]: alive at a, or born in (a, b]. */
static void lt_query(struct lifetimes *L, size_t a, size_t b)
{
    L->nfound = 0;
    for (size_t n = a + L->t; n; n /= 2)
        for (size_t e = L->cover[n]; e != SIZE_MAX; e = L->e[e].next)
            L->found[L->nfound++] = L->e[e].slot;
    if (a < b)
        lt_born(L, 1, 0, L->t - 1, a + 1, b);
}

static int cmp_off(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;

    return x->off < y->off ? -1 : x->off > y->off;
}

/* Largest first, each at the lowest offset where no placed slot alive at the same time
 * overlaps it: past every such slot that starts before the candidate's end, in order of
 * offset, until one starts at or after it. *steps counts the placed slots examined. */
static int place(struct slot *s, size_t ns, size_t positions, size_t *end, size_t *steps)
{
    struct lifetimes L;
    const struct slot **c = malloc((ns + 1) * sizeof(*c));
    int rc = 0;

    qsort(s, ns, sizeof(*s), cmp_slot);
    if (lt_init(&L, positions, ns) < 0 || !c) {
        rc = GTEE_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ns; i++) {
        size_t off = 0;

        lt_query(&L, s[i].def, s[i].last);
        for (size_t j = 0; j < L.nfound; j++)
            c[j] = &s[L.found[j]];
        qsort(c, L.nfound, sizeof(*c), cmp_off);
        *steps += L.nfound;
        for (size_t j = 0; j < L.nfound && c[j]->off < off + s[i].size; j++)
            if (c[j]->off + c[j]->size > off)
                off = c[j]->off + c[j]->size;
        s[i].off = off;
        if (off + s[i].size > *end)
            *end = off + s[i].size;
        if (lt_add(&L, s, i) < 0) {
            rc = GTEE_ENOMEM;
            break;
        }
    }
out:
    lt_free(&L);
    ml_free(c);
    return rc;
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
    ENSURE(place(s, ns, m->n_nodes + 1, &end, &p->layout_steps) == 0, err, GTEE_ENOMEM, "ml: out of memory");
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
    ml_free(size);
    ml_free(def);
    ml_free(last);
    ml_free(alias);
    ml_free(out);
    ml_free(arena);
    ml_free(s);
    return rc;
}
