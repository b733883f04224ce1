/* bench_conv.c - one convolution layer's three passes (forward, weight gradient, input
 * gradient) per shape, one thread, GFLOP/s: the figures behind the kernel choice in conv2d.c.
 * usage: bench_conv [batch=32] [reps=15] [C:HW:O:K:pad ...]   (default: resnet20's 3x3 stages)
 * The fastest of reps calls is reported: on a shared machine the minimum is the figure least
 * disturbed by the other processes. din = (dw and din together) - (dw alone). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "salient/cpu.h"
#include "salient/layers.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* n floats in [-0.5, 0.5), with 64 floats of slack behind them; NULL if out of memory */
static float *randv(size_t n) {
    float *p = malloc((n + 64) * sizeof(float));
    for (size_t i = 0; p && i < n + 64; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

typedef struct {
    int C, HW, O, K, pad;
} shape_arg;

static int bench(int B, int reps, shape_arg a) {
    sal_conv_shape s;
    if (sal_conv_shape_init(&s, a.C, a.HW, a.HW, a.O, a.K, 1, a.pad)) {
        fprintf(stderr, "bench_conv: shape %d:%d:%d:%d:%d has no output\n", a.C, a.HW, a.O, a.K,
                a.pad);
        return 1;
    }
    const size_t nin = (size_t)B * a.C * a.HW * a.HW, nout = (size_t)B * a.O * s.OH * s.OW;
    const size_t nw = (size_t)a.O * a.C * a.K * a.K;
    float *in = randv(nin), *out = randv(nout), *w = randv(nw), *b = randv(a.O);
    float *dout = randv(nout), *din = randv(nin), *dw = randv(nw), *db = randv(a.O);
    float *scratch = randv(sal_conv_scratch_floats(&s));
    int rc = 0;
    if (!in || !out || !w || !b || !dout || !din || !dw || !db || !scratch) {
        fprintf(stderr, "bench_conv: out of memory\n");
        rc = 1;
        goto done;
    }
    double tf = 1e30, tw = 1e30, tb = 1e30;
    for (int r = 0; r <= reps; r++) { /* r = 0 warms up */
        double t0 = now();
        sal_conv2d_forward(out, in, w, b, B, &s, scratch);
        double t1 = now();
        sal_conv2d_backward(NULL, 0, dw, db, dout, in, w, B, &s, scratch);
        double t2 = now();
        sal_conv2d_backward(din, 0, dw, db, dout, in, w, B, &s, scratch);
        double t3 = now();
        if (r == 0) continue;
        tf = t1 - t0 < tf ? t1 - t0 : tf, tw = t2 - t1 < tw ? t2 - t1 : tw;
        tb = t3 - t2 < tb ? t3 - t2 : tb;
    }
    const double gf = 2.0 * nout * a.C * a.K * a.K / 1e9, td = tb > tw ? tb - tw : 1e-9;
    printf("%4d %4d %4d %2d %3d %8.1f %8.1f %8.1f %8.3f %8.3f %8.3f\n", a.C, a.HW, a.O, a.K, a.pad,
           gf / tf, gf / tw, gf / td, tf * 1e3, tw * 1e3, td * 1e3);
done:
    free(in), free(out), free(w), free(b), free(dout), free(din), free(dw), free(db);
    free(scratch);
    return rc;
}

int main(int argc, char **argv) {
    const int B = argc > 1 ? atoi(argv[1]) : 32, reps = argc > 2 ? atoi(argv[2]) : 15;
    if (B < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_conv [batch>=1] [reps>=1] [C:HW:O:K:pad ...]\n");
        return 2;
    }
    shape_arg defaults[] = {{16, 32, 16, 3, 1}, {32, 16, 32, 3, 1}, {64, 8, 64, 3, 1}};
    printf("# conv layer passes, batch %d, 1 thread, fastest of %d calls; kernels at level %s\n",
           B, reps, sal_isa_name(sal_isa_current()));
    printf("#  C   HW    O  K pad  fwd_GF/s  dw_GF/s din_GF/s   fwd_ms    dw_ms   din_ms\n");
    int rc = 0;
    if (argc <= 3)
        for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
            rc |= bench(B, reps, defaults[i]);
    for (int i = 3; i < argc; i++) {
        shape_arg a;
        if (sscanf(argv[i], "%d:%d:%d:%d:%d", &a.C, &a.HW, &a.O, &a.K, &a.pad) != 5 || a.C < 1 ||
            a.HW < 1 || a.O < 1 || a.K < 1 || a.pad < 0) {
            fprintf(stderr, "bench_conv: shape '%s' is not C:HW:O:K:pad (positive integers)\n",
                    argv[i]);
            return 2;
        }
        rc |= bench(B, reps, a);
    }
    return rc;
}
