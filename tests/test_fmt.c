/* test_fmt.c - sal_fmt_num: the shortest text that reads back bitwise. Known values by hand;
 * then random bit patterns, each checked to read back exactly and to be the shortest (one digit
 * less does not read back). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "salient/fmt.h"
#include "salient/rng.h"

static void known(double x, const char *want) {
    char b[SAL_NUM_MAX];
    sal_fmt_num(x, b, sizeof b);
    CHECK_MSG(!strcmp(b, want), "%.17g printed as '%s', not '%s'", x, b, want);
}

/* Significant digits of a %g text: leading zeros never count, nor do the trailing zeros of
 * an integer written out in full (1500 has 2: it was printed so rather than as 1.5e+03). */
static int digits(const char *s) {
    int n = 0, lead = 1, zeros = 0, point = strchr(s, '.') != NULL;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (lead && *s == '0') continue;
        lead = 0, n++;
        zeros = *s == '0' ? zeros + 1 : 0;
    }
    if (!point) n -= zeros;
    return n > 0 ? n : 1;
}

int main(void) {
    known(0.1, "0.1");
    known(600, "600");
    known(0.05, "0.05");
    known(0.1 + 0.2, "0.30000000000000004");
    known(1e-5, "1e-05");
    known(-2.5, "-2.5");
    known(0.0, "0");
    known(-0.0, "-0");
    known(INFINITY, "inf");
    known(1.0 / 3, "0.3333333333333333");
    sal_rng r;
    sal_rng_seed(&r, 7, 0, 0);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = sal_rng_u64(&r);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x)) continue;
        char b[SAL_NUM_MAX], shorter[400];
        sal_fmt_num(x, b, sizeof b);
        double back = strtod(b, NULL);
        int p = digits(b);
        snprintf(shorter, sizeof shorter, "%.*g", p - 1 > 0 ? p - 1 : 1, x);
        double back2 = strtod(shorter, NULL);
        if (memcmp(&back, &x, sizeof x) || (p > 1 && !memcmp(&back2, &x, sizeof x))) {
            if (bad++ < 3) fprintf(stderr, "not shortest: %s (%.17g)\n", b, x);
        }
    }
    CHECK_MSG(bad == 0, "%d of 20000 random doubles not shortest round-trip", bad);
    /* sal_fmt_dec: %.Nf's value with the padding gone, never a different number */
    char b[SAL_NUM_MAX];
    CHECK(!strcmp(sal_fmt_dec(0.01383, 6, b, sizeof b), "0.01383"));
    CHECK(!strcmp(sal_fmt_dec(1.0, 6, b, sizeof b), "1"));
    CHECK(!strcmp(sal_fmt_dec(1048.44, 1, b, sizeof b), "1048.4"));
    CHECK(!strcmp(sal_fmt_dec(-0.0000001, 6, b, sizeof b), "0"));
    CHECK(!strcmp(sal_fmt_dec(0.0000005001, 6, b, sizeof b), "0.000001"));
    CHECK(!strcmp(sal_fmt_dec(250.0, 6, b, sizeof b), "250")); /* zeros before the point stay */
    CHECK(!strcmp(sal_fmt_dec(NAN, 6, b, sizeof b), "nan") || !strcmp(b, "-nan"));
    /* too long for the buffer in fixed notation: the shortest exact form, not cut digits */
    CHECK(!strcmp(sal_fmt_dec(1e30, 6, b, sizeof b), "1e+30"));
    CHECK(!strcmp(sal_fmt_dec(-1.2345e40, 1, b, sizeof b), "-1.2345e+40"));
    int bad_dec = 0;
    for (int i = 0; i < 20000; i++) {
        double x = (sal_rng_uniform(&r) - 0.25) * 1e4 * sal_rng_uniform(&r);
        char fixed[64];
        int d = i % 7;
        snprintf(fixed, sizeof fixed, "%.*f", d, x);
        sal_fmt_dec(x, d, b, sizeof b);
        size_t n = strlen(b);
        if (strtod(b, NULL) != strtod(fixed, NULL) || (strchr(b, '.') && b[n - 1] == '0') ||
            b[n - 1] == '.')
            if (bad_dec++ < 3)
                fprintf(stderr, "sal_fmt_dec(%.17g, %d) = %s (%s)\n", x, d, b, fixed);
    }
    CHECK_MSG(bad_dec == 0, "%d of 20000 sal_fmt_dec results differ from %%.Nf or keep padding",
              bad_dec);
    return sal_test_done("test_fmt");
}
