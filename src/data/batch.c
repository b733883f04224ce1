/* batch.c - gathering minibatches as normalised floats (the per-step hot path), and the
 * random crop and flip of training batches, drawn per sample from a keyed stream. */
#include "salient/data.h"

#include "salient/rng.h"

enum { PAD = 4, SPAN = 2 * PAD + 1 }; /* crop offsets 0..8 in the padded image */

/* A 256-entry table per channel turns normalisation into one load per pixel; it is built in
 * double so that it equals the direct formula rounded once to float. */
static int build_lut(const sal_dataset *ds, float lut[SAL_MAX_CHANNELS][256]) {
    int nc = ds->c < SAL_MAX_CHANNELS ? ds->c : SAL_MAX_CHANNELS;
    for (int c = 0; c < nc; c++) {
        double mean = ds->mean[c], sd = ds->std[c] > 0 ? ds->std[c] : 1.0;
        for (int v = 0; v < 256; v++) lut[c][v] = (float)((v / 255.0 - mean) / sd);
    }
    return nc;
}

void sal_dataset_batch(const sal_dataset *ds, const int *idx, int b, float *x, int *y) {
    float lut[SAL_MAX_CHANNELS][256];
    int nc = build_lut(ds, lut);
    size_t plane = (size_t)ds->h * ds->w, per = plane * nc;
    for (int i = 0; i < b; i++) {
        const uint8_t *src = ds->x + (size_t)idx[i] * per;
        float *dst = x + (size_t)i * per;
        for (int c = 0; c < nc; c++) {
            const float *t = lut[c];
            const uint8_t *s = src + c * plane;
            float *d = dst + c * plane;
            for (size_t p = 0; p < plane; p++) d[p] = t[s[p]];
        }
        if (y) y[i] = ds->y[idx[i]];
    }
}

sal_augment_kind sal_augment_resolve(sal_augment_kind kind, sal_dataset_kind data) {
    if (kind != SAL_AUG_AUTO) return kind;
    return sal_data_is_cifar(data) ? SAL_AUG_CROP_FLIP : SAL_AUG_NONE;
}

/* splitmix64's finaliser over z + golden ratio: a bijection of 64-bit words. */
static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

sal_aug_draw sal_augment_draw(uint64_t seed, uint64_t round, uint64_t client, uint64_t sample) {
    /* Each step is a bijection of its input given the previous ones, so for one (round,
     * client) distinct samples get distinct streams; across keys two ids meet with
     * probability 2^-64. */
    sal_rng r;
    sal_rng_seed(&r, seed, SAL_STREAM_AUGMENT, mix(mix(mix(round) ^ client) ^ sample));
    /* One unbiased draw over the 162 outcomes, split like a mixed-radix number. */
    int v = (int)sal_rng_below(&r, SPAN * SPAN * 2);
    sal_aug_draw d = {v % SPAN, v / SPAN % SPAN, v / (SPAN * SPAN)};
    return d;
}

/* One image through the table, cropped at (dy, dx) of its zero-padded copy and mirrored when
 * flip: out(y, x) = padded(y + dy, x' + dx), x' = flip ? w-1-x : x, where padded(Y, X) is
 * image(Y - 4, X - 4) inside the image and pixel 0 outside (torchvision pads before the
 * ToTensor/Normalize steps, so the border is black, not the normalised 0). */
static void crop_flip(const uint8_t *src, int nc, int h, int w, float lut[][256], sal_aug_draw d,
                      float *dst) {
    for (int c = 0; c < nc; c++) {
        const float *t = lut[c];
        const uint8_t *s = src + (size_t)c * h * w;
        float *o = dst + (size_t)c * h * w;
        for (int yy = 0; yy < h; yy++) {
            int sy = yy + d.dy - PAD;
            float *row = o + (size_t)yy * w;
            if (sy < 0 || sy >= h) {
                for (int xx = 0; xx < w; xx++) row[xx] = t[0];
                continue;
            }
            const uint8_t *srow = s + (size_t)sy * w;
            for (int xx = 0; xx < w; xx++) {
                int sx = (d.flip ? w - 1 - xx : xx) + d.dx - PAD;
                row[xx] = sx >= 0 && sx < w ? t[srow[sx]] : t[0];
            }
        }
    }
}

void sal_dataset_batch_aug(const sal_dataset *ds, const int *idx, int b, const sal_augment *aug,
                           float *x, int *y) {
    if (!aug || aug->kind != SAL_AUG_CROP_FLIP) {
        sal_dataset_batch(ds, idx, b, x, y);
        return;
    }
    float lut[SAL_MAX_CHANNELS][256];
    int nc = build_lut(ds, lut);
    size_t per = (size_t)ds->h * ds->w * nc;
    for (int i = 0; i < b; i++) {
        sal_aug_draw d = sal_augment_draw(aug->seed, aug->round, aug->client, aug->first + i);
        crop_flip(ds->x + (size_t)idx[i] * per, nc, ds->h, ds->w, lut, d, x + (size_t)i * per);
        if (y) y[i] = ds->y[idx[i]];
    }
}
