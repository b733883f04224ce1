/* init_risotto.c - RISOTTO initialisation of the BasicBlock ResNets (resnet20, resnet18):
 * A. Gadhikar and R. Burkholz, "Dynamical isometry for residual networks", arXiv 2210.02411
 * (ICLR 2023). Its promise, from the abstract: perfect dynamical isometry (the input-output
 * Jacobian exactly orthogonal) for ReLU ResNets at finite depth and width, with the residual and
 * skip branches balanced rather than biased towards the skip. Here, without normalisation, for
 * two kinds of block, named in this file type B (1x1-conv shortcut) and type C (identity
 * shortcut); see "Provenance" below for what is and is not taken from the paper.
 *
 * The tools: looks-linear weights (Balduzzi et al. 2017; Burkholz and Dubatovka 2019), which
 * the paper's introduction names for this, combined with orthogonal submatrices, and
 * delta-orthogonal convolutions (Xiao et al. 2018: only the kernel's centre tap is non-zero, an
 * orthogonal matrix). A value of C = 2n channels is read as [a; b] carrying
 * the n-dim signal z = a - b, and every block output is [relu(z); relu(-z)]. A looks-linear
 * centre tap LL(M) = [[M, -M], [-M, M]] maps [a; b] to [Mz; -Mz], whose ReLU carries Mz: the
 * network is linear in z at initialisation, its Jacobian the product of the signal maps below.
 *
 *   stem conv1 (c -> C): [U; -U], U (n x c) with orthonormal columns (c <= n).
 *   type B, C_in = 2q -> C_out = 2p, stride s (shortcut.0 is a strided 1x1 conv):
 *     conv1 = LL(U1), U1 (p x q) orthonormal columns; conv2 = LL(M2) / sqrt 2, M2 (p x p)
 *     orthogonal; shortcut = LL(M2 U1 K) / sqrt 2, K (q x q) orthogonal and antisymmetric.
 *     Residual M2 U1 / sqrt 2 plus skip M2 U1 K / sqrt 2 = M2 U1 (I + K) / sqrt 2: an isometry
 *     (K^T = -K makes (I + K) / sqrt 2 orthogonal), each branch carrying half the energy.
 *   type C, C = 2n, identity shortcut:
 *     the skip adds [relu(z); relu(-z)], which is not looks-linear (its common part |z| is not
 *     linear in z): the residual branch must cancel it, and a looks-linear conv1 passes on
 *     only z, never |z|. So conv1 = P, a random permutation (it keeps the non-negative input
 *     as it is through the ReLU), and conv2 = (LL(A) - I) P^T: the pre-activation is then
 *     LL(A) x = [Az; -Az]. A (n x n) = O^T R O with R 60-degree rotations in n/2 planes: A and
 *     A - I are both orthogonal, so the block is an isometry and the residual branch ((A - I) z)
 *     moves the signal as much as the skip (z) does: balanced, not biased to the skip.
 *   head linear (classes x C): [V, -V], V orthonormal rows (classes <= n); biases 0.
 *
 * Provenance. Read from the paper: the abstract (the promise above) and the introduction (the
 * tools: looks-linear structure combined with orthogonal submatrices). Not read: its Sec. 2-3,
 * the block definitions with their equations, the scalars weighting residual branch and skip,
 * and which block it calls B and which C. The stored copies this project can reach hold the
 * abstract and introduction only, and no code by the authors is indexed (looked for in session
 * 15). So no equation of the paper is quoted here or claimed to be followed: both block
 * constructions are salient's own, derived for its BasicBlock (ReLU after the add, as He et al.
 * and SSFL's code), and held to the promise by measurement in tests/test_init.c: the whole
 * network's Jacobian (singular values 1) and, block by block, the balance (the residual
 * branch's contribution d to the block's output signal as large as the skip's k, |d| = |k|;
 * type B also |k|^2 = |z|^2 / 2), which the Jacobian cannot see: a type C block with A a
 * 10-degree rotation, or a type B block split 0.99 / 0.14 for 1/sqrt 2 each, is as orthogonal.
 * The letters follow He et al.'s shortcut options only loosely (their option C makes every
 * shortcut a projection); should the paper's labels differ, the names are off, not the weights.
 * With GroupNorm or BatchNorm the same weights are drawn; the isometry is then approximate (the
 * paper also trains Risotto with BN). Orthogonal matrices are Gram-Schmidt of Gaussian draws
 * (twice, in double), which is Haar (Mezzadri 2007): plain C, so the same seed gives bitwise
 * the same weights on every machine and thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "salient/rng.h"

/* C11 without POSIX names PI and SQRT1_2 nowhere */
#define PI 3.14159265358979323846
#define SQRT1_2 0.70710678118654752440

const char sal_risotto_unsupported[] =
    "[model] init = risotto is defined for the BasicBlock ResNets (arch = resnet20 or "
    "resnet18); set init = kaiming for this [model] arch";

/* out (m x n, row-major) with orthonormal columns if m >= n, orthonormal rows otherwise, drawn
 * Haar from r. work: m * n doubles. */
static void semi_orthogonal(sal_rng *r, int m, int n, double *out, double *work) {
    const int tall = m >= n, rows = tall ? m : n, cols = tall ? n : m; /* work is rows x cols */
    for (int i = 0; i < rows * cols; i++) work[i] = sal_rng_normal(r);
    for (int j = 0; j < cols; j++) {
        for (int pass = 0; pass < 2; pass++) /* twice is enough (Giraud et al. 2005) */
            for (int k = 0; k < j; k++) {
                double d = 0;
                for (int i = 0; i < rows; i++) d += work[i * cols + k] * work[i * cols + j];
                for (int i = 0; i < rows; i++) work[i * cols + j] -= d * work[i * cols + k];
            }
        double s = 0;
        for (int i = 0; i < rows; i++) s += work[i * cols + j] * work[i * cols + j];
        s = 1.0 / sqrt(s);
        for (int i = 0; i < rows; i++) work[i * cols + j] *= s;
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (tall) out[i * n + j] = work[i * cols + j];
            else out[j * n + i] = work[i * cols + j];
}

/* c = a (m x k) b (k x n), row-major */
static void matmul(double *c, const double *a, const double *b, int m, int k, int n) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
            c[i * n + j] = s;
        }
}

/* out (n x n) = O^T R O, O Haar orthogonal, R block-diagonal 2x2 rotations by theta: an
 * orthogonal matrix with every eigenvalue exp(+-i theta). n even. work: 3 n^2 doubles. */
static void planar_rotation(sal_rng *r, int n, double theta, double *out, double *work) {
    double *o = work, *ro = work + (size_t)n * n, *scratch = work + 2 * (size_t)n * n;
    semi_orthogonal(r, n, n, o, scratch);
    const double c = cos(theta), s = sin(theta);
    for (int i = 0; i < n; i += 2) /* rows i, i+1 of R O */
        for (int j = 0; j < n; j++) {
            ro[i * n + j] = c * o[i * n + j] - s * o[(i + 1) * n + j];
            ro[(i + 1) * n + j] = s * o[i * n + j] + c * o[(i + 1) * n + j];
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = 0;
            for (int t = 0; t < n; t++) v += o[t * n + i] * ro[t * n + j];
            out[i * n + j] = v;
        }
}

/* Write centre tap (o, i) of the conv weight (O, I, K, K), whose other taps are already 0. */
static void tap(float *w, int I, int K, int o, int i, double v) {
    w[(((size_t)o * I + i) * K + K / 2) * K + K / 2] = (float)v;
}

/* Conv weight (2p, 2q, K, K) with centre tap scale * LL(M), M (p x q). */
static void looks_linear(float *w, int K, const double *mat, int p, int q, double scale) {
    for (int o = 0; o < 2 * p; o++)
        for (int i = 0; i < 2 * q; i++) {
            double sign = (o < p) == (i < q) ? 1.0 : -1.0;
            tap(w, 2 * q, K, o, i, sign * scale * mat[(o % p) * q + (i % q)]);
        }
}

typedef struct {
    const sal_params *p;
    char msg[160];
} ctx;

/* Tensor index of name with the expected rank and, for convs, a square kernel; -1 if absent. */
static int find(const sal_params *p, const char *name) { return sal_params_find(p, name); }

static int fail(ctx *c, const char *fmt, const char *name) {
    snprintf(c->msg, sizeof c->msg, fmt, name);
    return -1;
}

/* Even signal widths: K and R act on planes. The ResNets' widths are 16 * 2^k or 64 * 2^k. */
static int check_even(ctx *c, const sal_tensor *t) {
    if (t->shape[0] % 4 || t->shape[1] % 4)
        return fail(c, "[model] init = risotto: %s needs channel counts divisible by 4", t->name);
    return 0;
}

static int block_b(ctx *c, sal_rng *r, double *ws, int c1, int c2, int sc) {
    const sal_params *p = c->p;
    const sal_tensor *t1 = &p->t[c1], *t2 = &p->t[c2], *ts = &p->t[sc];
    if (check_even(c, t1) || check_even(c, t2)) return -1;
    const int pp = t1->shape[0] / 2, q = t1->shape[1] / 2;
    if (pp < q) return fail(c, "[model] init = risotto: %s narrows the block", t1->name);
    double *u1 = ws, *m2 = u1 + (size_t)pp * q, *k = m2 + (size_t)pp * pp,
           *prod = k + (size_t)q * q, *skip = prod + (size_t)pp * q, *work = skip + (size_t)pp * q;
    semi_orthogonal(r, pp, q, u1, work);
    semi_orthogonal(r, pp, pp, m2, work);
    planar_rotation(r, q, PI / 2, k, work); /* 90 degrees: orthogonal and antisymmetric */
    matmul(prod, m2, u1, pp, pp, q);
    matmul(skip, prod, k, pp, q, q);
    looks_linear(sal_params_w(p, c1), t1->shape[2], u1, pp, q, 1.0);
    looks_linear(sal_params_w(p, c2), t2->shape[2], m2, pp, pp, SQRT1_2);
    looks_linear(sal_params_w(p, sc), ts->shape[2], skip, pp, q, SQRT1_2);
    return 0;
}

static int block_c(ctx *c, sal_rng *r, double *ws, int *perm, int c1, int c2) {
    const sal_params *p = c->p;
    const sal_tensor *t1 = &p->t[c1], *t2 = &p->t[c2];
    if (check_even(c, t1)) return -1;
    const int C = t1->shape[0], n = C / 2, K1 = t1->shape[2], K2 = t2->shape[2];
    if (t1->shape[1] != C || t2->shape[0] != C || t2->shape[1] != C)
        return fail(c, "[model] init = risotto: %s is not a C -> C identity block", t1->name);
    double *a = ws, *work = ws + (size_t)n * n;
    for (int i = 0; i < C; i++) perm[i] = i;
    sal_rng_shuffle_int(r, perm, C);
    planar_rotation(r, n, PI / 3, a, work); /* 60 degrees: A and A - I orthogonal */
    float *w1 = sal_params_w(p, c1), *w2 = sal_params_w(p, c2);
    for (int i = 0; i < C; i++) tap(w1, C, K1, i, perm[i], 1.0); /* hidden i = input perm[i] */
    for (int o = 0; o < C; o++)
        for (int i = 0; i < C; i++) { /* (LL(A) - I)[o][perm[i]] */
            int j = perm[i];
            double v = ((o < n) == (j < n) ? 1.0 : -1.0) * a[(o % n) * n + (j % n)];
            tap(w2, C, K2, o, i, v - (o == j ? 1.0 : 0.0));
        }
    return 0;
}

sal_status sal_model_init_risotto(sal_model *m, uint64_t seed, sal_err *err) {
    sal_params *p = &m->params;
    ctx c = {.p = p, .msg = ""};
    if (m->spec.arch != SAL_ARCH_RESNET20 && m->spec.arch != SAL_ARCH_RESNET18)
        return sal_fail(err, SAL_ECONFIG, "%s", sal_risotto_unsupported);
    /* Scratch for the widest layer: its signal width n, 6 n^2 doubles covers every block. */
    int widest = 0, wt = 0;
    for (int t = 0; t < p->ntensors; t++)
        if (p->t[t].init == SAL_INIT_FANIN && p->t[t].ndim >= 2) {
            wt++;
            for (int d = 0; d < 2; d++)
                if (p->t[t].shape[d] > widest) widest = p->t[t].shape[d];
        }
    double *ws = malloc(sizeof(double) * 8 * (size_t)widest * widest);
    int *perm = malloc(sizeof(int) * (size_t)widest);
    float *saved = malloc(sizeof(float) * (p->n ? p->n : 1));
    if (!ws || !perm || !saved) {
        free(ws), free(perm), free(saved);
        return sal_fail(err, SAL_ENOMEM, "[model] init = risotto: out of memory");
    }
    memcpy(saved, p->w, sizeof(float) * p->n); /* restored if a shape does not fit */
    /* Every conv and linear weight and bias starts at 0 (delta-orthogonal: only centre taps
     * are set below). */
    for (int t = 0; t < p->ntensors; t++)
        if (p->t[t].init == SAL_INIT_FANIN) memset(sal_params_w(p, t), 0, 4 * p->t[t].numel);

    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_INIT, 1); /* id 1: kaiming draws from id 0 */
    int rc = 0, done = 0;
    const int stem = find(p, "conv1.weight"), head = find(p, "linear.weight");
    if (stem < 0 || head < 0) rc = fail(&c, "[model] init = risotto: no %s", "conv1/linear");
    if (!rc) { /* stem: [U; -U] on the raw input */
        const sal_tensor *t = &p->t[stem];
        const int n = t->shape[0] / 2, in = t->shape[1];
        double *u = ws, *work = ws + (size_t)n * in;
        semi_orthogonal(&r, n, in, u, work);
        for (int o = 0; o < 2 * n; o++)
            for (int i = 0; i < in; i++)
                tap(sal_params_w(p, stem), in, t->shape[2], o, i,
                    (o < n ? 1.0 : -1.0) * u[(o % n) * in + i]);
        done++;
    }
    for (int s = 1; !rc; s++) { /* blocks in registration order: layer<s>.<i> */
        int i = 0;
        for (;; i++) {
            char n1[SAL_NAME_MAX], n2[SAL_NAME_MAX], ns[SAL_NAME_MAX], n3[SAL_NAME_MAX];
            snprintf(n1, sizeof n1, "layer%d.%d.conv1.weight", s, i);
            snprintf(n2, sizeof n2, "layer%d.%d.conv2.weight", s, i);
            snprintf(n3, sizeof n3, "layer%d.%d.conv3.weight", s, i);
            snprintf(ns, sizeof ns, "layer%d.%d.shortcut.0.weight", s, i);
            const int c1 = find(p, n1), c2 = find(p, n2), sc = find(p, ns);
            if (c1 < 0) break;
            if (c2 < 0 || find(p, n3) >= 0) {
                rc = fail(&c, "[model] init = risotto: %s is not a BasicBlock", n1);
                break;
            }
            rc = sc >= 0 ? block_b(&c, &r, ws, c1, c2, sc) : block_c(&c, &r, ws, perm, c1, c2);
            if (rc) break;
            done += sc >= 0 ? 3 : 2;
        }
        if (i == 0) break; /* no stage s */
    }
    if (!rc) { /* head: [V, -V] reads the signal; bias 0 (zeroed above) */
        const sal_tensor *t = &p->t[head];
        const int k = t->shape[0], n = t->shape[1] / 2;
        double *v = ws, *work = ws + (size_t)k * n;
        semi_orthogonal(&r, k, n, v, work);
        float *w = sal_params_w(p, head);
        for (int o = 0; o < k; o++)
            for (int i = 0; i < 2 * n; i++)
                w[(size_t)o * 2 * n + i] = (float)((i < n ? 1.0 : -1.0) * v[o * n + (i % n)]);
        done++;
    }
    if (!rc && done != wt) rc = fail(&c, "[model] init = risotto: %s weights left over", "some");
    free(ws), free(perm);
    if (rc) {
        memcpy(p->w, saved, sizeof(float) * p->n);
        free(saved);
        return sal_fail(err, SAL_ECONFIG, "%s", c.msg);
    }
    free(saved);
    sal_model_init_norms(m); /* the norms as in every scheme */
    return SAL_OK;
}
