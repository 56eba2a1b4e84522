// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cli.c - argp for every kvmcmo front end, with one-line usage errors.
 *
 * Plain argp prints two lines on a bad option and exits 64.  Our contract
 * is one line and exit 2, so argp runs with ARGP_NO_ERRS and the error is
 * printed here, naming the argument that failed.
 */
#include <argp.h>
#include <stdarg.h>
#include <string.h>

#include "libkvmcmo.h"
#include "cli.h"

static bool reported;
static const char *bad_arg;

void kvmcmo_usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", kvmcmo_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '%s --help')\n", kvmcmo_prog);
	reported = true;
}

static error_t wrap_parser(int key, char *arg, struct argp_state *st)
{
	(void)arg;
	/* next is one past the argument argp could not use */
	if (key == ARGP_KEY_ERROR && !bad_arg && st->next > 0 && st->next <= st->argc)
		bad_arg = st->argv[st->next - 1];
	return ARGP_ERR_UNKNOWN;
}

int kvmcmo_argp_parse(const struct argp *argp, int argc, char **argv, void *input)
{
	struct argp_child children[] = { { argp, 0, NULL, 0 }, { 0 } };
	struct argp wrap = { .parser = wrap_parser, .children = children,
			     .doc = argp->doc };
	int err;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-?") || !strcmp(argv[i], "-h")) {
			argp_help(&wrap, stdout, ARGP_HELP_STD_HELP & ~ARGP_HELP_EXIT_OK, (char *)kvmcmo_prog);
			return KVMCMO_ARGP_HELP;
		}
		if (!strcmp(argv[i], "--usage")) {
			argp_help(&wrap, stdout, ARGP_HELP_USAGE, (char *)kvmcmo_prog);
			return KVMCMO_ARGP_HELP;
		}
	}
	reported = false;
	bad_arg = NULL;
	err = argp_parse(&wrap, argc, argv, ARGP_NO_ERRS | ARGP_NO_HELP, NULL, input);
	if (!err)
		return 0;
	if (!reported) {
		if (bad_arg)
			kvmcmo_usage_err("unrecognized option or missing value: '%s'", bad_arg);
		else
			kvmcmo_usage_err("invalid arguments");
	}
	return KVMCMO_EXIT_USAGE;
}
