/* fmt.h - numbers as people read them: the shortest text that reads back to the same double
 * (0.1, 600, 0.30000000000000004), so that files stay exact and still readable. */
#ifndef SALIENT_FMT_H
#define SALIENT_FMT_H

#include <stddef.h>

#define SAL_NUM_MAX 32 /* enough for any double in %.17g, sign and exponent included */

/* Writes x into buf (cap >= SAL_NUM_MAX) with the fewest significant digits (1..17) that
 * strtod reads back bitwise; "nan", "inf", "-inf" for the non-finite. Returns buf. */
char *sal_fmt_num(double x, char *buf, size_t cap);

/* x rounded to `decimals` places, without padding: trailing zeros and a bare point dropped, so
 * 0.013830 -> "0.01383", 1.000000 -> "1", -0.0000001 -> "0". For measured values whose digits
 * beyond the resolution are noise (seconds to the microsecond, samples/s to 0.1, a ratio
 * printed beside its exact parts), where sal_fmt_num would print 17 digits. A value whose
 * fixed form does not fit cap gets sal_fmt_num's form instead (cap >= SAL_NUM_MAX). Returns
 * buf. */
char *sal_fmt_dec(double x, int decimals, char *buf, size_t cap);

/* Seconds as a progress line's ETA: "1:02:03" or "2:03" (rounded) into buf (n bytes). */
const char *sal_fmt_duration(double s, char *buf, size_t n);

#endif
