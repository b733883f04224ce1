/* plan.c - aliases, gradient flow and one arena for every activation and gradient buffer.
 * Time runs over the forward (node i at time i), the loss (time N) and the backward (node i at
 * 2N - i). Each buffer lives from its first write to its last read; buffers whose lifetimes do
 * not overlap share memory (greedy placement, largest first, as in TensorFlow Lite's arena
 * planner). A tensor read twice (a residual block's input) gets one gradient buffer that the
 * first reader in backward order writes and the second adds to. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* Whether node n reads its input (k) or output in its backward pass. */
static int reads_input(const sal_node *n) {
    return n->op == OP_CONV || n->op == OP_LINEAR || n->op == OP_GN || n->op == OP_BN ||
           n->op == OP_MAXPOOL;
}
static int reads_output(const sal_node *n) { return n->op == OP_RELU || n->op == OP_MAXPOOL; }

/* Backward of these ops neither changes its output gradient nor hands it on as an input's:
 * an add may then give that input the add's own gradient buffer. */
static int grad_inert(const sal_node *n) {
    return n->op == OP_CONV || n->op == OP_LINEAR || n->op == OP_GN || n->op == OP_BN ||
           n->op == OP_MAXPOOL || n->op == OP_AVGPOOL;
}

static int root(const sal_value *v, int i, int galias) {
    while ((galias ? v[i].galias : v[i].alias) >= 0) i = galias ? v[i].galias : v[i].alias;
    return i;
}

typedef struct {
    size_t bytes, off;
    int start, end, value, grad;
} buf;

static int by_size(const void *a, const void *b) {
    const buf *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->start - y->start; /* ties in a fixed order: the plan must not vary by qsort */
}

/* Lowest 64-byte-aligned offset where b fits beside the already placed buffers that are live
 * at the same time. */
static size_t place(const buf *placed, int np, const buf *b) {
    size_t off = 0;
    for (int again = 1; again;) {
        again = 0;
        for (int i = 0; i < np; i++) {
            const buf *p = &placed[i];
            if (p->end < b->start || b->end < p->start) continue;    /* not live together */
            if (p->off + p->bytes <= off || off + b->bytes <= p->off) continue; /* apart */
            off = p->off + p->bytes, again = 1;
        }
    }
    return off;
}

int sal_plan(sal_model *m) {
    sal_value *v = m->values;
    const int N = m->nnodes, END = 2 * N + 1;
    /* Which values need a gradient: those downstream of a parameter, and the input when the
     * caller asked for its gradient. */
    v[0].needs_grad = m->spec.input_grad != 0;
    for (int i = 0; i < N; i++) {
        sal_node *n = &m->nodes[i];
        int need = n->wt >= 0;
        for (int k = 0; k < n->nin; k++) need |= v[n->in[k]].needs_grad;
        v[n->out].needs_grad = need;
    }
    /* Forward aliases: flatten is a view; relu runs in place where it is its input's only
     * reader and that input's producer does not read its own output in backward. */
    for (int i = 0; i < N; i++) {
        sal_node *n = &m->nodes[i];
        const sal_value *x = &v[n->in[0]];
        if (n->op == OP_FLATTEN) v[n->out].alias = n->in[0];
        if (n->op == OP_RELU && x->nuse == 1 && n->in[0] != 0 &&
            !reads_output(&m->nodes[x->producer]))
            v[n->out].alias = n->in[0];
    }
    /* Gradient aliases, decided from the reader's side. */
    for (int i = 0; i < N; i++) {
        sal_node *n = &m->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            sal_value *x = &v[n->in[k]];
            if (!x->needs_grad || x->nuse != 1) continue;
            if (n->op == OP_FLATTEN || (n->op == OP_RELU && v[n->out].alias == n->in[0]) ||
                (n->op == OP_ADD && grad_inert(&m->nodes[x->producer])))
                x->galias = n->out;
        }
    }
    /* Accumulation: in backward order, the first reader of a gradient root writes it. */
    char *written = calloc((size_t)m->nvalues, 1);
    if (!written) return -1;
    for (int i = N - 1; i >= 0; i--) {
        sal_node *n = &m->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            int x = n->in[k];
            if (!v[x].needs_grad || v[x].galias >= 0) continue;
            n->acc[k] = written[x];
            written[x] = 1;
        }
    }
    free(written);

    /* Lifetimes of the forward roots (value 0 is the input copy, outside the arena) and of
     * the gradient roots. */
    buf *b = calloc((size_t)2 * m->nvalues, sizeof *b);
    if (!b) return -1;
    int nb = 0;
    for (int r = 1; r < m->nvalues; r++) {
        if (v[r].alias >= 0) continue;
        buf f = {.bytes = 0, .start = v[r].producer, .end = v[r].producer, .value = r};
        for (int u = 1; u < m->nvalues; u++) {
            if (root(v, u, 0) != r) continue;
            if (u == m->nvalues - 1) f.end = END; /* the logits outlive the pass */
            const sal_node *p = &m->nodes[v[u].producer];
            if (reads_output(p) && 2 * N - v[u].producer > f.end) f.end = 2 * N - v[u].producer;
            for (int i = 0; i < N; i++)
                for (int k = 0; k < m->nodes[i].nin; k++) {
                    if (m->nodes[i].in[k] != u) continue;
                    int t = reads_input(&m->nodes[i]) ? 2 * N - i : i;
                    if (t > f.end) f.end = t;
                }
        }
        b[nb++] = f;
    }
    for (int r = 0; r < m->nvalues; r++) { /* value 0's gradient: spec.input_grad */
        if (!v[r].needs_grad || v[r].galias >= 0) continue;
        buf g = {.start = END, .end = 0, .value = r, .grad = 1};
        for (int u = 0; u < m->nvalues; u++) {
            if (!v[u].needs_grad || root(v, u, 1) != r) continue;
            if (u == m->nvalues - 1 && N < g.start) g.start = N; /* written by the loss */
            /* read by its producer's backward; the input's by the caller, after the pass */
            int t = u == 0 ? END : 2 * N - v[u].producer;
            if (t > g.end) g.end = t;
            for (int i = 0; i < N; i++)
                for (int k = 0; k < m->nodes[i].nin; k++)
                    if (m->nodes[i].in[k] == u && 2 * N - i < g.start) g.start = 2 * N - i;
        }
        b[nb++] = g;
    }
    /* Sizes for the largest batch, rounded to cache lines, then placement. */
    m->naive_bytes = 0;
    for (int i = 0; i < nb; i++) {
        const sal_value *x = &v[b[i].value];
        size_t n = (size_t)m->spec.max_batch * x->c * x->h * x->w * sizeof(float);
        b[i].bytes = (n + 63) / 64 * 64;
        m->naive_bytes += b[i].bytes;
    }
    qsort(b, (size_t)nb, sizeof *b, by_size);
    m->arena_bytes = 0;
    for (int i = 0; i < nb; i++) {
        b[i].off = place(b, i, &b[i]);
        if (b[i].off + b[i].bytes > m->arena_bytes) m->arena_bytes = b[i].off + b[i].bytes;
        if (b[i].grad) v[b[i].value].goff = b[i].off;
        else v[b[i].value].off = b[i].off;
    }
    free(b);
    m->arena = aligned_alloc(64, m->arena_bytes ? m->arena_bytes : 64);
    if (!m->arena) return -1;
    memset(m->arena, 0, m->arena_bytes); /* first touch here, not in the first timed step */
    /* Resolve pointers: roots into the arena, aliases to their roots. */
    char *base = m->arena;
    v[0].buf = m->x;
    v[0].grad = v[0].needs_grad ? (float *)(base + v[root(v, 0, 1)].goff) : NULL;
    for (int u = 1; u < m->nvalues; u++) {
        int r = root(v, u, 0);
        v[u].buf = r == 0 ? m->x : (float *)(base + v[r].off); /* a view of the input */
        v[u].grad = v[u].needs_grad ? (float *)(base + v[root(v, u, 1)].goff) : NULL;
    }
    return 0;
}
