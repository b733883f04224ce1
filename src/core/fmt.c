/* fmt.c - shortest round-trip formatting of doubles (fmt.h). A loop over precisions rather than
 * a Ryu-style algorithm: files get a few numbers per round, and %.*g + strtod are the C
 * library's own, correctly rounded, conversions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salient/fmt.h"

char *sal_fmt_num(double x, char *buf, size_t cap) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &x, sizeof x)) continue; /* -0.0 and 0.0 differ, as they should */
        /* %g goes to an exponent once it exceeds the precision (600 -> 6e+02): write such
         * numbers below 1e15 with all their integer digits instead (whole numbers there, as
         * they are below 2^53; the extra digits are zeros and read back the same) */
        const char *e = strchr(buf, 'e');
        int ex = e ? atoi(e + 1) : -1;
        if (ex >= prec && ex < 15) snprintf(buf, cap, "%.*g", ex + 1, x);
        return buf;
    }
    return buf; /* nan: %.17g's "nan" or "-nan" */
}

char *sal_fmt_dec(double x, int decimals, char *buf, size_t cap) {
    if (!cap) return buf;
    int n = snprintf(buf, cap, "%.*f", decimals, x);
    /* a value too long for buf in fixed notation (|x| near 1e25 and up) would be cut, digits
     * lost: the shortest exact form, which always fits SAL_NUM_MAX, instead */
    if (n < 0 || (size_t)n >= cap) return sal_fmt_num(x, buf, cap);
    if (strchr(buf, '.') && !strpbrk(buf, "ni")) { /* not nan/inf */
        char *end = buf + strlen(buf) - 1;
        while (*end == '0') *end-- = '\0';
        if (*end == '.') *end = '\0';
    }
    if (!strcmp(buf, "-0")) snprintf(buf, cap, "0");
    return buf;
}

const char *sal_fmt_duration(double s, char *buf, size_t n) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    return buf;
}
