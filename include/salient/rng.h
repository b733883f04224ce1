/* rng.h - a small, seedable, platform-independent random number generator (xoshiro256**).
 * Every random choice in salient draws from a stream named by (seed, purpose, id), so results
 * never depend on the rank count or on the order in which ranks happen to run. */
#ifndef SALIENT_RNG_H
#define SALIENT_RNG_H

#include <stdint.h>

typedef struct sal_rng {
    uint64_t s[4];
} sal_rng;

/* Stream purposes: distinct constants keep e.g. the init stream independent of the shuffle one. */
enum {
    SAL_STREAM_INIT = 1,      /* parameter initialisation */
    SAL_STREAM_PARTITION = 2, /* splitting data across clients */
    SAL_STREAM_SHUFFLE = 3,   /* minibatch order; id = client (and epoch folded in by caller) */
    SAL_STREAM_SYNTH = 4,     /* synthetic data set */
    SAL_STREAM_SAMPLE = 5,    /* client sampling per round */
    SAL_STREAM_MASK = 6,      /* masks: id 0 random pruning, 1 + c client c's saliency batch */
    SAL_STREAM_GRAPH = 7,     /* random graphs (topo.h); id = graph kind */
    SAL_STREAM_AUGMENT = 8,   /* training-batch augmentation (data.h); id = (round, client, sample) */
    SAL_STREAM_QUANT = 9,     /* QSGD's random rounding of an upload; id = round * clients + client */
    SAL_STREAM_RANDK = 10     /* Rand-k's indices of an upload; id = round * clients + client */
};

/* Seed r from (seed, purpose, id) through splitmix64; the same triple gives the same stream. */
void sal_rng_seed(sal_rng *r, uint64_t seed, uint64_t purpose, uint64_t id);
uint64_t sal_rng_u64(sal_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); n > 0. */
uint64_t sal_rng_below(sal_rng *r, uint64_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double sal_rng_uniform(sal_rng *r);
/* Standard normal (Box-Muller, both draws from this stream, no cached state). */
double sal_rng_normal(sal_rng *r);
/* Gamma(shape, 1) by Marsaglia-Tsang (2000); shape > 0. */
double sal_rng_gamma(sal_rng *r, double shape);
/* Fisher-Yates shuffle of n ints in place. */
void sal_rng_shuffle_int(sal_rng *r, int *a, int n);

#endif
