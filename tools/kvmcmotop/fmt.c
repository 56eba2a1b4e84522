// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fmt.c - numbers squeezed into a screen column, like top's "1.2m": the most
 * precise form that fits (".4M" where "400k" does not), never wider than asked (a value too large for
 * every form shows as '+' signs rather than pushing the next column).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "top.h"

static bool fits(char *buf, size_t len, int width, const char *fmt, double v, char unit)
{
	int n = unit ? snprintf(buf, len, fmt, v, unit) : snprintf(buf, len, fmt, v);

	return n > 0 && n <= width && (size_t)n < len;
}

static char *overflow(char *buf, size_t len, int width)
{
	int n = width < (int)len - 1 ? width : (int)len - 1;

	memset(buf, '+', n > 0 ? n : 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

char *top_fmt_num(char *buf, size_t len, double v, int width)
{
	static const char units[] = "kMGTPE";
	bool integral = v == floor(v);
	double s = v;

	if (!len)
		return buf;
	if (!(v >= 0)) {                /* negative or NaN: nothing valid to show */
		snprintf(buf, len, "-");
		return buf;
	}
	if (!integral && v < 10 && fits(buf, len, width, "%.1f", v, 0))
		return buf;
	/* %.0f rounds: 9.96 must not print as "10" where a unit is needed */
	if (fits(buf, len, width, "%.0f", v, 0))
		return buf;
	for (int u = 0; units[u]; u++) {
		s /= 1000;
		if (s < 9.95 && fits(buf, len, width, "%.1f%c", s, units[u]))
			return buf;
		/* 400k in three columns: ".4M", never "0M" */
		if (s < 0.95) {
			int n = snprintf(buf, len, ".%d%c", (int)(s * 10 + 0.5), units[u]);

			if (n > 0 && n <= width && (size_t)n < len)
				return buf;
			continue;
		}
		if (s < 999.5 && fits(buf, len, width, "%.0f%c", s, units[u]))
			return buf;
	}
	return overflow(buf, len, width);
}

char *top_fmt_ns(char *buf, size_t len, __u64 ns, int width)
{
	static const struct { double div; char unit; } u[] = {
		{ 1, 'n' }, { 1e3, 'u' }, { 1e6, 'm' }, { 1e9, 's' },
	};

	if (!len)
		return buf;
	if (!ns) {
		snprintf(buf, len, "-");
		return buf;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		double s = (double)ns / u[i].div;

		if (i && s < 9.95 && fits(buf, len, width, "%.1f%c", s, u[i].unit))
			return buf;
		if (s < 999.5 && fits(buf, len, width, "%.0f%c", s, u[i].unit))
			return buf;
	}
	if (fits(buf, len, width, "%.0f%c", (double)ns / 1e9, 's'))
		return buf;
	return overflow(buf, len, width);
}
