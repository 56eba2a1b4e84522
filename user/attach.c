// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attach.c - choose a probe for every fact, load, attach through BPF links
 * only (a killed process leaves nothing behind), detach.
 *
 * For each kernel function the plan tries a real fentry attach (probe.bpf.c)
 * and falls back to a kprobe; functions a kernel lacks fall back to the next
 * candidate (kvm_inject_dabt -> kvm_inject_sea on 7.2) or are reported
 * absent.  The losing program variants are never loaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libkvmcmo.h"
#include "internal.h"
#include "ksyms.h"
#include "kvmcmo.skel.h"
#include "probe.skel.h"

struct probe_cand {
	const char *func;
	const char *fentry;     /* program names in kvmcmo.bpf.c */
	const char *kprobe;
};

struct probe_def {
	const char *role;
	bool required;
	struct probe_cand cand[2];
	const char *why_unused; /* non-NULL: shown in the plan, never probed */
	bool tracepoint;        /* cand[0] is a raw tracepoint: same program in every mode */
};

/*
 * What each function gives, in plan order.  The "unused" rows are the
 * functions a naive design would probe on every abort; they are listed so
 * `kvmcmo check` shows where each fact comes from instead.
 */
static const struct probe_def probe_defs[] = {
	{ "abort open (PC, ESR, IPA)", true,
	  { { "kvm_guest_fault", "abort_open_tp", "abort_open_tp" } }, NULL, true },
	{ "abort close: guest re-entry", true,
	  { { "kvm_entry", "guest_entry_tp", "guest_entry_tp" } }, NULL, true },
	{ "abort close: return to VMM", true,
	  { { "kvm_userspace_exit", "vmm_exit_tp", "vmm_exit_tp" } }, NULL, true },
	{ "mmio / nisv", true,
	  { { "io_mem_abort", "io_mem_abort_fentry", "io_mem_abort_kprobe" } } },
	{ "abort injection", false,
	  { { "kvm_inject_dabt", "inject_dabt_fentry", "inject_dabt_kprobe" },
	    { "kvm_inject_sea", "inject_sea_fentry", "inject_sea_kprobe" } } },
	{ "stage-2 relax", true,
	  { { "kvm_pgtable_stage2_relax_perms", "stage2_relax_fentry", "stage2_relax_kprobe" } } },
	{ "access flag", false,
	  { { "kvm_access_fault", "access_fault_tp", "access_fault_tp" } }, NULL, true },
	{ "memslot update begins", true,
	  { { "kvm_arch_prepare_memory_region", "memslot_prepare_fentry", "memslot_prepare_kprobe" } } },
	{ "memslot update fails", true,
	  { { "kvm_arch_prepare_memory_region", "memslot_prepared_fexit", "memslot_prepared_kretprobe" } } },
	{ "memslot update ends", true,
	  { { "kvm_arch_commit_memory_region", "memslot_commit_fexit", "memslot_commit_kretprobe" } } },
	{ "memslot delete/move begins", true,
	  { { "kvm_arch_flush_shadow_memslot", "memslot_flush_fentry", "memslot_flush_kprobe" } } },
	{ "memslots swapped (6.1+)", false,
	  { { "kvm_swap_active_memslots", "memslot_swap_fentry", "memslot_swap_kprobe" } } },
	{ "vm destroy", false,
	  { { "kvm_arch_destroy_vm", "destroy_vm_fentry", "destroy_vm_kprobe" } } },
	{ "thread exit (frees its record)", true,
	  { { "sched_process_exit", "thread_exit_tp", "thread_exit_tp" } }, NULL, true },
	{ "abort handler", false, { { "kvm_handle_guest_abort" } },
	  "its kvm_guest_fault tracepoint opens each abort (fexit costs twice a tracepoint)" },
	{ "user_mem_abort", false, { { "user_mem_abort" } },
	  "outcome read at close" },
	{ "stage-2 map", false, { { "kvm_pgtable_stage2_map" } },
	  "map_rw/map_ro read from the stage-2 leaf at close" },
	{ "stage-2 access flag", false, { { "kvm_pgtable_stage2_mkyoung" } },
	  "the kvm_access_fault tracepoint" },
	{ "memslot lookup", false, { { "gfn_to_memslot" } },
	  "memslot read at close" },
	{ "pfn lookup", false, { { "__gfn_to_pfn_memslot" }, { "__kvm_faultin_pfn" } },
	  "writability read from the stage-2 leaf" },
};

#define NDEFS (sizeof(probe_defs) / sizeof(probe_defs[0]))
_Static_assert(NDEFS <= KVMCMO_MAX_PLAN, "struct kvmcmo_plan holds every row");

struct kvmcmo {
	struct kvmcmo_bpf *skel;
	struct kvmcmo_plan plan;
	struct bpf_link *links[2 * NDEFS];
	int nlinks;
	struct kvmcmo_reaper reaper;    /* reap.c's */
};

const char *kvmcmo_mode_name(enum kvmcmo_mode m)
{
	switch (m) {
	case KVMCMO_MODE_AUTO: return "auto";
	case KVMCMO_MODE_FENTRY: return "fentry";
	case KVMCMO_MODE_KPROBE: return "kprobe";
	case KVMCMO_MODE_ABSENT: return "absent";
	case KVMCMO_MODE_UNUSED: return "-";
	case KVMCMO_MODE_TRACEPOINT: return "tracepoint";
	}
	return "?";
}

int kvmcmo_mode_parse(const char *s)
{
	static const enum kvmcmo_mode opt[] = {
		KVMCMO_MODE_AUTO, KVMCMO_MODE_FENTRY, KVMCMO_MODE_KPROBE,
	};

	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (!strcmp(s, kvmcmo_mode_name(opt[i])))
			return opt[i];
	return -1;
}

/* A real fentry attach on func: 0, or -errno (-524 ENOTSUPP on 5.10/6.1). */
static int try_fentry(const char *func)
{
	struct probe_bpf *p = probe_bpf__open();
	struct bpf_link *l;
	int err;

	if (!p)
		return -errno;
	err = bpf_program__set_attach_target(p->progs.probe_fentry, 0, func);
	if (!err)
		err = probe_bpf__load(p);
	if (!err) {
		l = bpf_program__attach(p->progs.probe_fentry);
		err = l ? 0 : -errno;
		bpf_link__destroy(l);
	}
	probe_bpf__destroy(p);
	return err;
}

/* entry and exit of one function share one fentry attempt */
struct fentry_memo {
	const char *func[NDEFS];
	int err[NDEFS];
	int n;
};

static int fentry_result(struct fentry_memo *m, const char *func)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->func[i], func))
			return m->err[i];
	m->func[m->n] = func;
	m->err[m->n] = try_fentry(func);
	return m->err[m->n++];
}

static void plan_row(struct kvmcmo_plan_row *r, const struct probe_def *d,
		     enum kvmcmo_mode want, struct fentry_memo *memo)
{
	const struct probe_cand *c = NULL;
	size_t off;

	r->role = d->role;
	r->required = d->required;
	r->function = d->cand[0].func;
	if (d->tracepoint) {
		/* nothing to choose: there if the kernel defines it */
		char sym[96];

		snprintf(sym, sizeof(sym), "__traceiter_%s", d->cand[0].func);
		r->in_kallsyms = kvmcmo_ksym_exists(sym);
		r->mode = r->in_kallsyms ? KVMCMO_MODE_TRACEPOINT : KVMCMO_MODE_ABSENT;
		snprintf(r->note, sizeof(r->note), "%s", r->in_kallsyms ? "tracepoint" :
			 "no such tracepoint (no __traceiter_ symbol)");
		return;
	}
	for (int i = 0; i < 2 && d->cand[i].func; i++) {
		if (kvmcmo_ksym_exists(d->cand[i].func)) {
			c = &d->cand[i];
			break;
		}
	}
	if (!c) {
		r->mode = KVMCMO_MODE_ABSENT;
		if (d->cand[1].func)
			snprintf(r->note, sizeof(r->note), "neither %s nor %s in kallsyms",
				 d->cand[0].func, d->cand[1].func);
		else
			snprintf(r->note, sizeof(r->note), "not in kallsyms%s",
				 d->why_unused ? " (inlined)" : "");
		off = strlen(r->note);
		if (d->why_unused)
			snprintf(r->note + off, sizeof(r->note) - off, "; %s", d->why_unused);
		return;
	}
	r->function = c->func;
	r->in_kallsyms = true;
	if (d->why_unused) {
		r->mode = KVMCMO_MODE_UNUSED;
		snprintf(r->note, sizeof(r->note), "present, not probed: %s", d->why_unused);
		return;
	}
	if (c != &d->cand[0])
		snprintf(r->note, sizeof(r->note), "fallback for %s", d->cand[0].func);
	if (want == KVMCMO_MODE_KPROBE) {
		r->mode = KVMCMO_MODE_KPROBE;
		return;
	}
	r->fentry_err = fentry_result(memo, c->func);
	r->fentry_ok = !r->fentry_err;
	if (r->fentry_ok)
		r->mode = KVMCMO_MODE_FENTRY;
	else if (want == KVMCMO_MODE_FENTRY)
		r->mode = KVMCMO_MODE_ABSENT;
	else
		r->mode = KVMCMO_MODE_KPROBE;
	/* -524 is the kernel's ENOTSUPP, which libc has no name for */
	off = strlen(r->note);
	if (!r->fentry_ok)
		snprintf(r->note + off, sizeof(r->note) - off, "%sfentry attach failed: %s",
			 off ? "; " : "", r->fentry_err == -524 ? "not supported by this kernel" :
			 strerror(-r->fentry_err));
}

/*
 * KVMCMO_NO_PROBE: comma-separated kernel functions (or tracepoints) left
 * unprobed, as if the kernel lacked them.  It tests the fallbacks (no
 * kvm_arch_destroy_vm probe: reap.c finds destroyed VMs) and works around
 * a probe that misbehaves on some kernel.  A required one fails the plan.
 */
static bool skipped(const char *func)
{
	const char *list = getenv("KVMCMO_NO_PROBE"), *p;
	size_t n = strlen(func);

	for (p = list; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strcspn(p, ",") == n && !strncmp(p, func, n))
			return true;
	return false;
}

int kvmcmo_plan_build(struct kvmcmo_plan *plan, enum kvmcmo_mode want)
{
	struct fentry_memo memo = { .n = 0 };

	memset(plan, 0, sizeof(*plan));
	plan->ok = true;
	for (size_t i = 0; i < NDEFS; i++) {
		struct kvmcmo_plan_row *r = &plan->rows[plan->nrows++];

		plan_row(r, &probe_defs[i], want, &memo);
		if (r->mode != KVMCMO_MODE_ABSENT && r->mode != KVMCMO_MODE_UNUSED &&
		    skipped(r->function)) {
			r->mode = KVMCMO_MODE_ABSENT;
			snprintf(r->note, sizeof(r->note), "skipped: KVMCMO_NO_PROBE");
		}
		if (r->required && r->mode != KVMCMO_MODE_FENTRY && r->mode != KVMCMO_MODE_KPROBE &&
		    r->mode != KVMCMO_MODE_TRACEPOINT)
			plan->ok = false;
	}
	return plan->ok ? 0 : -ENOENT;
}

static const struct probe_def *def_of(const struct kvmcmo_plan_row *r, const struct probe_cand **cand)
{
	for (size_t i = 0; i < NDEFS; i++) {
		if (strcmp(probe_defs[i].role, r->role))
			continue;
		for (int j = 0; j < 2; j++)
			if (probe_defs[i].cand[j].func && !strcmp(probe_defs[i].cand[j].func, r->function))
				*cand = &probe_defs[i].cand[j];
		return &probe_defs[i];
	}
	return NULL;
}

static struct bpf_program *chosen_prog(struct kvmcmo *k, const struct kvmcmo_plan_row *r)
{
	const struct probe_cand *c = NULL;

	if (r->mode != KVMCMO_MODE_FENTRY && r->mode != KVMCMO_MODE_KPROBE &&
	    r->mode != KVMCMO_MODE_TRACEPOINT)
		return NULL;
	if (!def_of(r, &c) || !c)
		return NULL;
	return bpf_object__find_program_by_name(k->skel->obj,
						r->mode == KVMCMO_MODE_KPROBE ? c->kprobe : c->fentry);
}

/* Every row of a dense counter array starts free (bpf/kvmcmo.h). */
static int fill_free_rows(struct bpf_map *free, __u32 nrows)
{
	int fd = bpf_map__fd(free);

	for (__u32 row = 0; row < nrows; row++)
		if (bpf_map_update_elem(fd, NULL, &row, BPF_ANY))
			return -errno;
	return 0;
}

int kvmcmo_open(struct kvmcmo **out, const struct kvmcmo_opts *opts)
{
	struct kvmcmo *k;
	struct bpf_program *prog;
	char why[256];
	int err;

	err = kvmcmo_host_check(why, sizeof(why));
	if (err) {
		kvmcmo_err("%s", why);
		return err;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		kvmcmo_err("out of memory");
		return KVMCMO_EXIT_FAIL;
	}
	if (kvmcmo_plan_build(&k->plan, opts->mode)) {
		for (int i = 0; i < k->plan.nrows; i++) {
			const struct kvmcmo_plan_row *r = &k->plan.rows[i];

			if (r->required && r->mode == KVMCMO_MODE_ABSENT) {
				kvmcmo_err("%s cannot be probed (%s): run 'kvmcmo check' for the plan",
					   r->function, r->note);
				break;
			}
		}
		free(k);
		return KVMCMO_EXIT_UNSUPPORTED;
	}
	k->skel = kvmcmo_bpf__open();
	if (!k->skel) {
		kvmcmo_err("failed to open the BPF object: %s", strerror(errno));
		free(k);
		return KVMCMO_EXIT_FAIL;
	}
	k->skel->rodata->filter_tgid = opts->pid;
	k->skel->rodata->track_regions = !opts->no_regions;
	bpf_object__for_each_program(prog, k->skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int i = 0; i < k->plan.nrows; i++) {
		prog = chosen_prog(k, &k->plan.rows[i]);
		if (prog)
			bpf_program__set_autoload(prog, true);
	}
	err = kvmcmo_bpf__load(k->skel);
	if (err) {
		kvmcmo_err("failed to load the BPF programs: %s (rerun with -v for libbpf's log)",
			   strerror(-err));
		kvmcmo_close(k);
		return KVMCMO_EXIT_FAIL;
	}
	err = fill_free_rows(k->skel->maps.vcpu_free, KVMCMO_VCPU_ROWS);
	if (!err)
		err = fill_free_rows(k->skel->maps.region_free, KVMCMO_REGION_ROWS);
	if (err) {
		kvmcmo_err("failed to fill the counter row queues: %s", strerror(-err));
		kvmcmo_close(k);
		return KVMCMO_EXIT_FAIL;
	}
	for (int i = 0; i < k->plan.nrows; i++) {
		const struct kvmcmo_plan_row *r = &k->plan.rows[i];
		struct bpf_link *l;

		prog = chosen_prog(k, r);
		if (!prog)
			continue;
		l = bpf_program__attach(prog);
		if (!l) {
			err = -errno;
			kvmcmo_err("failed to attach %s to %s: %s", kvmcmo_mode_name(r->mode),
				   r->function, strerror(-err));
			kvmcmo_close(k);
			return KVMCMO_EXIT_FAIL;
		}
		k->links[k->nlinks++] = l;
	}
	*out = k;
	return 0;
}

void kvmcmo_close(struct kvmcmo *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nlinks; i++)
		bpf_link__destroy(k->links[i]);
	kvmcmo_bpf__destroy(k->skel);
	free(k->reaper.suspects);
	free(k);
}

const struct kvmcmo_plan *kvmcmo_get_plan(const struct kvmcmo *k)
{
	return &k->plan;
}

int kvmcmo_prog_stats(const struct kvmcmo *k, struct kvmcmo_prog_stat *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, k->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || n >= max)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		out[n].name = bpf_program__name(prog);
		out[n].run_cnt = info.run_cnt;
		out[n].run_time_ns = info.run_time_ns;
		out[n].recursion_misses = info.recursion_misses;
		n++;
	}
	return n;
}

/* is name (as the kernel keeps it) one of the object's program names? */
static bool ours(struct kvmcmo_bpf *skel, const char *name)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
		if (!strncmp(name, bpf_program__name(prog), BPF_OBJ_NAME_LEN - 1))
			return true;
	return false;
}

int kvmcmo_loaded_progs(struct kvmcmo_loaded_prog *out, int max)
{
	struct kvmcmo_bpf *skel = kvmcmo_bpf__open();   /* names only: nothing loads */
	__u32 id = 0;
	int n = 0, err = 0;

	if (!skel)
		return -errno;
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0) {
			if (errno == ENOENT)    /* unloaded since: gone is fine */
				continue;
			err = -errno;
			break;
		}
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && ours(skel, info.name)) {
			if (n < max) {
				out[n].id = id;
				snprintf(out[n].name, sizeof(out[n].name), "%s", info.name);
			}
			n++;
		}
		close(fd);
	}
	if (!err && errno != ENOENT)
		err = -errno;
	kvmcmo_bpf__destroy(skel);
	return err ? err : n;
}

bool kvmcmo_uses_kprobes(const struct kvmcmo *k)
{
	for (int i = 0; i < k->plan.nrows; i++)
		if (k->plan.rows[i].mode == KVMCMO_MODE_KPROBE)
			return true;
	return false;
}

struct kvmcmo_reaper *kvmcmo_reaper(struct kvmcmo *k)
{
	return &k->reaper;
}

/* for snapshot.c: the skeleton's maps */
struct kvmcmo_bpf *kvmcmo_skel(struct kvmcmo *k)
{
	return k->skel;
}
