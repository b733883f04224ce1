/* rng.c - xoshiro256** (Blackman & Vigna, 2018) seeded by splitmix64; see rng.h. */
#include "salient/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sal_rng_seed(sal_rng *r, uint64_t seed, uint64_t purpose, uint64_t id) {
    /* Mix the three words through splitmix64 so that nearby triples give unrelated streams. */
    uint64_t x = seed;
    x = splitmix64(&x) ^ (purpose * 0xD1B54A32D192ED03ull);
    x = splitmix64(&x) ^ (id * 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sal_rng_u64(sal_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sal_rng_below(sal_rng *r, uint64_t n) {
    /* Lemire, "Fast random integer generation in an interval" (2019). */
    unsigned __int128 m = (unsigned __int128)sal_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = -n % n;
        while (lo < thresh) {
            m = (unsigned __int128)sal_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double sal_rng_uniform(sal_rng *r) { return (double)(sal_rng_u64(r) >> 11) * 0x1.0p-53; }

double sal_rng_normal(sal_rng *r) {
    double u1 = 1.0 - sal_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = sal_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sal_rng_gamma(sal_rng *r, double shape) {
    if (shape < 1.0) {
        /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
        double u = 1.0 - sal_rng_uniform(r);
        return sal_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = sal_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = 1.0 - sal_rng_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

void sal_rng_shuffle_int(sal_rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sal_rng_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
