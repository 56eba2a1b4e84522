/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkvmcmo.h - the library every kvmcmo front end shares: check the host,
 * choose and attach the probes, read the kernel maps into snapshots, name
 * the VMs, render snapshots as JSON.
 *
 * Facts are gathered in bpf/, classified in bpf/kvmcmo.h, aggregated here,
 * shown in tools/.
 */
#ifndef __LIBKVMCMO_H
#define __LIBKVMCMO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include <jansson.h>

#include "kvmcmo.h"

#define KVMCMO_VERSION "0.1.0"

/* process exit codes, documented in every man page */
enum kvmcmo_exit {
	KVMCMO_EXIT_OK = 0,
	KVMCMO_EXIT_FAIL = 1,           /* runtime failure */
	KVMCMO_EXIT_USAGE = 2,          /* bad usage or bad input */
	KVMCMO_EXIT_UNSUPPORTED = 3,    /* host cannot run kvmcmo (not arm64, no KVM, ...) */
};

/* ---- messages (user/log.c) --------------------------------------------- */

#define __printf(a, b) __attribute__((format(printf, a, b)))

extern const char *kvmcmo_prog;         /* "kvmcmo", "kvmcmod", ... */
extern int kvmcmo_verbose;              /* -v: libbpf debug output too */
void kvmcmo_err(const char *fmt, ...) __printf(1, 2);
void kvmcmo_warn(const char *fmt, ...) __printf(1, 2);
void kvmcmo_info(const char *fmt, ...) __printf(1, 2);
void kvmcmo_log_init(const char *prog);

/* ---- labels (user/labels.c), from the X-macros of kvmcmo.h ------------- */

extern const char *const kvmcmo_kind_label[KVMCMO_KIND__COUNT];
extern const char *const kvmcmo_fault_label[KVMCMO_FAULT__COUNT];
extern const char *const kvmcmo_memslot_label[KVMCMO_MEMSLOT__COUNT];
extern const char *const kvmcmo_outcome_label[KVMCMO_OUTCOME__COUNT];
extern const char *const kvmcmo_dabt_label[KVMCMO_DABT__COUNT];
extern const char *const kvmcmo_stat_label[KVMCMO_STAT__COUNT];
/* label -> enum value, or -1 */
int kvmcmo_label_index(const char *const *labels, int n, const char *label);

/* ---- host checks (user/host.c) ------------------------------------------ */

/* 0 if this host can run kvmcmo, else KVMCMO_EXIT_UNSUPPORTED (or _FAIL)
 * with one line saying why and what to do in why[] */
int kvmcmo_host_check(char *why, size_t len);
/* only what running a VM needs (arm64, /dev/kvm): the selftest workload */
int kvmcmo_host_check_kvm(char *why, size_t len);

/* ---- attach plan and lifecycle (user/attach.c) -------------------------- */

enum kvmcmo_mode {
	KVMCMO_MODE_AUTO = 0,           /* as an option: try fentry, else kprobe */
	KVMCMO_MODE_FENTRY,
	KVMCMO_MODE_KPROBE,
	KVMCMO_MODE_ABSENT,             /* in a plan: the function is not there */
	KVMCMO_MODE_UNUSED,             /* in a plan: present, deliberately not probed */
	KVMCMO_MODE_TRACEPOINT,         /* in a plan: a raw tracepoint, in every mode */
};

#define KVMCMO_MAX_PLAN 24

struct kvmcmo_plan_row {
	const char *role;               /* what it gives: "abort entry", ... */
	const char *function;           /* kernel function chosen (or looked for) */
	enum kvmcmo_mode mode;
	bool required;                  /* the core cannot work without it */
	bool in_kallsyms;
	bool fentry_ok;                 /* a real fentry attach succeeded */
	int fentry_err;                 /* errno of the fentry attempt, if it failed */
	char note[128];
};

struct kvmcmo_plan {
	struct kvmcmo_plan_row rows[KVMCMO_MAX_PLAN];
	int nrows;
	bool ok;                        /* every required row can attach */
};

struct kvmcmo_opts {
	pid_t pid;                      /* only this VMM (0: all) */
	enum kvmcmo_mode mode;          /* AUTO, FENTRY or KPROBE (forced) */
	bool no_regions;                /* skip per-region rows (benchmarks) */
};

const char *kvmcmo_mode_name(enum kvmcmo_mode m);
/* --attach's argument: "auto", "fentry" or "kprobe" -> the mode, else -1 */
int kvmcmo_mode_parse(const char *s);
/* Probe the running kernel: which functions exist, which attach modes work */
int kvmcmo_plan_build(struct kvmcmo_plan *plan, enum kvmcmo_mode want);

struct kvmcmo;
/* plan, load, attach through BPF links; 0 or a KVMCMO_EXIT_* code (message printed) */
int kvmcmo_open(struct kvmcmo **out, const struct kvmcmo_opts *opts);
void kvmcmo_close(struct kvmcmo *k);
const struct kvmcmo_plan *kvmcmo_get_plan(const struct kvmcmo *k);

/* per-program BPF statistics (kernel.bpf_stats_enabled) */
struct kvmcmo_prog_stat {
	const char *name;
	__u64 run_cnt;
	__u64 run_time_ns;
	/* 5.12+: runs the kernel skipped because a BPF program was already
	 * running on that CPU (its recursion guard); always 0 before 5.12 */
	__u64 recursion_misses;
};
int kvmcmo_prog_stats(const struct kvmcmo *k, struct kvmcmo_prog_stat *out, int max);

/*
 * kvmcmo's BPF programs loaded in the kernel right now, by any process
 * (matched by name; the kernel keeps 15 characters of it): what is left
 * after a crash, or what another kvmcmo has attached.  Fills up to max
 * entries, returns how many there are, or -errno.
 */
struct kvmcmo_loaded_prog {
	__u32 id;
	char name[16];
};

int kvmcmo_loaded_progs(struct kvmcmo_loaded_prog *out, int max);

/* ---- snapshots (user/snapshot.c) ------------------------------------------ */

struct kvmcmo_abort_row {
	struct kvmcmo_abort_key key;
	__u64 count;
};

struct kvmcmo_lat_row {
	struct kvmcmo_lat_key key;
	struct kvmcmo_hist hist;
};

struct kvmcmo_dabt_row {
	struct kvmcmo_dabt_key key;
	__u64 count;
};

struct kvmcmo_dfault_row {
	struct kvmcmo_dfault_key key;
	struct kvmcmo_hist hist;
};

struct kvmcmo_region_row {
	struct kvmcmo_region_key key;
	__u64 count;
};

struct kvmcmo_vm {
	__u64 id;
	__u32 pid;
	int fd;                         /* VM fd in the VMM, -1 if unknown */
	bool alive;
	__u64 first_ns, destroyed_ns;
	char name[128];                 /* -name / --name from the cmdline, else comm */
};

struct kvmcmo_snapshot {
	__u64 taken_ns;                 /* CLOCK_MONOTONIC, same clock as BPF ktime */
	struct kvmcmo_vm *vms;
	size_t nvms;
	struct kvmcmo_abort_row *aborts;
	size_t naborts;
	struct kvmcmo_lat_row *lat;
	size_t nlat;
	struct kvmcmo_dabt_row *dabts;
	size_t ndabts;
	struct kvmcmo_dfault_row *dfaults;
	size_t ndfaults;
	struct kvmcmo_region_row *regions;
	size_t nregions;
	__u64 stats[KVMCMO_STAT__COUNT];
};

/* Read every map (per-CPU values summed), rows sorted by key. */
int kvmcmo_snapshot_read(struct kvmcmo *k, struct kvmcmo_snapshot *s);
/* d = cur - prev, row by row (rows absent from prev count from zero) */
int kvmcmo_snapshot_delta(const struct kvmcmo_snapshot *cur,
			  const struct kvmcmo_snapshot *prev,
			  struct kvmcmo_snapshot *d);
void kvmcmo_snapshot_free(struct kvmcmo_snapshot *s);
const struct kvmcmo_vm *kvmcmo_snapshot_vm(const struct kvmcmo_snapshot *s, __u64 id);
/*
 * Drop a destroyed VM's rows (and its name) from the kernel maps, once a
 * long-lived reader has taken its last numbers: VM churn would fill them
 * otherwise.  0, -EBUSY while the VM is alive, or another -errno.
 * Readers' cumulative views must keep their own copy: the VM is gone from
 * later snapshots.
 */
int kvmcmo_forget_vm(struct kvmcmo *k, __u64 id);

/* ---- the region view (user/regions.c) ----------------------------------- */

/*
 * Region rows as every front end shows them: rows whose labels are out of
 * range or whose count is 0 are left out, the rest are sorted busiest
 * first (ties: IPA, size, slot, memslot, kind, outcome).  Sorts in place;
 * returns how many rows are kept.
 */
size_t kvmcmo_regions_rank(struct kvmcmo_region_row *rows, size_t n);
/* a region's name: "slotN" for a memslot, else its 64 KiB window's base */
void kvmcmo_region_name(const struct kvmcmo_region_key *k, char *buf, size_t len);

/* ---- VM names (user/vmname.c) ------------------------------------------- */

/* QEMU/libvirt "-name guest=NAME,..." or "-name NAME", kvmtool "--name NAME",
 * else /proc/<pid>/comm; "" if the process is gone */
int kvmcmo_vm_name(pid_t pid, char *buf, size_t len);
/* the same, from a cmdline buffer (NUL-separated argv); for tests */
int kvmcmo_vm_name_from_cmdline(const char *cmdline, size_t n, char *buf, size_t len);

/* ---- histograms (user/hist.c) ------------------------------------------- */

/* value at quantile q (0..1) from log2 buckets: the bucket's upper bound */
__u64 kvmcmo_hist_quantile(const struct kvmcmo_hist *h, double q);
void kvmcmo_hist_merge(struct kvmcmo_hist *dst, const struct kvmcmo_hist *src);
/* biolatency-style log2 bars */
void kvmcmo_hist_print(FILE *f, const struct kvmcmo_hist *h, const char *unit);

/* ---- JSON (user/json.c): the `kvmcmo stat --json` shape ---------------- */

#define KVMCMO_JSON_HIST   (1U << 0)    /* latency_ns and gaps as bucket arrays */
#define KVMCMO_JSON_VCPUS  (1U << 1)    /* per-vCPU abort rows */
#define KVMCMO_JSON_REGIONS (1U << 2)   /* per-region rows */
json_t *kvmcmo_snapshot_json(const struct kvmcmo_snapshot *s, unsigned int flags);
json_t *kvmcmo_hist_json(const struct kvmcmo_hist *h);
/* src (at most n bytes, NUL-terminated or not) into dst with every byte
 * that is not valid UTF-8 replaced by U+FFFD, cut at a character boundary
 * to fit len with its NUL; returns the length written */
size_t kvmcmo_utf8_clean(char *dst, size_t len, const char *src, size_t n);

#endif /* __LIBKVMCMO_H */
