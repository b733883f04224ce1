/* model.c - building a model (arch.c's nodes, plan.c's buffers), initialising it, and the
 * forward and backward passes over its node list. The kernels live in linear.c, conv2d.c,
 * norm.c and activations.c. */
#include "salient/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "graph.h"
#include "salient/rng.h"

/* GroupNorm's and BatchNorm's defaults (eps inside the square root, running momentum). */
#define SAL_NORM_EPS 1e-5f
#define SAL_BN_MOMENTUM 0.1f

static void *alloc_floats(size_t n) {
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes ? bytes : 64); /* first touch here, not in the first timed step */
    return p;
}

static size_t numel(const sal_value *v) { return (size_t)v->c * v->h * v->w; }

/* Statistics, scratch and the multiply-adds of the backward pass, once the plan is known. */
static int alloc_node_buffers(sal_model *m) {
    const int B = m->spec.max_batch;
    size_t scratch = 0, part = 0;
    for (int i = 0; i < m->nnodes; i++) {
        sal_node *n = &m->nodes[i];
        const sal_value *x = &m->values[n->in[0]];
        if (n->op == OP_CONV && sal_conv_scratch_floats(&n->conv) > scratch)
            scratch = sal_conv_scratch_floats(&n->conv);
        if (n->op == OP_GN || n->op == OP_BN) {
            size_t k = n->op == OP_GN ? (size_t)B * n->groups : (size_t)x->c;
            if (!(n->mean = alloc_floats(k)) || !(n->rstd = alloc_floats(k))) return -1;
            if (n->op == OP_GN && (size_t)B * x->c * 2 > part) part = (size_t)B * x->c * 2;
        }
        if (n->op == OP_CONV || n->op == OP_LINEAR) {
            const sal_value *y = &m->values[n->out];
            double macs = (double)numel(y) * (n->op == OP_CONV ? n->conv.C * n->conv.K * n->conv.K
                                                                : (int)numel(x));
            m->train_macs += (x->needs_grad ? 3 : 2) * macs; /* forward, dW, and dX if needed */
        }
    }
    m->scratch = alloc_floats(scratch * (size_t)m->spec.threads); /* one part per thread */
    m->part = part ? calloc(part, sizeof(double)) : NULL;
    return !m->scratch || (part && !m->part) ? -1 : 0;
}

sal_model *sal_model_create_spec(const sal_model_spec *spec, sal_err *err) {
    if (spec->c < 1 || spec->h < 1 || spec->w < 1 || spec->classes < 2 || spec->max_batch < 1) {
        sal_fail(err, SAL_EINVAL, "model: bad input shape %dx%dx%d, %d classes, batch %d",
                 spec->c, spec->h, spec->w, spec->classes, spec->max_batch);
        return NULL;
    }
    if (spec->init == SAL_INIT_RISOTTO && spec->arch != SAL_ARCH_RESNET20 &&
        spec->arch != SAL_ARCH_RESNET18) {
        sal_fail(err, SAL_ECONFIG, "%s", sal_risotto_unsupported);
        return NULL;
    }
    sal_model *m = calloc(1, sizeof *m);
    if (!m) return sal_fail(err, SAL_ENOMEM, "model: out of memory"), NULL;
    m->spec = *spec;
    if (m->spec.threads < 1) m->spec.threads = 1;
    m->training = 1;
    if (sal_arch_build(m)) {
        sal_status st = strstr(m->build_msg, "memory") ? SAL_ENOMEM : SAL_ECONFIG;
        sal_fail(err, st, "[model] arch: %s (choose another [model] arch or [data] dataset)",
                 m->build_msg);
        sal_model_free(m);
        return NULL;
    }
    const int B = spec->max_batch;
    if (sal_params_alloc(&m->params) ||
        !(m->x = alloc_floats((size_t)B * spec->c * spec->h * spec->w)) ||
        !(m->probs = alloc_floats((size_t)B * spec->classes)) || sal_plan(m) ||
        alloc_node_buffers(m)) {
        sal_model_free(m);
        sal_fail(err, SAL_ENOMEM, "model: out of memory for batch %d", B);
        return NULL;
    }
    return m;
}

sal_model *sal_model_create(sal_arch arch, int c, int h, int w, int classes, int max_batch,
                            sal_err *err) {
    sal_model_spec s = {arch, SAL_NORM_GROUP, c, h, w, classes, max_batch, 1, SAL_INIT_KAIMING, 0};
    return sal_model_create_spec(&s, err);
}

void sal_model_free(sal_model *m) {
    if (!m) return;
    for (int i = 0; i < m->nnodes; i++) free(m->nodes[i].mean), free(m->nodes[i].rstd);
    free(m->nodes);
    free(m->values);
    free(m->x);
    free(m->probs);
    free(m->arena);
    free(m->scratch);
    free(m->part);
    sal_params_free(&m->params);
    free(m);
}

sal_params *sal_model_params(sal_model *m) { return &m->params; }
const float *sal_model_logits(const sal_model *m) { return m->values[m->nvalues - 1].buf; }
const float *sal_model_input_grad(const sal_model *m) { return m->values[0].grad; }
double sal_model_forward_macs(const sal_model *m) { return m->macs; }
double sal_model_train_flops(const sal_model *m) { return 2.0 * m->train_macs; }
int sal_model_classes(const sal_model *m) { return m->spec.classes; }
int sal_model_max_batch(const sal_model *m) { return m->spec.max_batch; }
const sal_model_spec *sal_model_get_spec(const sal_model *m) { return &m->spec; }
void sal_model_set_training(sal_model *m, int training) {
    m->training = training == SAL_MODE_PROBE ? SAL_MODE_PROBE : training != 0;
}
int sal_model_training(const sal_model *m) { return m->training; }

size_t sal_model_arena_bytes(const sal_model *m, size_t *unplanned) {
    if (unplanned) *unplanned = m->naive_bytes;
    return m->arena_bytes;
}

void sal_model_input_shape(const sal_model *m, int *c, int *h, int *w) {
    *c = m->spec.c, *h = m->spec.h, *w = m->spec.w;
}

static void fill(float *x, size_t n, float v) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}

/* Norm weights 1, biases 0; BatchNorm's running mean 0, variance 1, count 0: both schemes. */
void sal_model_init_norms(sal_model *m) {
    sal_params *p = &m->params;
    for (int t = 0; t < p->ntensors; t++)
        if (p->t[t].init != SAL_INIT_FANIN)
            fill(sal_params_w(p, t), p->t[t].numel, p->t[t].init == SAL_INIT_ONE ? 1.0f : 0.0f);
    for (int t = 0; t < p->nstate; t++)
        fill(sal_params_s(p, t), p->st[t].numel, p->st[t].init == SAL_INIT_ONE ? 1.0f : 0.0f);
}

void sal_model_init(sal_model *m, uint64_t seed) {
    /* create refused risotto where it cannot apply; what is left to fail is memory for its
     * scratch matrices, and then the model keeps PyTorch's default rather than zeros */
    if (m->spec.init == SAL_INIT_RISOTTO) {
        sal_err e;
        if (sal_model_init_risotto(m, seed, &e) == SAL_OK) return;
    }
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_INIT, 0);
    sal_params *p = &m->params;
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tv = &p->t[t];
        float *w = sal_params_w(p, t);
        if (tv->init != SAL_INIT_FANIN) {
            fill(w, tv->numel, tv->init == SAL_INIT_ONE ? 1.0f : 0.0f);
            continue;
        }
        /* kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), bound gain*sqrt(3/fan_in) =
         * 1/sqrt(fan_in); torch draws the bias from the same bound. */
        float bound = 1.0f / sqrtf((float)tv->fan_in);
        for (size_t i = 0; i < tv->numel; i++)
            w[i] = (float)((2.0 * sal_rng_uniform(&r) - 1.0) * bound);
    }
    for (int t = 0; t < p->nstate; t++)
        fill(sal_params_s(p, t), p->st[t].numel, p->st[t].init == SAL_INIT_ONE ? 1.0f : 0.0f);
}

/* ---- forward and backward ---- */

/* The norm kernels' loops take OpenMP's default team size: this model's. OpenBLAS runs on one
 * thread inside them (the trainers set it), so threads never nest. */
static void set_threads(const sal_model *m) {
#ifdef _OPENMP
    if (omp_get_max_threads() != m->spec.threads) omp_set_num_threads(m->spec.threads);
#else
    (void)m;
#endif
}

static float *W(const sal_model *m, int t) { return t >= 0 ? sal_params_w(&m->params, t) : NULL; }
static float *G(const sal_model *m, int t) { return t >= 0 ? sal_params_g(&m->params, t) : NULL; }
static float *S(const sal_model *m, int t) { return sal_params_s(&m->params, t); }

static void forward_node(sal_model *m, sal_node *n, int B) {
    const sal_value *x = &m->values[n->in[0]], *y = &m->values[n->out];
    const int HW = x->h * x->w;
    switch (n->op) {
    case OP_CONV:
        sal_conv2d_forward_mt(y->buf, x->buf, W(m, n->wt), W(m, n->bt), B, &n->conv, m->scratch,
                              m->spec.threads);
        break;
    case OP_LINEAR:
        sal_linear_forward(y->buf, x->buf, W(m, n->wt), W(m, n->bt), B, (int)numel(x), y->c);
        break;
    case OP_RELU: sal_relu_forward(y->buf, x->buf, (size_t)B * numel(x)); break;
    case OP_MAXPOOL: sal_maxpool2d_forward(y->buf, x->buf, B, x->c, x->h, x->w, n->k); break;
    case OP_AVGPOOL: sal_avgpool_forward(y->buf, x->buf, B, x->c, HW); break;
    case OP_FLATTEN: break; /* a view of its input */
    case OP_GN:
        sal_groupnorm_forward(y->buf, n->mean, n->rstd, x->buf, W(m, n->wt), W(m, n->bt), B,
                              x->c, HW, n->groups, SAL_NORM_EPS);
        break;
    case OP_BN:
        if (m->training)
            sal_batchnorm_forward_train(y->buf, n->mean, n->rstd, S(m, n->rm), S(m, n->rv),
                                        S(m, n->nbt), x->buf, W(m, n->wt), W(m, n->bt), B, x->c,
                                        HW, SAL_NORM_EPS,
                                        m->training == SAL_MODE_PROBE ? -1.0f : SAL_BN_MOMENTUM);
        else
            sal_batchnorm_forward_eval(y->buf, x->buf, S(m, n->rm), S(m, n->rv), W(m, n->wt),
                                       W(m, n->bt), B, x->c, HW, SAL_NORM_EPS);
        break;
    case OP_ADD:
        sal_add_forward(y->buf, x->buf, m->values[n->in[1]].buf, (size_t)B * numel(x));
        break;
    }
}

double sal_model_forward(sal_model *m, const float *x, const int *y, int B, int *correct) {
    memcpy(m->x, x, sizeof(float) * (size_t)B * m->spec.c * m->spec.h * m->spec.w);
    m->batch = B;
    m->y = y;
    set_threads(m);
    for (int i = 0; i < m->nnodes; i++) forward_node(m, &m->nodes[i], B);
    return sal_xent_forward(m->probs, sal_model_logits(m), y, B, m->spec.classes, correct);
}

static void backward_node(sal_model *m, const sal_node *n, int B) {
    const sal_value *x = &m->values[n->in[0]], *y = &m->values[n->out];
    float *dx = x->grad; /* NULL: no parameter upstream, nothing to propagate */
    const int HW = x->h * x->w, acc = n->acc[0];
    switch (n->op) {
    case OP_CONV:
        sal_conv2d_backward_mt(dx, acc, G(m, n->wt), G(m, n->bt), y->grad, x->buf, W(m, n->wt),
                               B, &n->conv, m->scratch, m->spec.threads);
        break;
    case OP_LINEAR:
        sal_linear_backward(dx, acc, G(m, n->wt), G(m, n->bt), y->grad, x->buf, W(m, n->wt), B,
                            (int)numel(x), y->c);
        break;
    case OP_RELU:
        if (dx) sal_relu_backward(dx, acc, y->grad, y->buf, (size_t)B * numel(x));
        break;
    case OP_MAXPOOL: /* the planner never asks a max-pool to accumulate (it has one reader) */
        if (dx) sal_maxpool2d_backward(dx, y->grad, x->buf, y->buf, B, x->c, x->h, x->w, n->k);
        break;
    case OP_AVGPOOL:
        if (dx) sal_avgpool_backward(dx, acc, y->grad, B, x->c, HW);
        break;
    case OP_FLATTEN:
        if (dx) sal_grad_pass(dx, acc, y->grad, (size_t)B * numel(x));
        break;
    case OP_GN:
        sal_groupnorm_backward(dx, acc, G(m, n->wt), G(m, n->bt), y->grad, x->buf, n->mean,
                               n->rstd, W(m, n->wt), B, x->c, HW, n->groups, m->part);
        break;
    case OP_BN:
        if (m->training)
            sal_batchnorm_backward(dx, acc, G(m, n->wt), G(m, n->bt), y->grad, x->buf, n->mean,
                                   n->rstd, W(m, n->wt), B, x->c, HW);
        else
            sal_batchnorm_backward_eval(dx, acc, G(m, n->wt), G(m, n->bt), y->grad, x->buf,
                                        S(m, n->rm), S(m, n->rv), W(m, n->wt), B, x->c, HW,
                                        SAL_NORM_EPS);
        break;
    case OP_ADD:
        for (int k = 0; k < 2; k++) {
            const sal_value *xk = &m->values[n->in[k]];
            if (xk->grad) sal_grad_pass(xk->grad, n->acc[k], y->grad, (size_t)B * numel(xk));
        }
        break;
    }
}

/* The backward loop shared by sal_model_backward and sal_model_backward_from: the logits'
 * gradient is in place; every node runs in reverse, down to the first parameterised one. */
static void backward_nodes(sal_model *m) {
    set_threads(m);
    for (int i = m->nnodes - 1; i >= 0; i--) {
        const sal_node *n = &m->nodes[i];
        if (!m->values[n->out].needs_grad) break; /* nothing upstream holds a parameter */
        backward_node(m, n, m->batch);
    }
}

void sal_model_backward(sal_model *m) {
    sal_xent_backward(m->values[m->nvalues - 1].grad, m->probs, m->y, m->batch,
                      m->spec.classes);
    backward_nodes(m);
}

void sal_model_backward_from(sal_model *m, const float *dlogits) {
    memcpy(m->values[m->nvalues - 1].grad, dlogits,
           sizeof(float) * (size_t)m->batch * m->spec.classes);
    backward_nodes(m);
}

static const char *op_name(sal_op op) {
    static const char *names[] = {"conv", "linear", "relu", "maxpool", "avgpool",
                                  "flatten", "groupnorm", "batchnorm", "add"};
    return names[op];
}

void sal_model_describe(const sal_model *m, void *fp) {
    FILE *f = fp;
    for (int i = 0; i < m->nnodes; i++) {
        const sal_node *n = &m->nodes[i];
        if (n->wt < 0 && m->nnodes > 24) continue; /* long models: parameterised nodes only */
        const sal_value *y = &m->values[n->out];
        size_t np = 0;
        if (n->wt >= 0) np += m->params.t[n->wt].numel;
        if (n->bt >= 0) np += m->params.t[n->bt].numel;
        fprintf(f, "  %-22s %-9s -> (%d, %d, %d) %zu params\n",
                n->wt >= 0 ? n->name : "", op_name(n->op), y->c, y->h, y->w, np);
    }
    fprintf(f, "  total: %zu parameters, %zu state, %.2f MMAC forward per sample\n",
            m->params.n, m->params.ns, m->macs / 1e6);
    fprintf(f, "  activations and gradients: %.1f MiB planned (%.1f MiB unshared) at batch %d\n",
            m->arena_bytes / 1048576.0, m->naive_bytes / 1048576.0, m->spec.max_batch);
}
