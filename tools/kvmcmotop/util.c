// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util.c - the two small things kvmcmotop's parts share: a reason into a
 * caller's buffer, and the clock the samples are timed with */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "top.h"

int top_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

__u64 top_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}
