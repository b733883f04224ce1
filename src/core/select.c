/* select.c - the k-th largest of an array of rank keys (select.h). */
#include "salient/select.h"

#include <stdlib.h>

static int cmp_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* Hoare quickselect with a median-of-three pivot, falling back to a sort if the partitions stop
 * shrinking (adversarial orders): O(n) in practice, O(n log n) at worst. The result is the same
 * whatever the pivots, since keys are distinct. */
uint64_t sal_select_kth(uint64_t *keys, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1, target = k - 1; /* descending order: target's position */
    int budget = 2 * 64;
    while (lo < hi) {
        if (budget-- == 0) {
            qsort(keys + lo, hi - lo + 1, sizeof *keys, cmp_desc);
            return keys[target];
        }
        size_t mid = lo + (hi - lo) / 2;
        uint64_t a = keys[lo], b = keys[mid], c = keys[hi];
        uint64_t pivot = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
        size_t i = lo, j = hi;
        while (i <= j) { /* descending: large keys go left */
            while (keys[i] > pivot) i++;
            while (keys[j] < pivot) j--;
            if (i <= j) {
                uint64_t t = keys[i];
                keys[i] = keys[j], keys[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        /* now keys[lo..j] >= pivot >= keys[i..hi], and j < i */
        if (target <= j)
            hi = j;
        else if (target >= i)
            lo = i;
        else
            return keys[target]; /* between j and i: equal to the pivot */
    }
    return keys[target];
}
