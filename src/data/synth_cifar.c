/* synth_cifar.c - dataset = synthetic-cifar: 3x32x32 images in 10 classes generated from the
 * seed, so that the CIFAR path (shapes, augmentation, ResNets) runs where CIFAR is not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "salient/rng.h"
#include "synth_cifar.h"

/* What makes it learnable but not linearly: each class is a pair of colour gratings with its
 * own orientations and frequencies (class k's main grating lies at k x 18 degrees, so
 * neighbouring classes differ by 18), seen through a Gaussian window at a random place, with
 * random phases. Averaged over phases a grating is zero, so a linear model of the pixels
 * sees only a weak class tint (buried in per-sample tint jitter); a model with nonlinear
 * features (a CNN's filters then pooling) sees the orientation and frequency. Per-sample
 * jitter of orientation, frequency and amplitude and strong pixel noise keep it from being
 * trivially separable. */
enum { SIDE = 32, CH = 3, CLASSES = 10, GRATINGS = 2 };

#define TINT 20.0         /* class tint range, grey levels, +- per channel */
#define TINT_JITTER 24.0  /* per-sample tint sd */
#define NOISE 64.0        /* per-pixel noise sd */
#define WINDOW 8.0        /* Gaussian window sd, pixels */
#define ANGLE_JITTER 0.15 /* radians, +- uniform */
#define FREQ_JITTER 0.15  /* relative, +- uniform */
static const double AMP[GRATINGS] = {64.0, 40.0};

/* Stream ids within SAL_STREAM_SYNTH, apart from the 1x28x28 set's 0, 1, 2. */
#define ID_TAG 0x5C00000000000000ull
#define ID_CLASSES ID_TAG
#define ID_SAMPLE(split, i) (ID_TAG | ((uint64_t)(split) << 40) | (uint64_t)(i))

typedef struct grating {
    double angle, freq; /* radians; cycles per 32 pixels */
    double colour[CH];  /* in [-1, 1] */
} grating;

typedef struct klass {
    double tint[CH];
    grating g[GRATINGS];
} klass;

static double signed_unit(sal_rng *r) {
    return 2.0 * sal_rng_uniform(r) - 1.0;
}

static void draw_classes(uint64_t seed, klass *k /* (CLASSES) */) {
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, ID_CLASSES);
    double offset = sal_rng_uniform(&r) * M_PI / CLASSES;
    for (int c = 0; c < CLASSES; c++) {
        for (int ch = 0; ch < CH; ch++) k[c].tint[ch] = TINT * signed_unit(&r);
        for (int g = 0; g < GRATINGS; g++) {
            grating *q = &k[c].g[g];
            /* main grating: evenly spaced angles, two frequency bands by parity; second: free */
            q->angle = g == 0 ? offset + M_PI * c / CLASSES : M_PI * sal_rng_uniform(&r);
            q->freq = g == 0 ? 2.5 + 2.0 * (c % 2) : 1.5 + 3.0 * sal_rng_uniform(&r);
            double big = 0;
            for (int ch = 0; ch < CH; ch++) {
                q->colour[ch] = signed_unit(&r);
                big = fabs(q->colour[ch]) > big ? fabs(q->colour[ch]) : big;
            }
            for (int ch = 0; ch < CH; ch++) q->colour[ch] /= big > 0 ? big : 1;
        }
    }
}

/* Approximately standard normal from one 64-bit draw: the sum of four 16-bit uniforms
 * (Irwin-Hall), centred and scaled to unit variance. Tails stop at 3.5 sd, which is fine for
 * noise and 4x cheaper than Box-Muller over 150 million pixels. */
static double noise(sal_rng *r) {
    uint64_t u = sal_rng_u64(r);
    double s = (double)(u & 0xFFFF) + (double)(u >> 16 & 0xFFFF) + (double)(u >> 32 & 0xFFFF) +
               (double)(u >> 48);
    return (s / 65536.0 - 2.0) * 1.7320508075688772; /* var of U(0,1) is 1/12 */
}

/* One image of class k into x (CH, SIDE, SIDE), from its own stream. The grating's phase
 * a(x) + b(y) is separable, so cos(a + b) = cos a cos b - sin a sin b costs no transcendental
 * per pixel; so is the window. */
static void draw_image(sal_rng *r, const klass *k, uint8_t *x) {
    double ca[GRATINGS][SIDE], sa[GRATINGS][SIDE], cb[GRATINGS][SIDE], sb[GRATINGS][SIDE];
    double wx[SIDE], wy[SIDE], base[CH];
    double cy = 6 + 20 * sal_rng_uniform(r), cx = 6 + 20 * sal_rng_uniform(r);
    for (int i = 0; i < SIDE; i++) {
        wy[i] = exp(-(i - cy) * (i - cy) / (2 * WINDOW * WINDOW));
        wx[i] = exp(-(i - cx) * (i - cx) / (2 * WINDOW * WINDOW));
    }
    for (int ch = 0; ch < CH; ch++) base[ch] = 128 + k->tint[ch] + TINT_JITTER * noise(r);
    double amp[GRATINGS];
    for (int g = 0; g < GRATINGS; g++) {
        double angle = k->g[g].angle + ANGLE_JITTER * signed_unit(r);
        double w = 2 * M_PI * k->g[g].freq * (1 + FREQ_JITTER * signed_unit(r)) / SIDE;
        double phase = 2 * M_PI * sal_rng_uniform(r);
        amp[g] = AMP[g] * (0.4 + 0.6 * sal_rng_uniform(r));
        for (int i = 0; i < SIDE; i++) {
            double a = w * cos(angle) * i + phase, b = w * sin(angle) * i;
            ca[g][i] = cos(a), sa[g][i] = sin(a), cb[g][i] = cos(b), sb[g][i] = sin(b);
        }
    }
    for (int yy = 0; yy < SIDE; yy++)
        for (int xx = 0; xx < SIDE; xx++) {
            double win = wy[yy] * wx[xx], t[GRATINGS];
            for (int g = 0; g < GRATINGS; g++)
                t[g] = amp[g] * win * (ca[g][xx] * cb[g][yy] - sa[g][xx] * sb[g][yy]);
            for (int ch = 0; ch < CH; ch++) {
                double v = base[ch] + NOISE * noise(r);
                for (int g = 0; g < GRATINGS; g++) v += k->g[g].colour[ch] * t[g];
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                x[((size_t)ch * SIDE + yy) * SIDE + xx] = (uint8_t)lrint(v);
            }
        }
}

/* Sample i has label i mod 10 (every prefix balanced) and its own stream, so a prefix does
 * not depend on how many samples follow. */
static sal_status make_split(uint64_t seed, int split, int n, const klass *k, sal_dataset *ds,
                             sal_err *err) {
    const size_t per = (size_t)CH * SIDE * SIDE;
    ds->x = malloc((size_t)n * per);
    ds->y = malloc((size_t)n);
    if (!ds->x || !ds->y)
        return sal_fail(err, SAL_ENOMEM, "synthetic-cifar: out of memory for %d samples", n);
    for (int i = 0; i < n; i++) {
        sal_rng r;
        sal_rng_seed(&r, seed, SAL_STREAM_SYNTH, ID_SAMPLE(split, i));
        ds->y[i] = (uint8_t)(i % CLASSES);
        draw_image(&r, &k[i % CLASSES], ds->x + (size_t)i * per);
    }
    ds->n = n;
    ds->c = CH;
    ds->h = ds->w = SIDE;
    ds->classes = CLASSES;
    return SAL_OK;
}

sal_status sal_synth_cifar_load(const sal_data_opts *o, int ntrain, int ntest, sal_dataset *train,
                                sal_dataset *test, sal_err *err) {
    klass k[CLASSES];
    draw_classes(o->seed, k);
    sal_status st = make_split(o->seed, 1, ntrain, k, train, err);
    if (st == SAL_OK) st = make_split(o->seed, 2, ntest, k, test, err);
    if (st != SAL_OK) return st;
    /* Per-channel statistics of the whole generated training set (before any limit), as the
     * published constants of the real sets are. */
    const size_t plane = (size_t)SIDE * SIDE;
    for (int ch = 0; ch < CH; ch++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < train->n; i++) {
            const uint8_t *p = train->x + (size_t)i * CH * plane + ch * plane;
            for (size_t j = 0; j < plane; j++) {
                double v = p[j] / 255.0;
                s += v, s2 += v * v;
            }
        }
        double cnt = (double)train->n * plane, mean = s / cnt, var = s2 / cnt - mean * mean;
        train->mean[ch] = test->mean[ch] = (float)mean;
        train->std[ch] = test->std[ch] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
    }
    if (o->train_limit > 0 && train->n > o->train_limit) train->n = o->train_limit;
    if (o->test_limit > 0 && test->n > o->test_limit) test->n = o->test_limit;
    return SAL_OK;
}
