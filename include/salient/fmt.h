/* fmt.h - numbers as people read them: the shortest text that reads back to the same double
 * (0.1, 600, 0.30000000000000004), so that files stay exact and still readable. */
#ifndef SALIENT_FMT_H
#define SALIENT_FMT_H

#include <stddef.h>

#define SAL_NUM_MAX 32 /* enough for any double in %.17g, sign and exponent included */

/* Writes x into buf (cap >= SAL_NUM_MAX) with the fewest significant digits (1..17) that
 * strtod reads back bitwise; "nan", "inf", "-inf" for the non-finite. Returns buf. */
char *sal_fmt_num(double x, char *buf, size_t cap);

/* Seconds as a progress line's ETA: "1:02:03" or "2:03" (rounded) into buf (n bytes). */
const char *sal_fmt_duration(double s, char *buf, size_t n);

#endif
