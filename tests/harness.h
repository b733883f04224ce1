/* harness.h - a minimal test harness: CHECK macros that count, and a summary line.
 * Each test binary calls sal_test_done() from main; it exits non-zero if any check failed. */
#ifndef SALIENT_TEST_HARNESS_H
#define SALIENT_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>

extern int sal_test_pass, sal_test_fail;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            sal_test_pass++;                                                            \
        } else {                                                                        \
            sal_test_fail++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define CHECK_MSG(cond, ...)                                                            \
    do {                                                                                \
        if (cond) {                                                                     \
            sal_test_pass++;                                                            \
        } else {                                                                        \
            sal_test_fail++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
        }                                                                               \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                   \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (atol) + (rtol) * fabs((double)(b)),   \
              "%.9g vs %.9g", (double)(a), (double)(b))

/* A record of a fixture file written by tests/fixtures/gen_fixtures.py: b"SALFIX1\n", then
 * records (u32 name length, name, u32 ndim, u32 dims[ndim], f32 data[prod(dims)]). */
typedef struct sal_fix_rec {
    char name[64];
    int ndim, dims[4];
    size_t n;
    float *data; /* (n), owned; freed by the test's exit */
} sal_fix_rec;

/* Reads up to max records; returns how many, or -1 for a missing or malformed file. */
int sal_fix_load(const char *path, sal_fix_rec *recs, int max);
/* The record called name, or NULL. */
const sal_fix_rec *sal_fix_find(const sal_fix_rec *recs, int n, const char *name);

/* Print "N passed, N failed" and return the exit code for main. */
int sal_test_done(const char *name);

/* Selects the kernels' instruction-set level from SALIENT_ISA (ctest runs the engine tests once
 * per level) and prints it. Returns 0 to go on, 77 (skip) when SALIENT_ISA names a level this
 * CPU lacks, 2 for a value that is no level. */
int sal_test_isa(const char *name);

/* Path of a file under the source tree (tests/fixtures/...), in a static buffer. */
const char *sal_test_src(const char *rel);

#endif
