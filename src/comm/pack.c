/* pack.c - packing masked weights to nnz-length buffers and masks to bits (see pack.h). The
 * mask is fixed for a run, so a message carries values only; SparCML-style index lists would
 * double the bytes for no information. */
#include "salient/pack.h"

#include <string.h>

#include "salient/cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SAL_PACK_AVX512 1
#endif

/* With AVX-512, 16 entries at a time: compare the mask with 0, compress the kept lanes into a
 * register and store only the first popcount lanes (or load that many and expand). A branch per
 * entry mispredicts on random masks and ran at 5-15 GB/s; the compress forms in registers avoid
 * both the branch and the memory-destination vcompress, which is microcoded on Zen 4. Masked
 * loads and stores never touch memory outside [0, nnz). The portable build compiles these two
 * loops for AVX-512 by attribute and runs them where the kernels' level (cpu.h) is avx512; the
 * result is the same bits as the scalar loop's either way (a copy, no arithmetic). */
#ifdef SAL_PACK_AVX512
#define SAL_AVX512_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,popcnt")))
SAL_AVX512_FN static size_t pack16(const float *w, const float *mask, size_t n, float *out,
                                   size_t *kout) {
    size_t k = 0, i = 0;
    const __m512 zero = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        __mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(mask + i), zero, _CMP_NEQ_UQ);
        unsigned cnt = (unsigned)__builtin_popcount(keep);
        __m512 v = _mm512_maskz_compress_ps(keep, _mm512_loadu_ps(w + i));
        _mm512_mask_storeu_ps(out + k, (__mmask16)((1u << cnt) - 1u), v);
        k += cnt;
    }
    *kout = k;
    return i;
}

SAL_AVX512_FN static size_t unpack16(const float *packed, const float *mask, size_t n, float *w,
                                     size_t *kout) {
    size_t k = 0, i = 0;
    const __m512 zero = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        __mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(mask + i), zero, _CMP_NEQ_UQ);
        unsigned cnt = (unsigned)__builtin_popcount(keep);
        __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1u), packed + k);
        _mm512_storeu_ps(w + i, _mm512_maskz_expand_ps(keep, v));
        k += cnt;
    }
    *kout = k;
    return i;
}
#endif

size_t sal_pack_masked(const float *w, const float *mask, size_t n, float *out) {
    size_t k = 0, i = 0;
#ifdef SAL_PACK_AVX512
    if (sal_isa_current() >= SAL_ISA_AVX512) i = pack16(w, mask, n, out, &k);
#endif
    for (; i < n; i++)
        if (mask[i] != 0.0f) out[k++] = w[i];
    return k;
}

size_t sal_unpack_masked(const float *packed, const float *mask, size_t n, float *w) {
    size_t k = 0, i = 0;
#ifdef SAL_PACK_AVX512
    if (sal_isa_current() >= SAL_ISA_AVX512) i = unpack16(packed, mask, n, w, &k);
#endif
    for (; i < n; i++) w[i] = mask[i] != 0.0f ? packed[k++] : 0.0f;
    return k;
}

void sal_bits_from_mask(const float *mask, size_t n, uint8_t *bits) {
    memset(bits, 0, sal_bits_bytes(n));
    for (size_t i = 0; i < n; i++)
        if (mask[i] != 0.0f) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

void sal_bits_to_mask(const uint8_t *bits, size_t n, float *mask) {
    for (size_t i = 0; i < n; i++) mask[i] = (bits[i >> 3] >> (i & 7)) & 1u ? 1.0f : 0.0f;
}
