// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * check.c - `kvmcmo check`: the attach plan on this kernel.  Each fact's
 * function, the mode a real attach chose (fentry, kprobe), the fallback
 * used, or why it is absent.  Non-zero when the core cannot attach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cli.h"

static int mode = KVMCMO_MODE_AUTO;
static bool json;
static bool loaded;

static const char doc[] =
	"Show which kernel function each kvmcmo fact comes from, and how it attaches.\n"
	"\n"
	"USAGE: kvmcmo check [--attach MODE] [-j]\n"
	"       kvmcmo check --loaded\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmo check                 # the plan kvmcmo stat would use\n"
	"    kvmcmo check --attach fentry # can everything attach as fentry here?\n"
	"    kvmcmo check --loaded        # kvmcmo programs in the kernel now";

static const struct argp_option opts[] = {
	{ "attach", 'a', "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "json", 'j', NULL, 0, "Print the plan as JSON", 0 },
	{ "loaded", 'l', NULL, 0, "List kvmcmo's BPF programs loaded in the kernel now (any process), one per line", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'a':
		mode = kvmcmo_mode_parse(arg);
		if (mode < 0) {
			kvmcmo_usage_err("invalid attach mode '%s' (auto, fentry or kprobe)", arg);
			return EINVAL;
		}
		return 0;
	case 'j':
		json = true;
		return 0;
	case 'l':
		loaded = true;
		return 0;
	case 'v':
		kvmcmo_verbose = 1;
		return 0;
	case ARGP_KEY_ARG:
		kvmcmo_usage_err("unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

/* "prog ID NAME" per program: nothing printed means nothing is left */
static int list_loaded(void)
{
	struct kvmcmo_loaded_prog progs[64];
	int n = kvmcmo_loaded_progs(progs, 64);

	if (n < 0) {
		kvmcmo_err("cannot list BPF programs: %s", strerror(-n));
		return KVMCMO_EXIT_FAIL;
	}
	for (int i = 0; i < n && i < 64; i++)
		printf("prog %u %s\n", progs[i].id, progs[i].name);
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct kvmcmo_plan plan;
	char why[256];
	int err;

	kvmcmo_log_init("kvmcmo check");
	err = kvmcmo_argp_parse(&argp, argc, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	err = kvmcmo_host_check(why, sizeof(why));
	if (err) {
		kvmcmo_err("%s", why);
		return err;
	}
	if (loaded)
		return list_loaded();
	kvmcmo_plan_build(&plan, mode);
	if (json) {
		json_t *rows = json_array();
		json_t *j = json_pack("{s:b, s:o}", "ok", plan.ok, "plan", rows);
		char *txt;

		for (int i = 0; i < plan.nrows; i++) {
			const struct kvmcmo_plan_row *r = &plan.rows[i];

			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:b, s:s}",
				"function", r->function, "role", r->role,
				"mode", kvmcmo_mode_name(r->mode), "required", r->required,
				"note", r->note));
		}
		txt = json_dumps(j, JSON_INDENT(2));
		printf("%s\n", txt ? txt : "{}");
		free(txt);
		json_decref(j);
	} else {
		printf("%-32s %-30s %-7s %s\n", "FUNCTION", "GIVES", "MODE", "NOTE");
		for (int i = 0; i < plan.nrows; i++) {
			const struct kvmcmo_plan_row *r = &plan.rows[i];

			printf("%-32s %-30s %-7s %s%s\n", r->function, r->role,
			       kvmcmo_mode_name(r->mode), r->required ? "" : "(optional) ",
			       r->note);
		}
		printf("\n%s\n", plan.ok ? "ok: every required probe can attach" :
		       "FAILED: a required probe cannot attach on this kernel");
	}
	return plan.ok ? 0 : KVMCMO_EXIT_UNSUPPORTED;
}
