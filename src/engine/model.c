/* model.c - sequential models over the flat parameter buffer: layer table, buffers allocated
 * once, forward and backward loops. The layer kernels live in linear.c, conv2d.c and
 * activations.c. */
#include "salient/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salient/layers.h"
#include "salient/rng.h"

typedef enum { L_CONV, L_LINEAR, L_RELU, L_POOL, L_FLATTEN } layer_kind;

typedef struct layer {
    layer_kind kind;
    char name[SAL_NAME_MAX];
    int in_c, in_h, in_w;    /* per-sample input shape */
    int out_c, out_h, out_w; /* per-sample output shape */
    int k;                   /* pool window */
    sal_conv_shape conv;
    int wt, bt;              /* tensor indices of weight and bias, -1 if none */
    float *in;               /* (B, in_c, in_h, in_w) borrowed: previous layer's output or x */
    float *out;              /* (B, out_c, out_h, out_w) owned, or == in for relu/flatten */
} layer;

struct sal_model {
    sal_arch arch;
    int c, h, w, classes, max_batch, batch;
    int nlayers;
    int first_param_layer; /* index of the first layer with weights: it needs no input gradient */
    layer layers[16];
    sal_params params;
    float *x;        /* (max_batch, c, h, w) copy of the input batch */
    const int *y;    /* labels of the last forward, borrowed */
    float *probs;    /* (max_batch, classes) softmax of the logits */
    float *grad_a;   /* two ping-pong buffers for activation gradients, each the largest */
    float *grad_b;   /*   activation of the network */
    float *scratch;  /* conv im2col scratch, the largest any conv layer needs */
    double macs;     /* per-sample forward multiply-accumulates */
    double first_macs; /* of the first parameterised layer, which needs no input gradient */
};

static size_t out_numel(const layer *l) { return (size_t)l->out_c * l->out_h * l->out_w; }

/* ---- building ---- */

static layer *push(sal_model *m, layer_kind kind, const char *name) {
    layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->wt = l->bt = -1;
    snprintf(l->name, sizeof l->name, "%s", name);
    if (m->nlayers == 1) {
        l->in_c = m->c, l->in_h = m->h, l->in_w = m->w;
    } else {
        const layer *p = l - 1;
        l->in_c = p->out_c, l->in_h = p->out_h, l->in_w = p->out_w;
    }
    l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->in_w;
    return l;
}

static void add_params(sal_model *m, layer *l, int ndim, const int *wshape, int fan_in, int bias_n) {
    char nm[SAL_NAME_MAX + 8];
    snprintf(nm, sizeof nm, "%s.weight", l->name);
    l->wt = sal_params_add(&m->params, nm, ndim, wshape, fan_in, 1);
    snprintf(nm, sizeof nm, "%s.bias", l->name);
    l->bt = sal_params_add(&m->params, nm, 1, &bias_n, fan_in, 0);
}

static int add_conv(sal_model *m, const char *name, int O, int K, int pad) {
    layer *l = push(m, L_CONV, name);
    if (sal_conv_shape_init(&l->conv, l->in_c, l->in_h, l->in_w, O, K, 1, pad)) return -1;
    l->out_c = O, l->out_h = l->conv.OH, l->out_w = l->conv.OW;
    int shape[4] = {O, l->in_c, K, K};
    add_params(m, l, 4, shape, l->in_c * K * K, O);
    double macs = (double)O * l->out_h * l->out_w * l->in_c * K * K;
    if (m->macs == 0) m->first_macs = macs;
    m->macs += macs;
    return 0;
}

static int add_linear(sal_model *m, const char *name, int O) {
    layer *l = push(m, L_LINEAR, name);
    int I = l->in_c * l->in_h * l->in_w;
    l->out_c = O, l->out_h = 1, l->out_w = 1;
    int shape[2] = {O, I};
    add_params(m, l, 2, shape, I, O);
    if (m->macs == 0) m->first_macs = (double)O * I;
    m->macs += (double)O * I;
    return 0;
}

static int add_pool(sal_model *m, const char *name, int k) {
    layer *l = push(m, L_POOL, name);
    l->k = k;
    l->out_h = l->in_h / k, l->out_w = l->in_w / k;
    return l->out_h < 1 || l->out_w < 1 ? -1 : 0;
}

static void add_relu(sal_model *m, const char *name) { push(m, L_RELU, name); }

static void add_flatten(sal_model *m) {
    layer *l = push(m, L_FLATTEN, "flatten");
    l->out_c = l->in_c * l->in_h * l->in_w, l->out_h = l->out_w = 1;
}

/* Layer tables. Names match the PyTorch reference modules (tests/fixtures/gen_fixtures.py). */
static int build(sal_model *m) {
    int rc = 0;
    switch (m->arch) {
    case SAL_ARCH_MLP:
        add_flatten(m);
        rc |= add_linear(m, "fc1", 300), add_relu(m, "relu1");
        rc |= add_linear(m, "fc2", 100), add_relu(m, "relu2");
        rc |= add_linear(m, "fc3", m->classes);
        break;
    case SAL_ARCH_LENET5:
        rc |= add_conv(m, "conv1", 6, 5, 2), add_relu(m, "relu1"), rc |= add_pool(m, "pool1", 2);
        rc |= add_conv(m, "conv2", 16, 5, 0), add_relu(m, "relu2"), rc |= add_pool(m, "pool2", 2);
        add_flatten(m);
        rc |= add_linear(m, "fc1", 120), add_relu(m, "relu3");
        rc |= add_linear(m, "fc2", 84), add_relu(m, "relu4");
        rc |= add_linear(m, "fc3", m->classes);
        break;
    case SAL_ARCH_CNN:
        rc |= add_conv(m, "conv1", 32, 3, 1), add_relu(m, "relu1"), rc |= add_pool(m, "pool1", 2);
        rc |= add_conv(m, "conv2", 64, 3, 1), add_relu(m, "relu2"), rc |= add_pool(m, "pool2", 2);
        rc |= add_conv(m, "conv3", 64, 3, 1), add_relu(m, "relu3"), rc |= add_pool(m, "pool3", 2);
        add_flatten(m);
        rc |= add_linear(m, "fc1", 256), add_relu(m, "relu4");
        rc |= add_linear(m, "fc2", m->classes);
        break;
    case SAL_ARCH_LINEAR: /* fc is the only parameterised layer: backward stops there */
        add_flatten(m);
        rc |= add_linear(m, "fc", m->classes);
        break;
    default: return -1;
    }
    return rc;
}

static void *alloc_floats(size_t n) {
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes ? bytes : 64); /* first touch here, not in the first timed step */
    return p;
}

sal_model *sal_model_create(sal_arch arch, int c, int h, int w, int classes, int max_batch,
                            sal_err *err) {
    if (c < 1 || h < 1 || w < 1 || classes < 2 || max_batch < 1) {
        sal_fail(err, SAL_EINVAL, "model: bad input shape %dx%dx%d, %d classes, batch %d", c, h,
                 w, classes, max_batch);
        return NULL;
    }
    sal_model *m = calloc(1, sizeof *m);
    if (!m) return sal_fail(err, SAL_ENOMEM, "model: out of memory"), NULL;
    m->arch = arch, m->c = c, m->h = h, m->w = w, m->classes = classes, m->max_batch = max_batch;
    if (build(m)) {
        sal_fail(err, SAL_ECONFIG,
                 "[model] arch: input %dx%dx%d is too small for this architecture's pooling "
                 "(choose another [model] arch or [data] dataset)", c, h, w);
        free(m);
        return NULL;
    }
    while (m->first_param_layer < m->nlayers - 1 && m->layers[m->first_param_layer].wt < 0)
        m->first_param_layer++;
    if (sal_params_alloc(&m->params)) goto oom;
    size_t max_act = (size_t)c * h * w, scratch = 0;
    float *prev = m->x = alloc_floats((size_t)max_batch * c * h * w);
    if (!prev) goto oom;
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        l->in = prev;
        if (out_numel(l) > max_act) max_act = out_numel(l);
        if (l->kind == L_RELU || l->kind == L_FLATTEN) {
            l->out = prev; /* in place / a view: saves a copy and a buffer */
        } else {
            if (!(l->out = alloc_floats((size_t)max_batch * out_numel(l)))) goto oom;
        }
        if (l->kind == L_CONV && sal_conv_scratch_floats(&l->conv) > scratch)
            scratch = sal_conv_scratch_floats(&l->conv);
        prev = l->out;
    }
    m->probs = alloc_floats((size_t)max_batch * classes);
    m->grad_a = alloc_floats((size_t)max_batch * max_act);
    m->grad_b = alloc_floats((size_t)max_batch * max_act);
    m->scratch = alloc_floats(scratch);
    if (!m->probs || !m->grad_a || !m->grad_b || !m->scratch) goto oom;
    return m;
oom:
    sal_model_free(m);
    sal_fail(err, SAL_ENOMEM, "model: out of memory for batch %d", max_batch);
    return NULL;
}

void sal_model_free(sal_model *m) {
    if (!m) return;
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        if (l->kind != L_RELU && l->kind != L_FLATTEN) free(l->out);
    }
    free(m->x);
    free(m->probs);
    free(m->grad_a);
    free(m->grad_b);
    free(m->scratch);
    sal_params_free(&m->params);
    free(m);
}

sal_params *sal_model_params(sal_model *m) { return &m->params; }
const float *sal_model_logits(const sal_model *m) { return m->layers[m->nlayers - 1].out; }
double sal_model_forward_macs(const sal_model *m) { return m->macs; }
double sal_model_train_flops(const sal_model *m) { return 2.0 * (3.0 * m->macs - m->first_macs); }
int sal_model_classes(const sal_model *m) { return m->classes; }
int sal_model_max_batch(const sal_model *m) { return m->max_batch; }

void sal_model_input_shape(const sal_model *m, int *c, int *h, int *w) {
    *c = m->c, *h = m->h, *w = m->w;
}

void sal_model_init(sal_model *m, uint64_t seed) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_INIT, 0);
    for (int t = 0; t < m->params.ntensors; t++) {
        const sal_tensor *tv = &m->params.t[t];
        /* kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), bound gain*sqrt(3/fan_in) =
         * 1/sqrt(fan_in); torch draws the bias from the same bound. */
        float bound = 1.0f / sqrtf((float)tv->fan_in);
        float *w = sal_params_w(&m->params, t);
        for (size_t i = 0; i < tv->numel; i++)
            w[i] = (float)((2.0 * sal_rng_uniform(&r) - 1.0) * bound);
    }
}

/* ---- forward and backward ---- */

double sal_model_forward(sal_model *m, const float *x, const int *y, int B, int *correct) {
    const sal_params *p = &m->params;
    memcpy(m->x, x, sizeof(float) * (size_t)B * m->c * m->h * m->w);
    m->batch = B;
    m->y = y;
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        switch (l->kind) {
        case L_CONV:
            sal_conv2d_forward(l->out, l->in, sal_params_w(p, l->wt), sal_params_w(p, l->bt), B,
                               &l->conv, m->scratch);
            break;
        case L_LINEAR:
            sal_linear_forward(l->out, l->in, sal_params_w(p, l->wt), sal_params_w(p, l->bt), B,
                               l->in_c * l->in_h * l->in_w, l->out_c);
            break;
        case L_RELU: sal_relu_forward(l->out, (size_t)B * out_numel(l)); break;
        case L_POOL:
            sal_maxpool2d_forward(l->out, l->in, B, l->in_c, l->in_h, l->in_w, l->k);
            break;
        case L_FLATTEN: break;
        }
    }
    return sal_xent_forward(m->probs, sal_model_logits(m), y, B, m->classes, correct);
}

/* The backward loop shared by sal_model_backward and sal_model_backward_from: propagates the
 * logits' gradient, already in m->grad_a, down to the first parameterised layer. */
static void backward_layers(sal_model *m) {
    const sal_params *p = &m->params;
    const int B = m->batch;
    float *dout = m->grad_a, *din = m->grad_b;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        layer *l = &m->layers[i];
        /* Below the first parameterised layer no gradient is needed: stop propagating there. */
        int need_din = i > m->first_param_layer;
        switch (l->kind) {
        case L_CONV:
            sal_conv2d_backward(need_din ? din : NULL, sal_params_g(p, l->wt),
                                sal_params_g(p, l->bt), dout, l->in, sal_params_w(p, l->wt), B,
                                &l->conv, m->scratch);
            break;
        case L_LINEAR:
            sal_linear_backward(need_din ? din : NULL, sal_params_g(p, l->wt),
                                sal_params_g(p, l->bt), dout, l->in, sal_params_w(p, l->wt), B,
                                l->in_c * l->in_h * l->in_w, l->out_c);
            break;
        case L_RELU:
            sal_relu_backward(dout, l->out, (size_t)B * out_numel(l));
            continue; /* in place: dout stays the current gradient */
        case L_POOL:
            sal_maxpool2d_backward(din, dout, l->in, l->out, B, l->in_c, l->in_h, l->in_w, l->k);
            break;
        case L_FLATTEN: continue; /* same memory, new shape */
        }
        if (!need_din) break;
        float *t = dout;
        dout = din, din = t;
    }
}

void sal_model_backward(sal_model *m) {
    sal_xent_backward(m->grad_a, m->probs, m->y, m->batch, m->classes);
    backward_layers(m);
}

void sal_model_backward_from(sal_model *m, const float *dlogits) {
    memcpy(m->grad_a, dlogits, sizeof(float) * (size_t)m->batch * m->classes);
    backward_layers(m);
}

void sal_model_describe(const sal_model *m, void *fp) {
    FILE *f = fp;
    for (int i = 0; i < m->nlayers; i++) {
        const layer *l = &m->layers[i];
        size_t np = 0;
        if (l->wt >= 0) np = m->params.t[l->wt].numel + m->params.t[l->bt].numel;
        fprintf(f, "  %-8s -> (%d, %d, %d)%*s %zu params\n", l->name, l->out_c, l->out_h,
                l->out_w, 4, "", np);
    }
    fprintf(f, "  total: %zu parameters, %.2f MMAC forward per sample\n", m->params.n,
            m->macs / 1e6);
}
