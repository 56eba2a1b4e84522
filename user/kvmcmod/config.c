// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * config.c - option values: durations and listen addresses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmcmod.h"

int kd_parse_duration(const char *s, __u64 *ns)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 }, { "", 1e9 },
	};
	char *end;
	double v;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double t;

		if (strcmp(end, units[i].unit))
			continue;
		t = v * units[i].ns;
		/* at least 1 ms, at most a day: anything else is a typo */
		if (t < 1e6 || t > 86400e9)
			return -EINVAL;
		*ns = (__u64)llround(t);
		return 0;
	}
	return -EINVAL;
}

int kd_parse_listen(const char *s, char *host, size_t hostlen, unsigned int *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;         /* bare IPv6 needs brackets */
		hl = (size_t)(colon - s);
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 1 || p > 65535 || hl >= hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (unsigned int)p;
	return 0;
}
