/* linear.c - fully connected layer on CBLAS SGEMM. */
#include <cblas.h>

#include "salient/layers.h"

void sal_linear_forward(float *out, const float *in, const float *w, const float *b, int B,
                        int nin, int nout) {
    /* Bias first, then SGEMM with beta = 1: one pass over out instead of two. */
    for (int i = 0; i < B; i++)
        for (int o = 0; o < nout; o++) out[(size_t)i * nout + o] = b ? b[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, nout, nin, 1.0f, in, nin, w, nin, 1.0f, out,
                nout);
}

void sal_linear_backward(float *din, int accumulate, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int B, int nin, int nout) {
    /* dw (nout, nin) = dout^T (nout, B) @ in (B, nin) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, B, 1.0f, dout, nout, in, nin, 0.0f, dw,
                nin);
    if (db) {
        for (int o = 0; o < nout; o++) db[o] = 0.0f;
        for (int i = 0; i < B; i++)
            for (int o = 0; o < nout; o++) db[o] += dout[(size_t)i * nout + o];
    }
    /* din (B, nin) = dout (B, nout) @ w (nout, nin) */
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nin, nout, 1.0f, dout, nout, w, nin,
                    accumulate ? 1.0f : 0.0f, din, nin);
}
