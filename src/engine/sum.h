/* sum.h - the fixed-order float sum the engine's kernels share (private to engine/). */
#ifndef SALIENT_ENGINE_SUM_H
#define SALIENT_ENGINE_SUM_H

/* Sum of n floats in 16 independent lanes, combined in one fixed order: vectorises without
 * -ffast-math, and the result does not depend on who calls it or on threads. */
static inline float sal_sum16(const float *x, int n) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[i & 15] += x[i];
    float s = 0.0f;
    for (int j = 0; j < 16; j++) s += acc[j];
    return s;
}

#endif
