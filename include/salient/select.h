/* select.h - exact, deterministic top-k selection: a (score, index) pair as one 64-bit key whose
 * unsigned order is the ranking, and the k-th largest of an array of such keys. Used by the
 * pruning masks (sparsity/) and by top-k gradient compression (comm/). */
#ifndef SALIENT_SELECT_H
#define SALIENT_SELECT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The float's bits mapped to an order-preserving unsigned int in the high half (negatives
 * flipped, positives get the sign bit; -0 counts as +0) and the complemented index in the low
 * half, so that among equal scores the lower index ranks higher. Keys are distinct, so "the k
 * largest keys" is one well-defined set whatever the selection algorithm does. */
static inline uint64_t sal_rank_key(float s, uint32_t idx) {
    s += 0.0f; /* -0 -> +0: the two zeros tie */
    uint32_t u;
    memcpy(&u, &s, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((uint64_t)u << 32) | (uint32_t)~idx;
}

/* Rearranges keys[0..n) so that keys[0..k) are the k largest (in no particular order) and
 * returns the smallest of them; 0 < k <= n. */
uint64_t sal_select_kth(uint64_t *keys, size_t n, size_t k);

#endif
