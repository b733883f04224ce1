/* arch.c - the node builders and the architectures built from them. Tensor names equal the
 * PyTorch reference modules' state_dict keys (tests/fixtures/gen_fixtures.py, and for the
 * ResNets riohib/SSFL api/model/resnet.py), registered in the modules' registration order so
 * that tensor t here is named_parameters()[t] there. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static int fail(sal_model *m, const char *fmt, ...) {
    if (!m->build_failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->build_msg, sizeof m->build_msg, fmt, ap);
        va_end(ap);
    }
    m->build_failed = 1;
    return -1;
}

/* A new value of shape (c, h, w), or -1. */
static int new_value(sal_model *m, int c, int h, int w) {
    if (m->nvalues == m->vcap) {
        int cap = m->vcap ? 2 * m->vcap : 64;
        sal_value *v = realloc(m->values, sizeof *v * (size_t)cap);
        if (!v) return fail(m, "out of memory");
        m->values = v, m->vcap = cap;
    }
    sal_value *v = &m->values[m->nvalues];
    memset(v, 0, sizeof *v);
    v->c = c, v->h = h, v->w = w;
    v->producer = m->nnodes; /* the node being added (or nnodes = 0 for the input) */
    v->alias = v->galias = -1;
    return m->nvalues++;
}

/* Append a node reading in[0..nin) and producing a value of shape (c, h, w). */
static sal_node *push(sal_model *m, sal_op op, const char *name, const int *in, int nin, int c,
                      int h, int w) {
    if (m->build_failed) return NULL;
    if (strlen(name) >= SAL_NAME_MAX) return fail(m, "layer name %.40s... too long", name), NULL;
    for (int k = 0; k < nin; k++)
        if (in[k] < 0 || in[k] >= m->nvalues) return fail(m, "bad graph input"), NULL;
    if (c < 1 || h < 1 || w < 1)
        return fail(m, "input %dx%dx%d is too small for this architecture at %s", m->spec.c,
                    m->spec.h, m->spec.w, name), NULL;
    if (m->nnodes == m->ncap) {
        int cap = m->ncap ? 2 * m->ncap : 64;
        sal_node *n = realloc(m->nodes, sizeof *n * (size_t)cap);
        if (!n) return fail(m, "out of memory"), NULL;
        m->nodes = n, m->ncap = cap;
    }
    int out = new_value(m, c, h, w);
    if (out < 0) return NULL;
    sal_node *n = &m->nodes[m->nnodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->nin = nin, n->out = out;
    for (int k = 0; k < nin; k++) n->in[k] = in[k], m->values[in[k]].nuse++;
    n->wt = n->bt = n->rm = n->rv = n->nbt = -1;
    return n;
}

/* Register "<node>.<leaf>" as a trainable (or, with state, non-trainable) tensor. */
static int tensor(sal_model *m, const sal_node *n, const char *leaf, int ndim, const int *shape,
                  int fan_in, int prunable, sal_init_kind init, int state) {
    char nm[SAL_NAME_MAX + 32];
    snprintf(nm, sizeof nm, "%s.%s", n->name, leaf);
    int t = state ? sal_params_add_state(&m->params, nm, ndim, shape, init)
                  : sal_params_add(&m->params, nm, ndim, shape, fan_in, prunable, init);
    if (t < 0) fail(m, "cannot add tensor %s (name too long or out of memory)", nm);
    return t;
}

static const sal_value *val(const sal_model *m, int v) { return &m->values[v]; }

int sal_g_conv(sal_model *m, const char *name, int in, int O, int K, int stride, int pad,
               int bias) {
    if (in < 0 || m->build_failed) return -1;
    const sal_value x = *val(m, in);
    sal_conv_shape s;
    if (sal_conv_shape_init(&s, x.c, x.h, x.w, O, K, stride, pad))
        return fail(m, "input %dx%dx%d is too small for this architecture at %s", m->spec.c,
                    m->spec.h, m->spec.w, name);
    sal_node *n = push(m, OP_CONV, name, &in, 1, O, s.OH, s.OW);
    if (!n) return -1;
    n->conv = s;
    int shape[4] = {O, x.c, K, K}, fan_in = x.c * K * K;
    n->wt = tensor(m, n, "weight", 4, shape, fan_in, 1, SAL_INIT_FANIN, 0);
    if (bias) n->bt = tensor(m, n, "bias", 1, &O, fan_in, 0, SAL_INIT_FANIN, 0);
    m->macs += (double)O * s.OH * s.OW * fan_in;
    return n->out;
}

int sal_g_linear(sal_model *m, const char *name, int in, int O) {
    if (in < 0 || m->build_failed) return -1;
    const sal_value x = *val(m, in);
    int I = x.c * x.h * x.w;
    sal_node *n = push(m, OP_LINEAR, name, &in, 1, O, 1, 1);
    if (!n) return -1;
    int shape[2] = {O, I};
    n->wt = tensor(m, n, "weight", 2, shape, I, 1, SAL_INIT_FANIN, 0);
    n->bt = tensor(m, n, "bias", 1, &O, I, 0, SAL_INIT_FANIN, 0);
    m->macs += (double)O * I;
    return n->out;
}

int sal_g_norm(sal_model *m, const char *name, int in) {
    if (in < 0 || m->build_failed) return -1;
    if (m->spec.norm == SAL_NORM_NONE) return in; /* no node and no tensors: names stay put */
    const sal_value x = *val(m, in);
    int batch = m->spec.norm == SAL_NORM_BATCH;
    sal_node *n = push(m, batch ? OP_BN : OP_GN, name, &in, 1, x.c, x.h, x.w);
    if (!n) return -1;
    /* fan_in 1: the closed-form test parameters divide by it; init ignores it for norms */
    n->wt = tensor(m, n, "weight", 1, &x.c, 1, 0, SAL_INIT_ONE, 0);
    n->bt = tensor(m, n, "bias", 1, &x.c, 1, 0, SAL_INIT_ZERO, 0);
    if (batch) {
        int one = 1;
        n->rm = tensor(m, n, "running_mean", 1, &x.c, 1, 0, SAL_INIT_ZERO, 1);
        n->rv = tensor(m, n, "running_var", 1, &x.c, 1, 0, SAL_INIT_ONE, 1);
        n->nbt = tensor(m, n, "num_batches_tracked", 1, &one, 1, 0, SAL_INIT_ZERO, 1);
    } else {
        /* GroupNorm(min(32, C), C), as riohib/SSFL's _replace_bn_with_gn */
        n->groups = x.c < 32 ? x.c : 32;
        if (x.c % n->groups) return fail(m, "%s: %d channels do not split into %d groups", name,
                                         x.c, n->groups);
    }
    return n->out;
}

int sal_g_relu(sal_model *m, int in) {
    if (in < 0) return -1;
    const sal_value x = *val(m, in);
    sal_node *n = push(m, OP_RELU, "relu", &in, 1, x.c, x.h, x.w);
    return n ? n->out : -1;
}

int sal_g_maxpool(sal_model *m, int in, int k) {
    if (in < 0) return -1;
    const sal_value x = *val(m, in);
    sal_node *n = push(m, OP_MAXPOOL, "pool", &in, 1, x.c, x.h / k, x.w / k);
    if (!n) return -1;
    n->k = k;
    return n->out;
}

int sal_g_avgpool(sal_model *m, int in) {
    if (in < 0) return -1;
    const sal_value x = *val(m, in);
    sal_node *n = push(m, OP_AVGPOOL, "avgpool", &in, 1, x.c, 1, 1);
    return n ? n->out : -1;
}

int sal_g_flatten(sal_model *m, int in) {
    if (in < 0) return -1;
    const sal_value x = *val(m, in);
    sal_node *n = push(m, OP_FLATTEN, "flatten", &in, 1, x.c * x.h * x.w, 1, 1);
    return n ? n->out : -1;
}

int sal_g_add(sal_model *m, int a, int b) {
    if (a < 0 || b < 0) return -1;
    const sal_value x = *val(m, a), z = *val(m, b);
    if (x.c != z.c || x.h != z.h || x.w != z.w)
        return fail(m, "residual add of %dx%dx%d and %dx%dx%d", x.c, x.h, x.w, z.c, z.h, z.w);
    int in[2] = {a, b};
    sal_node *n = push(m, OP_ADD, "add", in, 2, x.c, x.h, x.w);
    return n ? n->out : -1;
}

/* ---- the small models ---- */

static int conv_relu_pool(sal_model *m, const char *name, int x, int O, int K, int pad) {
    return sal_g_maxpool(m, sal_g_relu(m, sal_g_conv(m, name, x, O, K, 1, pad, 1)), 2);
}

static void small(sal_model *m, int x) {
    const int classes = m->spec.classes;
    switch (m->spec.arch) {
    case SAL_ARCH_MLP:
        x = sal_g_flatten(m, x);
        x = sal_g_relu(m, sal_g_linear(m, "fc1", x, 300));
        x = sal_g_relu(m, sal_g_linear(m, "fc2", x, 100));
        sal_g_linear(m, "fc3", x, classes);
        break;
    case SAL_ARCH_LENET5:
        x = conv_relu_pool(m, "conv1", x, 6, 5, 2);
        x = conv_relu_pool(m, "conv2", x, 16, 5, 0);
        x = sal_g_flatten(m, x);
        x = sal_g_relu(m, sal_g_linear(m, "fc1", x, 120));
        x = sal_g_relu(m, sal_g_linear(m, "fc2", x, 84));
        sal_g_linear(m, "fc3", x, classes);
        break;
    case SAL_ARCH_CNN:
        x = conv_relu_pool(m, "conv1", x, 32, 3, 1);
        x = conv_relu_pool(m, "conv2", x, 64, 3, 1);
        x = conv_relu_pool(m, "conv3", x, 64, 3, 1);
        x = sal_g_flatten(m, x);
        x = sal_g_relu(m, sal_g_linear(m, "fc1", x, 256));
        sal_g_linear(m, "fc2", x, classes);
        break;
    default: /* SAL_ARCH_LINEAR */
        sal_g_linear(m, "fc", sal_g_flatten(m, x), classes);
        break;
    }
}

/* ---- the ResNets ---- */

/* "<prefix>.<leaf>" into buf */
static const char *nm(char *buf, size_t cap, const char *prefix, const char *leaf) {
    snprintf(buf, cap, "%s.%s", prefix, leaf);
    return buf;
}

/* The 1x1 conv + norm shortcut where the shape changes (stride or channels), else x itself. */
static int shortcut(sal_model *m, const char *p, int x, int O, int stride) {
    char b[2 * SAL_NAME_MAX];
    if (stride == 1 && m->values[x].c == O) return x;
    x = sal_g_conv(m, nm(b, sizeof b, p, "shortcut.0"), x, O, 1, stride, 0, 0);
    return sal_g_norm(m, nm(b, sizeof b, p, "shortcut.1"), x);
}

/* BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) */
static int basic_block(sal_model *m, const char *p, int x, int planes, int stride) {
    char b[2 * SAL_NAME_MAX];
    int y = sal_g_conv(m, nm(b, sizeof b, p, "conv1"), x, planes, 3, stride, 1, 0);
    y = sal_g_relu(m, sal_g_norm(m, nm(b, sizeof b, p, "bn1"), y));
    y = sal_g_conv(m, nm(b, sizeof b, p, "conv2"), y, planes, 3, 1, 1, 0);
    y = sal_g_norm(m, nm(b, sizeof b, p, "bn2"), y);
    return sal_g_relu(m, sal_g_add(m, y, shortcut(m, p, x, planes, stride)));
}

/* Bottleneck: 1x1 reduce, 3x3 (strided), 1x1 expand by 4, + shortcut(x) */
static int bottleneck(sal_model *m, const char *p, int x, int planes, int stride) {
    char b[2 * SAL_NAME_MAX];
    int y = sal_g_conv(m, nm(b, sizeof b, p, "conv1"), x, planes, 1, 1, 0, 0);
    y = sal_g_relu(m, sal_g_norm(m, nm(b, sizeof b, p, "bn1"), y));
    y = sal_g_conv(m, nm(b, sizeof b, p, "conv2"), y, planes, 3, stride, 1, 0);
    y = sal_g_relu(m, sal_g_norm(m, nm(b, sizeof b, p, "bn2"), y));
    y = sal_g_conv(m, nm(b, sizeof b, p, "conv3"), y, 4 * planes, 1, 1, 0, 0);
    y = sal_g_norm(m, nm(b, sizeof b, p, "bn3"), y);
    return sal_g_relu(m, sal_g_add(m, y, shortcut(m, p, x, 4 * planes, stride)));
}

static void resnet(sal_model *m, int x) {
    static const int r20[] = {3, 3, 3}, r18[] = {2, 2, 2, 2}, r50[] = {3, 4, 6, 3};
    const int *blocks = r18, stages = m->spec.arch == SAL_ARCH_RESNET20 ? 3 : 4;
    const int width = m->spec.arch == SAL_ARCH_RESNET20 ? 16 : 64;
    const int bneck = m->spec.arch == SAL_ARCH_RESNET50;
    if (m->spec.arch == SAL_ARCH_RESNET20) blocks = r20;
    if (bneck) blocks = r50;
    x = sal_g_conv(m, "conv1", x, width, 3, 1, 1, 0);
    x = sal_g_relu(m, sal_g_norm(m, "bn1", x));
    for (int s = 0; s < stages; s++)
        for (int i = 0; i < blocks[s]; i++) {
            char p[SAL_NAME_MAX];
            snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
            int stride = s > 0 && i == 0 ? 2 : 1;
            x = bneck ? bottleneck(m, p, x, width << s, stride)
                      : basic_block(m, p, x, width << s, stride);
        }
    /* SSFL's code pools with avg_pool2d(out, 4) on the 4x4 map of a 32x32 (or 28x28) input:
     * global average pooling there, and for any other input size here. */
    x = sal_g_flatten(m, sal_g_avgpool(m, x));
    sal_g_linear(m, "linear", x, m->spec.classes);
}

int sal_arch_build(sal_model *m) {
    if (new_value(m, m->spec.c, m->spec.h, m->spec.w) != 0) return -1; /* value 0: the input */
    m->values[0].producer = -1;
    switch (m->spec.arch) {
    case SAL_ARCH_MLP:
    case SAL_ARCH_LENET5:
    case SAL_ARCH_CNN:
    case SAL_ARCH_LINEAR: small(m, 0); break;
    case SAL_ARCH_RESNET20:
    case SAL_ARCH_RESNET18:
    case SAL_ARCH_RESNET50: resnet(m, 0); break;
    default: return fail(m, "unknown architecture %d", (int)m->spec.arch);
    }
    return m->build_failed ? -1 : 0;
}
