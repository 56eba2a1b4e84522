// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * selftest.c - `kvmcmo selftest`: run throwaway VMs that provoke every
 * abort class this platform can produce, measure them with kvmcmo's own
 * probes, and print what this kernel did for each case against what the
 * workload expected.
 *
 * The workload (workload.c) knows the ground truth of each VM exactly;
 * the probes know what KVM did.  A case passes when the two tables are
 * equal row for row: no "at least", no extra rows.
 *
 * Under emulation (QEMU TCG) DC IVAC/CIVAC/CVAC never fault and DC CVAP
 * faults as a plain read: the CMO cases then show what the platform did,
 * not KVM's CMO policy.  The CMO branches of the classifier are covered by
 * ESR tables in tests/unit/test_classify.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cli.h"
#include "workload.h"

#define MAX_CASES 64

static struct selftest_env {
	const char *cases[MAX_CASES];
	int ncases;
	enum wl_cmo_model cmo;
	int mode;
	bool workload_only;
	const char *truth_path;
	bool list;
	unsigned long bench_pages;
} env;

static const char doc[] =
	"Run throwaway VMs that provoke every stage-2 abort class, measure them with\n"
	"kvmcmo's probes, and compare with what the workload knows it provoked.\n"
	"\n"
	"USAGE: kvmcmo selftest [-c CASE]... [--cmo-model MODEL] [--attach MODE]\n"
	"       kvmcmo selftest --workload-only [--truth FILE] [-c CASE]...\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmo selftest                   # every case, probes attached\n"
	"    kvmcmo selftest -c ro_write -c none_ldp_nisv\n"
	"    kvmcmo selftest --list            # the cases\n"
	"    kvmcmo selftest --workload-only --truth t.json  # no probes: for 'kvmcmo stat'";

static const struct argp_option opts[] = {
	{ "case", 'c', "CASE", 0, "Run this case (repeatable; default: all but bench)", 0 },
	{ "list", 'l', NULL, 0, "List the cases and exit", 0 },
	{ "cmo-model", 'm', "MODEL", 0,
	  "auto (default), emulated (QEMU TCG) or mainline (hardware)", 0 },
	{ "attach", 'a', "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "workload-only", 'w', NULL, 0, "Run the VMs without probes", 0 },
	{ "truth", 't', "FILE", 0, "Write the ground truth JSON to FILE ('-': stdout)", 0 },
	{ "bench-pages", 'b', "N", 0, "Pages the bench case reads (default 10000)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's and the workload's messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	(void)state;
	switch (key) {
	case 'c':
		if (env.ncases == MAX_CASES) {
			kvmcmo_usage_err("too many cases (at most %d)", MAX_CASES);
			return EINVAL;
		}
		env.cases[env.ncases++] = arg;
		return 0;
	case 'l':
		env.list = true;
		return 0;
	case 'm':
		if (!strcmp(arg, "auto"))
			env.cmo = WL_CMO_AUTO;
		else if (!strcmp(arg, "emulated"))
			env.cmo = WL_CMO_EMULATED;
		else if (!strcmp(arg, "mainline"))
			env.cmo = WL_CMO_MAINLINE;
		else {
			kvmcmo_usage_err("invalid CMO model '%s' (auto, emulated or mainline)", arg);
			return EINVAL;
		}
		return 0;
	case 'a':
		env.mode = kvmcmo_mode_parse(arg);
		if (env.mode < 0) {
			kvmcmo_usage_err("invalid attach mode '%s' (auto, fentry or kprobe)", arg);
			return EINVAL;
		}
		return 0;
	case 'w':
		env.workload_only = true;
		return 0;
	case 't':
		env.truth_path = arg;
		return 0;
	case 'b':
		v = parse_positive(arg, (long)wl_bench_pages_max());
		if (v < 0) {
			kvmcmo_usage_err("invalid page count '%s' (1 to %lu)", arg,
					 wl_bench_pages_max());
			return EINVAL;
		}
		env.bench_pages = v;
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

static int check_cases(void)
{
	int n;
	const char *const *names = wl_case_names(&n);

	for (int i = 0; i < env.ncases; i++) {
		bool ok = false;

		for (int j = 0; j < n; j++)
			ok |= !strcmp(env.cases[i], names[j]);
		if (!ok) {
			kvmcmo_usage_err("unknown case '%s' (see 'kvmcmo selftest --list')",
					 env.cases[i]);
			return KVMCMO_EXIT_USAGE;
		}
	}
	return 0;
}

/* "kind/fault/memslot/outcome" -> count, from a VM's "aborts" array */
static json_t *abort_table(const json_t *vm)
{
	json_t *t = json_object(), *row;
	size_t i;

	json_array_foreach(json_object_get(vm, "aborts"), i, row) {
		char key[96];
		json_int_t n;

		snprintf(key, sizeof(key), "%s/%s/%s/%s",
			 json_string_value(json_object_get(row, "kind")),
			 json_string_value(json_object_get(row, "fault")),
			 json_string_value(json_object_get(row, "memslot")),
			 json_string_value(json_object_get(row, "outcome")));
		n = json_integer_value(json_object_get(row, "count")) +
		    json_integer_value(json_object_get(t, key));
		json_object_set_new(t, key, json_integer(n));
	}
	return t;
}

/* "kind/memslot" -> count, from a VM's "double_faults" array */
static json_t *dfault_table(const json_t *vm)
{
	json_t *t = json_object(), *row;
	size_t i;

	json_array_foreach(json_object_get(vm, "double_faults"), i, row) {
		char key[64];

		snprintf(key, sizeof(key), "%s/%s",
			 json_string_value(json_object_get(row, "kind")),
			 json_string_value(json_object_get(row, "memslot")));
		json_object_set_new(t, key, json_integer(json_integer_value(json_object_get(row, "count")) +
							 json_integer_value(json_object_get(t, key))));
	}
	return t;
}

static bool dfault_equal(const json_t *want, const json_t *got)
{
	json_t *a = dfault_table(want), *b = dfault_table(got);
	bool eq = json_equal(a, b);

	json_decref(a);
	json_decref(b);
	return eq;
}

static json_int_t jint(const json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static const json_t *find_vm(const json_t *snap, json_int_t pid, json_int_t fd)
{
	const json_t *vm;
	size_t i;

	json_array_foreach(json_object_get(snap, "vms"), i, vm)
		if (json_integer_value(json_object_get(vm, "pid")) == pid &&
		    json_integer_value(json_object_get(vm, "fd")) == fd)
			return vm;
	return NULL;
}

static void print_table(const char *label, const json_t *t)
{
	const char *key;
	json_t *v;

	printf("    %-9s", label);
	if (!json_object_size(t))
		printf(" (no aborts)");
	json_object_foreach((json_t *)t, key, v)
		printf(" %s x%lld", key, (long long)json_integer_value(v));
	printf("\n");
}

/* one line per case; expected and seen only where they differ */
static int compare(const json_t *truth, const json_t *seen)
{
	const json_t *want;
	size_t i;
	int passed = 0, failed = 0;

	printf("%-22s %-8s %s\n", "CASE", "RESULT", "ABORTS (kind/fault/memslot/outcome x count)");
	json_array_foreach(json_object_get(truth, "vms"), i, want) {
		json_int_t pid = json_integer_value(json_object_get(want, "pid"));
		json_int_t fd = json_integer_value(json_object_get(want, "fd"));
		const json_t *got = find_vm(seen, pid, fd);
		json_t *tw = abort_table(want), *tg = got ? abort_table(got) : json_object();
		bool ok = got && json_equal(tw, tg) &&
			  jint(want, "dabt_injections", "abort") == jint(got, "dabt_injections", "abort") &&
			  jint(want, "dabt_injections", "userspace") ==
				  jint(got, "dabt_injections", "userspace") &&
			  dfault_equal(want, got);
		const char *key;
		json_t *v;

		printf("%-22s %-8s", json_string_value(json_object_get(want, "name")),
		       ok ? "ok" : "MISMATCH");
		json_object_foreach(tw, key, v)
			printf(" %s x%lld", key, (long long)json_integer_value(v));
		if (jint(want, "dabt_injections", "userspace"))
			printf(" (+%lld dabt injected by the VMM)",
			       (long long)jint(want, "dabt_injections", "userspace"));
		printf("\n");
		if (!ok) {
			print_table("expected", tw);
			if (got)
				print_table("seen", tg);
			else
				printf("    seen      no VM with pid %lld fd %lld\n", (long long)pid,
				       (long long)fd);
			printf("    dabt      expected abort %lld userspace %lld, seen %lld %lld\n",
			       (long long)jint(want, "dabt_injections", "abort"),
			       (long long)jint(want, "dabt_injections", "userspace"),
			       (long long)jint(got, "dabt_injections", "abort"),
			       (long long)jint(got, "dabt_injections", "userspace"));
		}
		ok ? passed++ : failed++;
		json_decref(tw);
		json_decref(tg);
	}
	printf("\nselftest: %d passed, %d failed\n", passed, failed);
	return failed ? KVMCMO_EXIT_FAIL : 0;
}

static int write_truth(const json_t *truth)
{
	FILE *f = stdout;
	int err = 0;

	if (!env.truth_path)
		return 0;
	if (strcmp(env.truth_path, "-")) {
		f = fopen(env.truth_path, "w");
		if (!f) {
			kvmcmo_err("cannot write %s: %s", env.truth_path, strerror(errno));
			return KVMCMO_EXIT_FAIL;
		}
	}
	if (json_dumpf(truth, f, JSON_INDENT(1)) || fputc('\n', f) == EOF)
		err = KVMCMO_EXIT_FAIL;
	if (f != stdout && fclose(f))
		err = KVMCMO_EXIT_FAIL;
	if (err)
		kvmcmo_err("failed to write %s", env.truth_path);
	return err;
}

int cmd_selftest(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct wl_opts wo = {};
	struct kvmcmo_opts ko = {};
	struct kvmcmo_snapshot snap = {};
	struct kvmcmo *k = NULL;
	json_t *truth = NULL, *seen = NULL;
	int err, n;

	kvmcmo_log_init("kvmcmo selftest");
	err = kvmcmo_argp_parse(&argp, argc, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	if (env.list) {
		const char *const *names = wl_case_names(&n);

		for (int i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	err = check_cases();
	if (err)
		return err;
	wo.cases = env.ncases ? env.cases : NULL;
	wo.ncases = env.ncases;
	wo.cmo = env.cmo;
	wo.bench_pages = env.bench_pages;
	wo.verbose = kvmcmo_verbose;

	if (env.workload_only) {
		char why[256];

		err = kvmcmo_host_check_kvm(why, sizeof(why));
		if (err) {
			kvmcmo_err("%s", why);
			return err;
		}
	} else {
		ko.mode = env.mode;
		err = kvmcmo_open(&k, &ko);
		if (err)
			return err;
	}
	err = wl_run(&wo, &truth);
	if (!truth) {
		kvmcmo_err("the workload could not run: %s", strerror(-err));
		err = KVMCMO_EXIT_FAIL;
		goto out;
	}
	if (err)
		kvmcmo_warn("the workload reported a problem (%s): see its \"errors\"/\"match\" fields",
			    strerror(-err));
	/* with the truth on stdout, stdout stays pure JSON */
	fprintf(env.truth_path && !strcmp(env.truth_path, "-") ? stderr : stdout,
		"CMO model: %s%s\n", json_string_value(json_object_get(truth, "cmo_model")),
	       !strcmp(json_string_value(json_object_get(truth, "cmo_model")) ?: "", "emulated") ?
	       " (DC IVAC/CIVAC/CVAC do not fault here; DC CVAP faults as a read:"
	       " CMO policy is covered by the classifier's ESR tables)" : "");
	err = err ? KVMCMO_EXIT_FAIL : 0;
	if (write_truth(truth))
		err = KVMCMO_EXIT_FAIL;
	if (env.workload_only)
		goto out;
	if (kvmcmo_snapshot_read(k, &snap)) {
		kvmcmo_err("failed to read the counters");
		err = KVMCMO_EXIT_FAIL;
		goto out;
	}
	seen = kvmcmo_snapshot_json(&snap, 0);
	if (compare(truth, seen))
		err = KVMCMO_EXIT_FAIL;
out:
	json_decref(truth);
	json_decref(seen);
	kvmcmo_snapshot_free(&snap);
	kvmcmo_close(k);
	return err;
}
