// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* log.c - the one error printer: lowercase, on stderr, prefixed by the tool */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "libkvmcmo.h"

const char *kvmcmo_prog = "kvmcmo";
int kvmcmo_verbose;

static void vmsg(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", kvmcmo_prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void kvmcmo_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void kvmcmo_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void kvmcmo_info(const char *fmt, ...)
{
	va_list ap;

	if (!kvmcmo_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

/* libbpf talks only with -v: without it, failures are explained by us in
 * one line instead of libbpf's multi-line verifier and relocation dumps */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!kvmcmo_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void kvmcmo_log_init(const char *prog)
{
	kvmcmo_prog = prog;
	libbpf_set_print(libbpf_print);
}
